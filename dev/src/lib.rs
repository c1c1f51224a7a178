//! The local server: every route on one port, running the same handlers as the Lambdas, with
//! `GET /openapi.json` (the API's description), and with the embedded store and outbox
//! `GET /dev/outbox` (messages sent) and `GET /dev/events` (domain events published).
//!
//! It answers only requests for a loopback host (`localhost`, `127.0.0.1`, `[::1]`, any port) or
//! one listed in `DEV_ALLOWED_HOSTS`. Binding to 127.0.0.1 is not enough on its own: a web page on
//! a domain whose DNS answer its owner switches to 127.0.0.1 (DNS rebinding) makes the visitor's
//! browser send same-origin requests to this server, with `Host:` naming that domain, and read the
//! answers (`/dev/outbox` holds every code sent).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::get;
use http::header::{CONTENT_TYPE, HOST};
use sesame::Deps;
use sesame::adapters::outbox::Outbox;
use sesame::http::openapi;
use sesame::http::request::MAX_BODY_BYTES;
use sesame::http::{ApiError, ApiOrigin, BodyTooLarge, ClientIp, RequestId, dispatch, refuse};
use sesame::ids::new_id;

pub mod demo;

const READ_LIMIT_BYTES: usize = 16 * MAX_BODY_BYTES;

/// The host names the dev server answers: the loopback names always, and those of
/// `DEV_ALLOWED_HOSTS`. A request's `Host` (and the authority of an absolute-form target) must
/// name one of them, with any port or none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    /// Lower-case host names besides the loopback ones.
    extra: Vec<String>,
}

impl AllowedHosts {
    /// The names that always reach this process when it listens on 127.0.0.1 (or ::1): no DNS
    /// answer can make them name another machine.
    pub const LOOPBACK: [&'static str; 3] = ["localhost", "127.0.0.1", "[::1]"];

    /// The loopback names only (the default).
    pub fn loopback() -> Self {
        Self::default()
    }

    /// `DEV_ALLOWED_HOSTS`: comma-separated host names (`sesame.test, dev.example.com`), added
    /// to the loopback ones. Each is a DNS name, an IPv4 address or a bracketed IPv6 address,
    /// without scheme, port or path; matched without regard to case, with any port.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut extra = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if !is_host_name(entry) {
                return Err(format!(
                    "DEV_ALLOWED_HOSTS: {entry:?} is not a host name (give names only: no scheme, port or path; any port is accepted)"
                ));
            }
            extra.push(entry.to_ascii_lowercase());
        }
        Ok(Self { extra })
    }

    /// Whether `authority` (a `Host` value: a host and an optional `:port`) names an allowed host.
    pub fn admits(&self, authority: &str) -> bool {
        let Some(host) = host_of(authority) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        Self::LOOPBACK.contains(&host.as_str()) || self.extra.contains(&host)
    }

    /// Whether the request names allowed hosts only: every `Host` header and the target's
    /// authority, if any. A request naming none (HTTP/1.0 without `Host`) is not admitted.
    fn admit_request<B>(&self, req: &http::Request<B>) -> bool {
        let mut named = 0;
        for value in req.headers().get_all(HOST) {
            named += 1;
            if !value.to_str().is_ok_and(|v| self.admits(v)) {
                return false;
            }
        }
        if let Some(authority) = req.uri().authority() {
            named += 1;
            if !self.admits(authority.as_str()) {
                return false;
            }
        }
        named > 0
    }
}

/// The host part of `host[:port]` or `[v6][:port]`, if the rest is a (possibly empty) port.
fn host_of(authority: &str) -> Option<&str> {
    let split = if authority.starts_with('[') {
        authority.find(']').map(|end| end + 1)
    } else {
        Some(authority.find(':').unwrap_or(authority.len()))
    }?;
    let (host, rest) = authority.split_at(split);
    let port_ok = rest.is_empty()
        || rest
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    (port_ok && !host.is_empty()).then_some(host)
}

/// A DNS name or IPv4 address (letters, digits, `-`, `.`), or a bracketed IPv6 address.
fn is_host_name(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
    }
}

#[derive(Clone)]
struct HostCheck {
    app: Deps,
    hosts: Arc<AllowedHosts>,
}

/// Refuses, before any route (`/dev/outbox` included) runs, a request for a host not allowed.
async fn check_host(
    State(check): State<HostCheck>,
    req: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    if check.hosts.admit_request(&req) {
        return next.run(req).await;
    }
    tracing::warn!(host = ?req.headers().get(HOST), path = req.uri().path(), "refused: not an allowed host");
    let (parts, _body) = req.into_parts();
    let req = http::Request::from_parts(parts, bytes::Bytes::new());
    refuse(&check.app, &req, ApiError::ForbiddenHost)
        .map(axum::body::Body::from)
        .into_response()
}

