//! Lambda for `GET /admin/users/{user_id}`, behind API Gateway's `AWS_IAM` authorizer.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::AdminGetUser)).await
}
