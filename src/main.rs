//! `conformance`: the command line over the interop_conformance library.

#[cfg(test)]
mod ci_docs_check;
mod report_cli;

use clap::{Args, Parser, Subcommand};
use interop_conformance::execute::{self, RunRequest, ToolError};
use interop_conformance::http::{client, openapi, server};
use interop_conformance::plan::{self, Plan, PlanOptions};
use interop_conformance::provider::Provider;
use interop_conformance::reference::{Fault, Faults, ReferenceProvider};
use interop_conformance::report::terminal;
use interop_conformance::scope::Shard;
use interop_conformance::selftest::{self, SelftestOptions};
use interop_conformance::waiver::Waivers;
use interop_conformance::{adapter_check, campaign, exit, listing, matrix};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Conformance suite for Signal-Protocol messaging interoperability (WhatsApp DMA Reference Offer).
#[derive(Parser)]
#[command(name = "conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a profile against a provider, print the verdict and write report.json, junit.xml, report.html,
    /// summary.md and badge.json.
    Run(Box<RunArgs>),
    /// List profiles, requirements and case ids.
    List(ListArgs),
    /// Write the JSON Schemas of the vector, catalog, profile and report formats.
    Schema {
        /// Output folder.
        #[arg(long, value_name = "DIR", default_value = "docs/schemas")]
        out: PathBuf,
    },
    /// Generate or check the vector corpus.
    #[command(subcommand)]
    Vectors(VectorsCommand),
    /// Run the profile against the clean reference and against each planted fault; print the mutation score.
    Selftest(SelftestArgs),
    /// Sign, verify and compare reports.
    #[command(subcommand)]
    Report(report_cli::ReportCommand),
    /// Serve the embedded reference through the adapter API (docs/adapter-api.md) until Ctrl-C.
    ServeReference(ServeArgs),
    /// Print the adapter API's OpenAPI 3.1 document (docs/openapi.json).
    Openapi,
    /// Check an adapter's API (not its cryptography) and print what to fix. Exit 0: no check failed; 1: some
    /// failed; 2: usage error; 3: the adapter did not answer.
    AdapterCheck(AdapterCheckArgs),
    /// Spend a budget on fresh scenario schedules (new seeds each round, every scenario), shrink every
    /// distinct failure and write a report with a replay command for each.
    Explore(Box<ExploreArgs>),
    /// Run a profile against several implementations in parallel (the embedded reference, adapters at URLs,
    /// adapters started from a file) and write matrix.json, matrix.html and matrix.md.
    Matrix(MatrixArgs),
}

#[derive(Args)]
struct MatrixArgs {
    #[command(flatten)]
    data: DataArgs,
    /// An adapter already listening, as NAME=URL (repeatable).
    #[arg(long = "target", value_name = "NAME=URL")]
    targets: Vec<String>,
    /// YAML file of adapters to start (name, dir, start command, url; `{port}` picks a free port).
    #[arg(long, value_name = "FILE")]
    adapters: Option<PathBuf>,
    /// Leave the embedded reference out.
    #[arg(long)]
    no_reference: bool,
    /// YAML file of deviation explanations (implementation -> requirement -> lines). Default:
    /// deviations.yaml beside the adapters file, when there is one.
    #[arg(long, value_name = "FILE")]
    notes: Option<PathBuf>,
    /// Seed of every run; printed. Default: random.
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "reports/matrix")]
    out: PathBuf,
    /// Also write matrix.md to this file (docs/matrix.md).
    #[arg(long, value_name = "FILE")]
    md: Option<PathBuf>,
    /// Compare the verdict cells of this matrix.md with the fresh run (counts and timings are ignored); exit 1
    /// when one differs or a non-pass cell has no explanation.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
    /// Cases in flight per implementation.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Longest one adapter request may take, in seconds.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = seconds)]
    timeout: Duration,
    /// Longest one case may take, in seconds.
    #[arg(long, default_value = "60", value_name = "SECONDS", value_parser = seconds)]
    case_timeout: Duration,
    /// Do not record transcripts of the adapters' failing cases.
    #[arg(long)]
    no_transcript: bool,
    /// Hide the progress line (shown only when stdout is a terminal).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct AdapterCheckArgs {
    /// The adapter's base URL (http://HOST:PORT or https://...).
    #[arg(long, value_name = "URL")]
    target: String,
    /// The bearer token the adapter requires, read from this environment variable; also checks that requests
    /// without it or with a wrong one get 401.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// Longest one request may take, in seconds.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = seconds)]
    timeout: Duration,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "HOST:PORT")]
    listen: String,
    /// Switch on a planted bug of the reference (repeatable).
    #[arg(long = "fault", value_name = "NAME", value_parser = fault_parser())]
    fault: Vec<Fault>,
    /// Require `Authorization: Bearer <token>`, the token read from this environment variable.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
}

