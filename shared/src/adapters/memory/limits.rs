//! The embedded store's fixed-window limit counters.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::model::*;
use crate::domain::ports::store::*;

#[async_trait]
impl LimitStore for MemoryStore {
    async fn hit(&self, key: &str, window_ends: Timestamp, max: u32) -> Result<Hit, StoreError> {
        let mut state = self.lock();
        let entry = state
            .counters
            .entry(key.to_string())
            .or_insert((window_ends, 0));
        if entry.0 != window_ends {
            *entry = (window_ends, 0);
        }
        if entry.1 >= max {
            return Ok(Hit::Limited { window_ends });
        }
        entry.1 += 1;
        Ok(Hit::Allowed)
    }

    async fn release(&self, key: &str, window_ends: Timestamp) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(entry) = state.counters.get_mut(key)
            && entry.0 == window_ends
        {
            entry.1 = entry.1.saturating_sub(1);
        }
        Ok(())
    }

    async fn count(&self, key: &str, window_ends: Timestamp) -> Result<u32, StoreError> {
        let state = self.lock();
        Ok(match state.counters.get(key) {
            Some((window, count)) if *window == window_ends => *count,
            _ => 0,
        })
    }
}
