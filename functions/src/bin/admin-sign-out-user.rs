//! Lambda for `POST /admin/users/{user_id}/sign-out`, behind API Gateway's `AWS_IAM` authorizer.

use sesame::http::Route;

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(Some(Route::AdminSignOutUser)).await
}