#[derive(Subcommand)]
enum VectorsCommand {
    /// Write every vector file deterministically from fixed seeds.
    Generate {
        /// Output folder.
        #[arg(long, value_name = "DIR", default_value = "vectors")]
        out: PathBuf,
        /// Do not write; exit 1 if any file differs from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Recompute every case's expected outcome without the reference library; exit 1 on any disagreement.
    Verify {
        /// Another vector folder: every *.yaml in it (default: every profile's files and the transport known answers).
        #[arg(long, value_name = "DIR")]
        vectors: Option<PathBuf>,
        /// Only this profile's vectors (default: every profile's; with --vectors, the Phase-1 profile's catalog).
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Profile to use.
    #[arg(long, default_value = plan::DEFAULT_PROFILE)]
    profile: String,
    /// Folder of profiles (default: ./suites, else the one shipped with the source).
    #[arg(long, value_name = "DIR")]
    suites: Option<PathBuf>,
    /// Another vector folder: every *.yaml in it is loaded instead of the profile's list.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Run only the cases of this requirement (repeatable).
    #[arg(long = "only", value_name = "REQUIREMENT_ID")]
    only: Vec<String>,
    /// Run only this case (repeatable).
    #[arg(long = "vector", value_name = "VECTOR_ID")]
    vector: Vec<String>,
    /// Seed for all randomness; printed and written into the report. Default: random.
    #[arg(long)]
    seed: Option<u64>,
    /// Run shard K of N: the cases whose id hashes to K (merge the shards with `report merge`).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Output folder for the report files (default: reports/<run-id>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Test an adapter over HTTP (http://HOST:PORT or https://...) instead of the embedded reference.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// Send `Authorization: Bearer <token>` to the target, the token read from this environment variable.
    #[arg(long, value_name = "VAR", requires = "target")]
    token_env: Option<String>,
    /// Also contact this host when the target names a URL on it (its JWKS, its push endpoint); by default only
    /// the target's own host is contacted (repeatable).
    #[arg(long = "allow-host", value_name = "HOST", requires = "target", value_parser = allow_host)]
    allow_host: Vec<String>,
    /// Also trust the CA certificates in this PEM file (one or more) for https, besides the system's roots: for
    /// the target and the URLs it names (JWKS, push endpoint) (repeatable).
    #[arg(long = "tls-ca", value_name = "FILE", requires = "target")]
    tls_ca: Vec<PathBuf>,
    /// Longest one provider call (HTTP request) may take, in seconds.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = seconds)]
    timeout: Duration,
    /// Longest one case may take, in seconds.
    #[arg(long, default_value = "60", value_name = "SECONDS", value_parser = seconds)]
    case_timeout: Duration,
    /// Record each case's adapter requests and responses: transcript.jsonl beside the report, and the transcript
    /// of every failing case in report.html (the bearer token is never written).
    #[arg(long, requires = "target")]
    transcript: bool,
    /// Largest HTTP response body accepted, in bytes (at most 1 GiB); a larger one makes the case an error.
    #[arg(long, default_value_t = client::DEFAULT_MAX_RESPONSE_BYTES as u64, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..=MAX_RESPONSE_BYTES))]
    max_response_bytes: u64,
    /// Longest the whole run may take, in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    deadline: Option<Duration>,
    /// Cases in flight at once (1 to 1024).
    #[arg(long, default_value_t = 1, value_parser = concurrency)]
    concurrency: usize,
    /// Print only the verdict line.
    #[arg(long, short)]
    quiet: bool,
    /// Draw each scenario's `thorough` number of schedules instead of its default.
    #[arg(long)]
    thorough: bool,
    /// Also run every scenario schedule against the reference and fail at the first step that differs.
    #[arg(long)]
    differential: bool,
    /// Judge only schedule N of the selected scenario case: the replay of one failure that `--thorough` or
    /// `explore` printed.
    #[arg(long, value_name = "N", requires = "vector", value_parser = clap::value_parser!(u32).range(1..=MAX_SCHEDULE))]
    schedule: Option<u32>,
    /// Run every case N times with fresh clients (2 to 100) and report each case whose outcome changes: a flaky
    /// provider or hidden state.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_REPEAT))]
    repeat: u32,
    /// YAML file of waivers (requirement or case, justification, approver, expires).
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// Let waived MUST requirements count toward CONFORMANT (the report then says so on its first line).
    #[arg(long, requires = "waivers")]
    allow_must_waivers: bool,
    /// Plant this bug in the embedded reference (repeatable); see `conformance selftest`.
    #[arg(long = "fault", value_name = "NAME", value_parser = fault_parser())]
    fault: Vec<Fault>,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("limit").required(true).args(["budget", "schedules"]))]
struct ExploreArgs {
    #[command(flatten)]
    data: DataArgs,
    /// How long to explore: a number with a unit, e.g. 90s, 10m, 1h (1s to 7d).
    #[arg(long, value_name = "DURATION", value_parser = campaign::parse_budget)]
    budget: Option<Duration>,
    /// Explore exactly this many schedules instead of a time budget: with the seed, the replay of a campaign.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=campaign::MAX_SCHEDULES))]
    schedules: Option<u64>,
    /// Campaign seed; printed. Default: random.
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder for the report files (default: reports/explore-seed<N>-<time>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Explore an adapter over HTTP (http://HOST:PORT or https://...) instead of the embedded reference.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// Send `Authorization: Bearer <token>` to the target, the token read from this environment variable.
    #[arg(long, value_name = "VAR", requires = "target")]
    token_env: Option<String>,
    /// Longest one provider call (HTTP request) may take, in seconds.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = seconds)]
    timeout: Duration,
    /// Longest one scenario's schedules of one round may take, in seconds.
    #[arg(long, default_value = "60", value_name = "SECONDS", value_parser = seconds)]
    case_timeout: Duration,
    /// Print only the verdict line and the campaign line (also hides the progress line).
    #[arg(long, short)]
    quiet: bool,
    /// Plant this bug in the embedded reference (repeatable); see `conformance selftest`.
    #[arg(long = "fault", value_name = "NAME", value_parser = fault_parser())]
    fault: Vec<Fault>,
}

#[derive(Args)]
struct SelftestArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Seed for every run; printed. Default: random.
    #[arg(long)]
    seed: Option<u64>,
    /// Try only this fault (repeatable). Default: all of them.
    #[arg(long = "fault", value_name = "NAME", value_parser = fault_parser())]
    fault: Vec<Fault>,
    /// Longest one case may take, in seconds.
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = seconds)]
    timeout: Duration,
    /// Cases in flight at once within a run (1 to 1024).
    #[arg(long, default_value_t = 4, value_parser = concurrency)]
    concurrency: usize,
    /// Serve each run's reference over loopback HTTP and test it through the adapter client.
    #[arg(long)]
    http: bool,
}

