//! Lambda for `GET /.well-known/openid-configuration`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::OpenidConfiguration)).await
}
