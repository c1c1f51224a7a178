//! Lambda for `POST /session/sign-out`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::SignOut)).await
}
