//! The HTTP target: a [`Provider`] that drives an adapter over the v1 API, defensively. Every request is
//! bounded in time (per request and by the run deadline), in size (the body is streamed and cut at a cap) and
//! in number (requests in flight); whatever goes wrong on the wire becomes [`CallError::Transport`], so that
//! case scores `error` and the run goes on. The bearer token is kept out of every message and `Debug` output.

use super::api::{
    self, ClientRequest, DecryptRequest, Empty, EncryptRequest, ErrorBody, Method, Operation, ProcessBundleRequest,
    VerifySignatureRequest,
};
use crate::provider::{
    CallError, CallResult, Capabilities, Ciphertext, ClientId, CreateClient, Enlistment, EnlistmentRequest, ErrorClass,
    MediaDecrypt, MediaEncrypt, MediaEncrypted, PreKeyBundle, Provider, PushConfig, PushEndpoint, SecurityCode,
};
use crate::sanitize::Sanitizer;
use crate::signature::http::HostPolicy;
use crate::transcript;
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on one response body.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// How to reach and bound an adapter.
#[derive(Clone)]
pub struct HttpOptions {
    /// Base URL, `http://HOST:PORT` or `https://...` (optionally with a path prefix).
    pub target: String,
    /// Longest one request may take, connection and body included.
    pub request_timeout: Duration,
    /// Whole-run deadline, counted from [`HttpProvider::new`]; later requests fail at once.
    pub deadline: Option<Duration>,
    /// Largest response body read; a larger one is a transport error.
    pub max_response_bytes: usize,
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// Bearer token sent as `Authorization: Bearer <token>`. Never printed.
    pub token: Option<String>,
    /// Hosts besides the target's own that the harness may contact when the adapter names a URL
    /// (`--allow-host`).
    pub allow_hosts: Vec<String>,
    /// PEM files of CA certificates to trust besides the system's roots (`--tls-ca`): for the target and for
    /// the URLs the adapter names (JWKS, push endpoint).
    pub tls_ca: Vec<std::path::PathBuf>,
}

impl HttpOptions {
    /// Defaults for `target`.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            deadline: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_in_flight: 16,
            token: None,
            allow_hosts: Vec::new(),
            tls_ca: Vec::new(),
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("target", &self.target)
            .field("request_timeout", &self.request_timeout)
            .field("deadline", &self.deadline)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_in_flight", &self.max_in_flight)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("allow_hosts", &self.allow_hosts)
            .field("tls_ca", &self.tls_ca)
            .finish()
    }
}

