//! The embedded store's events: every change it commits to a user or a signin, mapped by the same
//! `domain::events::events_of` as the `events` function, kept newest first for `GET /dev/events`
//! up to the newest [`EVENT_LOG_CAPACITY`].

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::domain::events::{Change, Published, events_of};
use crate::domain::model::Timestamp;
use crate::ids::new_id;

/// How many events the log keeps; each past it drops the oldest.
pub const EVENT_LOG_CAPACITY: usize = 1_000;

#[derive(Default)]
pub struct EventLog {
    /// Oldest first.
    entries: Mutex<VecDeque<Published>>,
}

impl EventLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes the events of `changes`, committed together at `at`, in order.
    pub fn record(&self, changes: &[Change], at: Timestamp) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for change in changes {
            for event in events_of(change, at) {
                tracing::info!(detail_type = event.kind.detail_type(), "event published");
                while entries.len() >= EVENT_LOG_CAPACITY {
                    entries.pop_front();
                }
                entries.push_back(Published::new(new_id("evt"), event, at));
            }
        }
    }

    /// The events so far, newest first.
    pub fn list(&self) -> Vec<Published> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().rev().cloned().collect()
    }
}
