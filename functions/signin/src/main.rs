//! Lambda for `POST /auth/signin`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::Signin)).await
}
