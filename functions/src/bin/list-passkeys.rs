//! Lambda for `GET /me/passkeys`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::ListPasskeys)).await
}
