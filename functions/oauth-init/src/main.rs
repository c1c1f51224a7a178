//! Lambda for `GET /auth/oauth2/init`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::OauthInit)).await
}
