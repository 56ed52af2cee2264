//! HTTP for the signature process: the harness fetches and posts to URLs a provider names (its JWKS, its push
//! endpoint), so those URLs are untrusted. [`HostPolicy`] admits only http(s) URLs on the target's own host or a
//! host the user allowed (`--allow-host`); redirects are followed only to admitted URLs with the same path rule;
//! every call has a connect and a total timeout; bodies are read as a stream and cut at [`MAX_BODY`].
//! (The loopback servers are [`crate::http::server::LoopbackServer`]s.)

use crate::http::client::error_chain;
use std::sync::{Arc, Once};
use std::time::Duration;

/// Longest one HTTP call of the signature process may take (connect, send, read).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest response body read (a JWK Set is a few KB).
pub const MAX_BODY: usize = 64 * 1024;
/// Redirects followed at most (each to an admitted URL).
pub const MAX_REDIRECTS: usize = 3;

/// The hosts the embedded reference serves from: loopback.
const LOOPBACK: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// Why a provider-named URL is not contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The URL breaks a rule of the protocol (not http(s), credentials, wrong path): the provider's fault.
    Invalid(String),
    /// The host is not one the user allowed: the case cannot be judged until it is (`--allow-host`).
    NotAllowed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m) | Self::NotAllowed(m) => f.write_str(m),
        }
    }
}

/// Which hosts the harness contacts on a provider's word: the target's host (any port) and the hosts given
/// with `--allow-host`; for the embedded reference, loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    hosts: Vec<String>,
}

impl Default for HostPolicy {
    fn default() -> Self {
        Self::loopback()
    }
}

impl HostPolicy {
    /// Loopback only: where the embedded reference serves its JWKS and push endpoint.
    pub fn loopback() -> Self {
        Self {
            hosts: LOOPBACK.map(String::from).to_vec(),
        }
    }

    /// The host of `target` (an http(s) URL) and each of `allowed`.
    pub fn for_target(target: &str, allowed: &[String]) -> Result<Self, String> {
        let mut hosts = Vec::new();
        let url = reqwest::Url::parse(target).map_err(|e| format!("target {target}: {e}"))?;
        hosts.extend(url.host_str().map(str::to_ascii_lowercase));
        for host in allowed {
            hosts.push(parse_host(host)?);
        }
        Ok(Self { hosts })
    }

    /// The hosts admitted, for messages.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Admit `url` if it is http(s), carries no credentials, its host is allowed and (when given) its path is
    /// exactly `path`.
    pub fn check(&self, url: &str, path: Option<&str>) -> Result<reqwest::Url, Refusal> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Refusal::Invalid(format!("URL {url:?}: {e}")))?;
        self.check_parsed(&parsed, path)?;
        Ok(parsed)
    }

    fn check_parsed(&self, url: &reqwest::Url, path: Option<&str>) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Invalid(format!("URL {url}: the scheme must be http or https")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Invalid(format!(
                "URL {url}: credentials in a URL are not accepted"
            )));
        }
        if let Some(path) = path
            && url.path() != path
        {
            return Err(Refusal::Invalid(format!("URL {url} does not end in {path}")));
        }
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        if !self.hosts.contains(&host) {
            return Err(Refusal::NotAllowed(format!(
                "URL {url}: host {host} is not the target's host ({}); the suite contacts another host only \
                 when given --allow-host {host}",
                self.hosts.join(", ")
            )));
        }
        Ok(())
    }

    /// A client for URLs this policy admitted: redirects (at most [`MAX_REDIRECTS`]) only to admitted URLs with
    /// the same `path` rule, bounded timeouts, no proxy.
    pub fn client(&self, path: Option<&'static str>) -> Result<reqwest::Client, String> {
        self.client_speaking(path, None)
    }

    /// [`Self::client`], speaking only `version` when given (RO-TRANSPORT-011).
    pub fn client_speaking(
        &self,
        path: Option<&'static str>,
        version: Option<HttpVersion>,
    ) -> Result<reqwest::Client, String> {
        let policy = Arc::new(self.clone());
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match policy.check_parsed(attempt.url(), path) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(format!("redirect refused: {refusal}")),
            }
        });
        speaking(builder(), version)
            .redirect(redirect)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))
    }
}

/// A host as the user typed it for `--allow-host`: a name or an IP address, lowercased, IPv6 in brackets.
pub fn parse_host(text: &str) -> Result<String, String> {
    let bad = || format!("--allow-host {text:?}: expected a host name or IP address (no scheme, port or path)");
    let url = reqwest::Url::parse(&format!("http://{text}/")).map_err(|_| bad())?;
    let host = url.host_str().ok_or_else(bad)?.to_ascii_lowercase();
    let plain = text.trim_start_matches('[').trim_end_matches(']');
    let same = host.trim_start_matches('[').trim_end_matches(']') == plain.to_ascii_lowercase();
    if url.port().is_some() || !same {
        return Err(bad());
    }
    Ok(host)
}

fn builder() -> reqwest::ClientBuilder {
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
}

/// One HTTP protocol version, for the checks that a Partner endpoint speaks both (RO-TRANSPORT-011).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HttpVersion {
    /// HTTP/1.1 only (no upgrade, no ALPN h2).
    Http1,
    /// HTTP/2 only: prior knowledge (h2c) for `http://`, ALPN `h2` alone for `https://`.
    Http2,
}

