//! Lambda for `POST /me/phone_number/verify`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::VerifyPhoneNumber)).await
}
