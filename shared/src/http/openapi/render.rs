//! How an `Operation` becomes its piece of the document: the envelopes, the responses with
//! their statuses, headers and error codes, the credential modes and the request body.

use serde_json::{Map, Value, json};

use super::{Access, Body, Operation, Success, operation};
use crate::http::credential::SESSION_MODE;
use crate::http::routes::Route;

const SESSION_ENVELOPE: &str = "SessionEnvelope";
const ERROR_ENVELOPE: &str = "ErrorEnvelope";
const NULL_ENVELOPE: &str = "NullEnvelope";

/// The envelope whose `data` is a `schema`.
fn envelope_name(schema: &str) -> String {
    format!("{}Envelope", schema.strip_suffix("View").unwrap_or(schema))
}

/// The envelope whose `data` is a list of `schema`.
fn list_envelope_name(schema: &str) -> String {
    format!(
        "{}ListEnvelope",
        schema.strip_suffix("View").unwrap_or(schema)
    )
}

/// The envelopes: one per `data` shape the operations answer with, and the error one.
pub(super) fn envelopes() -> Vec<(String, Value)> {
    let mut out = vec![
        (
            SESSION_ENVELOPE.to_string(),
            envelope(
                json!({ "oneOf": [schema_ref("SessionView"), { "type": "null" }] }),
                false,
            ),
        ),
        (
            ERROR_ENVELOPE.to_string(),
            envelope(json!({ "type": "null" }), true),
        ),
    ];
    for route in Route::ALL {
        for success in operation(route).success {
            let (name, data) = match success {
                Success::Data(_, schema) => (envelope_name(&schema), schema_ref(&schema)),
                Success::List(_, schema) => (
                    list_envelope_name(&schema),
                    json!({ "type": "array", "items": schema_ref(&schema) }),
                ),
                Success::Null => (NULL_ENVELOPE.to_string(), json!({ "type": "null" })),
                _ => continue,
            };
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, envelope(data, false)));
            }
        }
    }
    out
}

/// A view serializes every field, `null` included (views.rs skips none), so a client may rely
/// on each key being there.
pub(super) fn every_property_required(schema: &mut Value) {
    let names: Vec<Value> = schema["properties"]
        .as_object()
        .map(|p| p.keys().map(|k| json!(k)).collect())
        .unwrap_or_default();
    if !names.is_empty() {
        schema["required"] = Value::Array(names);
    }
}

pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The envelope every non-document answer has: `{status, message, data, session, errors}`.
fn envelope(data: Value, error: bool) -> Value {
    json!({
        "type": "object",
        "required": ["status", "message", "data", "session", "errors"],
        "properties": {
            "status": { "type": "integer", "description": "The HTTP status, repeated." },
            "message": { "type": "string", "description": "Empty on success; for people otherwise." },
            "data": data,
            "session": {
                "description": "The caller's session after the request, or null when there is none.",
                "oneOf": [schema_ref("SessionView"), { "type": "null" }],
            },
            "errors": if error {
                json!({ "type": "array", "items": schema_ref("FieldError"), "minItems": 1 })
            } else {
                json!({ "type": "array", "maxItems": 0 })
            },
        },
    })
}

/// The codes each error status carries (`http/error.rs` decides; `errors[].code` tells them apart).
fn error_description(status: u16) -> &'static str {
    match status {
        400 => {
            "BAD_REQUEST_BODY (not JSON, a wrong type or an unknown field), REQUIRED_FIELD, INVALID_FIELD, WEAK_PASSWORD, INVALID_CODE, CODE_EXPIRED, OAUTH_FAILED"
        }
        401 => "UNAUTHENTICATED (no signin, or no valid admin key) or INVALID_CREDENTIALS",
        403 => {
            "FORBIDDEN_ORIGIN (a cookie request from an origin not allowed), USER_BLOCKED, FORBIDDEN_HOST (dev server), REVERIFICATION_REQUIRED (a sensitive request without a recent proof: POST /auth/reverify)"
        }
        404 => {
            "ATTEMPT_NOT_FOUND, USER_NOT_FOUND (the admin API: no user has the id) or NOT_FOUND (also an admin route when no admin key is configured)"
        }
        406 => "NOT_ACCEPTABLE",
        409 => {
            "EMAIL_EXISTS, PHONE_NUMBER_EXISTS, USERNAME_EXISTS, IDENTITY_EXISTS, ATTEMPT_COMPLETED"
        }
        413 => "PAYLOAD_TOO_LARGE (over 64 KiB)",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        429 => "RATE_LIMITED or TOO_MANY_ATTEMPTS, with Retry-After",
        500 => "INTERNAL, with a reference to the log",
        502 => "DELIVERY_FAILED or PROVIDER_UNAVAILABLE",
        _ => "an error",
    }
}

fn credential_headers() -> Value {
    json!({
        "Set-Cookie": {
            "description": "Cookie mode: the session cookie, set, rotated or cleared.",
            "schema": { "type": "string" },
        },
        "X-Session-Token": {
            "description": "Header mode: the new or rotated credential; empty means discard yours.",
            "schema": { "type": "string" },
        },
    })
}

