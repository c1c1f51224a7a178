//! `LimitStore`: fixed-window counters, one item per key and window. The same charge also runs
//! inside attempt transactions, so a code is only sent when its cap allowed it.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::domain::model::Timestamp;
use crate::domain::ports::store::{Charge, Hit, LimitStore, StoreError};

use super::DynamoStore;
use super::codec::n;
use super::expr::Expr;
use super::keys::counter_key;

/// Counts one event, refused once the window holds `max`.
fn charge_expr(window_ends: Timestamp, max: u32) -> Expr {
    Expr::new("SET #exp = :exp ADD #count :one")
        .condition("attribute_not_exists(#count) OR #count < :max")
        .name("#exp", "expires_at")
        .name("#count", "count")
        .value(":exp", n(window_ends.unix_timestamp()))
        .value(":one", n(1))
        .value(":max", n(max))
}

impl DynamoStore {
    /// The charge as a transaction item: its failed condition means the window is full.
    pub(super) fn charge_update(&self, c: &Charge<'_>) -> TransactWriteItem {
        self.update(
            counter_key(c.key, c.window_ends),
            charge_expr(c.window_ends, c.max),
        )
    }
}

#[async_trait]
impl LimitStore for DynamoStore {
    async fn hit(
        &self,
        limit_key: &str,
        window_ends: Timestamp,
        max: u32,
    ) -> Result<Hit, StoreError> {
        let k = counter_key(limit_key, window_ends);
        Ok(
            match self
                .update_item(k, charge_expr(window_ends, max), false)
                .await?
            {
                Some(_) => Hit::Allowed,
                None => Hit::Limited { window_ends },
            },
        )
    }

    async fn release(&self, limit_key: &str, window_ends: Timestamp) -> Result<(), StoreError> {
        let e = Expr::new("ADD #count :minus_one")
            .condition("#count > :zero")
            .name("#count", "count")
            .value(":minus_one", n(-1))
            .value(":zero", n(0));
        self.update_item(counter_key(limit_key, window_ends), e, false)
            .await
            .map(|_| ())
    }
}
