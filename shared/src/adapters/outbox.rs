//! The dev outbox: every message is logged (without its content) and kept, newest first, up to
//! the newest `OUTBOX_CAPACITY`; and the embedded store's domain events (`Outbox::events`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

use crate::adapters::events::log::EventLog;
use crate::domain::ports::notifier::{DeliveryError, Message, Notifier};

/// How many messages the outbox keeps: the newest ones; each new message past this drops the
/// oldest, so a long-running dev server (or a script signing up in a loop) cannot grow without
/// bound, and `GET /dev/outbox` stays small.
pub const OUTBOX_CAPACITY: usize = 1_000;

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
    /// Oldest first; never longer than `OUTBOX_CAPACITY`.
    entries: Mutex<VecDeque<OutboxEntry>>,
    /// The domain events the embedded store published (`GET /dev/events`): what would go to
    /// EventBridge in AWS.
    events: Arc<EventLog>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// The log the embedded store publishes its events to.
    pub fn events(&self) -> &Arc<EventLog> {
        &self.events
    }

    /// The newest `OUTBOX_CAPACITY` messages sent so far, newest first.
    pub fn list(&self) -> Vec<OutboxEntry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().rev().cloned().collect()
    }
}

#[async_trait]
impl Notifier for Outbox {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        tracing::info!(channel = ?message.channel, subject = %message.subject, "outbox: message kept");
        let entry = OutboxEntry {
            channel: message.channel,
            to: message.to.clone(),
            subject: message.subject.clone(),
            body: message.text.clone(),
            created_at: OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .expect("valid"),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        while entries.len() >= OUTBOX_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Channel;

    fn message(n: usize) -> Message {
        Message {
            channel: Channel::Email,
            to: format!("user{n}@example.com"),
            subject: "Your verification code".into(),
            text: format!("message {n}"),
            html: String::new(),
        }
    }

    #[tokio::test]
    async fn when_more_than_the_capacity_is_sent_only_the_newest_are_kept_newest_first() {
        let outbox = Outbox::new();
        for n in 0..OUTBOX_CAPACITY + 5 {
            outbox.send(&message(n)).await.expect("kept");
        }
        let list = outbox.list();
        assert_eq!(list.len(), OUTBOX_CAPACITY);
        assert_eq!(OUTBOX_CAPACITY, 1_000);
        let bodies: Vec<&str> = list.iter().map(|e| e.body.as_str()).collect();
        // The newest first: 1004 down to 5; messages 0 to 4 were dropped.
        let expected: Vec<String> = (5..OUTBOX_CAPACITY + 5)
            .rev()
            .map(|n| format!("message {n}"))
            .collect();
        assert_eq!(bodies, expected);
    }
}
