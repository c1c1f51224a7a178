//! Lambda for `POST /admin/users` (seed 003's import), behind API Gateway's `AWS_IAM` authorizer.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::AdminImportUser)).await
}
