//! HTTP for the signature process: a bounded client (its loopback servers are
//! [`crate::http::server::LoopbackServer`]s).
//!
//! Every call has a timeout.

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
