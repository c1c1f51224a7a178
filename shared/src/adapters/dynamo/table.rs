//! Table creation for the dev server and tests against emulators; in AWS the table belongs to
//! the SAM stack.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use crate::domain::ports::store::StoreError;

use super::codec::unavailable;
use super::keys::{LIST_PK, LIST_SK, LISTED_FIELDS, USERS_INDEX};

/// Creates the table as `template.yaml` declares it (keys, the users index, on-demand billing,
/// TTL on `expires_at`) unless it exists.
pub async fn ensure_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    };
    let key_element = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("name and type are set")
    };
    // The admin listing's sparse index: only user items have its keys (see `keys.rs` and `admin.rs`).
    let users_index = GlobalSecondaryIndex::builder()
        .index_name(USERS_INDEX)
        .key_schema(key_element(LIST_PK, KeyType::Hash))
        .key_schema(key_element(LIST_SK, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(LISTED_FIELDS.map(String::from).to_vec()))
                .build(),
        )
        .build()
        .expect("name, keys and projection are set");
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute(LIST_PK))
        .attribute_definitions(attribute(LIST_SK))
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .global_secondary_indexes(users_index)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => return Ok(()),
        Err(e) => return Err(unavailable(e)),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .expect("name and flag are set"),
        )
        .send()
        .await
        .map_err(unavailable)?;
    Ok(())
}
