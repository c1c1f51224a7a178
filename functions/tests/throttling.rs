//! Issue 12, item 11: API Gateway throttles every route (`DefaultRouteSettings` from the
//! `Throttle*` parameters), and the routes that send codes or create accounts
//! (`Route::throttled_strictly`) more strictly (`CodeThrottle*`), set on their events.

use std::collections::HashMap;
use std::path::Path;

use saphyr::{LoadableYamlNode, Yaml};
use sesame::http::Route;
use sesame_functions::function_name;

fn template() -> Yaml<'static> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text: &'static str = Box::leak(
        std::fs::read_to_string(&path)
            .expect("template.yaml")
            .into_boxed_str(),
    );
    Yaml::load_from_str(text)
        .expect("template.yaml parses")
        .remove(0)
}

fn ref_name<'a>(node: Option<&'a Yaml<'a>>) -> Option<&'a str> {
    match node {
        Some(Yaml::Tagged(tag, value)) if tag.handle == "!" && tag.suffix == "Ref" => {
            value.as_str()
        }
        _ => None,
    }
}

/// The parameters a throttle setting names: (rate, burst).
fn throttle(settings: Option<&Yaml>) -> Option<(String, String)> {
    let s = settings?;
    Some((
        ref_name(s.as_mapping_get("ThrottlingRateLimit"))?.to_string(),
        ref_name(s.as_mapping_get("ThrottlingBurstLimit"))?.to_string(),
    ))
}

#[test]
fn every_route_is_throttled_and_code_routes_more_strictly() {
    let doc = template();
    let params = doc.as_mapping_get("Parameters").expect("Parameters");
    let resources = doc
        .as_mapping_get("Resources")
        .and_then(Yaml::as_mapping)
        .expect("Resources");
    let api = doc
        .as_mapping_get("Resources")
        .and_then(|r| r.as_mapping_get("Api"))
        .and_then(|a| a.as_mapping_get("Properties"));
    let default = throttle(api.and_then(|p| p.as_mapping_get("DefaultRouteSettings")));
    let general = (
        "ThrottleRateLimit".to_string(),
        "ThrottleBurstLimit".to_string(),
    );
    let strict = (
        "CodeThrottleRateLimit".to_string(),
        "CodeThrottleBurstLimit".to_string(),
    );
    assert_eq!(
        default.as_ref(),
        Some(&general),
        "the Api's DefaultRouteSettings"
    );
    for name in [&general.0, &general.1, &strict.0, &strict.1] {
        assert!(
            params.as_mapping_get(name).is_some(),
            "parameter {name} is declared"
        );
    }

    let by_binary: HashMap<&str, &Yaml> = resources
        .iter()
        .filter_map(|(_, r)| {
            let binary = r
                .as_mapping_get("Metadata")?
                .as_mapping_get("BuildProperties")?
                .as_mapping_get("Binary")?
                .as_str()?;
            Some((binary, r))
        })
        .collect();
    let mut problems = Vec::new();
    let mut strict_routes = Vec::new();
    for route in Route::ALL.map(Some).into_iter().chain([None]) {
        let name = function_name(route);
        let events = by_binary[name]
            .as_mapping_get("Properties")
            .and_then(|p| p.as_mapping_get("Events"))
            .and_then(Yaml::as_mapping)
            .expect("route_table.rs checks the events");
        let settings: Vec<Option<(String, String)>> = events
            .iter()
            .map(|(_, e)| {
                let props = e.as_mapping_get("Properties");
                props
                    .and_then(|p| p.as_mapping_get("RouteSettings"))
                    .map(|s| throttle(Some(s)).unwrap_or_default())
            })
            .collect();
        let expected = route
            .is_some_and(Route::throttled_strictly)
            .then(|| strict.clone());
        if settings != [expected.clone()] {
            problems.push(format!("{name}: {settings:?}, expected {expected:?}"));
        }
        if expected.is_some() {
            strict_routes.push(name);
        }
    }
    println!("strictly throttled: {}", strict_routes.join(", "));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
