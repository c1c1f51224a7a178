//! Lambda for `PATCH /me` (seed 001).

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::PatchMe)).await
}
