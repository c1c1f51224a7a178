//! The admin listing's index (`users_by_created`): `template.yaml` declares it as the DynamoDB
//! adapter creates it for the dev server and tests (`ensure_table`), with the keys and the
//! projected fields of `sesame::adapters::dynamo`, so a deployed table answers the same Query.

use std::path::Path;

use saphyr::{LoadableYamlNode, Yaml};
use sesame::adapters::dynamo::{LIST_PK, LIST_SK, LISTED_FIELDS, USERS_INDEX};

#[test]
fn the_template_declares_the_users_index_the_adapter_queries() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = Yaml::load_from_str(&text).unwrap();
    let table = docs[0]
        .as_mapping_get("Resources")
        .and_then(|r| r.as_mapping_get("Table"))
        .and_then(|t| t.as_mapping_get("Properties"))
        .expect("template.yaml has the Table");
    let strings = |node: Option<&Yaml>, key: &str| -> Vec<String> {
        node.and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_mapping_get(key).and_then(Yaml::as_str))
            .map(str::to_string)
            .collect()
    };
    let attributes = strings(
        table.as_mapping_get("AttributeDefinitions"),
        "AttributeName",
    );
    assert!(attributes.contains(&LIST_PK.to_string()) && attributes.contains(&LIST_SK.to_string()));
    let index = table
        .as_mapping_get("GlobalSecondaryIndexes")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .find(|i| i.as_mapping_get("IndexName").and_then(Yaml::as_str) == Some(USERS_INDEX))
        .expect("the users index");
    assert_eq!(
        strings(index.as_mapping_get("KeySchema"), "AttributeName"),
        [LIST_PK, LIST_SK]
    );
    let projection = index.as_mapping_get("Projection").unwrap();
    assert_eq!(
        projection
            .as_mapping_get("ProjectionType")
            .and_then(Yaml::as_str),
        Some("INCLUDE")
    );
    let projected: Vec<&str> = projection
        .as_mapping_get("NonKeyAttributes")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(projected, LISTED_FIELDS);
    assert!(!projected.contains(&"password_hash"));
}
