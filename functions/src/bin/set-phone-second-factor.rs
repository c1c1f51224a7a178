//! Lambda for `POST /me/two-factor/phone`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::SetPhoneSecondFactor)).await
}
