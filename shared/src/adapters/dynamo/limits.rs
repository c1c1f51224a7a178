//! `LimitStore`: fixed-window counters, one item per key and window. The same charge also runs
//! inside attempt transactions, so a code is only sent when its cap allowed it.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};

use crate::domain::model::Timestamp;
use crate::domain::ports::store::{Charge, Gate, Hit, LimitStore, StoreError};

use super::DynamoStore;
use super::codec::{n, unavailable};
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

    /// The gate as a transaction item: the window must have room (nothing is counted).
    pub(super) fn gate_check(&self, g: &Gate) -> TransactWriteItem {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(counter_key(&g.key, g.window_ends)))
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":max", n(g.max))
            .build()
            .expect("table, key and condition are set");
        TransactWriteItem::builder().condition_check(check).build()
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

    async fn count(&self, limit_key: &str, window_ends: Timestamp) -> Result<u32, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(counter_key(limit_key, window_ends)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .item
            .and_then(|item| item.get("count").cloned())
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }
}
