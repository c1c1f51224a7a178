//! Issue 12, item 5: the code key is no function's environment variable. Only the functions
//! whose route handles codes (`Route::handles_codes`) get the secret's ARN and the permission to
//! read that one secret; the others get neither, and a code function without it fails its cold
//! start.

use std::collections::HashMap;
use std::path::Path;

use saphyr::{LoadableYamlNode, Yaml};
use sesame::config::{CodeHashKey, Config};
use sesame::http::Route;
use sesame_functions::{function_name, needs_code_key};

fn template() -> Yaml<'static> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    let text: &'static str = Box::leak(text.into_boxed_str());
    Yaml::load_from_str(text)
        .expect("template.yaml parses")
        .remove(0)
}

fn is_ref(node: Option<&Yaml>, target: &str) -> bool {
    matches!(node, Some(Yaml::Tagged(tag, value))
        if tag.handle == "!" && tag.suffix == "Ref" && value.as_str() == Some(target))
}

/// What one function's template entry says about the code key: (has the ARN variable naming
/// the secret, may read the secret, names the key any other way).
fn code_key_access(function: &Yaml) -> (bool, bool, Vec<String>) {
    let properties = function.as_mapping_get("Properties");
    let variables = properties
        .and_then(|p| p.as_mapping_get("Environment"))
        .and_then(|e| e.as_mapping_get("Variables"));
    let has_arn = is_ref(
        variables.and_then(|v| v.as_mapping_get("CODE_HASH_KEY_SECRET_ARN")),
        "CodeHashKey",
    );
    let mut reads = false;
    let mut other = Vec::new();
    let statements = properties
        .and_then(|p| p.as_mapping_get("Policies"))
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|policy| policy.as_mapping_get("Statement"))
        .filter_map(Yaml::as_sequence)
        .flatten();
    for statement in statements {
        let actions: Vec<&str> = match statement.as_mapping_get("Action") {
            Some(Yaml::Sequence(list)) => list.iter().filter_map(Yaml::as_str).collect(),
            Some(one) => one.as_str().into_iter().collect(),
            None => Vec::new(),
        };
        if actions.iter().any(|a| a.starts_with("secretsmanager:")) {
            if actions == ["secretsmanager:GetSecretValue"]
                && is_ref(statement.as_mapping_get("Resource"), "CodeHashKey")
            {
                reads = true;
            } else {
                other.push(format!("{actions:?} on something else than the code key"));
            }
        }
    }
    if let Some(vars) = variables.and_then(Yaml::as_mapping) {
        for (name, _) in vars {
            let name = name.as_str().unwrap_or_default();
            if name == "CODE_HASH_KEY" {
                other.push("CODE_HASH_KEY in its environment".into());
            }
        }
    }
    (has_arn, reads, other)
}

#[test]
fn only_the_functions_that_handle_codes_may_read_the_code_key() {
    let doc = template();
    let globals = doc
        .as_mapping_get("Globals")
        .and_then(|g| g.as_mapping_get("Function"))
        .and_then(|f| f.as_mapping_get("Environment"))
        .and_then(|e| e.as_mapping_get("Variables"))
        .expect("Globals has environment variables");
    for name in ["CODE_HASH_KEY", "CODE_HASH_KEY_SECRET_ARN"] {
        assert!(
            globals.as_mapping_get(name).is_none(),
            "{name} is given to every function by Globals"
        );
    }
    let by_binary: HashMap<String, &Yaml> = doc
        .as_mapping_get("Resources")
        .and_then(Yaml::as_mapping)
        .expect("Resources")
        .iter()
        .filter_map(|(_, r)| {
            let binary = r
                .as_mapping_get("Metadata")?
                .as_mapping_get("BuildProperties")?
                .as_mapping_get("Binary")?
                .as_str()?;
            Some((binary.to_string(), r))
        })
        .collect();
    let mut problems = Vec::new();
    let mut with_key = Vec::new();
    for route in Route::ALL.map(Some).into_iter().chain([None]) {
        let name = function_name(route);
        let function = by_binary.get(name).expect("route_table.rs checks this");
        let (has_arn, reads, other) = code_key_access(function);
        let should = route.is_some_and(Route::handles_codes);
        if has_arn != should || reads != should {
            problems.push(format!(
                "{name}: handles codes {should}, has CODE_HASH_KEY_SECRET_ARN {has_arn}, may \
                 read the secret {reads}"
            ));
        }
        problems.extend(other.into_iter().map(|o| format!("{name}: {o}")));
        if has_arn {
            with_key.push(name);
        }
    }
    println!(
        "code key readable by {} of {} functions: {}",
        with_key.len(),
        Route::ALL.len() + 1,
        with_key.join(", ")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_function_that_handles_codes_fails_its_cold_start_without_the_key() {
    let lambda: HashMap<String, String> = [
        ("AWS_LAMBDA_FUNCTION_NAME", "x"),
        ("SIGNING_KEY_KMS_KEY_ID", "arn:aws:kms:us-east-1:1:key/k"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = Config::from_vars(&lambda).expect("valid without the key");
    assert_eq!(config.code_hash_key, CodeHashKey::Absent);
    for route in Route::ALL {
        let outcome = needs_code_key(config.clone(), Some(route));
        assert_eq!(
            outcome.is_err(),
            route.handles_codes(),
            "{}",
            function_name(Some(route))
        );
        if let Err(e) = outcome {
            assert_eq!(e.name, "CODE_HASH_KEY_SECRET_ARN");
        }
    }
    assert!(needs_code_key(config, None).is_ok(), "the fallback");
}
