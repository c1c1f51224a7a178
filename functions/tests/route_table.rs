//! The route table (`Route` in `shared/src/http/routes.rs`) is the source; three places follow it,
//! and this checks each both ways, with no network and no emulator:
//!
//! - `template.yaml`: one `AWS::Serverless::Function` per function, whose `Binary` is the
//!   function's name and whose one `HttpApi` event, on `!Ref Api`, is its route (the fallback's is
//!   API Gateway's `$default` route: no method, no path);
//! - `functions/src/bin/`: one binary per function, running its route;
//! - `events/`: one sample API Gateway v2 event per function, whose route key, method and path are
//!   its route's.
//!
//! A function, binary or event that the table does not name fails too, unless it is one of
//! `sesame_functions::CONSUMERS` (functions that serve no route, such as `send-codes`, the code
//! queue's consumer): each of those needs its binary calling its `run_call`, one template function
//! whose one event is of its `event_type`, and a sample event of that type. Each test lists every
//! difference it finds, so one run shows the whole drift.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, Yaml};
use serde_json::Value;
use sesame::http::Route;
use sesame_functions::{CONSUMERS, Consumer, function_name};

fn consumer(name: &str) -> Option<&'static Consumer> {
    CONSUMERS.iter().find(|c| c.name == name)
}

/// Every function, by name: the route it serves alone, or `None` for the `$default` fallback.
fn functions() -> BTreeMap<&'static str, Option<Route>> {
    Route::ALL
        .map(Some)
        .into_iter()
        .chain([None])
        .map(|route| (function_name(route), route))
        .collect()
}

/// API Gateway's route key: `POST /auth/signup`, or `$default`.
fn route_key(route: Option<Route>) -> String {
    match route {
        Some(route) => format!("{} {}", route.method(), route.path()),
        None => "$default".to_string(),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("functions/ is inside the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names in `dir` (sorted), each with whether it is a directory.
fn entries(dir: &Path) -> Vec<(String, bool)> {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, entry.file_type().unwrap().is_dir())
        })
        .collect();
    names.sort();
    names
}

/// Fails with every problem listed under `heading`.
fn report(heading: &str, problems: Vec<String>) {
    if !problems.is_empty() {
        let mut message = format!("{heading}:");
        for p in &problems {
            write!(message, "\n  - {p}").unwrap();
        }
        panic!("{message}");
    }
}

fn assert_follows_routes(what: &str, problems: Vec<String>) {
    report(
        &format!("{what} drifted from the route table (Route in shared/src/http/routes.rs)"),
        problems,
    );
}

#[test]
fn when_routes_are_listed_each_has_its_own_function_and_route_key() {
    let mut problems = Vec::new();
    let describe = |route: Option<Route>| match route {
        Some(route) => format!("Route::{route:?}"),
        None => "the $default fallback".to_string(),
    };
    let mut names = BTreeMap::new();
    let mut keys = BTreeMap::new();
    for route in Route::ALL.map(Some).into_iter().chain([None]) {
        if let Some(other) = names.insert(function_name(route), route) {
            problems.push(format!(
                "{} and {} both have the function {}",
                describe(other),
                describe(route),
                function_name(route)
            ));
        }
        if let Some(other) = keys.insert(route_key(route), route) {
            problems.push(format!(
                "{} and {} are both {}",
                describe(other),
                describe(route),
                route_key(route)
            ));
        }
    }
    report(
        "The route table (Route in shared/src/http/routes.rs) names something twice",
        problems,
    );
}

/// What one `AWS::Serverless::Function` of the template says about itself.
struct TemplateFunction {
    logical_id: String,
    binary: Option<String>,
    /// Its one event's route key, or what is wrong with its events.
    route_key: Result<String, String>,
    /// Its event's `Auth.Authorizer`, if any.
    authorizer: Option<String>,
    /// Its one event's `Type`.
    event_type: Option<String>,
}

