//! Lambda for `GET /me/sessions`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::ListSessions)).await
}
