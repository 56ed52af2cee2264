//! Runs a plan's cases against a provider, concurrently but bounded, each within its timeout, and never loses
//! a result: a case that panics, hangs or outlives the run deadline still ends as an `error` outcome.

use crate::family::{self, CaseContext, Family};
use crate::outcome::{FIDELITY, Observation, Outcome, ScheduleFailure};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::provider::Provider;
use crate::sanitize::{Budget, Sanitizer};
use crate::transcript::{self, Recorder, Transcript};
use crate::vector::{Case, Expected};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run seed; each case derives its own from it and its id.
    pub seed: u64,
    /// Cases in flight at once.
    pub concurrency: usize,
    /// Longest one case may take.
    pub case_timeout: Duration,
    /// Longest the whole run may take; cases not finished by then end as `error`.
    pub deadline: Option<Duration>,
    /// The command that replays this run, without `--vector`; each case appends its own.
    pub replay_base: String,
    /// Record each case's adapter exchanges ([`crate::transcript`]).
    pub transcripts: bool,
    /// The harness peer's key log for the wire monitor; `None` runs live exchanges unmonitored.
    pub monitor: Option<Arc<crate::monitor::KeyLog>>,
    /// Show live progress on stderr.
    pub progress: bool,
    /// Count into this line instead of a line of the run's own (runs in parallel share one; its owner clears it).
    pub shared_progress: Option<crate::progress::Shared>,
    /// Run every case this many times (`--repeat N`; 0 and 1 both mean once).
    pub repeat: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            concurrency: 1,
            case_timeout: Duration::from_secs(30),
            deadline: None,
            replay_base: "conformance run".into(),
            transcripts: false,
            monitor: None,
            progress: false,
            shared_progress: None,
            repeat: 1,
        }
    }
}

/// The result of one case, as the report keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Requirement ids it checks.
    pub requirements: Vec<String>,
    /// Family.
    pub family: Family,
    /// Vector file, relative to the vector folder.
    pub file: String,
    /// valid, invalid or acceptable.
    pub expected_result: Expected,
    /// Flags of the case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Why the case exists.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// pass, fail, unsupported or error.
    pub outcome: Outcome,
    /// What was expected (for failures and errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was observed (for failures and errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// On a non-pass outcome, the requirements the failing step checks (empty: all of `requirements`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charged: Vec<String>,
    /// Requirements whose steps were never reached because an earlier step did not pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<String>,
    /// Rejections with a class the vector does not list ("rejected as invalid_key; the vector expects
    /// invalid_message"): the behaviour was right; they count only toward the error-class fidelity SHOULD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_mismatch: Vec<String>,
    /// The command that replays just this case.
    pub replay: String,
    /// A scenario case that went on after its first failing schedule (`--thorough`, `explore`): each distinct
    /// failure, with the command that replays its schedule alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<ScheduleFailure>,
    /// With `--repeat N`, when the outcome changed between repetitions (a flaky provider or hidden state): the
    /// outcome of each repetition in order. The case's own outcome is then its first non-pass one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unstable: Vec<Outcome>,
    /// Wall time of the case in milliseconds.
    pub duration_ms: f64,
    /// The case's adapter exchanges, with `--transcript` (written to transcript.jsonl, not report.json).
    #[serde(skip)]
    pub transcript: Option<Transcript>,
}

