//! The dev outbox: every message is logged (without its content) and kept, newest first.

use std::sync::Mutex;

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::ports::notifier::{DeliveryError, Message, Notifier};

#[derive(Clone, Debug, Serialize)]
pub struct OutboxEntry {
    pub channel: crate::domain::model::Channel,
    pub to: String,
    pub subject: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Default)]
pub struct Outbox {
    entries: Mutex<Vec<OutboxEntry>>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything sent so far, newest first.
    pub fn list(&self) -> Vec<OutboxEntry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().rev().cloned().collect()
    }
}

#[async_trait]
impl Notifier for Outbox {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        tracing::info!(channel = ?message.channel, subject = %message.subject, "outbox: message kept");
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(OutboxEntry {
                channel: message.channel,
                to: message.to.clone(),
                subject: message.subject.clone(),
                body: message.text.clone(),
                created_at: OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .expect("valid"),
            });
        Ok(())
    }
}
