use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::domain::error::FieldError;
use crate::domain::validation::{Address, Gender, Profile};

fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema} has no properties"))
        .keys()
        .cloned()
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

#[test]
fn every_route_has_its_operation_and_nothing_else_is_described() {
    let doc = document();
    for route in Route::ALL {
        let method = route.method().as_str().to_ascii_lowercase();
        let op = &doc["paths"][route.path()][&method];
        assert!(
            op.is_object(),
            "{route:?}: no {method} {} in the document",
            route.path()
        );
        assert_eq!(op["operationId"], route.function_name(), "{route:?}");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{route:?} has no responses"
        );
    }
    let described: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(described, Route::ALL.len(), "one operation per route");
}

#[test]
fn every_reference_names_a_schema_of_the_document() {
    fn walk(v: &Value, found: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    found.push(r.clone());
                }
                o.values().for_each(|v| walk(v, found));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let doc = document();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(refs.len() > 20, "the operations refer to schemas");
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}: not a schema reference"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} is not in components"
        );
    }
}

#[test]
fn the_document_reads_as_openapi_3_1() {
    let doc = document();
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("utoipa reads the document back");
    assert_eq!(
        serde_json::to_value(&parsed).unwrap()["paths"]
            .as_object()
            .unwrap()
            .len(),
        doc["paths"].as_object().unwrap().len()
    );
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn the_committed_openapi_json_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == document_text(),
        "openapi.json is stale: regenerate it with `cargo run -q -- --openapi > openapi.json`"
    );
}

#[test]
fn a_session_route_documents_both_credential_modes_and_an_admin_route_the_key() {
    let doc = document();
    let signup = &doc["paths"]["/auth/signup"]["post"];
    assert_eq!(
        signup["security"],
        json!([{}, { "session_cookie": [] }, { "session_bearer": [] }])
    );
    assert_eq!(signup["parameters"][0]["name"], "x-session-mode");
    assert!(signup["responses"]["200"]["headers"]["X-Session-Token"].is_object());
    let import = &doc["paths"]["/admin/users"]["post"];
    assert_eq!(import["security"], json!([{ "admin_key": [] }]));
    assert!(import["responses"]["201"].is_object());
    let jwks = &doc["paths"]["/.well-known/jwks.json"]["get"];
    assert!(jwks.get("security").is_none());
    assert_eq!(
        jwks["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/JwksView"
    );
}

#[test]
fn the_profile_and_address_schemas_name_exactly_the_domain_fields() {
    let doc = document();
    // Struct literals without `..`: a new domain field stops this from compiling.
    let address = Address {
        id: Some("a".into()),
        is_primary: Some(true),
        first_name: Some("a".into()),
        last_name: Some("a".into()),
        street_address: Some("a".into()),
        street_address_2: Some("a".into()),
        city: Some("a".into()),
        state: Some("a".into()),
        zip_code: Some("a".into()),
        country: Some("a".into()),
    };
    let profile = Profile {
        addresses: Some(vec![address.clone()]),
        birthdate: Some("a".into()),
        family_name: Some("a".into()),
        gender: Some(Gender::Code(1)),
        given_name: Some("a".into()),
        locale: Some("a".into()),
        middle_name: Some("a".into()),
        nickname: Some("a".into()),
        profile_page: Some("a".into()),
        website: Some("a".into()),
        zoneinfo: Some("a".into()),
    };
    assert_eq!(
        properties(&doc, "Address"),
        keys(&serde_json::to_value(&address).unwrap())
    );
    assert_eq!(
        properties(&doc, "Profile"),
        keys(&serde_json::to_value(&profile).unwrap())
    );
    let error = FieldError {
        code: crate::domain::error::ErrorCode::Internal,
        message: "m".into(),
        field: Some("f".into()),
    };
    assert_eq!(
        properties(&doc, "FieldError"),
        keys(&serde_json::to_value(&error).unwrap())
    );
}

#[test]
fn the_enum_schemas_list_values_the_domain_reads_back() {
    let doc = document();
    let values = |name: &str| -> Vec<Value> {
        doc["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum"))
            .clone()
    };
    for v in values("SigninMethod") {
        serde_json::from_value::<crate::domain::model::SigninMethod>(v).unwrap();
    }
    for v in values("SignupMethod") {
        serde_json::from_value::<crate::domain::model::SignupMethod>(v).unwrap();
    }
    for v in values("HashFn") {
        serde_json::from_value::<crate::domain::password::legacy::HashFn>(v).unwrap();
    }
    assert!(values("ErrorCode").contains(&json!("BAD_REQUEST_BODY")));
    for v in values("Step") {
        serde_json::from_value::<crate::domain::model::Step>(v).unwrap();
    }
    assert!(values("Step").contains(&json!("reset_password")));
}

#[test]
fn the_complete_signup_form_names_the_parameters_the_handler_reads() {
    let doc = document();
    let expected: BTreeSet<String> = crate::http::handlers::complete_signup::PARAMETERS
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(properties(&doc, "CompleteSignupForm"), expected);
}