/// Why an HTTP target cannot be set up (a usage error, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not usable.
    #[error("invalid target URL `{url}`: {reason}")]
    BadTarget {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The token cannot be sent in a header.
    #[error("the bearer token contains characters not allowed in an HTTP header")]
    BadToken,
    /// An `--allow-host` value is not a host.
    #[error("{0}")]
    BadHost(String),
    /// A `--tls-ca` file cannot be read or holds no usable CA certificate.
    #[error("{0}")]
    BadCa(String),
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// A provider behind the adapter API.
pub struct HttpProvider {
    /// Base URL without a trailing slash.
    base: String,
    http: reqwest::Client,
    authorization: Option<HeaderValue>,
    /// Redacts the token from whatever the adapter sends back (transcripts included).
    sanitizer: Sanitizer,
    /// The hosts the adapter may name URLs on.
    hosts: HostPolicy,
    request_timeout: Duration,
    deadline: Option<Instant>,
    max_response_bytes: usize,
    limit: Semaphore,
    /// Optional operations the adapter advertised, once `capabilities` answered.
    advertised: OnceLock<Vec<String>>,
}

impl fmt::Debug for HttpProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProvider")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// rustls is built without a default crypto provider; install ring once per process.
pub(crate) fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Check and normalise a target URL: http(s), a host, no credentials, no query.
pub fn normalise_target(url: &str) -> Result<String, ClientError> {
    let bad = |reason: &str| ClientError::BadTarget {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "credentials in the URL would be written into reports; use --token-env",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("no query or fragment allowed"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

impl HttpProvider {
    /// A client for `options.target`. Does not connect yet.
    pub fn new(options: &HttpOptions) -> Result<Self, ClientError> {
        install_crypto();
        let base = normalise_target(&options.target)?;
        let mut roots = Vec::new();
        for path in &options.tls_ca {
            roots.extend(crate::signature::http::load_ca(path).map_err(ClientError::BadCa)?);
        }
        let hosts = HostPolicy::for_target(&base, &options.allow_hosts)
            .map_err(ClientError::BadHost)?
            .trusting(roots.clone());
        let authorization = match &options.token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ClientError::BadToken)?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let in_flight = options.max_in_flight.max(1);
        let http = crate::signature::http::trusting(reqwest::Client::builder(), &roots)
            // The request timeout is enforced around the whole exchange (body included) in `call`.
            .connect_timeout(options.request_timeout)
            .pool_max_idle_per_host(in_flight)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(concat!("interop-conformance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Build(error_chain(&e)))?;
        Ok(Self {
            base,
            http,
            authorization,
            sanitizer: Sanitizer::new(options.token.clone()),
            hosts,
            request_timeout: options.request_timeout,
            // A deadline too far to represent is no deadline.
            deadline: options.deadline.and_then(|d| Instant::now().checked_add(d)),
            max_response_bytes: options.max_response_bytes,
            limit: Semaphore::new(in_flight),
            advertised: OnceLock::new(),
        })
    }

    /// One operation over the wire, within every bound.
    pub async fn call<O: Operation>(&self, request: &O::Request) -> CallResult<O::Response> {
        if let (Some(cap), Some(advertised)) = (O::capability(request), self.advertised.get())
            && !advertised.iter().any(|a| a == cap)
        {
            return Err(CallError::Unsupported {
                operation: O::NAME.into(),
            });
        }
        let what = describe::<O>();
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|_| transport(&what, "the client is shutting down"))?;
        let budget = match self.deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(self.request_timeout),
                _ => return Err(transport(&what, "run deadline exceeded before the request")),
            },
            None => self.request_timeout,
        };
        self.exchange::<O>(request, &what, budget).await
    }

    /// Send within `budget` and decode; in a recording case, also write the exchange into its transcript.
    async fn exchange<O: Operation>(
        &self,
        request: &O::Request,
        what: &str,
        budget: Duration,
    ) -> CallResult<O::Response> {
        let bounded = async {
            match tokio::time::timeout(budget, self.send::<O>(request, what)).await {
                Ok(result) => result,
                Err(_) => Err(transport(
                    what,
                    &format!("no complete response within {:.1}s", budget.as_secs_f64()),
                )),
            }
        };
        if !transcript::active() {
            return bounded
                .await
                .and_then(|(status, body)| decode::<O>(status, &body, &self.sanitizer));
        }
        let started = Instant::now();
        let mut entry = transcript::Exchange {
            method: O::METHOD.as_str().to_ascii_uppercase(),
            path: O::PATH.into(),
            request: match O::METHOD {
                Method::Get => String::new(),
                Method::Post => serde_json::to_string(request).unwrap_or_default(),
            },
            status: None,
            response: String::new(),
            error: None,
            ms: 0.0,
        };
        let sent = bounded.await;
        entry.ms = started.elapsed().as_secs_f64() * 1000.0;
        let result = match sent {
            Ok((status, body)) => {
                entry.status = Some(status);
                entry.response = String::from_utf8_lossy(&body).into_owned();
                decode::<O>(status, &body, &self.sanitizer)
            }
            Err(e) => Err(e),
        };
        if let Err(CallError::Transport { message }) = &result {
            entry.error = Some(message.clone());
        }
        transcript::record(entry, &self.sanitizer);
        result
    }

    /// Send one request; the status and the complete body, within the size cap.
    async fn send<O: Operation>(&self, request: &O::Request, what: &str) -> CallResult<(u16, Vec<u8>)> {
        let url = format!("{}{}", self.base, O::PATH);
        let mut builder = match O::METHOD {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url).json(request),
        };
        if let Some(auth) = &self.authorization {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        let mut response = builder.send().await.map_err(|e| transport(what, &error_chain(&e)))?;
        let status = response.status().as_u16();
        if let Some(len) = response.content_length()
            && len > self.max_response_bytes as u64
        {
            return Err(transport(
                what,
                &too_large(self.max_response_bytes, &format!("{len} announced")),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport(what, &format!("response body broken off: {}", error_chain(&e))))?
        {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(transport(what, &too_large(self.max_response_bytes, "more sent")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    fn advertises(&self, capabilities: &Capabilities) {
        let _ = self.advertised.set(capabilities.operations.clone());
    }
}

fn describe<O: Operation>() -> String {
    let method = match O::METHOD {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    format!("{method} {}", O::PATH)
}

fn transport(what: &str, message: &str) -> CallError {
    CallError::Transport {
        message: format!("{what}: {message}"),
    }
}

fn too_large(cap: usize, seen: &str) -> String {
    format!("response larger than the {cap}-byte cap ({seen})")
}

/// An error and its causes, `a: b: c` (reqwest's top-level message alone says little; a refused redirect says
/// why only in a cause).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body)).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("at `{path}`: {}", e.inner())
        }
    })
}

/// Turn a status and a complete body into the operation's result (the documented status table). Excerpts of a
/// bad body are short and have `sanitizer`'s secrets redacted (the rest is sanitized where the report keeps it).
pub fn decode<O: Operation>(status: u16, body: &[u8], sanitizer: &Sanitizer) -> CallResult<O::Response> {
    let what = describe::<O>();
    let snippet = |body: &[u8]| sanitizer.excerpt(body);
    match status {
        api::STATUS_OK => parse::<O::Response>(body)
            .map_err(|e| transport(&what, &format!("malformed response: {e} ({})", snippet(body)))),
        api::STATUS_REJECTED => {
            let error: ErrorBody =
                parse(body).map_err(|e| transport(&what, &format!("malformed error body: {e} ({})", snippet(body))))?;
            let class: ErrorClass = serde_json::from_value(serde_json::Value::String(error.error.clone()))
                .map_err(|_| transport(&what, &format!("unknown error class `{}`", error.error)))?;
            Err(CallError::rejected(class, error.detail))
        }
        api::STATUS_UNSUPPORTED => Err(CallError::Unsupported {
            operation: O::NAME.into(),
        }),
        other => Err(transport(&what, &format!("HTTP {other} ({})", snippet(body)))),
    }
}

#[async_trait]
impl Provider for HttpProvider {
    fn target(&self) -> String {
        self.base.clone()
    }

    fn sanitizer(&self) -> Sanitizer {
        self.sanitizer.clone()
    }

    fn allowed_hosts(&self) -> HostPolicy {
        self.hosts.clone()
    }

    async fn capabilities(&self) -> CallResult<Capabilities> {
        let capabilities = self.call::<api::GetCapabilities>(&Empty {}).await?;
        if capabilities.api_version != api::API_VERSION {
            return Err(transport(
                &describe::<api::GetCapabilities>(),
                &format!(
                    "the adapter speaks API `{}`, this suite speaks `{}`",
                    capabilities.api_version,
                    api::API_VERSION
                ),
            ));
        }
        self.advertises(&capabilities);
        Ok(capabilities)
    }

    async fn reset(&self) -> CallResult<()> {
        self.call::<api::Reset>(&Empty {}).await.map(|_| ())
    }

    async fn create_client(&self, request: &CreateClient) -> CallResult<ClientId> {
        self.call::<api::CreateClientOp>(request).await.map(|r| r.client)
    }

    async fn prekey_bundle(&self, client: &ClientId) -> CallResult<PreKeyBundle> {
        let request = ClientRequest { client: client.clone() };
        self.call::<api::GetPrekeyBundle>(&request).await
    }

    async fn process_bundle(&self, client: &ClientId, peer: &str, bundle: &PreKeyBundle) -> CallResult<()> {
        let request = ProcessBundleRequest {
            client: client.clone(),
            peer: peer.into(),
            bundle: bundle.clone(),
        };
        self.call::<api::ProcessBundle>(&request).await.map(|_| ())
    }

    async fn encrypt(&self, client: &ClientId, peer: &str, plaintext: &[u8]) -> CallResult<Ciphertext> {
        let request = EncryptRequest {
            client: client.clone(),
            peer: peer.into(),
            plaintext: plaintext.into(),
        };
        self.call::<api::Encrypt>(&request).await
    }

    async fn decrypt(&self, client: &ClientId, peer: &str, ciphertext: &Ciphertext) -> CallResult<Vec<u8>> {
        let request = DecryptRequest {
            client: client.clone(),
            peer: peer.into(),
            ciphertext: ciphertext.clone(),
        };
        self.call::<api::Decrypt>(&request).await.map(|r| r.plaintext.0)
    }

    async fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> CallResult<bool> {
        let request = VerifySignatureRequest {
            public_key: public_key.into(),
            message: message.into(),
            signature: signature.into(),
        };
        self.call::<api::VerifySignature>(&request).await.map(|r| r.valid)
    }

    async fn media_encrypt(&self, request: &MediaEncrypt) -> CallResult<MediaEncrypted> {
        self.call::<api::MediaEncryptOp>(request).await
    }

    async fn media_decrypt(&self, request: &MediaDecrypt) -> CallResult<Vec<u8>> {
        self.call::<api::MediaDecryptOp>(request).await.map(|r| r.plaintext.0)
    }

    async fn security_code(&self, request: &SecurityCode) -> CallResult<String> {
        self.call::<api::SecurityCodeOp>(request).await.map(|r| r.code)
    }

    async fn enlistment_request(&self, request: &EnlistmentRequest) -> CallResult<Enlistment> {
        self.call::<api::EnlistmentRequestOp>(request).await
    }

    async fn push_endpoint(&self, config: &PushConfig) -> CallResult<PushEndpoint> {
        self.call::<api::PushEndpointOp>(config).await
    }

    async fn group_sender_key(&self, request: &crate::provider::GroupSenderKey) -> CallResult<Vec<u8>> {
        self.call::<api::GroupSenderKeyOp>(request).await.map(|r| r.skdm.0)
    }

    async fn group_process_skdm(&self, request: &crate::provider::GroupProcessSkdm) -> CallResult<()> {
        self.call::<api::GroupProcessSkdmOp>(request).await.map(|_| ())
    }

    async fn group_encrypt(&self, request: &crate::provider::GroupEncrypt) -> CallResult<Vec<u8>> {
        self.call::<api::GroupEncryptOp>(request).await.map(|r| r.skmsg.0)
    }

    async fn group_decrypt(&self, request: &crate::provider::GroupDecrypt) -> CallResult<Vec<u8>> {
        self.call::<api::GroupDecryptOp>(request).await.map(|r| r.plaintext.0)
    }

    async fn transport_connect(
        &self,
        request: &crate::provider::TransportConnect,
    ) -> CallResult<crate::provider::TransportReport> {
        self.call::<api::TransportConnectOp>(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked() {
        assert_eq!(
            normalise_target("http://127.0.0.1:8787/").unwrap(),
            "http://127.0.0.1:8787"
        );
        assert_eq!(
            normalise_target("https://a.example/adapter/").unwrap(),
            "https://a.example/adapter"
        );
        for bad in ["ftp://x", "http://u:p@host", "http://h/?q=1", "not a url"] {
            assert!(normalise_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_status_table_decodes() {
        let ok = decode::<api::VerifySignature>(200, br#"{"valid":true}"#, &Sanitizer::default());
        assert_eq!(ok.map(|v| v.valid), Ok(true));
        let rejected =
            decode::<api::VerifySignature>(422, br#"{"error":"bad_mac","detail":"x"}"#, &Sanitizer::default());
        assert_eq!(
            rejected.map(|v| v.valid),
            Err(CallError::rejected(ErrorClass::BadMac, "x"))
        );
        let unsupported = decode::<api::VerifySignature>(501, b"", &Sanitizer::default());
        assert!(
            matches!(unsupported, Err(CallError::Unsupported { ref operation }) if operation == "verify_signature")
        );
        for (status, body, needle) in [
            (200, &br#"{"valid":"yes"}"#[..], "at `valid`"),
            (200, b"{not json", "malformed response"),
            (422, br#"{"error":"nonsense"}"#, "unknown error class"),
            (500, b"oops", "HTTP 500"),
            (404, b"", "HTTP 404"),
        ] {
            match decode::<api::VerifySignature>(status, body, &Sanitizer::default()) {
                Err(CallError::Transport { message }) => assert!(message.contains(needle), "{message}"),
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let mut options = HttpOptions::new("http://127.0.0.1:1");
        options.token = Some("s3cret-token".into());
        assert!(!format!("{options:?}").contains("s3cret"));
        let provider = HttpProvider::new(&options).unwrap();
        assert!(!format!("{provider:?}").contains("s3cret"));
    }
}