/// Fault names as clap possible values: an unknown name exits 2 and lists them.
fn fault_parser() -> impl clap::builder::TypedValueParser<Value = Fault> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Fault::ALL.map(Fault::name))
        .try_map(|name: String| Fault::parse(&name).ok_or_else(|| format!("unknown fault {name}")))
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Print the requirement x family coverage table (Markdown).
    #[arg(long)]
    coverage: bool,
    /// Print the rejection classes each family and case accepts (Markdown).
    #[arg(long, conflicts_with = "coverage")]
    classes: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run(*args),
        Command::Explore(args) => explore(*args),
        Command::List(args) => list(args),
        Command::Schema { out } => schema(&out),
        Command::Vectors(VectorsCommand::Generate { out, check }) => generate(&out, check),
        Command::Selftest(args) => selftest(args),
        Command::Vectors(VectorsCommand::Verify { vectors, profile }) => verify(vectors, profile),
        Command::Report(command) => report_cli::run(command),
        Command::ServeReference(args) => serve_reference(args),
        Command::AdapterCheck(args) => adapter_check(args),
        Command::Matrix(args) => matrix_cmd(args),
        Command::Openapi => {
            print!("{}", openapi::document_text());
            exit::CONFORMANT
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

fn plan_options(data: &DataArgs) -> PlanOptions {
    PlanOptions {
        suites_dir: data.suites.clone(),
        vectors_dir: data.vectors.clone(),
        profile: data.profile.clone(),
        ..PlanOptions::default()
    }
}

/// Longest duration any option takes: 30 days. Larger values would overflow clock arithmetic.
const MAX_SECONDS: f64 = 30.0 * 24.0 * 3600.0;
/// Largest `--max-response-bytes`: 1 GiB.
const MAX_RESPONSE_BYTES: u64 = 1 << 30;
/// Largest `--schedule`.
const MAX_SCHEDULE: i64 = 1_000_000;
/// Largest `--repeat`.
const MAX_REPEAT: i64 = 100;
/// Largest `--concurrency`.
const MAX_CONCURRENCY: usize = 1024;

/// A duration option: a finite number of seconds from 0.001 to [`MAX_SECONDS`].
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.001..=MAX_SECONDS).contains(&value) {
        return Err(format!(
            "must be from 0.001 to {MAX_SECONDS} seconds (30 days), not {text}"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

/// A concurrency option: 1 to [`MAX_CONCURRENCY`].
fn concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number from 1 to {MAX_CONCURRENCY}, not {text}"
        )),
    }
}

