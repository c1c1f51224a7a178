//! Lambda for `PATCH /admin/users/{user_id} (edit, block, unblock)`, behind API Gateway's `AWS_IAM` authorizer.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::AdminPatchUser)).await
}
