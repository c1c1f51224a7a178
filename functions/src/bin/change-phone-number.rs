//! Lambda for `POST /me/phone_number`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::ChangePhoneNumber)).await
}
