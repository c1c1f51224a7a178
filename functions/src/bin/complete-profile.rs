//! Lambda for `POST /auth/complete-profile` (seed 000).

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::CompleteProfile)).await
}
