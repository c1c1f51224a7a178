//! Lambda for `GET /.well-known/jwks.json`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::Jwks)).await
}
