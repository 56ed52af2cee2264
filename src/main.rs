//! `conformance`: the command line over the interop_conformance library.

use clap::{Args, Parser, Subcommand};
use interop_conformance::execute::{self, RunRequest, ToolError};
use interop_conformance::plan::{self, Plan, PlanOptions};
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::report::terminal;
use interop_conformance::{exit, listing};
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
    /// Run a profile against a provider, print the verdict and write report.json and junit.xml.
    Run(RunArgs),
    /// List profiles, requirements and case ids.
    List(ListArgs),
    /// Generate or check the vector corpus.
    #[command(subcommand)]
    Vectors(VectorsCommand),
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
    /// Output folder for report.json and junit.xml (default: reports/<run-id>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Longest one case may take, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    timeout: f64,
    /// Longest the whole run may take, in seconds.
    #[arg(long, value_name = "SECONDS")]
    deadline: Option<f64>,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 1)]
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
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Print the requirement x family coverage table (Markdown).
    #[arg(long)]
    coverage: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run(args),
        Command::List(args) => list(args),
        Command::Vectors(VectorsCommand::Generate { out, check }) => generate(&out, check),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

fn plan_options(data: &DataArgs) -> PlanOptions {
    PlanOptions {
        suites_dir: data.suites.clone(),
        vectors_dir: data.vectors.clone(),
        profile: data.profile.clone(),
        only: Vec::new(),
        vectors: Vec::new(),
        scenarios: Default::default(),
    }
}

fn seconds(value: f64, flag: &str) -> Result<Duration, ToolError> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| ToolError::Usage(format!("{flag} must be a positive number of seconds")))
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
    let request = match (|| -> Result<RunRequest, ToolError> {
        let mut plan = plan_options(&args.data);
        plan.only = args.only.clone();
        plan.vectors = args.vector.clone();
        plan.scenarios.thorough = args.thorough;
        plan.scenarios.differential = args.differential;
        Ok(RunRequest {
            plan,
            seed: Some(seed),
            out_dir: args.out.clone(),
            concurrency: args.concurrency.max(1),
            case_timeout: seconds(args.timeout, "--timeout")?,
            deadline: args.deadline.map(|d| seconds(d, "--deadline")).transpose()?,
            target_args: String::new(),
        })
    })() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    eprintln!("conformance: seed {seed} (replay with --seed {seed})");
    let provider = Arc::new(ReferenceProvider::new());
    match runtime().block_on(execute::run(&request, provider, true)) {
        Ok(output) => {
            if args.quiet {
                println!("verdict: {}", output.report.verdict.as_str());
            } else {
                print!("{}", terminal::render(&output.report));
            }
            if let Some(dir) = &output.out_dir {
                println!("reports: {}", dir.display());
            }
            output.exit_code()
        }
        Err(e) => fail(&e),
    }
}

fn list(args: ListArgs) -> i32 {
    let options = plan_options(&args.data);
    let plan = match Plan::build(&options) {
        Ok(p) => p,
        Err(e) => return fail(&e.into()),
    };
    if args.coverage {
        print!("{}", listing::coverage_markdown(&plan));
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
