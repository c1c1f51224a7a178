//! The Notifier port: hand one message to one destination. `adapters::outbox` keeps messages in
//! memory for the dev server and tests; `adapters::ses_sns` routes email to SES v2 and SMS to SNS.

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::model::Channel;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a message could not be handed over. The text is for logs; it holds no message content.
#[derive(Debug, thiserror::Error)]
#[error("{channel:?} delivery failed: {reason}")]
pub struct DeliveryError {
    pub channel: Channel,
    pub reason: String,
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError>;
}
