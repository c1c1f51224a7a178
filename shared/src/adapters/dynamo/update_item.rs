//! A single conditional UpdateItem: the cheaper write when only one item changes.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::ReturnValue;

use crate::domain::ports::store::StoreError;

use super::DynamoStore;
use super::codec::{Item, unavailable};
use super::expr::Expr;

impl DynamoStore {
    /// Applies `e` to the item under `key`; `Ok(None)` when its condition failed, else the
    /// updated attributes when `return_new` (empty otherwise).
    pub(super) async fn update_item(
        &self,
        key: Item,
        e: Expr,
        return_new: bool,
    ) -> Result<Option<Item>, StoreError> {
        let (update, condition, names, values) = e.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_values(if return_new {
                ReturnValue::UpdatedNew
            } else {
                ReturnValue::None
            })
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
