//! Lambda for `POST /session/sign-out`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::SignOut)).await
}
