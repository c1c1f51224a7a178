//! Domain values to and from items (through serde_dynamo), and SDK failures to `StoreError`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::ports::store::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Any SDK failure: the store could not give an answer, as opposed to a failed condition.
pub(super) fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

/// A domain value as an item under `key` (see `keys::key`).
pub(super) fn to_item<T: Serialize>(value: &T, key: Item) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::aws_sdk_dynamodb_1::to_item(value).map_err(|e| StoreError::Corrupt {
            key: pk_of(&key),
            reason: e.to_string(),
        })?;
    item.extend(key);
    Ok(item)
}

pub(super) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let name = pk_of(&item);
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(|e| StoreError::Corrupt {
        key: name,
        reason: e.to_string(),
    })
}

pub(super) fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value).map_err(|e| StoreError::Corrupt {
        key: String::new(),
        reason: e.to_string(),
    })
}

/// The item's partition key, to name it in a `Corrupt` error.
fn pk_of(item: &Item) -> String {
    item.get("pk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}
