//! Lambda for `POST /me/passkeys/register/begin`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::BeginPasskeyRegistration)).await
}