fn responses(op: &Operation) -> Map<String, Value> {
    let mut out = Map::new();
    let headers = if op.access == Access::Session {
        credential_headers()
    } else {
        json!({})
    };
    let with_headers = |mut response: Value| {
        if headers.as_object().is_some_and(|h| !h.is_empty()) {
            response["headers"] = headers.clone();
        }
        response
    };
    for success in &op.success {
        let (status, response) = match success {
            Success::Session => (
                200,
                with_headers(json!({
                    "description": "The envelope; `data` is the caller's session.",
                    "content": { "application/json": { "schema": schema_ref(SESSION_ENVELOPE) } },
                })),
            ),
            Success::Data(status, schema) => (
                *status,
                with_headers(json!({
                    "description": format!("The envelope; `data` is a {schema}."),
                    "content": { "application/json": { "schema": schema_ref(&envelope_name(schema)) } },
                })),
            ),
            Success::List(status, schema) => (
                *status,
                with_headers(json!({
                    "description": format!("The envelope; `data` is a list of {schema}."),
                    "content": { "application/json": { "schema": schema_ref(&list_envelope_name(schema)) } },
                })),
            ),
            Success::Null => (
                200,
                with_headers(json!({
                    "description": "Done; the envelope with `data` null.",
                    "content": { "application/json": { "schema": schema_ref(NULL_ENVELOPE) } },
                })),
            ),
            Success::Empty => (
                200,
                with_headers(json!({ "description": "Done; no body." })),
            ),
            Success::Redirect => {
                let mut headers = headers.clone();
                headers["Location"] =
                    json!({ "description": "Where to go next.", "schema": { "type": "string" } });
                (
                    302,
                    json!({
                        "description": "A redirect; the body is the envelope with the session.",
                        "headers": headers,
                        "content": { "application/json": { "schema": schema_ref(SESSION_ENVELOPE) } },
                    }),
                )
            }
            Success::Document(schema) => (
                200,
                json!({
                    "description": "The document; cacheable, readable from any origin.",
                    "content": { "application/json": { "schema": schema_ref(schema) } },
                }),
            ),
        };
        let entry = out.entry(status.to_string()).or_insert(json!({}));
        if entry.as_object().is_some_and(Map::is_empty) {
            *entry = response;
        } else {
            // Two answers on one status (completeSignup's 200): the body is one or nothing.
            entry["description"] = json!(format!(
                "{} Or: {}",
                entry["description"].as_str().unwrap_or_default(),
                response["description"].as_str().unwrap_or_default()
            ));
            if entry.get("content").is_none() {
                entry["content"] = response["content"].clone();
            }
        }
    }
    let mut errors: Vec<u16> = op.errors.to_vec();
    errors.extend([413, 500]);
    if !matches!(op.body, Body::None) || !op.query.is_empty() {
        errors.extend([400, 415]);
    }
    if op.access == Access::Session {
        errors.push(403);
    }
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        let mut response = json!({
            "description": error_description(status),
            "content": { "application/json": { "schema": schema_ref(ERROR_ENVELOPE) } },
        });
        if status == 429 {
            response["headers"] = json!({ "Retry-After": { "description": "Seconds to wait.", "schema": { "type": "integer" } } });
        }
        out.insert(status.to_string(), response);
    }
    out
}

/// A `{name}` segment of the path is a required string parameter.
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": { "type": "string", "minLength": 1 },
            })
        })
        .collect()
}

pub(super) fn operation_json(route: Route) -> Value {
    let op = operation(route);
    let mut parameters = path_parameters(route.path());
    parameters.extend(op.query.iter().cloned());
    let mut out = json!({
        "operationId": route.function_name(),
        "summary": op.summary,
        "responses": responses(&op),
    });
    if !op.description.is_empty() {
        out["description"] = json!(op.description);
    }
    match op.access {
        Access::Public => {}
        Access::Session => {
            parameters.push(json!({
                "name": SESSION_MODE.as_str(),
                "in": "header",
                "required": false,
                "description": "`header` (any case) for header mode (native apps): the credential travels as `Authorization: Bearer` and comes back in `X-Session-Token`; cookies are ignored. Any other value is cookie mode.",
                "schema": { "type": "string", "examples": ["header"] },
            }));
            // No credential is a valid request too: it starts a session, or answers 401.
            out["security"] = json!([{}, { "session_cookie": [] }, { "session_bearer": [] }]);
        }
        Access::Admin => {
            out["security"] = json!([{ "admin_key": [] }]);
        }
    }
    if !parameters.is_empty() {
        out["parameters"] = Value::Array(parameters);
    }
    match &op.body {
        Body::None => {}
        Body::Json { schema, optional } => {
            out["requestBody"] = json!({
                "required": !optional,
                "content": { "application/json": { "schema": schema_ref(schema) } },
            });
        }
        Body::Form(schema) => {
            out["requestBody"] = json!({
                "required": false,
                "content": { "application/x-www-form-urlencoded": { "schema": schema_ref(schema) } },
            });
        }
    }
    out
}
