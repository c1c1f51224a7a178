//! Lambda for `POST /me/totp/verify`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::VerifyTotp)).await
}
