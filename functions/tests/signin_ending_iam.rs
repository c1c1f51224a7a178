//! Ending every signin of a user (a password reset, a password change with `sign_out_others`,
//! revoke-others, `DELETE /me`) is a transaction that checks the user's `signins_version` with a
//! ConditionCheck, which IAM allows only with `dynamodb:ConditionCheckItem`. DynamoDB Local and
//! moto do not enforce IAM, so without this test a missing permission would only show in AWS,
//! as a 500 after the password was already changed.

use std::path::Path;

use saphyr::{LoadableYamlNode, Yaml};
use sesame::http::Route;

/// The routes whose requests end signins of a user everywhere (`devices::end_other_signins`,
/// `Store::end_signins_of_user`, `Store::delete_user`).
const ENDS_A_USERS_SIGNINS: [Route; 4] = [
    Route::ResetPassword,
    Route::ChangePassword,
    Route::RevokeOtherSessions,
    Route::DeleteMe,
];

fn dynamodb_actions(template: &Yaml, function: &str) -> Vec<String> {
    let resources = template.as_mapping_get("Resources").expect("Resources");
    let (_, entry) = resources
        .as_mapping()
        .expect("a mapping")
        .iter()
        .find(|(_, r)| {
            r.as_mapping_get("Metadata")
                .and_then(|m| m.as_mapping_get("BuildProperties"))
                .and_then(|b| b.as_mapping_get("Binary"))
                .and_then(Yaml::as_str)
                == Some(function)
        })
        .unwrap_or_else(|| panic!("no function builds {function}"));
    entry
        .as_mapping_get("Properties")
        .and_then(|p| p.as_mapping_get("Policies"))
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|policy| policy.as_mapping_get("Statement"))
        .filter_map(Yaml::as_sequence)
        .flatten()
        .flat_map(|statement| match statement.as_mapping_get("Action") {
            Some(Yaml::Sequence(list)) => list.iter().filter_map(Yaml::as_str).collect(),
            Some(one) => one.as_str().into_iter().collect::<Vec<_>>(),
            None => Vec::new(),
        })
        .filter(|a| a.starts_with("dynamodb:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_function_that_ends_a_users_signins_may_check_conditions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text: &'static str = Box::leak(
        std::fs::read_to_string(&path)
            .expect("template.yaml")
            .into_boxed_str(),
    );
    let template = Yaml::load_from_str(text).expect("parses").remove(0);
    let missing: Vec<&str> = ENDS_A_USERS_SIGNINS
        .iter()
        .map(|route| route.function_name())
        .filter(|f| {
            !dynamodb_actions(&template, f)
                .iter()
                .any(|a| a == "dynamodb:ConditionCheckItem")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "these functions end a user's signins but may not ConditionCheck: {missing:?}"
    );
}
