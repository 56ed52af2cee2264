//! One conformance run from start to finish: plan, provider, runner, scoring, report, files.

use crate::exit;
use crate::plan::{Plan, PlanError, PlanOptions};
use crate::provider::contract::Contract;
use crate::provider::{CallError, Provider};
use crate::reference::ReferenceProvider;
use crate::report::{RunContext, RunReport, badge, html, junit, markdown};
use crate::runner::{self, RunOptions};
use crate::scoring::{self, Verdict};
use crate::transcript;
use crate::waiver::{self, Waivers};
use crate::yaml::InputError;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The tool's own failures (never a provider's non-conformance, which is data in the report).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// A data file is broken.
    #[error("{0}")]
    Input(#[from] InputError),
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The target could not be reached at the start.
    #[error("target unreachable: {0}")]
    Unreachable(String),
    /// Writing output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ToolError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Unreachable(_) => exit::UNREACHABLE,
            _ => exit::INPUT_ERROR,
        }
    }
}

impl From<PlanError> for ToolError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Input(i) => Self::Input(i),
            PlanError::Usage(u) => Self::Usage(u),
        }
    }
}

/// Everything `conformance run` needs.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Which profile and vectors, and the filters.
    pub plan: PlanOptions,
    /// The seed; `None` picks one at random (and the report says which).
    pub seed: Option<u64>,
    /// Where to write `report.json` and `junit.xml`; `None`: `reports/<run-id>/`.
    pub out_dir: Option<PathBuf>,
    /// Cases in flight at once.
    pub concurrency: usize,
    /// Per-case timeout.
    pub case_timeout: Duration,
    /// Whole-run deadline.
    pub deadline: Option<Duration>,
    /// Extra words for the replay command that name the target (`--target URL`), empty for embedded.
    pub target_args: String,
    /// Record every case's adapter exchanges: transcript.jsonl, and failing cases' transcripts in report.html.
    pub transcript: bool,
    /// Run the wire monitor on live exchanges (always, except to measure what it costs).
    pub monitor: bool,
    /// Show live progress on stderr ([`crate::progress::wanted`]).
    pub progress: bool,
    /// Count into this shared progress line instead (a matrix's parallel runs).
    pub shared_progress: Option<crate::progress::Shared>,
    /// Run every case this many times with fresh clients and flag the cases whose outcome changes
    /// (`--repeat N`; 1: once).
    pub repeat: u32,
}

impl RunRequest {
    /// A request for the default profile, embedded target, given seed.
    pub fn embedded(seed: u64) -> Self {
        Self {
            plan: PlanOptions {
                profile: crate::plan::DEFAULT_PROFILE.into(),
                ..PlanOptions::default()
            },
            seed: Some(seed),
            out_dir: None,
            concurrency: 1,
            case_timeout: Duration::from_secs(30),
            deadline: None,
            target_args: String::new(),
            transcript: false,
            monitor: true,
            progress: false,
            shared_progress: None,
            repeat: 1,
        }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The report.
    pub report: RunReport,
    /// Where its files were written, if anywhere.
    pub out_dir: Option<PathBuf>,
    /// Waivers that waived nothing: input errors found only after the run (exit 2, after the report).
    pub waiver_errors: Vec<InputError>,
}

impl RunOutput {
    /// Exit code for the verdict.
    pub fn exit_code(&self) -> i32 {
        if !self.waiver_errors.is_empty() {
            return exit::INPUT_ERROR;
        }
        verdict_exit_code(self.report.scope_verdict())
    }
}

/// Exit code of a verdict. A partial run exits by its verdict within scope (0 when nothing in scope failed), so
/// that shards and focused CI jobs gate on what they ran; its report never reads CONFORMANT.
pub fn verdict_exit_code(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Conformant => exit::CONFORMANT,
        Verdict::NotConformant | Verdict::Partial => exit::NOT_CONFORMANT,
    }
}

/// Pick a fresh seed from the operating system.
pub fn random_seed() -> u64 {
    let mut rng = rand::make_rng::<rand::rngs::StdRng>();
    rand::RngExt::random(&mut rng)
}

