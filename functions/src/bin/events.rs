//! Lambda on the table's DynamoDB Stream: publishes domain events on EventBridge.

#[tokio::main]
async fn main() -> Result<(), sesame_functions::Error> {
    sesame_functions::events::run().await
}
