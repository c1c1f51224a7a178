//! Lambda for `GET /session`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::GetSession)).await
}
