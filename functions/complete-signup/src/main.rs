//! Lambda for `POST /api/users/completeSignup` (seed 002).

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::CompleteSignup)).await
}