/// The seed of one case: the run seed and the case id, hashed, so that order and concurrency do not matter.
pub fn case_seed(run_seed: u64, case_id: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(run_seed.to_le_bytes())
        .chain_update(case_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Run every case of the plan. `peer` is the harness's reference peer for live exchanges.
pub async fn run(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    peer: Arc<dyn Provider>,
    options: &RunOptions,
) -> Vec<CaseResult> {
    let started = Instant::now();
    let repeat = options.repeat.max(1);
    let progress = options.shared_progress.clone().unwrap_or_else(|| {
        Arc::new(Mutex::new(Progress::new(
            plan.cases.len() * repeat as usize,
            options.progress,
        )))
    });
    let mut passes = Vec::with_capacity(repeat as usize);
    for _ in 0..repeat {
        passes.push(run_pass(plan, provider.clone(), peer.clone(), options, started, &progress).await);
    }
    if options.shared_progress.is_none() {
        progress.lock().unwrap_or_else(|e| e.into_inner()).finish();
    }
    unstable(passes)
}

/// With `--repeat N`: one result per case. A case whose outcome was the same every time keeps its first
/// result; one whose outcome changed keeps its first non-pass result, with every outcome in `unstable`.
fn unstable(passes: Vec<Vec<CaseResult>>) -> Vec<CaseResult> {
    let mut passes = passes.into_iter();
    let Some(mut results) = passes.next() else {
        return Vec::new();
    };
    let rest: Vec<Vec<CaseResult>> = passes.collect();
    if rest.is_empty() {
        return results;
    }
    for (i, result) in results.iter_mut().enumerate() {
        let outcomes: Vec<Outcome> = std::iter::once(result.outcome)
            .chain(rest.iter().filter_map(|p| p.get(i)).map(|r| r.outcome))
            .collect();
        if outcomes.iter().all(|o| *o == outcomes[0]) {
            continue;
        }
        if result.outcome == Outcome::Pass
            && let Some(other) = rest
                .iter()
                .filter_map(|p| p.get(i))
                .find(|r| r.outcome != Outcome::Pass)
        {
            *result = other.clone();
        }
        result.unstable = outcomes;
    }
    results
}

/// Run every case once.
async fn run_pass(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    peer: Arc<dyn Provider>,
    options: &RunOptions,
    started: Instant,
    progress: &Mutex<Progress>,
) -> Vec<CaseResult> {
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let push_jwks = Arc::new(family::push::PushJwks::default());
    let sanitizer = Arc::new(provider.sanitizer());
    let mut handles = Vec::with_capacity(plan.cases.len());
    let record = options.transcripts;
    for case in &plan.cases {
        let case = case.clone();
        let (provider, peer, limit, push_jwks, sanitizer) = (
            provider.clone(),
            peer.clone(),
            limit.clone(),
            push_jwks.clone(),
            sanitizer.clone(),
        );
        let monitor = options.monitor.clone();
        let (seed, timeout, deadline) = (
            case_seed(options.seed, &case.meta.id),
            options.case_timeout,
            options.deadline,
        );
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let budget = match deadline {
                Some(d) => match d.checked_sub(started.elapsed()) {
                    Some(left) if !left.is_zero() => left.min(timeout),
                    _ => return (error("run deadline exceeded before the case started"), 0.0, None),
                },
                None => timeout,
            };
            let ctx = CaseContext {
                provider: provider.as_ref(),
                peer: peer.as_ref(),
                seed,
                push_jwks: push_jwks.as_ref(),
                monitor: monitor.as_deref(),
            };
            let t0 = Instant::now();
            let recorder = record.then(Recorder::default);
            let bounded = tokio::time::timeout(budget, family::run(&case.meta, &case.check, &ctx));
            let finished = match &recorder {
                Some(r) => transcript::scope(r.clone(), bounded).await,
                None => bounded.await,
            };
            let observation = match finished {
                Ok(o) => o,
                Err(_) => error(&format!("case did not finish within {:.1}s", budget.as_secs_f64())),
            };
            (
                sanitized(observation, &sanitizer),
                t0.elapsed().as_secs_f64() * 1000.0,
                recorder.map(|r| r.take()),
            )
        }));
    }
    let mut results = Vec::with_capacity(handles.len());
    let mut total = Budget::default();
    for (case, handle) in plan.cases.iter().zip(handles) {
        let (mut observation, ms, transcript) = match handle.await {
            Ok(done) => done,
            Err(e) => (
                sanitized(error(&format!("harness task failed: {e}")), &sanitizer),
                0.0,
                None,
            ),
        };
        bounded(&mut observation, &mut total);
        progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .case_done(matches!(observation.outcome, Outcome::Fail | Outcome::Error));
        let mut r = case_result(plan, case, observation, ms, &options.replay_base);
        r.transcript = transcript;
        results.push(r);
    }
    results
}