/// The command that replays a run without its filters (each case appends `--vector ID`).
pub fn replay_command(request: &RunRequest, seed: u64) -> String {
    let mut cmd = String::from("conformance run");
    if request.plan.profile != crate::plan::DEFAULT_PROFILE {
        cmd.push_str(&format!(" --profile {}", request.plan.profile));
    }
    if let Some(dir) = &request.plan.suites_dir {
        cmd.push_str(&format!(" --suites {}", dir.display()));
    }
    if let Some(dir) = &request.plan.vectors_dir {
        cmd.push_str(&format!(" --vectors {}", dir.display()));
    }
    if !request.target_args.is_empty() {
        cmd.push(' ');
        cmd.push_str(&request.target_args);
    }
    if request.plan.scenarios.thorough {
        cmd.push_str(" --thorough");
    }
    if request.plan.scenarios.differential {
        cmd.push_str(" --differential");
    }
    if request.repeat > 1 {
        cmd.push_str(&format!(" --repeat {}", request.repeat));
    }
    cmd.push_str(&format!(" --seed {seed}"));
    cmd
}

/// Run the plan against `provider`, score it and (when `write` is set) write the report files.
pub async fn run(request: &RunRequest, provider: Arc<dyn Provider>, write: bool) -> Result<RunOutput, ToolError> {
    run_with_waivers(request, None, provider, write).await
}

/// [`run`], with the waivers of `--waivers` applied before scoring.
pub async fn run_with_waivers(
    request: &RunRequest,
    waivers: Option<&Waivers>,
    provider: Arc<dyn Provider>,
    write: bool,
) -> Result<RunOutput, ToolError> {
    // Loading parses every YAML file: keep that synchronous work off the async workers, whose timers and sockets
    // (an HTTP provider's requests, a loopback server) must keep running.
    let options = request.plan.clone();
    let plan = tokio::task::spawn_blocking(move || Plan::build(&options))
        .await
        .map_err(|e| ToolError::Usage(format!("loading the plan failed: {e}")))??;
    if let Some(w) = waivers {
        w.check_targets(&plan)?;
    }
    let seed = request.seed.unwrap_or_else(random_seed);
    let Connected {
        provider,
        peer,
        key_log,
        implementation,
        ..
    } = connect(provider).await?;
    let base = replay_command(request, seed);
    let mut command = base.clone();
    for id in &request.plan.only {
        command.push_str(&format!(" --only {id}"));
    }
    for id in &request.plan.vectors {
        command.push_str(&format!(" --vector {id}"));
    }
    if let Some(shard) = request.plan.shard {
        command.push_str(&format!(" --shard {shard}"));
    }
    if let Some(k) = request.plan.scenarios.schedule {
        command.push_str(&format!(" --schedule {k}"));
    }
    let options = RunOptions {
        seed,
        concurrency: request.concurrency,
        case_timeout: request.case_timeout,
        deadline: request.deadline,
        replay_base: base,
        transcripts: request.transcript,
        monitor: request.monitor.then_some(key_log),
        progress: request.progress,
        shared_progress: request.shared_progress.clone(),
        repeat: request.repeat,
    };
    let started_at = now();
    // The folder is claimed before the run, so a clash is known before any case runs and no run's files
    // replace another's.
    let out_dir = if write {
        Some(match &request.out_dir {
            Some(dir) => claim_given_folder(dir)?,
            None => claim_new_folder(&PathBuf::from("reports").join(run_id(&started_at, seed)))?,
        })
    } else {
        None
    };
    let mut results = runner::run(&plan, provider.clone(), peer, &options).await;
    let finished_at = now();
    let applied = waivers.map(|w| w.apply(&plan, &mut results)).unwrap_or_default();
    let scoring = scoring::score_with(&plan.profile, &plan.scope, &results, &applied.policy);
    let mut report = RunReport::build(
        &plan,
        results,
        &scoring,
        RunContext {
            seed,
            target: provider.target(),
            implementation,
            only: request.plan.only.clone(),
            vector_filter: request.plan.vectors.clone(),
            command,
            mode: request.plan.scenarios,
            started_at: started_at.clone(),
            finished_at,
        },
    );
    report.run.repeat = (request.repeat > 1).then_some(request.repeat);
    report.waivers = applied.records;
    report.waiver_notice = waiver::must_waiver_notice(applied.policy.allow_must, &scoring.waived_must);
    if let Some(dir) = &out_dir {
        write_reports(&report, dir)?;
    }
    Ok(RunOutput {
        report,
        out_dir,
        waiver_errors: applied.unused,
    })
}

/// A provider ready for cases: asked for its capabilities, reset, held to its contract, with the harness peer.
pub struct Connected {
    /// The provider under test, wrapped in its capability contract.
    pub provider: Arc<dyn Provider>,
    /// The harness's reference peer for live exchanges.
    pub peer: Arc<dyn Provider>,
    /// The peer's key log, for the wire monitor.
    pub key_log: Arc<crate::monitor::KeyLog>,
    /// The provider's sanitizer: what it says reaches stderr and reports only through it.
    pub sanitizer: crate::sanitize::Sanitizer,
    /// What the provider says it is (sanitized).
    pub implementation: String,
}

