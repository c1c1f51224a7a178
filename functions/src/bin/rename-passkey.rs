//! Lambda for `PATCH /me/passkeys/{passkey_id}`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::RenamePasskey)).await
}