/// An `--allow-host` value: a bare host name or IP address.
fn allow_host(text: &str) -> Result<String, String> {
    interop_conformance::signature::http::parse_host(text)
}

fn fail(error: &ToolError) -> i32 {
    eprintln!("conformance: error: {error}");
    error.exit_code()
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conformance: error: cannot start the async runtime: {e}");
            std::process::exit(exit::INPUT_ERROR);
        }
    }
}

fn run(args: RunArgs) -> i32 {
    let seed = args.seed.unwrap_or_else(execute::random_seed);
    let faults = Faults(args.fault.iter().copied().collect());
    let mut plan = plan_options(&args.data);
    plan.only = args.only.clone();
    plan.vectors = args.vector.clone();
    plan.shard = args.shard;
    plan.scenarios.thorough = args.thorough;
    plan.scenarios.differential = args.differential;
    plan.scenarios.schedule = args.schedule;
    let request = RunRequest {
        plan,
        seed: Some(seed),
        out_dir: args.out.clone(),
        concurrency: args.concurrency,
        case_timeout: args.case_timeout,
        deadline: args.deadline,
        target_args: [target_args(&args), selftest::fault_args(&faults)]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        transcript: args.transcript,
        monitor: true,
        progress: interop_conformance::progress::wanted(args.quiet),
        shared_progress: None,
        repeat: args.repeat,
    };
    let waivers = match &args.waivers {
        Some(path) => match Waivers::load(path, chrono::Utc::now().date_naive(), args.allow_must_waivers) {
            Ok(w) => Some(w),
            Err(e) => return fail(&e.into()),
        },
        None => None,
    };
    eprintln!("conformance: seed {seed} (replay with --seed {seed})");
    if !faults.is_empty() {
        eprintln!("conformance: planted faults: {}", selftest::fault_args(&faults));
    }
    let provider: Arc<dyn Provider> = match &args.target {
        None => Arc::new(ReferenceProvider::with_faults(faults)),
        Some(_) if !faults.is_empty() => {
            return fail(&ToolError::Usage(
                "--fault plants bugs in the embedded reference; for an HTTP target use `serve-reference --fault`"
                    .into(),
            ));
        }
        Some(url) => match http_target(url, &args, &request) {
            Ok(p) => Arc::new(p),
            Err(e) => return fail(&e),
        },
    };
    match runtime().block_on(execute::run_with_waivers(&request, waivers.as_ref(), provider, true)) {
        Ok(output) => {
            if args.quiet {
                if let Some(notice) = &output.report.waiver_notice {
                    println!("{notice}");
                }
                println!("verdict: {}", output.report.verdict_label());
            } else {
                print!("{}", terminal::render(&output.report));
            }
            if let Some(dir) = &output.out_dir {
                println!("reports: {}", dir.display());
            }
            for e in &output.waiver_errors {
                eprintln!("conformance: error: {e}");
            }
            output.exit_code()
        }
        Err(e) => fail(&e),
    }
}