impl HttpVersion {
    /// Both, HTTP/1.1 first.
    pub const BOTH: [Self; 2] = [Self::Http1, Self::Http2];

    /// `HTTP/1.1` or `HTTP/2`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Http1 => "HTTP/1.1",
            Self::Http2 => "HTTP/2",
        }
    }

    /// The version a response over this protocol carries.
    pub fn wire(self) -> reqwest::Version {
        match self {
            Self::Http1 => reqwest::Version::HTTP_11,
            Self::Http2 => reqwest::Version::HTTP_2,
        }
    }
}

fn speaking(builder: reqwest::ClientBuilder, version: Option<HttpVersion>) -> reqwest::ClientBuilder {
    match version {
        None => builder,
        Some(HttpVersion::Http1) => builder.http1_only(),
        // reqwest offers only `h2` in ALPN under prior knowledge, so https means ALPN h2 and http means h2c.
        Some(HttpVersion::Http2) => builder.http2_prior_knowledge(),
    }
}

/// A client with bounded timeouts, no proxy (loopback must stay loopback) and no redirects, for URLs the
/// harness chose itself or has already admitted.
pub fn client() -> Result<reqwest::Client, String> {
    client_speaking(None)
}

/// [`client`], speaking only `version` when given (RO-TRANSPORT-011).
pub fn client_speaking(version: Option<HttpVersion>) -> Result<reqwest::Client, String> {
    speaking(builder(), version)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// GET `url` and return the body, bounded in time and size: the size is checked while the body streams in.
/// Errors name the URL.
pub async fn get(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    get_versioned(client, url).await.map(|(body, _)| body)
}

/// [`get`], also returning the HTTP version the response came in.
pub async fn get_versioned(client: &reqwest::Client, url: &str) -> Result<(Vec<u8>, reqwest::Version), String> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: status {status}"));
    }
    let too_large = |seen: String| format!("GET {url}: body larger than {MAX_BODY} bytes ({seen})");
    if let Some(len) = response.content_length()
        && len > MAX_BODY as u64
    {
        return Err(too_large(format!("{len} announced")));
    }
    let version = response.version();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("GET {url}: body: {}", error_chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large("more sent".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_admits_the_target_host_and_allowed_hosts_only() {
        let policy = HostPolicy::for_target("http://Adapter.example:8080/v1", &["jwks.example".into()]).unwrap();
        assert!(policy.check("https://adapter.example/x", None).is_ok());
        assert!(
            policy
                .check("http://jwks.example:9/.well-known/jwks", Some("/.well-known/jwks"))
                .is_ok()
        );
        let refusals = [
            ("http://169.254.169.254/x", "not the target's host"),
            ("file:///x", "scheme"),
            ("gopher://adapter.example/x", "scheme"),
            ("http://u:p@adapter.example/x", "credentials"),
            ("http://adapter.example/other", "does not end in /x"),
        ];
        for (url, needle) in refusals {
            let e = policy.check(url, Some("/x")).unwrap_err().to_string();
            assert!(e.contains(needle), "{url}: {e}");
        }
        assert!(matches!(
            policy.check("http://10.0.0.1/x", None),
            Err(Refusal::NotAllowed(_))
        ));
        assert!(HostPolicy::loopback().check("http://127.0.0.1:1/x", None).is_ok());
        assert!(HostPolicy::loopback().check("http://[::1]:1/x", None).is_ok());
    }

    #[test]
    fn allow_host_takes_bare_hosts() {
        assert_eq!(parse_host("JWKS.example").unwrap(), "jwks.example");
        assert_eq!(parse_host("10.1.2.3").unwrap(), "10.1.2.3");
        assert_eq!(parse_host("[::1]").unwrap(), "[::1]");
        for bad in ["http://x", "x:80", "x/path", "", "a b"] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
    }

    /// Each client speaks the one protocol asked, against a loopback server that speaks both (RO-TRANSPORT-011);
    /// a server answering an HTTP/2 request with an error is an error of that fetch, naming the status.
    #[tokio::test]
    async fn clients_speak_the_protocol_asked() {
        use axum::http::{StatusCode, Version};
        let router = axum::Router::new()
            .route("/x", axum::routing::get(|v: Version| async move { format!("{v:?}") }))
            .route(
                "/h1",
                axum::routing::get(|v: Version| async move {
                    match v {
                        Version::HTTP_2 => Err(StatusCode::HTTP_VERSION_NOT_SUPPORTED),
                        _ => Ok("ok"),
                    }
                }),
            );
        let server = crate::http::server::LoopbackServer::start(router).await.unwrap();
        let policy = HostPolicy::loopback();
        for version in HttpVersion::BOTH {
            let client = policy.client_speaking(Some("/x"), Some(version)).unwrap();
            let (body, got) = get_versioned(&client, &server.endpoint("/x")).await.unwrap();
            assert_eq!(got, version.wire(), "{version:?}");
            assert_eq!(String::from_utf8(body).unwrap(), format!("{:?}", version.wire()));
        }
        let h2 = client_speaking(Some(HttpVersion::Http2)).unwrap();
        let e = get(&h2, &server.endpoint("/h1")).await.unwrap_err();
        assert!(e.contains("505"), "{e}");
        let h1 = client_speaking(Some(HttpVersion::Http1)).unwrap();
        assert_eq!(get(&h1, &server.endpoint("/h1")).await.unwrap(), b"ok");
    }
}