fn template_functions() -> Vec<TemplateFunction> {
    let path = root().join("template.yaml");
    let text = read(&path);
    let docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let resources = docs
        .first()
        .and_then(|doc| doc.as_mapping_get("Resources"))
        .and_then(Yaml::as_mapping)
        .expect("template.yaml has Resources");
    resources
        .iter()
        .filter(|(_, resource)| {
            resource.as_mapping_get("Type").and_then(Yaml::as_str)
                == Some("AWS::Serverless::Function")
        })
        .map(|(id, resource)| {
            let metadata = resource.as_mapping_get("Metadata");
            let build_method = metadata
                .and_then(|m| m.as_mapping_get("BuildMethod"))
                .and_then(Yaml::as_str);
            let binary = metadata
                .and_then(|m| m.as_mapping_get("BuildProperties"))
                .and_then(|p| p.as_mapping_get("Binary"))
                .and_then(Yaml::as_str)
                .filter(|_| build_method == Some("rust-cargolambda"))
                .map(str::to_string);
            let events = resource
                .as_mapping_get("Properties")
                .and_then(|p| p.as_mapping_get("Events"))
                .and_then(Yaml::as_mapping);
            let authorizer = events
                .and_then(|e| e.iter().next())
                .and_then(|(_, event)| event.as_mapping_get("Properties"))
                .and_then(|p| p.as_mapping_get("Auth"))
                .and_then(|a| a.as_mapping_get("Authorizer"))
                .and_then(Yaml::as_str)
                .map(str::to_string);
            let one_event = match events.map(|e| e.iter().collect::<Vec<_>>()).as_deref() {
                Some([(_, event)]) => event.as_mapping_get("Type").and_then(Yaml::as_str),
                _ => None,
            };
            TemplateFunction {
                logical_id: id.as_str().unwrap_or("?").to_string(),
                event_type: one_event.map(str::to_string),
                binary,
                authorizer,
                route_key: match events.map(|e| e.iter().collect::<Vec<_>>()).as_deref() {
                    Some([(_, event)]) => event_route_key(event),
                    Some(events) => Err(format!("{} events instead of one", events.len())),
                    None => Err("no Events".to_string()),
                },
            }
        })
        .collect()
}

/// The route key of one SAM event: an `HttpApi` event on `!Ref Api`, with both `Method` and
/// `Path` or (API Gateway's `$default` route) neither.
fn event_route_key(event: &Yaml) -> Result<String, String> {
    let kind = event.as_mapping_get("Type").and_then(Yaml::as_str);
    if kind != Some("HttpApi") {
        return Err(format!("its event's Type is {kind:?}, not HttpApi"));
    }
    let properties = event.as_mapping_get("Properties");
    let get = |key| properties.and_then(|p| p.as_mapping_get(key));
    match get("ApiId") {
        Some(Yaml::Tagged(tag, api))
            if tag.handle == "!" && tag.suffix == "Ref" && api.as_str() == Some("Api") => {}
        other => return Err(format!("its event's ApiId is {other:?}, not !Ref Api")),
    }
    match (
        get("Method").and_then(Yaml::as_str),
        get("Path").and_then(Yaml::as_str),
    ) {
        (Some(method), Some(path)) => Ok(format!("{method} {path}")),
        (None, None) => Ok("$default".to_string()),
        (method, path) => Err(format!(
            "its event has Method {method:?} and Path {path:?}: both or neither"
        )),
    }
}

