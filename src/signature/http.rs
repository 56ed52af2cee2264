//! Loopback HTTP for the signature process: a bounded client and small servers that stop when dropped.
//!
//! Every call has a timeout; a server is bound to `127.0.0.1:0` and serves until its handle is dropped.

use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

/// Longest one HTTP call of the signature process may take (connect, send, read).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest response body read (a JWK Set is a few KB).
pub const MAX_BODY: usize = 64 * 1024;

/// A reqwest client with bounded timeouts, no proxy (loopback must stay loopback) and rustls on ring.
pub fn client() -> Result<reqwest::Client, String> {
    static PROVIDER: Once = Once::new();
    // reqwest is built with `rustls-no-provider`: install ring once, or building a client panics. Another
    // part of the program may have installed it first; that is fine.
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// GET `url` and return the body, bounded in time and size. Errors name the URL.
pub async fn get(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let response = client.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: status {status}"));
    }
    let body = response.bytes().await.map_err(|e| format!("GET {url}: body: {e}"))?;
    if body.len() > MAX_BODY {
        return Err(format!("GET {url}: body of {} bytes exceeds {MAX_BODY}", body.len()));
    }
    Ok(body.to_vec())
}

/// A server on an ephemeral loopback port, aborted when dropped.
pub struct LoopbackServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl LoopbackServer {
    /// Bind `127.0.0.1:0` and serve `router` on the current runtime.
    pub async fn start(router: axum::Router) -> Result<Self, String> {
        Self::start_with(|_| router).await
    }

    /// Bind `127.0.0.1:0`, then serve the router that `make` builds for the bound address.
    pub async fn start_with(make: impl FnOnce(SocketAddr) -> axum::Router) -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let router = make(addr);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { addr, task })
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