/// Ask `provider` for its capabilities and reset it (an unreachable provider is [`ToolError::Unreachable`]).
pub async fn connect(provider: Arc<dyn Provider>) -> Result<Connected, ToolError> {
    let sanitizer = provider.sanitizer();
    let unreachable = |message: String| ToolError::Unreachable(sanitizer.line(&message));
    let capabilities = match provider.capabilities().await {
        Ok(c) => c,
        Err(CallError::Transport { message }) => return Err(unreachable(message)),
        Err(other) => return Err(unreachable(format!("capabilities call failed: {other}"))),
    };
    // A long-running adapter starts every run empty; one without reset (unsupported) is run as it is.
    match provider.reset().await {
        Ok(()) | Err(CallError::Unsupported { .. }) => {}
        Err(e) => return Err(unreachable(format!("reset call failed: {e}"))),
    }
    // From here on, `unsupported` only comes from an operation the provider did not advertise.
    let provider: Arc<dyn Provider> = Arc::new(Contract::new(provider, capabilities.operations.clone()));
    let key_log = Arc::new(crate::monitor::KeyLog::default());
    let peer: Arc<dyn Provider> = Arc::new(ReferenceProvider::harness_peer(key_log.clone()));
    Ok(Connected {
        provider,
        peer,
        key_log,
        implementation: sanitizer.line(&capabilities.implementation),
        sanitizer,
    })
}

/// The files a run writes.
pub const REPORT_FILES: [&str; 5] = ["report.json", "junit.xml", "report.html", "summary.md", "badge.json"];

/// Claim `base` as a new, empty run folder, or `base-2`, `base-3`, ... when it exists: the folder is created
/// exclusively, so two runs that start in the same second with the same seed each get their own.
pub fn claim_new_folder(base: &Path) -> Result<PathBuf, ToolError> {
    let io = |path: &Path, source| ToolError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = base.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    for n in 1..=1000u32 {
        let dir = if n == 1 {
            base.to_path_buf()
        } else {
            let mut name = base.as_os_str().to_owned();
            name.push(format!("-{n}"));
            PathBuf::from(name)
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&dir, e)),
        }
    }
    Err(io(
        base,
        std::io::Error::other("1000 run folders of this name exist already"),
    ))
}

/// Use `dir` (`--out`) as the run folder: created if missing; refused (exit 2, before the run) when it already
/// holds a report, which is never overwritten.
pub fn claim_given_folder(dir: &Path) -> Result<PathBuf, ToolError> {
    std::fs::create_dir_all(dir).map_err(|source| ToolError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    if let Some(existing) = REPORT_FILES.iter().map(|f| dir.join(f)).find(|p| p.exists()) {
        return Err(ToolError::Usage(format!(
            "{} exists: reports are never overwritten; choose another --out folder, or omit --out for a new \
             folder under reports/",
            existing.display()
        )));
    }
    Ok(dir.to_path_buf())
}

/// Write `report.json`, `junit.xml`, `report.html`, `summary.md` and `badge.json` into `dir`. Each file is
/// created new: an existing file is an error, never overwritten.
pub fn write_reports(report: &RunReport, dir: &Path) -> Result<(), ToolError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ToolError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let xml = dir.join("junit.xml");
    let junit = junit::render(report).map_err(|e| ToolError::Write {
        path: xml.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let rendered = [
        report.to_json() + "\n",
        junit,
        html::render(report),
        markdown::render(report),
        badge::render(report),
    ];
    for (name, text) in REPORT_FILES.iter().zip(rendered) {
        let path = dir.join(name);
        write_new(&path, text.as_bytes()).map_err(io(&path))?;
    }
    if report.cases.iter().any(|c| c.transcript.is_some()) {
        let path = dir.join("transcript.jsonl");
        let mut text = Vec::new();
        let cases = report
            .cases
            .iter()
            .filter_map(|c| Some((c.id.as_str(), c.transcript.as_ref()?)));
        transcript::write_jsonl(&mut text, cases).map_err(io(&path))?;
        write_new(&path, &text).map_err(io(&path))?;
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(bytes)
}

/// The time now, RFC 3339 with milliseconds.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn run_id(started_at: &str, seed: u64) -> String {
    let compact: String = started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect();
    format!("run-{compact}-seed{seed}")
}

/// A seeded RNG for harness-side generation.
pub fn seeded(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}
