//! Lambda for `POST /admin/signing-keys/rotate`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::RotateSigningKey)).await
}
