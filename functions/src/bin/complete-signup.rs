//! Lambda for `POST /api/users/completeSignup` (seed 002).

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::CompleteSignup)).await
}
