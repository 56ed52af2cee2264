//! `conformance adapter-check`: a provider's first step. It checks an adapter's API, not its cryptography:
//! capabilities, reset, client lifecycle and unique ids, 64-bit seeds, concurrent requests on different
//! clients, the request and response shapes of every advertised operation (the types docs/openapi.json is
//! generated from), the error envelope and status codes, bearer-token handling and per-call latency. Every
//! failed check says what to fix. The adapter is untrusted: bodies quoted back are bounded and sanitized.

use crate::bytes::Bytes;
use crate::http::api::{self, ClientCreated, Empty, ErrorBody, Plaintext, SecurityCodeResult, Verified};
use crate::http::client::{install_crypto, normalise_target};
use crate::provider::{
    Capabilities, Ciphertext, CiphertextKind, Enlistment, ErrorClass, MediaEncrypted, OPTIONAL_OPERATIONS,
    PreKeyBundle, PushEndpoint,
};
use crate::sanitize;
use reqwest::header::AUTHORIZATION;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A median per-call latency above this is reported as a failure (Nagle's algorithm adds ~40 ms).
pub const LATENCY_LIMIT_MS: f64 = 25.0;
/// Calls timed for the latency check.
pub const LATENCY_CALLS: usize = 20;
/// Clients created at once by the concurrency check.
const CONCURRENT_CLIENTS: usize = 8;
/// Longest excerpt of an adapter's body quoted back.
const QUOTE_CHARS: usize = 200;

/// What to check and how.
#[derive(Clone)]
pub struct CheckOptions {
    /// The adapter's base URL.
    pub target: String,
    /// The bearer token the adapter requires, if any (never printed).
    pub token: Option<String>,
    /// Longest one request may take.
    pub timeout: Duration,
}

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// As the API says.
    Pass,
    /// Allowed, but worth changing (the suite copes).
    Warn,
    /// Breaks the API: runs against this adapter will score errors or wrong results.
    Fail,
    /// Not applicable (an operation not advertised, no token given).
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Short name (`client ids`).
    pub check: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// What to change in the adapter, for Warn and Fail.
    pub fix: Option<String>,
}

/// Everything adapter-check found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// The adapter's `implementation` text (sanitized).
    pub implementation: String,
    /// In the order checked.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Findings with this status.
    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }

    /// The finding of a check, for tests and callers.
    pub fn find(&self, check: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check == check)
    }

    /// 0 when nothing failed, 1 otherwise (documented in the README).
    pub fn exit_code(&self) -> i32 {
        if self.count(Status::Fail) == 0 {
            crate::exit::CONFORMANT
        } else {
            crate::exit::NOT_CONFORMANT
        }
    }

    /// The terminal text.
    pub fn render(&self, target: &str) -> String {
        let mut out = format!("adapter-check {target}\nimplementation: {}\n", self.implementation);
        for f in &self.findings {
            let _ = writeln!(out, "{} {:<24} {}", f.status.as_str(), f.check, f.detail);
            if let Some(fix) = &f.fix {
                let _ = writeln!(out, "     fix: {fix}");
            }
        }
        let _ = writeln!(
            out,
            "adapter-check: {} checks passed, {} failed, {} warnings, {} skipped",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Warn),
            self.count(Status::Skip)
        );
        out
    }

    fn push(&mut self, check: &'static str, status: Status, detail: impl Into<String>, fix: Option<String>) {
        self.findings.push(Finding {
            check,
            status,
            detail: detail.into(),
            fix,
        });
    }

    fn pass(&mut self, check: &'static str, detail: impl Into<String>) {
        self.push(check, Status::Pass, detail, None);
    }

    fn fail(&mut self, check: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(check, Status::Fail, detail, Some(fix.into()));
    }

    fn warn(&mut self, check: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(check, Status::Warn, detail, Some(fix.into()));
    }
}

/// Why the check could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Bad target URL or client setup (exit 2).
    #[error("{0}")]
    Usage(String),
    /// `GET /v1/capabilities` got no HTTP answer (exit 3).
    #[error("target unreachable: {0}")]
    Unreachable(String),
}

impl CheckError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => crate::exit::INPUT_ERROR,
            Self::Unreachable(_) => crate::exit::UNREACHABLE,
        }
    }
}

/// Which credentials a request carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    Token,
    Missing,
    Wrong,
}

