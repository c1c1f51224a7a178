//! The local server: every route on one port, running the same handlers as the Lambdas, with
//! `GET /dev/outbox` when messages go to the embedded outbox.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::response::IntoResponse;
use axum::routing::get;
use sesame::Deps;
use sesame::adapters::outbox::Outbox;
use sesame::http::request::MAX_BODY_BYTES;
use sesame::http::{ApiOrigin, BodyTooLarge, ClientIp, RequestId, dispatch};
use sesame::ids::new_id;

const READ_LIMIT_BYTES: usize = 16 * MAX_BODY_BYTES;

/// All routes; `/dev/outbox` only when an outbox is given.
pub fn router(app: Deps, outbox: Option<Arc<Outbox>>) -> Router {
    let mut router = Router::new();
    if let Some(outbox) = outbox {
        router = router.route(
            "/dev/outbox",
            get(move || {
                let outbox = outbox.clone();
                async move { axum::Json(outbox.list()) }
            }),
        );
    }
    router.fallback(any_route).with_state(app)
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