/// Keep a non-passing observation's texts within the run's total `budget` for case text.
pub(crate) fn bounded(observation: &mut Observation, budget: &mut Budget) {
    if observation.outcome == Outcome::Pass {
        return;
    }
    observation.expected = budget.take(std::mem::take(&mut observation.expected));
    observation.observed = budget.take(std::mem::take(&mut observation.observed));
    for f in &mut observation.failures {
        f.expected = budget.take(std::mem::take(&mut f.expected));
        f.observed = budget.take(std::mem::take(&mut f.observed));
    }
}

/// The sanitizing boundary for case results: what a case observed may quote the provider, so it is redacted,
/// made visible and bounded here, inside the case's task, before it is kept (see [`crate::sanitize`]).
pub(crate) fn sanitized(observation: Observation, sanitizer: &Sanitizer) -> Observation {
    if observation.outcome == Outcome::Pass {
        // A passing case keeps no text in the report.
        return Observation {
            expected: String::new(),
            observed: String::new(),
            ..observation
        };
    }
    Observation {
        expected: sanitizer.field(&observation.expected),
        observed: sanitizer.field(&observation.observed),
        class_mismatch: observation.class_mismatch.iter().map(|m| sanitizer.field(m)).collect(),
        failures: observation
            .failures
            .iter()
            .map(|f| ScheduleFailure {
                expected: sanitizer.field(&f.expected),
                observed: sanitizer.field(&f.observed),
                ..f.clone()
            })
            .collect(),
        ..observation
    }
}

fn error(message: &str) -> Observation {
    Observation::with(Outcome::Error, "case completes", message)
}

/// A case whose behaviour passed but whose rejections named other classes fails the error-class fidelity
/// requirement alone, when it lists it; otherwise the mismatch stays a note.
fn charge_class_mismatch(mut observation: Observation, requirements: &[String]) -> Observation {
    if observation.outcome == Outcome::Pass
        && !observation.class_mismatch.is_empty()
        && requirements.iter().any(|r| r == FIDELITY)
    {
        observation.outcome = Outcome::Fail;
        observation.expected = "every rejection names the class the vector lists".into();
        observation.observed = observation.class_mismatch.join("\n");
        observation.charged = vec![FIDELITY.to_string()];
    }
    observation
}

/// The report's result of `case`; its replay (and that of each schedule failure without one) starts with
/// `replay_base`.
pub(crate) fn case_result(
    plan: &Plan,
    case: &Case,
    observation: Observation,
    ms: f64,
    replay_base: &str,
) -> CaseResult {
    let observation = charge_class_mismatch(observation, &case.meta.requirements);
    let show = observation.outcome != Outcome::Pass;
    let file = case
        .file
        .strip_prefix(&plan.vectors_dir)
        .unwrap_or(&case.file)
        .to_string_lossy()
        .into_owned();
    CaseResult {
        id: case.meta.id.clone(),
        requirements: case.meta.requirements.clone(),
        family: case.family,
        file,
        expected_result: case.meta.expected,
        flags: case.meta.flags.clone(),
        comment: case.meta.comment.clone(),
        outcome: observation.outcome,
        expected: show.then_some(observation.expected),
        observed: show.then_some(observation.observed),
        charged: observation.charged,
        blocked: observation.blocked,
        class_mismatch: observation.class_mismatch,
        replay: format!("{replay_base} --vector {}", case.meta.id),
        failures: observation
            .failures
            .into_iter()
            .map(|f| ScheduleFailure {
                replay: if f.replay.is_empty() {
                    format!("{replay_base} --vector {} --schedule {}", case.meta.id, f.schedule)
                } else {
                    f.replay
                },
                ..f
            })
            .collect(),
        unstable: Vec::new(),
        duration_ms: ms,
        transcript: None,
    }
}
