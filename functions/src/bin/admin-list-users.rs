//! Lambda for `GET /admin/users (exact lookup or a page of users)`, behind API Gateway's `AWS_IAM` authorizer.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::AdminListUsers)).await
}