/// One answer as received.
struct Answer {
    status: u16,
    body: Vec<u8>,
    ms: f64,
}

impl Answer {
    fn quote(&self) -> String {
        quote(&self.body)
    }

    fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&self.body)).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!("at `{path}`: ")
            };
            format!("{at}{} in {}", e.inner(), self.quote())
        })
    }

    /// The error envelope of a non-2xx answer, or why it is not one.
    fn envelope(&self) -> Result<ErrorBody, String> {
        self.json::<ErrorBody>()
    }
}

/// An adapter's text made visible and bounded, for a finding.
fn clean(text: &str) -> String {
    sanitize::cut(&sanitize::visible(text, false), QUOTE_CHARS)
}

/// A bounded, sanitized excerpt of an adapter's bytes.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(QUOTE_CHARS).collect();
    let more = if text.chars().count() > QUOTE_CHARS { "…" } else { "" };
    format!("`{}{more}` ({} bytes)", sanitize::visible(&cut, false), body.len())
}

struct Checker {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    timeout: Duration,
}

impl Checker {
    async fn call(&self, method: &str, path: &str, body: Option<&Value>, auth: Auth) -> Result<Answer, String> {
        let url = format!("{}{path}", self.base);
        let mut builder = if method == "GET" {
            self.http.get(url)
        } else {
            self.http.post(url).json(body.unwrap_or(&json!({})))
        };
        match (auth, &self.token) {
            (Auth::Token, Some(t)) => builder = builder.header(AUTHORIZATION, format!("Bearer {t}")),
            (Auth::Wrong, _) => builder = builder.header(AUTHORIZATION, "Bearer adapter-check-wrong-token"),
            _ => {}
        }
        let started = Instant::now();
        let exchange = async {
            let response = builder.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| format!("{method} {path}: body broken off: {e}"))?;
            Ok::<_, String>((status, body.to_vec()))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("{method} {path}: no answer within {:.1}s", self.timeout.as_secs_f64()))??;
        Ok(Answer {
            status,
            body,
            ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Answer, String> {
        self.call("POST", path, Some(&body), Auth::Token).await
    }

    /// POST and decode a 200 answer as `T`, or say why not.
    async fn expect<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, String> {
        let answer = self.post(path, body).await?;
        if answer.status != api::STATUS_OK {
            return Err(format!("POST {path}: HTTP {} {}", answer.status, answer.quote()));
        }
        answer.json::<T>().map_err(|e| format!("POST {path}: {e}"))
    }

    async fn create(&self, name: &str, seed: Option<u64>) -> Result<String, String> {
        let mut body = json!({ "name": name });
        if let Some(seed) = seed {
            body["seed"] = json!(seed);
        }
        self.expect::<ClientCreated>("/v1/clients", body)
            .await
            .map(|c| c.client.0)
    }
}

const FIX_SHAPES: &str = "answer with the JSON shape docs/adapter-api.md and docs/openapi.json give for this endpoint";

/// Run every check against `options.target`.
pub async fn check(options: &CheckOptions) -> Result<CheckReport, CheckError> {
    install_crypto();
    let base = normalise_target(&options.target).map_err(|e| CheckError::Usage(e.to_string()))?;
    let http = reqwest::Client::builder()
        .connect_timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .map_err(|e| CheckError::Usage(format!("cannot build the HTTP client: {e}")))?;
    let c = Checker {
        base,
        http,
        token: options.token.clone(),
        timeout: options.timeout,
    };
    let mut report = CheckReport::default();
    let capabilities = capabilities(&c, &mut report).await?;
    let Some(capabilities) = capabilities else {
        return Ok(report);
    };
    report.implementation = clean(&capabilities.implementation);
    bearer(&c, &mut report).await;
    reset(&c, &mut report).await;
    let ids = clients(&c, &mut report).await;
    seeds(&c, &mut report).await;
    let bundles = bundles(&c, &mut report, &ids).await;
    session(&c, &mut report, &ids).await;
    errors(&c, &mut report, &ids).await;
    concurrency(&c, &mut report).await;
    optional(&c, &mut report, &capabilities, &ids, &bundles).await;
    latency(&c, &mut report, &ids).await;
    Ok(report)
}

async fn capabilities(c: &Checker, report: &mut CheckReport) -> Result<Option<Capabilities>, CheckError> {
    const NAME: &str = "capabilities";
    let answer = c
        .call("GET", "/v1/capabilities", None, Auth::Token)
        .await
        .map_err(CheckError::Unreachable)?;
    if answer.status == 401 && c.token.is_none() {
        report.fail(
            NAME,
            "HTTP 401 without a token",
            "the adapter wants a bearer token: run adapter-check with --token-env VAR",
        );
        return Ok(None);
    }
    if answer.status != api::STATUS_OK {
        report.fail(
            NAME,
            format!("HTTP {} {}", answer.status, answer.quote()),
            "GET /v1/capabilities must answer 200 with {implementation, api_version, profiles, operations}",
        );
        return Ok(None);
    }
    let caps: Capabilities = match answer.json() {
        Ok(c) => c,
        Err(e) => {
            report.fail(NAME, e, FIX_SHAPES);
            return Ok(None);
        }
    };
    if caps.api_version != api::API_VERSION {
        report.fail(
            NAME,
            format!("api_version {:?}", clean(&caps.api_version)),
            "answer \"api_version\": \"v1\"",
        );
        return Ok(None);
    }
    let unknown: Vec<String> = caps
        .operations
        .iter()
        .filter(|o| !OPTIONAL_OPERATIONS.contains(&o.as_str()))
        .map(|o| clean(o))
        .collect();
    if !unknown.is_empty() {
        report.fail(
            NAME,
            format!("unknown operations {unknown:?}"),
            format!(
                "list only optional operations, from {}; mandatory ones are never listed",
                OPTIONAL_OPERATIONS.join(", ")
            ),
        );
    } else {
        report.pass(
            NAME,
            format!("api v1, optional operations [{}]", caps.operations.join(", ")),
        );
    }
    Ok(Some(caps))
}

async fn bearer(c: &Checker, report: &mut CheckReport) {
    const NAME: &str = "bearer token";
    if c.token.is_none() {
        report.push(
            NAME,
            Status::Skip,
            "no --token-env given: the adapter is checked without a token",
            None,
        );
        return;
    }
    let mut accepted = Vec::new();
    for (auth, what) in [(Auth::Missing, "without a token"), (Auth::Wrong, "with a wrong token")] {
        for (method, path) in [("GET", "/v1/capabilities"), ("POST", "/v1/reset")] {
            match c.call(method, path, Some(&json!({})), auth).await {
                Ok(a) if a.status == 401 => {}
                Ok(a) => accepted.push(format!("{method} {path} {what}: HTTP {}", a.status)),
                Err(e) => accepted.push(e),
            }
        }
    }
    if accepted.is_empty() {
        report.pass(NAME, "401 without the token and with a wrong one");
    } else {
        report.fail(
            NAME,
            accepted.join("; "),
            "answer 401 to every /v1 request whose Authorization is not exactly `Bearer <token>`",
        );
    }
}

async fn reset(c: &Checker, report: &mut CheckReport) {
    const NAME: &str = "reset";
    match c.post("/v1/reset", json!({})).await {
        Ok(a) if a.status == api::STATUS_OK && a.json::<Empty>().is_ok() => report.pass(NAME, "200 {}"),
        Ok(a) if a.status == api::STATUS_UNSUPPORTED => report.warn(
            NAME,
            "501: state from earlier runs stays",
            "implement POST /v1/reset (forget every client and session) so that runs start empty",
        ),
        Ok(a) => report.fail(
            NAME,
            format!("HTTP {} {}", a.status, a.quote()),
            "POST /v1/reset {} must answer 200 {} (or 501)",
        ),
        Err(e) => report.fail(NAME, e, "answer POST /v1/reset within the timeout"),
    }
}

/// Client ids of the lifecycle check: `alice`, `alice` again, `bob`.
struct Ids {
    alice: Option<String>,
    bob: Option<String>,
}

async fn clients(c: &Checker, report: &mut CheckReport) -> Ids {
    const NAME: &str = "client ids";
    let mut made = Vec::new();
    for name in ["alice", "alice", "bob"] {
        match c.create(name, Some(7)).await {
            Ok(id) => made.push(id),
            Err(e) => {
                report.fail(
                    NAME,
                    e,
                    "POST /v1/clients {name, seed} must answer 200 {\"client\": \"<id>\"}",
                );
                return Ids { alice: None, bob: None };
            }
        }
    }
    let distinct: std::collections::BTreeSet<&String> = made.iter().collect();
    if distinct.len() == made.len() {
        report.pass(NAME, format!("three clients, distinct ids {made:?}"));
    } else {
        report.fail(
            NAME,
            format!("ids {made:?} repeat"),
            "return a client id unique for the adapter's lifetime (since the last reset), e.g. `alice-17`: many cases reuse a name",
        );
    }
    Ids {
        alice: made.first().cloned(),
        bob: made.get(2).cloned(),
    }
}

async fn seeds(c: &Checker, report: &mut CheckReport) {
    const NAME: &str = "64-bit seeds";
    let mut refused = Vec::new();
    for seed in [u64::MAX, (1u64 << 53) + 1, 0] {
        if let Err(e) = c.create("seedy", Some(seed)).await {
            refused.push(format!("seed {seed}: {e}"));
        }
    }
    if refused.is_empty() {
        report.pass(NAME, "seeds 0, 2^53+1 and 2^64-1 accepted");
    } else {
        report.fail(
            NAME,
            refused.join("; "),
            "accept any unsigned 64-bit `seed` (the suite draws the full range); parse it as u64, or ignore it",
        );
    }
}

async fn bundles(c: &Checker, report: &mut CheckReport, ids: &Ids) -> Vec<PreKeyBundle> {
    const NAME: &str = "prekey bundle";
    let mut out = Vec::new();
    for id in [&ids.alice, &ids.bob].into_iter().flatten() {
        match c
            .expect::<PreKeyBundle>("/v1/prekey-bundle", json!({ "client": id }))
            .await
        {
            Ok(b) => out.push(b),
            Err(e) => {
                report.fail(NAME, e, FIX_SHAPES);
                return out;
            }
        }
    }
    let Some(b) = out.first() else {
        report.push(NAME, Status::Skip, "no client to ask", None);
        return out;
    };
    let key = |k: &Bytes| k.len() == 33 && k.first() == Some(&0x05);
    let mut wrong = Vec::new();
    if !key(&b.identity_key) {
        wrong.push(format!("identity_key of {} bytes", b.identity_key.len()));
    }
    if !key(&b.signed_prekey) {
        wrong.push(format!("signed_prekey of {} bytes", b.signed_prekey.len()));
    }
    if b.signed_prekey_signature.len() != 64 {
        wrong.push(format!("signature of {} bytes", b.signed_prekey_signature.len()));
    }
    if let Some(k) = &b.prekey
        && !key(k)
    {
        wrong.push(format!("prekey of {} bytes", k.len()));
    }
    if !wrong.is_empty() {
        report.fail(
            NAME,
            wrong.join(", "),
            "keys are serialized 0x05 || 32 bytes (33), signatures 64 bytes, all lowercase hex",
        );
    } else if b.prekey.is_none() {
        report.warn(
            NAME,
            "a fresh client offers no one-time prekey",
            "give generated clients one-time prekeys (the reference makes 4): cases with a one-time prekey need one",
        );
    } else {
        report.pass(NAME, "33-byte 0x05 keys, 64-byte signature, one-time prekey offered");
    }
    out
}

async fn session(c: &Checker, report: &mut CheckReport, ids: &Ids) {
    const NAME: &str = "session round trip";
    let (Some(alice), Some(bob)) = (&ids.alice, &ids.bob) else {
        report.push(NAME, Status::Skip, "no clients", None);
        return;
    };
    let steps = async {
        let bundle: PreKeyBundle = c.expect("/v1/prekey-bundle", json!({ "client": bob })).await?;
        c.expect::<Empty>(
            "/v1/process-bundle",
            json!({ "client": alice, "peer": "bob", "bundle": bundle }),
        )
        .await?;
        let hello = Bytes(b"adapter-check hello".to_vec());
        let first: Ciphertext = c
            .expect(
                "/v1/encrypt",
                json!({ "client": alice, "peer": "bob", "plaintext": hello }),
            )
            .await?;
        if first.kind != CiphertextKind::Pkmsg || first.body.first() != Some(&0x33) {
            return Err(format!(
                "the first message is {:?} starting {:02x?}; expected a pkmsg starting 0x33",
                first.kind,
                first.body.first()
            ));
        }
        let opened: Plaintext = c
            .expect(
                "/v1/decrypt",
                json!({ "client": bob, "peer": "alice", "ciphertext": first }),
            )
            .await?;
        if opened.plaintext != hello {
            return Err("bob decrypted another plaintext than alice encrypted".into());
        }
        let reply: Ciphertext = c
            .expect(
                "/v1/encrypt",
                json!({ "client": bob, "peer": "alice", "plaintext": hello }),
            )
            .await?;
        if reply.kind != CiphertextKind::Msg {
            return Err(format!("bob's reply is {:?}; expected msg", reply.kind));
        }
        let back: Plaintext = c
            .expect(
                "/v1/decrypt",
                json!({ "client": alice, "peer": "bob", "ciphertext": reply }),
            )
            .await?;
        if back.plaintext != hello {
            return Err("alice decrypted another plaintext than bob encrypted".into());
        }
        Ok::<_, String>(())
    };
    match steps.await {
        Ok(()) => report.pass(NAME, "bundle, pkmsg, decrypt, msg reply, decrypt between two of its own clients"),
        Err(e) => report.fail(
            NAME,
            e,
            "follow the call order of docs/adapter-api.md: process-bundle starts the session, the first encrypt is a pkmsg, replies are msg",
        ),
    }
}

/// A 4xx answer with a well-formed envelope whose class is known, or what is wrong with it.
fn rejection(answer: &Answer, want_status: u16) -> Result<String, String> {
    if answer.status != want_status {
        return Err(format!("HTTP {} {}", answer.status, answer.quote()));
    }
    let body = answer.envelope()?;
    let known = ErrorClass::ALL.iter().any(|k| k.as_str() == body.error);
    if !known {
        return Err(format!(
            "class {:?} is not one of the API's classes",
            clean(&body.error)
        ));
    }
    Ok(body.error)
}

async fn errors(c: &Checker, report: &mut CheckReport, ids: &Ids) {
    let Some(alice) = &ids.alice else {
        return;
    };
    let envelope_fix =
        "a refusal is 422 {\"error\": \"<class>\", \"detail\": \"...\"} with a class from docs/adapter-api.md";
    match c
        .post("/v1/encrypt", json!({ "client": alice, "peer": "nobody-here", "plaintext": "00" }))
        .await
    {
        Ok(a) => match rejection(&a, api::STATUS_REJECTED) {
            Ok(class) if class == ErrorClass::NoSession.as_str() => {
                report.pass("rejection envelope", "encrypt without a session: 422 no_session")
            }
            Ok(class) => report.warn(
                "rejection envelope",
                format!("encrypt without a session: 422 {class}"),
                "answer no_session when there is no session with the peer (the library may have no such notion: map its error)",
            ),
            Err(e) => report.fail("rejection envelope", format!("encrypt without a session: {e}"), envelope_fix),
        },
        Err(e) => report.fail("rejection envelope", e, envelope_fix),
    }
    match c
        .post("/v1/prekey-bundle", json!({ "client": "no-such-client-0" }))
        .await
    {
        Ok(a) => match rejection(&a, api::STATUS_REJECTED) {
            Ok(_) => report.pass("unknown client", "422 with a class"),
            Err(e) if (400..500).contains(&a.status) && a.envelope().is_ok() => report.warn(
                "unknown client",
                e,
                "answer 422 {\"error\": \"invalid_argument\"} for an unknown client id",
            ),
            Err(e) => report.fail(
                "unknown client",
                e,
                "answer 422 {\"error\": \"invalid_argument\"} for an unknown client id, never 2xx or 5xx",
            ),
        },
        Err(e) => report.fail("unknown client", e, "answer requests about unknown clients"),
    }
    match c
        .post("/v1/encrypt", json!({ "client": alice, "peer": "bob", "plaintext": "zz" }))
        .await
    {
        Ok(a) => match rejection(&a, api::STATUS_BAD_REQUEST) {
            Ok(_) => report.pass("bad request", "invalid hex: 400 with the envelope"),
            Err(e) => report.fail(
                "bad request",
                format!("plaintext \"zz\": {e}"),
                "answer 400 {\"error\": \"invalid_argument\", \"detail\": \"...\"} to a request that does not match the schema (here: not hex)",
            ),
        },
        Err(e) => report.fail("bad request", e, "answer malformed requests with 400"),
    }
    match c.call("GET", "/v1/no-such-endpoint", None, Auth::Token).await {
        Ok(a) if a.status == 404 => report.pass("unknown endpoint", "404"),
        Ok(a) => report.warn(
            "unknown endpoint",
            format!("HTTP {} {}", a.status, a.quote()),
            "answer 404 with the error envelope for paths the API does not have",
        ),
        Err(e) => report.warn("unknown endpoint", e, "answer unknown paths with 404"),
    }
}

async fn concurrency(c: &Checker, report: &mut CheckReport) {
    const NAME: &str = "concurrent clients";
    let tasks = (0..CONCURRENT_CLIENTS).map(|n| async move {
        let name = format!("parallel{n}");
        let id = c.create(&name, Some(n as u64)).await?;
        let b: PreKeyBundle = c.expect("/v1/prekey-bundle", json!({ "client": id })).await?;
        Ok::<_, String>((id, b.identity_key))
    });
    let results = futures_join_all(tasks).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut keys = std::collections::BTreeSet::new();
    for r in &results {
        match r {
            Ok((id, key)) => {
                ids.insert(id.clone());
                keys.insert(key.0.clone());
            }
            Err(e) => {
                report.fail(
                    NAME,
                    format!("{CONCURRENT_CLIENTS} clients at once: {e}"),
                    "serve concurrent requests on different clients (the suite runs cases in parallel with --concurrency)",
                );
                return;
            }
        }
    }
    if ids.len() != CONCURRENT_CLIENTS || keys.len() != CONCURRENT_CLIENTS {
        report.fail(
            NAME,
            format!(
                "{} distinct ids and {} distinct identity keys for {CONCURRENT_CLIENTS} clients",
                ids.len(),
                keys.len()
            ),
            "keep clients created at the same time apart: each its own id and keys",
        );
    } else {
        report.pass(NAME, format!("{CONCURRENT_CLIENTS} clients created and read at once"));
    }
}

/// Await every future (they run concurrently on this task).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// One request per optional operation: its shape when advertised, 501 when not.
async fn optional(c: &Checker, report: &mut CheckReport, caps: &Capabilities, ids: &Ids, bundles: &[PreKeyBundle]) {
    let advertised = |op: &str| caps.operations.iter().any(|o| o == op);
    let (Some(alice), Some(bundle)) = (&ids.alice, bundles.first()) else {
        return;
    };
    let media = json!({ "media_type": "image", "media_key": Bytes(vec![7; 32]), "plaintext": Bytes(vec![1; 40]) });
    let requests: [(&str, &str, Value); 6] = [
        ("import_keys", "/v1/clients", import_request()),
        (
            "verify_signature",
            "/v1/verify-signature",
            json!({ "public_key": bundle.identity_key, "message": bundle.signed_prekey, "signature": bundle.signed_prekey_signature }),
        ),
        ("media", "/v1/media/encrypt", media),
        (
            "security_code",
            "/v1/security-code",
            json!({ "local_identity": bundle.identity_key, "local_id": Bytes(b"alice".to_vec()),
                    "remote_identity": bundles.last().map(|b| b.identity_key.clone()).unwrap_or_default(),
                    "remote_id": Bytes(b"bob".to_vec()) }),
        ),
        (
            "enlistment",
            "/v1/enlistment-request",
            json!({ "client": alice, "identifier": "alice421" }),
        ),
        (
            "push",
            "/v1/push-endpoint",
            json!({ "jwks_url": "http://127.0.0.1:9/.well-known/jwks" }),
        ),
    ];
    for (op, path, body) in requests {
        let answer = match c.post(path, body).await {
            Ok(a) => a,
            Err(e) => {
                report.fail(op_check(op), e, "answer every request within the timeout");
                continue;
            }
        };
        if !advertised(op) {
            if answer.status == api::STATUS_UNSUPPORTED || (op == "import_keys" && answer.status == 200) {
                report.push(op_check(op), Status::Skip, "not advertised", None);
            } else {
                report.warn(
                    op_check(op),
                    format!("not advertised, but POST {path} answers HTTP {}", answer.status),
                    format!("advertise `{op}` in capabilities if you serve it; otherwise answer 501 {{\"error\": \"unsupported\"}}"),
                );
            }
            continue;
        }
        let shape = match op {
            "import_keys" => answer
                .json::<ClientCreated>()
                .map(|_| "client created from imported keys".to_string()),
            "verify_signature" => answer
                .json::<Verified>()
                .map(|v| format!("{{\"valid\": {}}} for the adapter's own signed prekey", v.valid)),
            "media" => media_round_trip(c, &answer).await,
            "security_code" => answer.json::<SecurityCodeResult>().and_then(|r| {
                if r.code.len() == 60 && r.code.bytes().all(|b| b.is_ascii_digit()) {
                    Ok("60 digits".to_string())
                } else {
                    Err(format!("code {:?} is not 60 digits", clean(&r.code)))
                }
            }),
            "enlistment" => answer
                .json::<Enlistment>()
                .map(|e| format!("form of {} fields and a jwks_url", e.form.len())),
            _ => answer.json::<PushEndpoint>().map(|_| "url and audience".to_string()),
        };
        let shape = if answer.status == api::STATUS_OK {
            shape
        } else {
            Err(format!("HTTP {} {}", answer.status, answer.quote()))
        };
        match shape {
            Ok(detail) => report.pass(op_check(op), detail),
            Err(e) => report.fail(op_check(op), format!("POST {path}: {e}"), FIX_SHAPES),
        }
    }
}

/// Check names of the optional operations.
fn op_check(op: &str) -> &'static str {
    match op {
        "import_keys" => "op import_keys",
        "verify_signature" => "op verify_signature",
        "media" => "op media",
        "security_code" => "op security_code",
        "enlistment" => "op enlistment",
        _ => "op push",
    }
}

fn import_request() -> Value {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    match crate::family::session::generate::key_material(&mut rng, 4242, &[1, 2]) {
        Ok(keys) => json!({ "name": "imported", "seed": 14, "keys": keys }),
        Err(_) => json!({ "name": "imported" }),
    }
}

/// Encrypt answered; decrypt what came back and check the shapes of both.
async fn media_round_trip(c: &Checker, answer: &Answer) -> Result<String, String> {
    let sealed: MediaEncrypted = answer.json()?;
    let opened: Plaintext = c
        .expect(
            "/v1/media/decrypt",
            json!({ "media_type": "image", "media_key": Bytes(vec![7; 32]), "blob": sealed.blob,
                    "file_sha256": sealed.file_sha256, "file_enc_sha256": sealed.file_enc_sha256 }),
        )
        .await?;
    if opened.plaintext.0 != vec![1; 40] {
        return Err("media/decrypt gave back another plaintext than media/encrypt was given".into());
    }
    Ok("encrypt and decrypt shapes; the blob opens".into())
}

async fn latency(c: &Checker, report: &mut CheckReport, ids: &Ids) {
    const NAME: &str = "latency";
    let Some(bob) = &ids.bob else {
        return;
    };
    let mut ms = Vec::with_capacity(LATENCY_CALLS);
    for _ in 0..LATENCY_CALLS {
        match c.post("/v1/prekey-bundle", json!({ "client": bob })).await {
            Ok(a) => ms.push(a.ms),
            Err(e) => {
                report.fail(NAME, e, "answer every request within the timeout");
                return;
            }
        }
    }
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let p90 = ms[ms.len() * 9 / 10];
    let detail = format!("median {median:.1} ms, p90 {p90:.1} ms over {LATENCY_CALLS} sequential calls");
    if median > LATENCY_LIMIT_MS {
        report.fail(
            NAME,
            detail,
            "answers wait ~40 ms when the server writes headers and body separately with Nagle's algorithm on: \
             set TCP_NODELAY on accepted sockets (Python http.server: `disable_nagle_algorithm = True` on the \
             handler; Node: http.createServer({noDelay: true}); Go: the default; Java: setTcpNoDelay(true)) or \
             write each response in one piece",
        );
    } else {
        report.pass(NAME, detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_bounded_and_sanitized() {
        let q = quote(format!("\u{1b}[31m{}", "x".repeat(500)).as_bytes());
        assert!(q.contains("\\u{1b}[31m"));
        assert!(q.ends_with("…` (505 bytes)"), "{q}");
    }

    #[test]
    fn the_exit_code_follows_failures() {
        let mut r = CheckReport::default();
        r.warn("a", "w", "fix");
        assert_eq!(r.exit_code(), 0);
        r.fail("b", "f", "fix");
        assert_eq!(r.exit_code(), 1);
        assert!(
            r.render("http://x")
                .contains("adapter-check: 0 checks passed, 1 failed, 1 warnings, 0 skipped")
        );
    }
}
