//! The runner's guarantees: results do not depend on concurrency, and a provider that hangs or panics costs
//! bounded time and ends as `error` outcomes, never a hang, a panic or a lost result.

use async_trait::async_trait;
use interop_conformance::execute::{self, RunRequest};
use interop_conformance::outcome::Outcome;
use interop_conformance::provider::*;
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::scoring::Verdict;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn outcomes(request: &RunRequest, provider: Arc<dyn Provider>) -> Vec<(String, Outcome, Option<String>)> {
    let report = runtime()
        .block_on(execute::run(request, provider, false))
        .unwrap()
        .report;
    report
        .cases
        .into_iter()
        .map(|c| (c.id, c.outcome, c.observed))
        .collect()
}

#[test]
fn concurrency_does_not_change_outcomes() {
    let mut request = RunRequest::embedded(11);
    let sequential = outcomes(&request, Arc::new(ReferenceProvider::new()));
    request.concurrency = 8;
    let concurrent = outcomes(&request, Arc::new(ReferenceProvider::new()));
    let differing: Vec<_> = sequential.iter().zip(&concurrent).filter(|(a, b)| a != b).collect();
    assert!(differing.is_empty(), "outcomes differ: {differing:#?}");
    assert_eq!(sequential.len(), concurrent.len());
    let failed: Vec<_> = sequential.iter().filter(|(_, o, _)| *o != Outcome::Pass).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// The reference, recording every JWKS URL the harness asks it to trust for push tokens.
struct RecordingPush {
    inner: ReferenceProvider,
    jwks_urls: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl Provider for RecordingPush {
    fn target(&self) -> String {
        self.inner.target()
    }
    async fn capabilities(&self) -> CallResult<Capabilities> {
        // It does not implement the group operations, so it does not advertise them (an advertised operation
        // answering unsupported would be an error, not `unsupported`).
        let mut c = self.inner.capabilities().await?;
        c.operations.retain(|o| o != "groups");
        Ok(c)
    }
    async fn reset(&self) -> CallResult<()> {
        self.inner.reset().await
    }
    async fn create_client(&self, r: &CreateClient) -> CallResult<ClientId> {
        self.inner.create_client(r).await
    }
    async fn prekey_bundle(&self, c: &ClientId) -> CallResult<PreKeyBundle> {
        self.inner.prekey_bundle(c).await
    }
    async fn process_bundle(&self, c: &ClientId, p: &str, b: &PreKeyBundle) -> CallResult<()> {
        self.inner.process_bundle(c, p, b).await
    }
    async fn encrypt(&self, c: &ClientId, p: &str, m: &[u8]) -> CallResult<Ciphertext> {
        self.inner.encrypt(c, p, m).await
    }
    async fn decrypt(&self, c: &ClientId, p: &str, m: &Ciphertext) -> CallResult<Vec<u8>> {
        self.inner.decrypt(c, p, m).await
    }
    async fn verify_signature(&self, k: &[u8], m: &[u8], s: &[u8]) -> CallResult<bool> {
        self.inner.verify_signature(k, m, s).await
    }
    async fn push_endpoint(&self, config: &PushConfig) -> CallResult<PushEndpoint> {
        self.jwks_urls.lock().unwrap().push(config.jwks_url.clone());
        self.inner.push_endpoint(config).await
    }
}

/// A provider trusts one JWKS URL at a time, as a real one trusts WhatsApp's, so every push case of a run must
/// hand it the same one: per-case JWKS servers once let one case's server stop while another case's token was
/// being checked against it (a 503 under load in CI).
#[test]
fn push_cases_in_flight_together_share_one_jwks() {
    let mut request = RunRequest::embedded(3);
    request.plan.only = (b'A'..=b'H').map(|c| format!("RO-ID-005{}", c as char)).collect();
    request.concurrency = 64;
    let provider = Arc::new(RecordingPush {
        inner: ReferenceProvider::new(),
        jwks_urls: Default::default(),
    });
    let results = outcomes(&request, provider.clone());
    let failed: Vec<_> = results.iter().filter(|(_, o, _)| *o != Outcome::Pass).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let urls = provider.jwks_urls.lock().unwrap().clone();
    assert!(urls.len() >= 13, "{} push cases configured the provider", urls.len());
    assert!(urls.iter().all(|u| *u == urls[0]), "{urls:#?}");
}

/// A provider that answers capabilities, then never answers (or panics on) anything else.
struct Broken {
    panic: bool,
}

#[async_trait]
impl Provider for Broken {
    fn target(&self) -> String {
        "test:broken".into()
    }
    async fn capabilities(&self) -> CallResult<Capabilities> {
        ReferenceProvider::new().capabilities().await
    }
    async fn reset(&self) -> CallResult<()> {
        Ok(())
    }
    async fn create_client(&self, _: &CreateClient) -> CallResult<ClientId> {
        self.stall().await
    }
    async fn prekey_bundle(&self, _: &ClientId) -> CallResult<PreKeyBundle> {
        self.stall().await
    }
    async fn process_bundle(&self, _: &ClientId, _: &str, _: &PreKeyBundle) -> CallResult<()> {
        self.stall().await
    }
    async fn encrypt(&self, _: &ClientId, _: &str, _: &[u8]) -> CallResult<Ciphertext> {
        self.stall().await
    }
    async fn decrypt(&self, _: &ClientId, _: &str, _: &Ciphertext) -> CallResult<Vec<u8>> {
        self.stall().await
    }
    async fn verify_signature(&self, _: &[u8], _: &[u8], _: &[u8]) -> CallResult<bool> {
        self.stall().await
    }
}

impl Broken {
    async fn stall<T>(&self) -> CallResult<T> {
        if self.panic {
            panic!("provider bug");
        }
        std::future::pending().await
    }
}

#[test]
fn a_hung_provider_ends_in_bounded_time_with_every_case_an_error() {
    let mut request = RunRequest::embedded(1);
    request.case_timeout = Duration::from_millis(50);
    request.deadline = Some(Duration::from_millis(400));
    request.concurrency = 4;
    let start = Instant::now();
    let report = runtime()
        .block_on(execute::run(&request, Arc::new(Broken { panic: false }), false))
        .unwrap()
        .report;
    // A hang guard, not a speed check: the provider never answers, so only the timeouts can end the run.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        start.elapsed()
    );
    assert!(!report.cases.is_empty());
    assert!(
        report.cases.iter().all(|c| c.outcome == Outcome::Error),
        "every case is an error"
    );
    assert!(
        report
            .cases
            .iter()
            .any(|c| c.observed.as_deref().unwrap_or("").contains("did not finish"))
    );
    assert_eq!(report.verdict, Verdict::NotConformant);
}

#[test]
fn a_panicking_provider_is_an_error_not_a_crash() {
    let request = RunRequest::embedded(1);
    let report = runtime()
        .block_on(execute::run(&request, Arc::new(Broken { panic: true }), false))
        .unwrap()
        .report;
    assert!(
        report
            .cases
            .iter()
            .all(|c| matches!(c.outcome, Outcome::Error | Outcome::Unsupported))
    );
    assert!(
        report.cases[0].observed.as_deref().unwrap_or("").contains("panic"),
        "{:?}",
        report.cases[0].observed
    );
}

/// A provider without the `groups` capability (this one answers every group call `unsupported`, the trait's
/// default): the groups profile is untested, never passed, never CONFORMANT.
#[test]
fn a_provider_without_groups_leaves_the_groups_profile_unsupported() {
    let mut request = RunRequest::embedded(5);
    request.plan.profile = "whatsapp-ro-groups".into();
    let provider = Arc::new(RecordingPush {
        inner: ReferenceProvider::new(),
        jwks_urls: Default::default(),
    });
    let report = runtime()
        .block_on(execute::run(&request, provider, false))
        .unwrap()
        .report;
    assert!(!report.cases.is_empty());
    assert!(
        report.cases.iter().all(|c| c.outcome == Outcome::Unsupported),
        "{:#?}",
        report.cases
    );
    assert_eq!(report.verdict, Verdict::NotConformant);
    assert!(
        report
            .requirements
            .iter()
            .all(|r| r.verdict == interop_conformance::scoring::RequirementVerdict::Unsupported)
    );
}
