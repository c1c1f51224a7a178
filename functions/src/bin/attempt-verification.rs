//! Lambda for `POST /auth/attempt-verification` (seed 004).

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::AttemptVerification)).await
}
