//! Lambda for `POST /me/passkeys/register/finish`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::FinishPasskeyRegistration)).await
}
