//! Lambda behind API Gateway's `$default` route: unknown paths (404), wrong methods (405) and
//! CORS preflights, all answered in the envelope rather than as bare API Gateway errors.

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run(None).await
}
