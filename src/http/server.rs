//! Serves any [`Provider`] through the adapter API (axum): `conformance serve-reference` with the embedded
//! reference, and the model an adapter in another language copies.

use super::api::{self, ErrorBody, Method, Operation, OperationVisitor};
use crate::provider::{ErrorClass, Provider};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Largest request body accepted; media blobs travel as hex, twice their size.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone)]
struct AppState {
    provider: Arc<dyn Provider>,
    /// `Bearer <token>` that every request must carry, when set.
    authorization: Option<Arc<str>>,
}

/// The adapter API over `provider`. With `token`, every request must carry `Authorization: Bearer <token>`.
pub fn router(provider: Arc<dyn Provider>, token: Option<&str>) -> Router {
    struct Routes(Option<Router<AppState>>);
    impl OperationVisitor for Routes {
        fn visit<O: Operation>(&mut self) {
            let route = match O::METHOD {
                Method::Get => get(handle::<O>),
                Method::Post => post(handle::<O>),
            };
            self.0 = self.0.take().map(|r| r.route(O::PATH, route));
        }
    }
    let mut routes = Routes(Some(Router::new()));
    api::for_each_operation(&mut routes);
    let state = AppState {
        provider,
        authorization: token.map(|t| Arc::from(format!("Bearer {t}"))),
    };
    routes
        .0
        .unwrap_or_default()
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

fn error(status: StatusCode, class: ErrorClass, detail: impl Into<String>) -> Response {
    let body = ErrorBody {
        error: class.as_str().into(),
        detail: detail.into(),
    };
    (status, axum::Json(body)).into_response()
}

async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        ErrorClass::InvalidArgument,
        format!("no endpoint {method} {uri} in adapter API {}", api::API_VERSION),
    )
}

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = &state.authorization else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    bool::from(given.ct_eq(expected.as_bytes()))
}

async fn handle<O: Operation>(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorized(&state, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            ErrorClass::InvalidArgument,
            "missing or wrong bearer token",
        );
    }
    // GET requests and empty POST bodies mean `{}`.
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    let request: O::Request = match serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(text)) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorClass::InvalidArgument,
                format!("{} request: at `{}`: {}", O::NAME, e.path(), e.inner()),
            );
        }
    };
    match O::call(state.provider.as_ref(), &request).await {
        Ok(response) => axum::Json(response).into_response(),
        Err(e) => match ErrorBody::from_call_error(&e) {
            Some((status, body)) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, axum::Json(body)).into_response()
            }
            None => error(StatusCode::INTERNAL_SERVER_ERROR, ErrorClass::Internal, e.to_string()),
        },
    }
}

/// Serve `app` on `listener` until `shutdown` completes, then finish the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small JSON exchanges: without TCP_NODELAY a response can wait on the client's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// A server on an ephemeral loopback port, run on a background task of the current runtime: the adapter
/// server in tests and benchmarks, and the harness's and reference's JWKS and push endpoints. Dropping it stops
/// the server (requests in flight finish).
pub struct LoopbackServer {
    /// The bound address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl LoopbackServer {
    /// Bind `127.0.0.1:0` and serve `app`.
    pub async fn start(app: Router) -> std::io::Result<Self> {
        Self::start_with(|_| app).await
    }

    /// Bind `127.0.0.1:0`, then serve the router that `make` builds for the bound address.
    pub async fn start_with(make: impl FnOnce(SocketAddr) -> Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, make(addr), async {
            let _ = stopped.await;
        }));
        Ok(Self { addr, stop: Some(stop) })
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://ADDR` followed by `path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Start serving `provider` on an ephemeral loopback port, on the current runtime.
pub async fn spawn_loopback(provider: Arc<dyn Provider>, token: Option<&str>) -> std::io::Result<LoopbackServer> {
    LoopbackServer::start(router(provider, token)).await
}
