//! Lambda consuming the code queue: delivers sign-in codes through SES and SNS (not a route).

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::run_send_codes().await
}
