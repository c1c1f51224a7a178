//! Lambda for `GET /auth/oauth2/callback`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::OauthCallback)).await
}
