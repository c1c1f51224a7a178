//! Lambda for `GET /me/two-factor`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::GetTwoFactor)).await
}
