//! HTTP for the signature process: the harness fetches and posts to URLs a provider names (its JWKS, its push
//! endpoint), so those URLs are untrusted. [`HostPolicy`] admits only http(s) URLs on the target's own host or a
//! host the user allowed (`--allow-host`); redirects are followed only to admitted URLs with the same path rule;
//! every call has a connect and a total timeout; bodies are read as a stream and cut at [`MAX_BODY`].
//! For https, the server certificate must chain to a root of the system's store (rustls-platform-verifier, which
//! reqwest uses) or to a CA the user added with `--tls-ca` ([`load_ca`]).
//! (The loopback servers are [`crate::http::server::LoopbackServer`]s.)

use crate::http::client::error_chain;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::io::Read;
use std::path::Path;
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
/// Largest `--tls-ca` file read (a bundle of a few hundred CA certificates fits).
pub const MAX_CA_FILE: u64 = 1024 * 1024;

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
/// with `--allow-host`; for the embedded reference, loopback. Its clients trust the system's roots and the CA
/// certificates given with `--tls-ca` ([`Self::trusting`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    hosts: Vec<String>,
    /// Extra trust anchors, added to (never replacing) the system's roots.
    roots: Vec<CertificateDer<'static>>,
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
            roots: Vec::new(),
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
        Ok(Self {
            hosts,
            roots: Vec::new(),
        })
    }

    /// This policy, its clients also trusting `roots` (from [`load_ca`]) besides the system's roots.
    pub fn trusting(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.roots.extend(roots);
        self
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
        speaking(trusting(builder(), &self.roots), version)
            .redirect(redirect)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {}", error_chain(&e)))
    }

    /// A client for one admitted URL that follows no redirect (the push POST), speaking only `version` when
    /// given (RO-TRANSPORT-011).
    pub fn direct_client(&self, version: Option<HttpVersion>) -> Result<reqwest::Client, String> {
        speaking(trusting(builder(), &self.roots), version)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {}", error_chain(&e)))
    }
}

/// Read the CA certificates of a `--tls-ca` file: PEM, one or more `CERTIFICATE` blocks (other blocks are
/// skipped), each one rustls accepts as a trust anchor. Errors name the file.
pub fn load_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let name = path.display();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("--tls-ca {name}: cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_CA_FILE {
        return Err(format!("--tls-ca {name}: larger than {MAX_CA_FILE} bytes"));
    }
    let mut certs = Vec::new();
    for (n, cert) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let cert = cert.map_err(|e| format!("--tls-ca {name}: not PEM: {e}"))?;
        rustls::RootCertStore::empty().add(cert.clone()).map_err(|e| {
            format!(
                "--tls-ca {name}: certificate {} is not a usable CA certificate: {e}",
                n + 1
            )
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(format!(
            "--tls-ca {name}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file"
        ));
    }
    Ok(certs)
}

/// `builder`, also trusting `roots` besides the system's roots (reqwest merges them into its platform verifier).
pub(crate) fn trusting(builder: reqwest::ClientBuilder, roots: &[CertificateDer<'static>]) -> reqwest::ClientBuilder {
    if roots.is_empty() {
        return builder;
    }
    // With rustls, `from_der` only stores the bytes; `load_ca` already checked each one.
    builder.tls_certs_merge(roots.iter().filter_map(|der| reqwest::Certificate::from_der(der).ok()))
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
    /// HTTP/2 only: prior knowledge (h2c) for `http://`; for `https://`, ALPN offering `h2` alone (a server that
    /// cannot do h2 over TLS refuses the handshake), then HTTP/2.
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
        // reqwest offers only `h2` in ALPN under prior knowledge (and `http1_only` offers only `http/1.1`), so
        // https means ALPN h2 and http means h2c. `tls_over_alpn` below shows both on a loopback TLS server.
        Some(HttpVersion::Http2) => builder.http2_prior_knowledge(),
    }
}

/// A client with bounded timeouts, no proxy (loopback must stay loopback) and no redirects, for URLs the
/// harness chose itself or has already admitted.
pub fn client() -> Result<reqwest::Client, String> {
    builder()
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
        // The push POST's client (no redirects) speaks the one protocol asked too.
        let h2 = policy.direct_client(Some(HttpVersion::Http2)).unwrap();
        let e = get(&h2, &server.endpoint("/h1")).await.unwrap_err();
        assert!(e.contains("505"), "{e}");
        let h1 = policy.direct_client(Some(HttpVersion::Http1)).unwrap();
        assert_eq!(get(&h1, &server.endpoint("/h1")).await.unwrap(), b"ok");
    }
}

