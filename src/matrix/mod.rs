//! `conformance matrix`: one profile against several implementations at once (the embedded reference, adapters
//! at URLs, adapters the suite starts itself), as a requirement x implementation table: matrix.json (schema in
//! docs/schemas/matrix.schema.json), a self-contained matrix.html whose cells link to each run's report.html,
//! and matrix.md. Each implementation's non-pass requirements are explained from a deviations file, one line a
//! deviation; `--check` compares a committed matrix.md's verdict cells (never timings or counts) with a fresh run.

pub mod launch;
pub mod render;

use crate::execute::{self, RunRequest, ToolError};
use crate::http::client::{HttpOptions, HttpProvider};
use crate::plan::PlanOptions;
use crate::provider::Provider;
use crate::reference::ReferenceProvider;
use crate::report::RunReport;
use crate::requirements::Level;
use crate::scoring::{RequirementVerdict, Verdict};
use crate::yaml::{self, InputError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Version of matrix.json; a change that removes or renames a field bumps it.
pub const MATRIX_SCHEMA_VERSION: u32 = 1;
/// Failing cases listed per cell (the rest are in the run's report.html).
pub const FAILING_PER_CELL: usize = 5;
/// Longest expected/observed text kept per failing case.
const CELL_TEXT_CHARS: usize = 600;

/// One implementation to run.
#[derive(Debug, Clone)]
pub struct Target {
    /// Column name (`libsignal-node`); also the folder of its run under the output folder.
    pub name: String,
    /// How to reach it.
    pub kind: TargetKind,
}

/// Where an implementation is.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// The embedded reference, in process.
    Reference,
    /// An adapter already listening.
    Url(String),
    /// An adapter the suite starts, waits for and stops.
    Launch(launch::AdapterSpec),
}

/// What `matrix` needs.
#[derive(Debug, Clone)]
pub struct MatrixOptions {
    /// Profile and vectors.
    pub plan: PlanOptions,
    /// One seed for every run.
    pub seed: u64,
    /// Output folder: matrix.json, matrix.html, matrix.md and one folder per implementation.
    pub out: PathBuf,
    /// The implementations, in column order.
    pub targets: Vec<Target>,
    /// Cases in flight per implementation.
    pub concurrency: usize,
    /// Per-case timeout.
    pub case_timeout: Duration,
    /// Per-request timeout for adapters.
    pub request_timeout: Duration,
    /// Record transcripts of adapter runs (failing cases' exchanges in their report.html).
    pub transcript: bool,
    /// One-line explanations of deviations, by implementation and requirement.
    pub notes: Notes,
    /// Show one live progress line for all implementations' cases on stderr ([`crate::progress::wanted`]).
    pub progress: bool,
}

impl MatrixOptions {
    /// The embedded reference beside one adapter `name` at `url`: 4 cases in flight, 60 s per case, 10 s per
    /// request, transcripts on, no deviation notes.
    pub fn reference_and(name: &str, url: String, plan: PlanOptions, seed: u64, out: PathBuf) -> Self {
        Self {
            plan,
            seed,
            out,
            targets: vec![
                Target {
                    name: "reference".into(),
                    kind: TargetKind::Reference,
                },
                Target {
                    name: name.into(),
                    kind: TargetKind::Url(url),
                },
            ],
            concurrency: 4,
            case_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
            transcript: true,
            notes: Notes::new(),
            progress: false,
        }
    }
}

/// `implementation -> requirement -> lines`, from a YAML deviations file.
pub type Notes = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Load a deviations file (`name: {REQ-ID: [line, ...]}`).
pub fn load_notes(path: &Path) -> Result<Notes, InputError> {
    yaml::load(path)
}

/// The matrix, as matrix.json holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MatrixReport {
    /// Version of this format (1).
    pub schema_version: u32,
    /// The tool's version.
    pub tool_version: String,
    /// Profile name.
    pub profile: String,
    /// Profile version.
    pub profile_version: String,
    /// The seed of every run.
    pub seed: u64,
    /// The columns.
    pub implementations: Vec<Implementation>,
    /// The rows, in profile order.
    pub requirements: Vec<MatrixRow>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Implementation {
    /// Column name.
    pub name: String,
    /// `embedded:reference` or the adapter's URL.
    pub target: String,
    /// What the implementation says it is (capabilities `implementation`), sanitized.
    #[serde(default)]
    pub implementation: String,
    /// The run's verdict, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The run's score, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The run's report.html, relative to the matrix's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// Why it did not run (start failure, unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One requirement across the implementations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MatrixRow {
    /// Requirement id.
    pub id: String,
    /// MUST, SHOULD or MAY.
    pub level: Level,
    /// Title.
    pub title: String,
    /// One cell per implementation, in column order.
    pub cells: Vec<Cell>,
}