fn explore(args: ExploreArgs) -> i32 {
    let seed = args.seed.unwrap_or_else(execute::random_seed);
    let faults = Faults(args.fault.iter().copied().collect());
    let limit = match (args.budget, args.schedules) {
        (_, Some(n)) => campaign::Limit::Schedules(n),
        (Some(d), None) => campaign::Limit::Budget(d),
        (None, None) => return fail(&ToolError::Usage("give --budget or --schedules".into())),
    };
    let mut target_words = args
        .target
        .as_ref()
        .map(|u| format!("--target {u}"))
        .unwrap_or_default();
    if let Some(var) = &args.token_env {
        target_words.push_str(&format!(" --token-env {var}"));
    }
    let request = campaign::ExploreRequest {
        plan: plan_options(&args.data),
        seed,
        limit,
        out_dir: args.out.clone(),
        target_args: [target_words, selftest::fault_args(&faults)]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        case_timeout: args.case_timeout,
        progress: interop_conformance::progress::wanted(args.quiet),
        until_found: false,
    };
    eprintln!("conformance: explore seed {seed} (replay with --seed {seed})");
    let provider: Arc<dyn Provider> = match &args.target {
        None => Arc::new(ReferenceProvider::with_faults(faults)),
        Some(_) if !faults.is_empty() => {
            return fail(&ToolError::Usage(
                "--fault plants bugs in the embedded reference; for an HTTP target use `serve-reference --fault`"
                    .into(),
            ));
        }
        Some(url) => {
            let options = client::HttpOptions {
                target: url.clone(),
                request_timeout: args.timeout,
                token: match token(args.token_env.as_ref()) {
                    Ok(t) => t,
                    Err(e) => return fail(&e),
                },
                ..client::HttpOptions::new(url.clone())
            };
            match client::HttpProvider::new(&options) {
                Ok(p) => Arc::new(p),
                Err(e) => return fail(&ToolError::Usage(e.to_string())),
            }
        }
    };
    match runtime().block_on(campaign::explore(&request, provider, true)) {
        Ok(output) => {
            let report = &output.run.report;
            if args.quiet {
                println!("verdict: {}", report.verdict_label());
            } else {
                print!("{}", terminal::render(report));
            }
            println!("explore: {}", output.campaign.line());
            println!("replay:  {}", output.replay);
            if let Some(dir) = &output.run.out_dir {
                println!("reports: {}", dir.display());
            }
            output.run.exit_code()
        }
        Err(e) => fail(&e),
    }
}

/// The words that name the target in replay commands: the URL and the token's variable, never the token.
fn target_args(args: &RunArgs) -> String {
    let Some(url) = &args.target else {
        return String::new();
    };
    let mut words = format!("--target {url}");
    if let Some(var) = &args.token_env {
        words.push_str(&format!(" --token-env {var}"));
    }
    for host in &args.allow_host {
        words.push_str(&format!(" --allow-host {host}"));
    }
    for file in &args.tls_ca {
        words.push_str(&format!(" --tls-ca {}", file.display()));
    }
    words
}

fn token(var: Option<&String>) -> Result<Option<String>, ToolError> {
    var.map(|v| {
        std::env::var(v).map_err(|_| ToolError::Usage(format!("environment variable {v} (--token-env) is not set")))
    })
    .transpose()
}

fn http_target(url: &str, args: &RunArgs, request: &RunRequest) -> Result<client::HttpProvider, ToolError> {
    let options = client::HttpOptions {
        target: url.to_string(),
        request_timeout: args.timeout,
        deadline: request.deadline,
        max_response_bytes: usize::try_from(args.max_response_bytes).unwrap_or(usize::MAX),
        max_in_flight: request.concurrency,
        token: token(args.token_env.as_ref())?,
        allow_hosts: args.allow_host.clone(),
        tls_ca: args.tls_ca.clone(),
    };
    client::HttpProvider::new(&options).map_err(|e| ToolError::Usage(e.to_string()))
}

fn serve_reference(args: ServeArgs) -> i32 {
    let faults = Faults(args.fault.iter().copied().collect());
    let token = match token(args.token_env.as_ref()) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let provider = Arc::new(ReferenceProvider::with_faults(faults));
    runtime().block_on(async {
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(l) => l,
            Err(e) => return fail(&ToolError::Usage(format!("cannot listen on {}: {e}", args.listen))),
        };
        match listener.local_addr() {
            Ok(addr) => println!("listening on http://{addr}"),
            Err(e) => return fail(&ToolError::Usage(format!("cannot read the bound address: {e}"))),
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let app = server::router(provider, token.as_deref());
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("conformance: shutting down");
        };
        match server::serve(listener, app, shutdown).await {
            Ok(()) => exit::CONFORMANT,
            Err(e) => fail(&ToolError::Usage(format!("server failed: {e}"))),
        }
    })
}

