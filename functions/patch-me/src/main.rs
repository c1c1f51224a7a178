//! Lambda for `PATCH /me (seed 001)`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::PatchMe)).await
}