/// One requirement of one implementation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cell {
    /// The requirement's verdict; absent when the implementation did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<RequirementVerdict>,
    /// Cases passed.
    pub passed: usize,
    /// Cases of the requirement.
    pub cases: usize,
    /// The first failing cases, with expected and observed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<FailingCase>,
    /// The explanations of this deviation from the deviations file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A failing case, for reach from the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailingCase {
    /// Case id.
    pub id: String,
    /// fail or error.
    pub outcome: String,
    /// Expected (bounded).
    pub expected: String,
    /// Observed (bounded, sanitized).
    pub observed: String,
}

/// One finished (or failed) implementation run.
struct Column {
    target: Target,
    target_text: String,
    result: Result<RunReport, String>,
}

/// Run every target (in parallel), build the matrix and write matrix.json, matrix.html and matrix.md.
pub async fn run(options: &MatrixOptions) -> Result<MatrixReport, ToolError> {
    std::fs::create_dir_all(&options.out).map_err(|source| ToolError::Write {
        path: options.out.clone(),
        source,
    })?;
    // One line for every implementation's cases (the runs go in parallel); cleared before the matrix prints.
    let total = crate::plan::Plan::build(&options.plan).map_or(0, |p| p.cases.len()) * options.targets.len();
    let progress: crate::progress::Shared = Arc::new(std::sync::Mutex::new(crate::progress::Progress::new(
        total,
        options.progress,
    )));
    let mut handles = Vec::new();
    for target in &options.targets {
        let (target, options, progress) = (target.clone(), options.clone(), progress.clone());
        handles.push(tokio::spawn(async move { run_one(&target, &options, progress).await }));
    }
    let mut columns = Vec::new();
    for (target, handle) in options.targets.iter().zip(handles) {
        let column = match handle.await {
            Ok(c) => c,
            Err(e) => Column {
                target: target.clone(),
                target_text: String::new(),
                result: Err(format!("harness task failed: {e}")),
            },
        };
        if let Err(e) = &column.result
            && e.starts_with("input error: ")
        {
            return Err(ToolError::Usage(e.trim_start_matches("input error: ").to_string()));
        }
        columns.push(column);
    }
    progress.lock().unwrap_or_else(|e| e.into_inner()).finish();
    let matrix = build(options, &columns)?;
    write(&matrix, &options.out)?;
    Ok(matrix)
}

async fn run_one(target: &Target, options: &MatrixOptions, progress: crate::progress::Shared) -> Column {
    let out_dir = options.out.join(&target.name);
    let mut request = RunRequest::embedded(options.seed);
    request.shared_progress = Some(progress);
    request.plan = options.plan.clone();
    request.out_dir = Some(out_dir.clone());
    request.concurrency = options.concurrency;
    request.case_timeout = options.case_timeout;
    let mut launched = None;
    let provider: Arc<dyn Provider> = match &target.kind {
        TargetKind::Reference => Arc::new(ReferenceProvider::new()),
        TargetKind::Url(url) => match http(url, options) {
            Ok(p) => Arc::new(p),
            Err(e) => return failed(target, url, e),
        },
        TargetKind::Launch(spec) => match launch::start(spec, &out_dir, options.request_timeout).await {
            Ok(running) => {
                let url = running.url.clone();
                launched = Some(running);
                match http(&url, options) {
                    Ok(p) => Arc::new(p),
                    Err(e) => return failed(target, &url, e),
                }
            }
            Err(e) => return failed(target, "", e),
        },
    };
    if !matches!(target.kind, TargetKind::Reference) {
        request.target_args = format!("--target {}", provider.target());
        request.transcript = options.transcript;
    }
    let target_text = provider.target();
    let result = execute::run(&request, provider, true).await;
    if let Some(running) = launched {
        running.stop();
    }
    Column {
        target: target.clone(),
        target_text,
        result: result.map(|o| o.report).map_err(|e| match e {
            ToolError::Input(i) => format!("input error: {i}"),
            ToolError::Usage(u) => format!("input error: {u}"),
            other => other.to_string(),
        }),
    }
}