/// RO-TRANSPORT-011 over TLS, on loopback: the Http1 and Http2 clients of [`HostPolicy`] against an axum server
/// on rustls whose certificate chains to a private CA (the committed `testkeys/tls-*` files, made by
/// `testkeys/tls-fixtures.sh`), trusted the way `--tls-ca` trusts it.
#[cfg(test)]
mod tls_over_alpn {
    use super::*;
    use crate::signature::token::PARTNER_JWKS_PATH;
    use std::net::SocketAddr;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::server::TlsStream;

    const CA: &str = include_str!("testkeys/tls-ca.pem");
    const LEAF: &str = include_str!("testkeys/tls-leaf.pem");
    const LEAF_KEY: &str = include_str!("testkeys/tls-leaf.key");
    const JWKS: &str = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}"#;

    /// Accepts TCP connections and completes the TLS handshake; a failed handshake is dropped (the client sees
    /// the alert) and the next connection accepted.
    struct TlsListener {
        tcp: TcpListener,
        tls: TlsAcceptor,
    }

    impl axum::serve::Listener for TlsListener {
        type Io = TlsStream<TcpStream>;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            loop {
                let Ok((tcp, addr)) = self.tcp.accept().await else {
                    continue;
                };
                if let Ok(tls) = self.tls.accept(tcp).await {
                    return (tls, addr);
                }
            }
        }

        fn local_addr(&self) -> std::io::Result<SocketAddr> {
            self.tcp.local_addr()
        }
    }

    /// A JWKS at the Partner JWKS path over TLS on `127.0.0.1:0`, offering `alpn` (axum answers HTTP/1.1 and
    /// HTTP/2 alike; ALPN alone decides what a client may speak). Stops when dropped.
    struct TlsServer {
        addr: SocketAddr,
        task: tokio::task::JoinHandle<()>,
    }

    impl TlsServer {
        async fn start(alpn: &[&[u8]]) -> Self {
            let leaf = CertificateDer::pem_slice_iter(LEAF.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(LEAF_KEY.as_bytes()).unwrap();
            let mut config =
                rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_no_client_auth()
                    .with_single_cert(leaf, key)
                    .unwrap();
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            let tcp = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
            let addr = tcp.local_addr().unwrap();
            let listener = TlsListener {
                tcp,
                tls: TlsAcceptor::from(Arc::new(config)),
            };
            let router = axum::Router::new().route(
                PARTNER_JWKS_PATH,
                axum::routing::get(|| async { ([("content-type", "application/json")], JWKS) }),
            );
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            Self { addr, task }
        }

        fn jwks(&self, host: &str) -> String {
            format!("https://{host}:{}{PARTNER_JWKS_PATH}", self.addr.port())
        }
    }

    impl Drop for TlsServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    fn ca_file() -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, CA.as_bytes()).unwrap();
        file
    }

    /// The policy of `conformance run --target https://127.0.0.1:PORT --allow-host localhost --tls-ca FILE`:
    /// the HTTP target's, as the enlistment and push cases get it.
    fn trusting_policy(port: u16) -> HostPolicy {
        use crate::provider::Provider;
        let ca = ca_file();
        let options = crate::http::client::HttpOptions {
            allow_hosts: vec!["localhost".into()],
            tls_ca: vec![ca.path().to_path_buf()],
            ..crate::http::client::HttpOptions::new(format!("https://127.0.0.1:{port}"))
        };
        crate::http::client::HttpProvider::new(&options)
            .unwrap()
            .allowed_hosts()
    }

    const PATH: Option<&str> = Some(PARTNER_JWKS_PATH);

    /// (a) A server offering h2 and http/1.1: the Http1 client gets HTTP/1.1, the Http2 client HTTP/2 (by ALPN,
    /// over TLS), by IP address and by name; the push client (no redirects) likewise.
    #[tokio::test]
    async fn each_client_negotiates_its_protocol_by_alpn() {
        let server = TlsServer::start(&[b"h2", b"http/1.1"]).await;
        let policy = trusting_policy(server.addr.port());
        for host in ["127.0.0.1", "localhost"] {
            let url = server.jwks(host);
            for version in HttpVersion::BOTH {
                let client = policy.client_speaking(PATH, Some(version)).unwrap();
                let (body, got) = get_versioned(&client, &url).await.unwrap();
                assert_eq!(got, version.wire(), "{url} {version:?}");
                assert_eq!(body, JWKS.as_bytes());
                let push = policy.direct_client(Some(version)).unwrap();
                let (_, got) = get_versioned(&push, &url).await.unwrap();
                assert_eq!(got, version.wire(), "push client, {url} {version:?}");
            }
        }
        // Unpinned, a client offers both and the server picks h2.
        let (_, got) = get_versioned(&policy.client(PATH).unwrap(), &server.jwks("127.0.0.1"))
            .await
            .unwrap();
        assert_eq!(got, reqwest::Version::HTTP_2);
    }

    /// (b) A server offering only http/1.1: the Http2 client's handshake is refused (no application protocol),
    /// so a JWKS or push endpoint that cannot speak h2 over TLS fails the HTTP/2 step; the Http1 client passes.
    #[tokio::test]
    async fn a_server_without_h2_fails_the_http2_client() {
        let server = TlsServer::start(&[b"http/1.1"]).await;
        let policy = trusting_policy(server.addr.port());
        let url = server.jwks("127.0.0.1");
        let h1 = policy.client_speaking(PATH, Some(HttpVersion::Http1)).unwrap();
        let (_, got) = get_versioned(&h1, &url).await.unwrap();
        assert_eq!(got, reqwest::Version::HTTP_11);
        let h2 = policy.client_speaking(PATH, Some(HttpVersion::Http2)).unwrap();
        let e = get_versioned(&h2, &url).await.unwrap_err();
        assert!(e.starts_with(&format!("GET {url}: ")), "{e}");
        assert!(e.contains("NoApplicationProtocol"), "{e}");
        // The same through the function `enlistment.jwks-http-versions` calls: a finding, not a harness error.
        let found = crate::signature::token::fetch_partner_jwks(&policy, &url, HttpVersion::Http2).await;
        assert!(
            matches!(&found, Err(crate::signature::token::TokenError::Invalid(m)) if m.contains("NoApplicationProtocol")),
            "{found:?}"
        );
    }

    /// (c) Without the CA the certificate is not trusted (the system's roots alone), and the error says so.
    #[tokio::test]
    async fn without_the_ca_the_certificate_is_refused() {
        let server = TlsServer::start(&[b"h2", b"http/1.1"]).await;
        let untrusting = HostPolicy::for_target(&format!("https://127.0.0.1:{}", server.addr.port()), &[]).unwrap();
        let url = server.jwks("127.0.0.1");
        for version in HttpVersion::BOTH {
            let client = untrusting.client_speaking(PATH, Some(version)).unwrap();
            let e = get_versioned(&client, &url).await.unwrap_err();
            assert!(
                e.contains("invalid peer certificate: UnknownIssuer"),
                "{version:?}: {e}"
            );
        }
    }

    #[test]
    fn a_bad_ca_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = load_ca(&missing).unwrap_err();
        assert!(
            e.starts_with(&format!("--tls-ca {}: cannot read", missing.display())),
            "{e}"
        );
        let write = |name: &str, text: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let cases: [(&str, &[u8], &str); 4] = [
            ("empty.pem", b"", "no PEM certificate"),
            ("key.pem", LEAF_KEY.as_bytes(), "no PEM certificate"),
            (
                "junk.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "certificate 1 is not a usable CA certificate",
            ),
            ("torn.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n", "not PEM"),
        ];
        for (name, text, needle) in cases {
            let path = write(name, text);
            let e = load_ca(&path).unwrap_err();
            assert!(e.starts_with(&format!("--tls-ca {}: ", path.display())), "{e}");
            assert!(e.contains(needle), "{name}: {e}");
        }
        let big = write("big.pem", &vec![b'x'; MAX_CA_FILE as usize + 1]);
        assert!(load_ca(&big).unwrap_err().contains("larger than"));
        // A bundle: every certificate is read, other blocks skipped.
        let bundle = write("bundle.pem", format!("{CA}{LEAF_KEY}{LEAF}").as_bytes());
        assert_eq!(load_ca(&bundle).unwrap().len(), 2);
    }
}
