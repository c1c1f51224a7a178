//! Lambda for `GET /auth/oauth2/init`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::OauthInit)).await
}
