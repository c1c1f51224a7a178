//! Lambda for `POST /session/switch-sign-in`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_lambda::Error> {
    sesame_lambda::run(Some(Route::SwitchSignin)).await
}