fn adapter_check(args: AdapterCheckArgs) -> i32 {
    let options = match (|| -> Result<adapter_check::CheckOptions, ToolError> {
        Ok(adapter_check::CheckOptions {
            target: args.target.clone(),
            token: token(args.token_env.as_ref())?,
            timeout: args.timeout,
        })
    })() {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    match runtime().block_on(adapter_check::check(&options)) {
        Ok(report) => {
            print!("{}", report.render(&args.target));
            report.exit_code()
        }
        Err(e) => {
            eprintln!("conformance: error: {e}");
            e.exit_code()
        }
    }
}

fn matrix_targets(args: &MatrixArgs) -> Result<(Vec<matrix::Target>, matrix::Notes), ToolError> {
    let mut targets = Vec::new();
    if !args.no_reference {
        targets.push(matrix::Target {
            name: "reference".into(),
            kind: matrix::TargetKind::Reference,
        });
    }
    for pair in &args.targets {
        let (name, url) = pair
            .split_once('=')
            .filter(|(n, u)| !n.is_empty() && !u.is_empty())
            .ok_or_else(|| ToolError::Usage(format!("--target {pair}: expected NAME=URL")))?;
        targets.push(matrix::Target {
            name: name.into(),
            kind: matrix::TargetKind::Url(url.into()),
        });
    }
    if let Some(file) = &args.adapters {
        for spec in matrix::launch::load(file)? {
            targets.push(matrix::Target {
                name: spec.name.clone(),
                kind: matrix::TargetKind::Launch(spec),
            });
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for t in &targets {
        if !names.insert(t.name.clone()) {
            return Err(ToolError::Usage(format!("two implementations are named {}", t.name)));
        }
    }
    let notes_file = args.notes.clone().or_else(|| {
        let beside = args.adapters.as_ref()?.parent()?.join("deviations.yaml");
        beside.exists().then_some(beside)
    });
    let notes = match notes_file {
        Some(f) => matrix::load_notes(&f)?,
        None => matrix::Notes::new(),
    };
    Ok((targets, notes))
}

fn matrix_cmd(args: MatrixArgs) -> i32 {
    let seed = args.seed.unwrap_or_else(execute::random_seed);
    let options = match (|| -> Result<matrix::MatrixOptions, ToolError> {
        let (targets, notes) = matrix_targets(&args)?;
        Ok(matrix::MatrixOptions {
            plan: plan_options(&args.data),
            seed,
            out: args.out.clone(),
            targets,
            concurrency: args.concurrency.max(1),
            case_timeout: args.case_timeout,
            request_timeout: args.timeout,
            transcript: !args.no_transcript,
            notes,
            progress: interop_conformance::progress::wanted(args.quiet),
        })
    })() {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    eprintln!("conformance: seed {seed} (replay with --seed {seed})");
    let committed = match &args.check {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) => return fail(&ToolError::Usage(format!("cannot read {}: {e}", path.display()))),
        },
        None => None,
    };
    let m = match runtime().block_on(matrix::run(&options)) {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    for imp in &m.implementations {
        let verdict = imp.verdict.map(|v| v.as_str()).unwrap_or("NOT RUN");
        let score = imp.score.map(|s| format!(" {:.1}%", s * 100.0)).unwrap_or_default();
        println!(
            "{:<20} {verdict}{score}  {}",
            imp.name,
            imp.error.as_deref().unwrap_or(&imp.implementation)
        );
    }
    println!("matrix: {}", args.out.join("matrix.html").display());
    let fresh = matrix::render::markdown(&m);
    if let Some(path) = &args.md
        && let Err(e) = std::fs::write(path, &fresh)
    {
        return fail(&ToolError::Usage(format!("cannot write {}: {e}", path.display())));
    }
    let mut code = if m.incomplete() {
        exit::UNREACHABLE
    } else {
        exit::CONFORMANT
    };
    if let (Some(path), Some(committed)) = (&args.check, committed) {
        let changed = matrix::render::differences(&committed, &fresh);
        let unexplained = m.unexplained();
        for line in &changed {
            println!("changed: {line}");
        }
        for (imp, req) in &unexplained {
            println!("unexplained: {imp} {req} is not pass and has no line in the deviations file");
        }
        if changed.is_empty() && unexplained.is_empty() {
            println!("matrix check: {} matches (verdict cells)", path.display());
        } else {
            println!(
                "matrix check: {} is not current; regenerate it with --md and explain each non-pass",
                path.display()
            );
            code = code.max(exit::NOT_CONFORMANT);
        }
    }
    code
}

fn list(args: ListArgs) -> i32 {
    let options = plan_options(&args.data);
    let plan = match Plan::build(&options) {
        Ok(p) => p,
        Err(e) => return fail(&e.into()),
    };
    if args.coverage {
        print!("{}", listing::coverage_markdown(&plan));
    } else if args.classes {
        print!("{}", listing::classes_markdown(&plan));
    } else {
        let suites = options.suites_dir.unwrap_or_else(|| plan::data_dir("suites"));
        print!("{}", listing::render(&plan, &suites));
    }
    exit::CONFORMANT
}

fn generate(out: &std::path::Path, check: bool) -> i32 {
    let files = match runtime().block_on(interop_conformance::generate::all()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("conformance: error: generation failed: {e}");
            return exit::INPUT_ERROR;
        }
    };
    let mut differing = 0;
    for file in &files {
        let path = out.join(file.name);
        if check {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current != file.text {
                eprintln!("conformance: {} differs from the generator's output", path.display());
                differing += 1;
            }
            continue;
        }
        if let Err(e) = std::fs::create_dir_all(out).and_then(|_| std::fs::write(&path, &file.text)) {
            eprintln!("conformance: error: cannot write {}: {e}", path.display());
            return exit::INPUT_ERROR;
        }
        println!("wrote {}", path.display());
    }
    if differing > 0 {
        eprintln!("conformance: {differing} file(s) differ; run `conformance vectors generate`");
        return exit::NOT_CONFORMANT;
    }
    if check {
        println!("{} vector files match the generator", files.len());
    }
    exit::CONFORMANT
}

fn schema(out: &std::path::Path) -> i32 {
    for (name, text) in interop_conformance::schema::all() {
        let path = out.join(name);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&path, text));
        if let Err(e) = written {
            eprintln!("conformance: error: cannot write {}: {e}", path.display());
            return exit::INPUT_ERROR;
        }
        println!("wrote {}", path.display());
    }
    exit::CONFORMANT
}

