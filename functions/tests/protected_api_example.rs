//! `examples/protected-api/template.yaml` is a team's own HTTP API whose routes API Gateway guards
//! with a JWT authorizer that trusts Sesame's tokens (DESIGN.md section 10). This checks, with no
//! network, that it stays wired to what those tokens carry: the authorizer reads the
//! `Authorization` header, trusts the issuer `SesameIssuerUrl`, accepts the audience
//! `SesameAudience` or else the issuer (Sesame's default `aud`), guards every route, and the
//! function reads the user id from the verified claims' `sub`.

use std::fmt::Write as _;
use std::path::Path;

use saphyr::{LoadableYamlNode, Yaml};

/// A node on one line, CloudFormation's short forms kept: `!If [C, !Ref A, !Ref B]`.
fn render(node: &Yaml) -> String {
    let join = |items: Vec<String>| items.join(", ");
    match node {
        Yaml::Tagged(tag, inner) if tag.handle == "!" => {
            format!("!{} {}", tag.suffix, render(inner))
        }
        Yaml::Sequence(items) => format!("[{}]", join(items.iter().map(render).collect())),
        Yaml::Mapping(map) => format!(
            "{{{}}}",
            join(
                map.iter()
                    .map(|(k, v)| format!("{}: {}", render(k), render(v)))
                    .collect()
            )
        ),
        other => match other.as_str() {
            Some("") => "\"\"".to_string(),
            Some(text) => text.to_string(),
            None => format!("{other:?}"),
        },
    }
}

/// `node[key]`, rendered; `(missing)` when absent.
fn field(node: Option<&Yaml>, key: &str) -> String {
    node.and_then(|n| n.as_mapping_get(key))
        .map_or_else(|| "(missing)".to_string(), render)
}

/// Whether `code` reads `event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]`, directly
/// or through a variable holding the claims.
fn reads_sub_claim(code: &str) -> bool {
    const CLAIMS: &str = r#"event["requestContext"]["authorizer"]["jwt"]["claims"]"#;
    let lines: Vec<String> = code
        .lines()
        .map(|line| {
            line.split('#')
                .next()
                .unwrap_or("")
                .replace('\'', "\"")
                .split_whitespace()
                .collect()
        })
        .collect();
    let sub_of = |claims: &str| {
        let read = format!(r#"{claims}["sub"]"#);
        lines.iter().any(|line| line.contains(&read))
    };
    sub_of(CLAIMS)
        || lines.iter().any(|line| {
            line.strip_suffix(CLAIMS)
                .and_then(|lhs| lhs.strip_suffix('='))
                .filter(|var| {
                    !var.is_empty() && var.chars().all(|c| c.is_alphanumeric() || c == '_')
                })
                .is_some_and(sub_of)
        })
}

/// Notes a problem unless `got` is `want`.
fn expect(problems: &mut Vec<String>, what: String, got: String, want: &str) {
    if got != want {
        problems.push(format!("{what} is {got}, not {want}"));
    }
}

#[test]
fn when_the_protected_api_example_is_read_its_authorizer_trusts_sesame_tokens_on_every_route() {
    const TEMPLATE: &str = "examples/protected-api/template.yaml";
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("functions/ is inside the workspace")
        .join(TEMPLATE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = docs.first().expect("the example template has a document");
    let section = |name| doc.as_mapping_get(name);
    let mut problems = Vec::new();

    let parameters = section("Parameters");
    let issuer_param = parameters.and_then(|p| p.as_mapping_get("SesameIssuerUrl"));
    expect(
        &mut problems,
        "Parameters.SesameIssuerUrl.Type".into(),
        field(issuer_param, "Type"),
        "String",
    );
    let audience_param = parameters.and_then(|p| p.as_mapping_get("SesameAudience"));
    expect(
        &mut problems,
        "Parameters.SesameAudience.Default".into(),
        field(audience_param, "Default"),
        "\"\"",
    );
    expect(
        &mut problems,
        "Conditions.HasAudience".into(),
        field(section("Conditions"), "HasAudience"),
        r#"!Not [!Equals [!Ref SesameAudience, ""]]"#,
    );

    let resources: Vec<(String, &Yaml)> = section("Resources")
        .and_then(Yaml::as_mapping)
        .expect("the example template has Resources")
        .iter()
        .map(|(id, resource)| (render(id), resource))
        .collect();
    let of_type = |kind: &str| -> Vec<(String, &Yaml)> {
        resources
            .iter()
            .filter(|(_, r)| r.as_mapping_get("Type").and_then(Yaml::as_str) == Some(kind))
            .map(|(id, r)| (id.clone(), r.as_mapping_get("Properties").unwrap_or(r)))
            .collect()
    };
    let apis = of_type("AWS::Serverless::HttpApi");
    let [(api_id, api)] = apis.as_slice() else {
        panic!(
            "the example has {} AWS::Serverless::HttpApi, not one",
            apis.len()
        );
    };
    let auth = api.as_mapping_get("Auth");
    let default = field(auth, "DefaultAuthorizer");
    let authorizer = auth
        .and_then(|a| a.as_mapping_get("Authorizers"))
        .and_then(|a| a.as_mapping_get(&default));
    let jwt = authorizer.and_then(|a| a.as_mapping_get("JwtConfiguration"));
    // Missing, DefaultAuthorizer names no authorizer: every check below on it fails.
    let at = format!("{api_id}.Auth.Authorizers.{default} (the DefaultAuthorizer)");
    expect(
        &mut problems,
        format!("{at}.IdentitySource"),
        field(authorizer, "IdentitySource"),
        "$request.header.Authorization",
    );
    expect(
        &mut problems,
        format!("{at}.JwtConfiguration.issuer"),
        field(jwt, "issuer"),
        "!Ref SesameIssuerUrl",
    );
    expect(
        &mut problems,
        format!("{at}.JwtConfiguration.audience"),
        field(jwt, "audience"),
        "[!If [HasAudience, !Ref SesameAudience, !Ref SesameIssuerUrl]]",
    );

    let functions = of_type("AWS::Serverless::Function");
    if functions.is_empty() {
        problems.push("the example has no AWS::Serverless::Function".into());
    }
    for (id, function) in &functions {
        let events = function
            .as_mapping_get("Events")
            .and_then(Yaml::as_mapping)
            .into_iter()
            .flatten();
        for (name, event) in events {
            let at = format!("{id}.Events.{}", render(name));
            let properties = event.as_mapping_get("Properties");
            expect(
                &mut problems,
                format!("{at}.Type"),
                field(Some(event), "Type"),
                "HttpApi",
            );
            expect(
                &mut problems,
                format!("{at}.ApiId"),
                field(properties, "ApiId"),
                &format!("!Ref {api_id}"),
            );
            // An event's own Auth (say Authorizer: NONE) would take the route out of the default.
            expect(
                &mut problems,
                format!("{at}.Auth"),
                field(properties, "Auth"),
                "(missing)",
            );
        }
        let code = function.as_mapping_get("InlineCode").and_then(Yaml::as_str);
        if !code.is_some_and(reads_sub_claim) {
            problems.push(format!(
                r#"{id}.InlineCode does not read event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]"#
            ));
        }
    }

    if !problems.is_empty() {
        let mut message =
            format!("{TEMPLATE} is no longer wired to Sesame's tokens (DESIGN.md section 10):");
        for p in &problems {
            write!(message, "\n  - {p}").unwrap();
        }
        panic!("{message}");
    }
}
