//! Lambda for `POST /me/backup-codes`.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::ReplaceBackupCodes)).await
}