fn selftest(args: SelftestArgs) -> i32 {
    let seed = args.seed.unwrap_or_else(execute::random_seed);
    let mut options = SelftestOptions::new(seed);
    options.plan = plan_options(&args.data);
    options.concurrency = args.concurrency;
    options.case_timeout = args.timeout;
    if !args.fault.is_empty() {
        options.faults = args.fault.clone();
    }
    eprintln!("conformance: selftest seed {seed} (replay with --seed {seed})");
    let embedded = |faults: &Faults| -> Arc<dyn Provider> { Arc::new(ReferenceProvider::with_faults(faults.clone())) };
    let started = std::time::Instant::now();
    let http = selftest::LoopbackHttp::default();
    let result = if args.http {
        runtime().block_on(selftest::run(&http, &options))
    } else {
        runtime().block_on(selftest::run(&embedded, &options))
    };
    match result {
        Ok(report) => {
            eprintln!("conformance: selftest took {:.1}s", started.elapsed().as_secs_f64());
            print!("{}", report.render());
            if report.passed() {
                exit::CONFORMANT
            } else {
                exit::NOT_CONFORMANT
            }
        }
        Err(e) => fail(&e),
    }
}

fn verify(vectors: Option<PathBuf>, profile: Option<String>) -> i32 {
    let every = profile.is_none() && vectors.is_none();
    let options = PlanOptions {
        vectors_dir: vectors,
        profile: profile.unwrap_or_else(|| plan::DEFAULT_PROFILE.into()),
        ..PlanOptions::default()
    };
    let results = if every {
        interop_conformance::verify::verify_every_profile(&options)
    } else {
        interop_conformance::verify::verify(&options)
    };
    match results {
        Ok(results) => {
            print!("{}", interop_conformance::verify::render(&results));
            if results.iter().any(|r| !r.disagreements.is_empty()) {
                exit::NOT_CONFORMANT
            } else {
                exit::CONFORMANT
            }
        }
        Err(e) => fail(&e.into()),
    }
}
