//! The thin adapter between API Gateway (HTTP API, payload v2) and Sesame's handlers: the only
//! place besides the function binaries that knows `lambda_http`.
//!
//! Each file in `src/bin/` is one function, named by [`Route::function_name`] (or
//! [`Route::FALLBACK_FUNCTION`]), that calls [`run`] with its route, or one of
//! [`CONSUMERS`], which no HTTP route reaches (`send-codes`: the code queue; `events`: the table's stream).

pub mod events;

use std::convert::Infallible;

use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, service_fn};
use sesame::Deps;
use sesame::config::{CodeHashKey, Config, ConfigError};
use sesame::http::{ApiOrigin, ClientIp, IamAuthorized, RequestId, Route, dispatch, handle};

pub use lambda_http::Error;

/// The `send-codes` function: consumes the code queue (`CODE_QUEUE_URL`) and delivers.
pub const SEND_CODES: &str = "send-codes";

/// A function that serves no route: it consumes events of `event_type` (a SAM event type), and
/// its binary calls `run_call`. `tests/route_table.rs` checks each has its binary, its template
/// function and its sample event, like a route's.
pub struct Consumer {
    pub name: &'static str,
    pub event_type: &'static str,
    pub run_call: &'static str,
}

/// Every function that is not a route's.
pub const CONSUMERS: [Consumer; 2] = [
    Consumer {
        name: SEND_CODES,
        event_type: "SQS",
        run_call: "run_send_codes()",
    },
    Consumer {
        name: events::FUNCTION,
        event_type: "DynamoDB",
        run_call: "events::run()",
    },
];

/// The `send-codes` function: each SQS batch of sealed items is delivered through SES/SNS
/// (`sesame::send_codes`); the items that failed are reported (`ReportBatchItemFailures`), so
/// SQS retries only those and moves them to the dead-letter queue after the last try.
pub async fn run_send_codes() -> Result<(), Error> {
    use lambda_http::aws_lambda_events::event::sqs::{
        BatchItemFailure, SqsBatchResponse, SqsEvent,
    };
    use lambda_http::{LambdaEvent, lambda_runtime};
    use sesame::adapters::sqs::Sealer;
    use sesame::send_codes::{Record, send_batch};

    sesame::telemetry::init();
    let config = Config::from_env()
        .and_then(|c| {
            if c.code_hash_key == CodeHashKey::Absent {
                return Err(ConfigError {
                    name: "CODE_HASH_KEY_SECRET_ARN",
                    reason: format!(
                        "must be set for {SEND_CODES}: items are sealed under the code key"
                    ),
                });
            }
            Ok(c)
        })
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let app = sesame::wiring::aws(config, None)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let key = app
        .config
        .code_hash_key
        .bytes()
        .ok_or("the code key was not read")?;
    let sealer = std::sync::Arc::new(Sealer::new(key));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, sealer) = (app.clone(), sealer.clone());
        async move {
            let records = event
                .payload
                .records
                .into_iter()
                .map(|m| Record {
                    message_id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                })
                .collect();
            let mut response = SqsBatchResponse::default();
            for id in send_batch(&app, &sealer, records).await {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
            Ok::<_, Error>(response)
        }
    }))
    .await
}

/// Builds the app once per container and serves `route`, or every route when `None`
/// (the `$default` function: unknown paths, wrong methods, CORS preflights).
pub async fn run(route: Option<Route>) -> Result<(), Error> {
    sesame::telemetry::init();
    let config = Config::from_env()
        .and_then(|c| needs_code_key(c, route))
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let app = sesame::wiring::aws(config, None)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    if route == Some(Route::Signin) {
        sesame::domain::password::warm_up();
    }
    // The keyring read (and the first key's creation) in the init phase, not a user's request.
    if matches!(route, Some(Route::IssueToken | Route::Jwks)) {
        if let Err(e) = app.keys.published(app.clock.now()).await {
            tracing::warn!(error = %e, "signing keys not loaded at cold start; the first request retries");
        }
    }
    lambda_http::run(service_fn(move |event: lambda_http::Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(serve(&app, route, event).await) }
    }))
    .await
}

/// A function that handles codes must have the code key (its secret's ARN in Lambda); the
/// others must not be given it (template.yaml gives it to those only).
pub fn needs_code_key(config: Config, route: Option<Route>) -> Result<Config, ConfigError> {
    let handles_codes = route.is_some_and(Route::handles_codes);
    if handles_codes && config.code_hash_key == CodeHashKey::Absent {
        return Err(ConfigError {
            name: "CODE_HASH_KEY_SECRET_ARN",
            reason: format!(
                "must be set for {} (template.yaml provides it)",
                function_name(route)
            ),
        });
    }
    Ok(config)
}

/// The function that serves `route`, or for `None` the `$default` one, as [`run`] takes them.
pub fn function_name(route: Option<Route>) -> &'static str {
    route.map_or(Route::FALLBACK_FUNCTION, Route::function_name)
}

/// One invocation: event in, response out.
pub async fn serve(
    app: &Deps,
    route: Option<Route>,
    event: lambda_http::Request,
) -> lambda_http::Response<Body> {
    let req = into_request(event);
    let res = match route {
        Some(route) => handle(app, route, req).await,
        None => dispatch(app, req).await,
    };
    into_response(res)
}

/// The plain request the handlers take, with API Gateway's source IP and request id attached.
pub fn into_request(event: lambda_http::Request) -> sesame::http::Request {
    let (ip, request_id, iam, domain) = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.http.source_ip.clone(),
            ctx.request_id.clone(),
            ctx.authorizer
                .as_ref()
                .and_then(|a| a.iam.as_ref())
                .map(|iam| IamAuthorized {
                    caller_arn: iam.user_arn.clone(),
                }),
            ctx.domain_name.clone(),
        ),
        _ => (None, None, None, None),
    };
    let (parts, body) = event.into_parts();
    let mut req = http::Request::from_parts(parts, Bytes::copy_from_slice(body.as_ref()));
    req.extensions_mut()
        .insert(ClientIp(ip.unwrap_or_else(|| "unknown".to_string())));
    if let Some(id) = request_id {
        req.extensions_mut().insert(RequestId(id));
    }
    // The domain API Gateway served the request on (not a client header): the default issuer.
    if let Some(domain) = domain {
        req.extensions_mut()
            .insert(ApiOrigin(format!("https://{domain}")));
    }
    // Only API Gateway sets this, and only on a route with the AWS_IAM authorizer.
    if let Some(iam) = iam {
        req.extensions_mut().insert(iam);
    }
    req
}

pub fn into_response(res: sesame::http::Response) -> lambda_http::Response<Body> {
    let (parts, bytes) = res.into_parts();
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    http::Response::from_parts(parts, body)
}