fn failed(target: &Target, url: &str, message: String) -> Column {
    Column {
        target: target.clone(),
        target_text: url.to_string(),
        result: Err(message),
    }
}

fn http(url: &str, options: &MatrixOptions) -> Result<HttpProvider, String> {
    let mut http = HttpOptions::new(url);
    http.request_timeout = options.request_timeout;
    http.max_in_flight = options.concurrency.max(1);
    HttpProvider::new(&http).map_err(|e| e.to_string())
}

fn bounded(text: &str) -> String {
    let cut: String = text.chars().take(CELL_TEXT_CHARS).collect();
    let more = if text.chars().count() > CELL_TEXT_CHARS {
        "…"
    } else {
        ""
    };
    crate::sanitize::visible(&cut, false) + more
}

fn build(options: &MatrixOptions, columns: &[Column]) -> Result<MatrixReport, ToolError> {
    let plan = crate::plan::Plan::build(&options.plan)?;
    let implementations = columns
        .iter()
        .map(|c| match &c.result {
            Ok(r) => Implementation {
                name: c.target.name.clone(),
                target: bounded(&c.target_text),
                implementation: bounded(&r.run.implementation),
                verdict: Some(r.verdict),
                score: Some(r.score),
                report: Some(format!("{}/report.html", c.target.name)),
                error: None,
            },
            Err(e) => Implementation {
                name: c.target.name.clone(),
                target: bounded(&c.target_text),
                implementation: String::new(),
                verdict: None,
                score: None,
                report: None,
                error: Some(bounded(e)),
            },
        })
        .collect();
    let requirements = plan
        .profile
        .requirements()
        .filter(|r| plan.scope.contains(&r.id))
        .map(|req| MatrixRow {
            id: req.id.clone(),
            level: req.level,
            title: req.title.clone(),
            cells: columns.iter().map(|c| cell(c, &req.id, &options.notes)).collect(),
        })
        .collect();
    Ok(MatrixReport {
        schema_version: MATRIX_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        profile: plan.profile.file.name.clone(),
        profile_version: plan.profile.file.version.clone(),
        seed: options.seed,
        implementations,
        requirements,
    })
}

fn cell(column: &Column, id: &str, notes: &Notes) -> Cell {
    let Ok(report) = &column.result else {
        return Cell {
            verdict: None,
            passed: 0,
            cases: 0,
            failing: Vec::new(),
            notes: Vec::new(),
        };
    };
    let Some(r) = report.requirements.iter().find(|r| r.id == id) else {
        return Cell {
            verdict: Some(RequirementVerdict::Untested),
            passed: 0,
            cases: 0,
            failing: Vec::new(),
            notes: Vec::new(),
        };
    };
    let failing = report
        .failing_cases(id)
        .take(FAILING_PER_CELL)
        .map(|c| FailingCase {
            id: c.id.clone(),
            outcome: c.outcome.as_str().into(),
            expected: bounded(c.expected.as_deref().unwrap_or("")),
            observed: bounded(c.observed.as_deref().unwrap_or("")),
        })
        .collect();
    let lines = if r.verdict == RequirementVerdict::Pass {
        Vec::new()
    } else {
        notes
            .get(&column.target.name)
            .and_then(|n| n.get(id))
            .cloned()
            .unwrap_or_default()
    };
    Cell {
        verdict: Some(r.verdict),
        passed: r.counts.pass,
        cases: r.cases.len(),
        failing,
        notes: lines,
    }
}

fn write(matrix: &MatrixReport, dir: &Path) -> Result<(), ToolError> {
    let files = [
        (
            "matrix.json",
            serde_json::to_string_pretty(matrix).unwrap_or_default() + "\n",
        ),
        ("matrix.html", render::html(matrix)),
        ("matrix.md", render::markdown(matrix)),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| ToolError::Write { path, source })?;
    }
    Ok(())
}

impl MatrixReport {
    /// Non-pass cells with no explanation: `(implementation, requirement)`.
    pub fn unexplained(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for row in &self.requirements {
            for (imp, cell) in self.implementations.iter().zip(&row.cells) {
                if cell.verdict.is_some_and(|v| v != RequirementVerdict::Pass) && cell.notes.is_empty() {
                    out.push((imp.name.clone(), row.id.clone()));
                }
            }
        }
        out
    }

    /// Whether any implementation could not run.
    pub fn incomplete(&self) -> bool {
        self.implementations.iter().any(|i| i.error.is_some())
    }
}