/// All routes; `/dev/outbox` and `/dev/events` only when an outbox is given. Every request, on every route, must
/// name a host `hosts` admits, or is answered `403 FORBIDDEN_HOST`.
pub fn router(app: Deps, outbox: Option<Arc<Outbox>>, hosts: AllowedHosts) -> Router {
    let providers: Vec<String> = app
        .config
        .oidc
        .providers
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let mut router = Router::new()
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(CONTENT_TYPE, "application/json")],
                    openapi::document_text(),
                )
            }),
        )
        .route("/", get(|| demo::file(demo::PAGE_DIR, "index.html")))
        .route(
            "/demo/{file}",
            get(|Path(file): Path<String>| demo::file(demo::PAGE_DIR, file)),
        )
        .route(
            "/client/{file}",
            get(|Path(file): Path<String>| demo::file(demo::CLIENT_DIR, file)),
        )
        // The demo page's OAuth buttons: the configured providers' names (nothing secret).
        .route(
            "/dev/providers",
            get(move || {
                let providers = providers.clone();
                async move { axum::Json(providers) }
            }),
        );
    if let Some(outbox) = outbox {
        let events = outbox.events().clone();
        router = router
            .route(
                "/dev/outbox",
                get(move || {
                    let outbox = outbox.clone();
                    async move { axum::Json(outbox.list()) }
                }),
            )
            // The domain events the embedded store published, newest first, each as EventBridge
            // delivers it to a rule's target. Not a `Route`: no Lambda serves it (in AWS the
            // `events` function puts them on EventBridge).
            .route(
                "/dev/events",
                get(move || {
                    let events = events.clone();
                    async move { axum::Json(events.list()) }
                }),
            );
    }
    let check = HostCheck {
        app: app.clone(),
        hosts: Arc::new(hosts),
    };
    router
        .fallback(any_route)
        .with_state(app)
        .layer(from_fn_with_state(check, check_host))
}

/// Serves `router` on `listener` until the future resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The dev server's own address is its API origin: the token issuer unless ISSUER_URL is set.
    let origin = ApiOrigin(format!("http://{}", listener.local_addr()?));
    let router = router.layer(axum::Extension(origin));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn any_route(
    State(app): State<Deps>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Extension(origin): axum::Extension<ApiOrigin>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    // Read well past the 64 KiB limit before answering, so a client still sending a too-large body
    // gets its 413 rather than a reset connection; beyond 1 MiB stop reading and mark it.
    let body = axum::body::to_bytes(body, READ_LIMIT_BYTES).await.ok();
    let too_large = body.is_none();
    let mut req = http::Request::from_parts(parts, body.unwrap_or_default());
    req.extensions_mut().insert(ClientIp(peer.ip().to_string()));
    req.extensions_mut().insert(RequestId(new_id("req")));
    req.extensions_mut().insert(origin);
    if too_large {
        req.extensions_mut().insert(BodyTooLarge);
    }
    let res = dispatch(&app, req).await;
    res.map(axum::body::Body::from).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_admitted_with_any_port_or_none() {
        let hosts = AllowedHosts::loopback();
        for host in [
            "localhost",
            "localhost:3000",
            "LocalHost:3000",
            "127.0.0.1",
            "127.0.0.1:3000",
            "[::1]",
            "[::1]:3000",
            "localhost:",
        ] {
            assert!(hosts.admits(host), "{host}");
        }
    }

    #[test]
    fn other_hosts_are_refused() {
        let hosts = AllowedHosts::loopback();
        for host in [
            "",
            ":3000",
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "evil.example:3000@localhost",
            "localhost@evil.example",
            "user@localhost",
            "localhost:3000:1",
            "localhost:http",
            "localhost/",
            "[::1]x",
            "[::2]:3000",
            "[::1",
            "::1",
        ] {
            assert!(!hosts.admits(host), "{host}");
        }
    }

    #[test]
    fn dev_allowed_hosts_adds_names_and_refuses_what_is_not_a_name() {
        let hosts = AllowedHosts::parse(" sesame.test, Dev.Example.com ,,[::2]").unwrap();
        for host in [
            "sesame.test",
            "sesame.test:8080",
            "dev.example.com",
            "[::2]:1",
            "localhost",
        ] {
            assert!(hosts.admits(host), "{host}");
        }
        assert!(!hosts.admits("evil.example"));
        assert!(!hosts.admits("sub.sesame.test"));
        assert_eq!(AllowedHosts::parse(""), Ok(AllowedHosts::loopback()));
        for bad in [
            "http://sesame.test",
            "sesame.test:8080",
            "sesame.test/",
            "*",
            "[::1",
            "[nope]",
        ] {
            assert!(AllowedHosts::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_request_without_a_host_or_with_a_foreign_one_among_several_is_refused() {
        let hosts = AllowedHosts::loopback();
        let bare = http::Request::get("/dev/outbox").body(()).unwrap();
        assert!(!hosts.admit_request(&bare));
        let two = http::Request::get("/dev/outbox")
            .header(HOST, "localhost")
            .header(HOST, "evil.example")
            .body(())
            .unwrap();
        assert!(!hosts.admit_request(&two));
        let absolute = http::Request::get("http://evil.example/dev/outbox")
            .header(HOST, "localhost")
            .body(())
            .unwrap();
        assert!(!hosts.admit_request(&absolute));
        let ok = http::Request::get("/dev/outbox")
            .header(HOST, "127.0.0.1:3000")
            .body(())
            .unwrap();
        assert!(hosts.admit_request(&ok));
    }
}