#[test]
fn when_the_template_is_read_each_function_serves_its_route_and_no_other_exists() {
    let table = functions();
    let template = template_functions();
    let mut problems = Vec::new();
    for f in &template {
        match &f.binary {
            None => problems.push(format!(
                "{} has no Metadata BuildMethod rust-cargolambda with BuildProperties Binary",
                f.logical_id
            )),
            Some(binary) if consumer(binary).is_some() => {}
            Some(binary) if !table.contains_key(binary.as_str()) => problems.push(format!(
                "{} builds Binary {binary}, which no route names (no Route::function_name, not \
                 Route::FALLBACK_FUNCTION)",
                f.logical_id
            )),
            Some(_) => {}
        }
        if let Some(c) = f.binary.as_deref().and_then(consumer) {
            if f.event_type.as_deref() != Some(c.event_type) {
                problems.push(format!(
                    "{} (Binary {}) must have one event of Type {}, not {:?}",
                    f.logical_id, c.name, c.event_type, f.event_type
                ));
            }
        } else if let Err(e) = &f.route_key {
            problems.push(format!("{}: {e}", f.logical_id));
        }
    }
    for c in &CONSUMERS {
        let serving = template
            .iter()
            .filter(|f| f.binary.as_deref() == Some(c.name))
            .count();
        if serving != 1 {
            problems.push(format!(
                "{serving} functions have Binary {}, not one",
                c.name
            ));
        }
    }
    for (&name, &route) in &table {
        let serving: Vec<&TemplateFunction> = template
            .iter()
            .filter(|f| f.binary.as_deref() == Some(name))
            .collect();
        match serving.as_slice() {
            [] => problems.push(format!(
                "no function has Binary {name} (it serves {})",
                route_key(route)
            )),
            [f] => match &f.route_key {
                Ok(key) if *key != route_key(route) => problems.push(format!(
                    "{} (Binary {name}) is on {key}, but {name} serves {}",
                    f.logical_id,
                    route_key(route)
                )),
                _ => {}
            },
            several => problems.push(format!(
                "{} functions have Binary {name}: {}",
                several.len(),
                several
                    .iter()
                    .map(|f| f.logical_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    assert_follows_routes("template.yaml", problems);
}

/// The call a binary makes: `run(Some(Route::Signup))`, or `run(None)` for the fallback.
fn run_call(route: Option<Route>) -> String {
    match route {
        Some(route) => format!("run(Some(Route::{route:?}))"),
        None => "run(None)".to_string(),
    }
}

#[test]
fn when_the_template_is_read_every_admin_route_and_only_those_need_iam() {
    let table = functions();
    let mut problems = Vec::new();
    for f in template_functions() {
        let Some(route) = f.binary.as_deref().and_then(|b| table.get(b).copied()) else {
            continue;
        };
        let admin = route.is_some_and(Route::is_admin);
        let iam = f.authorizer.as_deref() == Some("AWS_IAM");
        if admin != iam {
            problems.push(format!(
                "{} ({}) has Authorizer {:?}; an admin route must have AWS_IAM, no other route may",
                f.logical_id,
                function_name(route),
                f.authorizer
            ));
        }
    }
    report("template.yaml's authorizers", problems);
}

#[test]
fn when_the_binaries_are_listed_each_function_has_one_running_its_route_and_no_other_exists() {
    let table = functions();
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = package.join("src/bin");
    let mut problems = Vec::new();
    // Binaries are the files of src/bin/, found by Cargo; this test reads them from there.
    let manifest = read(&package.join("Cargo.toml"));
    if manifest.contains("[[bin]]") || manifest.contains("autobins") {
        problems.push(
            "functions/Cargo.toml declares binaries itself: keep each as src/bin/<function>.rs"
                .to_string(),
        );
    }
    let mut bins = BTreeMap::new();
    for (entry, is_dir) in entries(&bin_dir) {
        let (name, source) = match (is_dir, entry.strip_suffix(".rs")) {
            (false, Some(name)) => (name.to_string(), bin_dir.join(&entry)),
            (true, _) => (entry.clone(), bin_dir.join(&entry).join("main.rs")),
            (false, None) => continue,
        };
        bins.insert(name, source);
    }
    for c in &CONSUMERS {
        match bins.get(c.name) {
            None => problems.push(format!("no binary {0} (src/bin/{0}.rs)", c.name)),
            Some(source) => {
                let code: String = read(source)
                    .chars()
                    .filter(|ch| !ch.is_whitespace())
                    .collect();
                if !code.contains(c.run_call) {
                    problems.push(format!(
                        "src/bin/{}.rs does not call {}",
                        c.name, c.run_call
                    ));
                }
            }
        }
    }
    for name in bins.keys() {
        if !table.contains_key(name.as_str()) && consumer(name).is_none() {
            problems.push(format!(
                "src/bin/ has a binary {name}, which no route names (no Route::function_name, \
                 not Route::FALLBACK_FUNCTION)"
            ));
        }
    }
    for (&name, &route) in &table {
        let Some(source) = bins.get(name) else {
            problems.push(format!(
                "no binary {name} (src/bin/{name}.rs) for {}",
                route_key(route)
            ));
            continue;
        };
        let code: String = read(source)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !code.contains(&run_call(route)) {
            problems.push(format!(
                "src/bin/{name}.rs does not call {}: {name} serves {}",
                run_call(route),
                route_key(route)
            ));
        }
    }
    assert_follows_routes("functions/src/bin/", problems);
}

#[test]
fn when_the_events_are_listed_each_function_has_one_for_its_route_and_no_other_exists() {
    let table = functions();
    let dir = root().join("events");
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for (entry, _) in entries(&dir) {
        match entry.strip_suffix(".json") {
            Some(name) if table.contains_key(name) => files.push(name.to_string()),
            Some(name) if let Some(c) = consumer(name) => {
                let event: Value = serde_json::from_str(&read(&dir.join(&entry)))
                    .unwrap_or_else(|e| panic!("events/{entry}: {e}"));
                // SQS and DynamoDB Streams records name their source `aws:sqs`, `aws:dynamodb`.
                let want = format!("aws:{}", c.event_type.to_ascii_lowercase());
                let source = event
                    .pointer("/Records/0/eventSource")
                    .and_then(Value::as_str);
                if source != Some(want.as_str()) {
                    problems.push(format!(
                        "events/{entry}: Records[0].eventSource is {source:?}, not {want:?}"
                    ));
                }
            }
            _ => problems.push(format!(
                "events/{entry} is not events/<function>.json for a function the routes name"
            )),
        }
    }
    for c in &CONSUMERS {
        if !dir.join(format!("{}.json", c.name)).exists() {
            problems.push(format!(
                "no events/{}.json (a sample {} event)",
                c.name, c.event_type
            ));
        }
    }
    for (&name, &route) in &table {
        if !files.iter().any(|f| f == name) {
            problems.push(format!(
                "no events/{name}.json for {name} ({})",
                route_key(route)
            ));
            continue;
        }
        let path = dir.join(format!("{name}.json"));
        let event: Value = match serde_json::from_str(&read(&path)) {
            Ok(event) => event,
            Err(e) => {
                problems.push(format!("events/{name}.json: {e}"));
                continue;
            }
        };
        let field = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
        let mut expect = |pointer: &str, want: &str| {
            if field(pointer) != Some(want) {
                problems.push(format!(
                    "events/{name}.json: {pointer} is {:?}, not {want:?} ({name} serves {})",
                    field(pointer),
                    route_key(route)
                ));
            }
        };
        expect("/version", "2.0");
        expect("/routeKey", &route_key(route));
        expect("/requestContext/routeKey", &route_key(route));
        match route {
            Some(route) => {
                expect("/requestContext/http/method", route.method().as_str());
                // A path with a parameter (`{signin_id}`) is sent as a real path that matches it.
                for pointer in ["/rawPath", "/requestContext/http/path"] {
                    let path = field(pointer).unwrap_or("");
                    if !route.matches_path(path)
                        || (path != route.path() && !route.path().contains('{'))
                    {
                        problems.push(format!(
                            "events/{name}.json: {pointer} is {path:?}, which is not {}",
                            route.path()
                        ));
                    }
                }
            }
            None => {
                // API Gateway sends a request to $default only when no route has its method and path.
                let method = field("/requestContext/http/method").unwrap_or("");
                let path = field("/rawPath").unwrap_or("");
                if let Some(r) = Route::ALL
                    .into_iter()
                    .find(|r| r.method() == method && r.matches_path(path))
                {
                    problems.push(format!(
                        "events/{name}.json is {method} {path}, which is {r:?}'s route, not $default's"
                    ));
                }
                if field("/requestContext/http/path") != Some(path) {
                    problems.push(format!(
                        "events/{name}.json: rawPath and requestContext.http.path differ"
                    ));
                }
            }
        }
    }
    assert_follows_routes("events/", problems);
}
