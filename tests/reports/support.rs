//! Shared helpers: a provider that fails some cases, a run helper, temp folders and report normalisation.

use async_trait::async_trait;
use interop_conformance::execute::{self, RunOutput, RunRequest};
use interop_conformance::provider::*;
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::report::RunReport;
use interop_conformance::waiver::Waivers;
use std::path::PathBuf;
use std::sync::Arc;

/// The reference, except that it accepts every XEdDSA signature: the must-reject cases of the signature
/// requirements fail, everything else passes.
pub struct AcceptsAnySignature(pub ReferenceProvider);

#[async_trait]
impl Provider for AcceptsAnySignature {
    fn target(&self) -> String {
        "test:accepts-any-signature".into()
    }
    async fn capabilities(&self) -> CallResult<Capabilities> {
        self.0.capabilities().await
    }
    async fn reset(&self) -> CallResult<()> {
        self.0.reset().await
    }
    async fn create_client(&self, request: &CreateClient) -> CallResult<ClientId> {
        self.0.create_client(request).await
    }
    async fn prekey_bundle(&self, client: &ClientId) -> CallResult<PreKeyBundle> {
        self.0.prekey_bundle(client).await
    }
    async fn process_bundle(&self, client: &ClientId, peer: &str, bundle: &PreKeyBundle) -> CallResult<()> {
        self.0.process_bundle(client, peer, bundle).await
    }
    async fn encrypt(&self, client: &ClientId, peer: &str, plaintext: &[u8]) -> CallResult<Ciphertext> {
        self.0.encrypt(client, peer, plaintext).await
    }
    async fn decrypt(&self, client: &ClientId, peer: &str, ciphertext: &Ciphertext) -> CallResult<Vec<u8>> {
        self.0.decrypt(client, peer, ciphertext).await
    }
    async fn verify_signature(&self, _key: &[u8], _message: &[u8], _signature: &[u8]) -> CallResult<bool> {
        Ok(true)
    }
}

/// Run the default profile at seed 7 against the faulty provider (or the reference), without writing files.
pub fn run(faulty: bool, waivers: Option<&Waivers>) -> RunOutput {
    let provider: Arc<dyn Provider> = if faulty {
        Arc::new(AcceptsAnySignature(ReferenceProvider::new()))
    } else {
        Arc::new(ReferenceProvider::new())
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(execute::run_with_waivers(&fixture_request(), waivers, provider, false))
        .expect("run")
}

/// A fresh, empty folder under the cargo test temp dir.
/// The frozen fixture: the walking skeleton's profile and its 80 cases (`tests/data/reports-*`).
pub fn fixture_request() -> RunRequest {
    let mut request = RunRequest::embedded(7);
    request.plan.suites_dir = Some(PathBuf::from("tests/data/reports-suite"));
    request.plan.vectors_dir = Some(PathBuf::from("tests/data/reports-corpus"));
    request
}

pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("reports-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Replace what changes from run to run or with the corpus (times, durations, digests) by fixed text.
pub fn normalise(mut report: RunReport) -> RunReport {
    report.run.started_at = "[started_at]".into();
    report.run.finished_at = "[finished_at]".into();
    for v in &mut report.run.vectors {
        v.sha256 = "[sha256]".into();
    }
    report.run.scope.plan_digest = "[plan_digest]".into();
    for c in &mut report.cases {
        c.duration_ms = 0.0;
    }
    report
}

/// The path of the built `conformance` binary.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
}

/// Stdout and stderr of a finished command, for assertion messages.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A path as the `&str` a command-line argument needs.
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}
