//! Lambda for `DELETE /me/totp`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::DisableTotp)).await
}
