//! The Notifier port: hand one message to one destination. `adapters::outbox` keeps messages in
//! memory for the dev server and tests; `adapters::ses_sns` routes email to SES v2 and SMS to SNS.
//!
//! The CodeQueue port: hand a sign-in code (or a decoy) to the `send-codes` function, which
//! delivers it later through a Notifier (`adapters::sqs`; `domain::delivery`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::model::{AttemptKind, Channel};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// One item for the sender: a message to deliver, or (`message: None`) a decoy that carries
/// nothing deliverable, enqueued exactly like a message so that the request's cost does not
/// depend on whether there was anything to send.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub message: Option<Message>,
    /// The attempt whose code `message` carries: told when delivery fails.
    pub attempt: Option<SentCode>,
}

/// Which code of which attempt a message carries (the code's hash: a failure recorded late
/// must not mark a newer code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentCode {
    pub session_id: String,
    pub attempt_id: String,
    pub kind: AttemptKind,
    pub code_hash: String,
}

/// Why an item could not be enqueued. The text is for logs; it holds no message content.
#[derive(Debug, thiserror::Error)]
#[error("enqueueing failed: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait CodeQueue: Send + Sync {
    async fn enqueue(&self, item: &Outgoing) -> Result<(), QueueError>;
}
