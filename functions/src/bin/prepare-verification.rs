//! Lambda for `POST /auth/prepare-verification`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::PrepareVerification)).await
}
