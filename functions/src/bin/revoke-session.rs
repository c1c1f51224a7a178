//! Lambda for `POST /me/sessions/{signin_id}/revoke`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::RevokeSession)).await
}
