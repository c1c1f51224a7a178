//! Lambda for `GET /auth/oauth2/callback`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::OauthCallback)).await
}
