//! Lambda for `POST /auth/attempt-verification` (seed 004).

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::AttemptVerification)).await
}
