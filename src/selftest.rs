//! `conformance selftest`: how much the suite catches. The profile runs once against the correct reference
//! (it must be CONFORMANT with score 100%) and once per planted [`Fault`] alone; a fault is CAUGHT when that run
//! is NOT_CONFORMANT and the requirement the fault breaks ([`Fault::breaks`]) is among the failed ones.
//!
//! Providers come from a [`ProviderFactory`], so the same logic drives the embedded reference (a closure over
//! [`ReferenceProvider::with_faults`]) or providers behind HTTP (a factory that starts a server per fault and
//! stops it in [`ProviderFactory::stop`]).
//!
//! [`ReferenceProvider::with_faults`]: crate::reference::ReferenceProvider::with_faults

use crate::execute::{self, RunRequest, ToolError};
use crate::family::Family;
use crate::outcome::Outcome;
use crate::plan::PlanOptions;
use crate::provider::Provider;
use crate::reference::{Fault, Faults};
use crate::report::RunReport;
use crate::scoring::{RequirementVerdict, Verdict};
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// Makes the provider under test for one selftest run.
#[async_trait]
pub trait ProviderFactory: Send + Sync {
    /// A provider with exactly these faults on (none: the correct implementation). An error fails this run only.
    async fn start(&self, faults: &Faults) -> Result<Arc<dyn Provider>, String>;

    /// Called once the run with `provider` is over (stop a server, remove files). Default: nothing.
    async fn stop(&self, provider: Arc<dyn Provider>) {
        drop(provider);
    }

    /// The `conformance run` words that select this target with `faults`, for replay commands.
    fn target_args(&self, faults: &Faults) -> String {
        fault_args(faults)
    }
}

/// Any `Fn(&Faults) -> Arc<dyn Provider>` is a factory (the embedded reference).
#[async_trait]
impl<F> ProviderFactory for F
where
    F: Fn(&Faults) -> Arc<dyn Provider> + Send + Sync,
{
    async fn start(&self, faults: &Faults) -> Result<Arc<dyn Provider>, String> {
        Ok(self(faults))
    }
}

/// `--fault A --fault B`.
pub fn fault_args(faults: &Faults) -> String {
    faults
        .0
        .iter()
        .map(|f| format!("--fault {f}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What to run.
#[derive(Debug, Clone)]
pub struct SelftestOptions {
    /// Profile and vectors (no filters: the whole profile is the point).
    pub plan: PlanOptions,
    /// One seed for every run.
    pub seed: u64,
    /// Cases in flight at once within a run.
    pub concurrency: usize,
    /// Per-case timeout.
    pub case_timeout: Duration,
    /// The faults to try, in order.
    pub faults: Vec<Fault>,
}

impl SelftestOptions {
    /// The default profile, every fault.
    pub fn new(seed: u64) -> Self {
        Self {
            plan: PlanOptions {
                profile: crate::plan::DEFAULT_PROFILE.into(),
                ..PlanOptions::default()
            },
            seed,
            concurrency: 4,
            case_timeout: Duration::from_secs(30),
            faults: Fault::ALL.to_vec(),
        }
    }
}

/// How one fault fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// NOT_CONFORMANT, with the broken requirement among the failed.
    Caught,
    /// The suite did not notice (or noticed only through other requirements).
    Survived,
    /// The run could not be made (provider did not start, target unreachable).
    Error,
}

impl Status {
    /// Upper-case name for the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caught => "CAUGHT",
            Self::Survived => "SURVIVED",
            Self::Error => "ERROR",
        }
    }
}

/// One fault's run.
#[derive(Debug, Clone)]
pub struct FaultResult {
    /// The fault.
    pub fault: Fault,
    /// Whether its requirement is in the profile at all.
    pub in_profile: bool,
    /// Cases that failed under it.
    pub failed_cases: Vec<String>,
    /// Requirements that failed under it.
    pub failed_requirements: Vec<String>,
    /// The run's verdict within its scope (`None` when the run could not be made).
    pub verdict: Option<Verdict>,
    /// CAUGHT, SURVIVED or ERROR.
    pub status: Status,
    /// Why the run could not be made.
    pub error: Option<String>,
    /// Families with a failed case.
    families: BTreeSet<Family>,
    /// A rare-schedule fault ([`Fault::rare`]) the default run missed: the bounded `explore` campaign that was
    /// run for it (its replay command and what it found).
    pub explored: Option<String>,
}

/// Everything selftest found.
#[derive(Debug, Clone)]
pub struct SelftestReport {
    /// Profile name.
    pub profile: String,
    /// The seed of every run.
    pub seed: u64,
    /// The run against the correct reference.
    pub clean: RunReport,
    /// One entry per fault tried.
    pub faults: Vec<FaultResult>,
}

impl SelftestReport {
    /// Whether the clean run is CONFORMANT (within its scope, for `selftest --only`) with every requirement passed.
    pub fn clean_ok(&self) -> bool {
        self.clean.scope_verdict() == Verdict::Conformant && self.clean.score >= 1.0
    }

    /// Faults caught.
    pub fn caught(&self) -> usize {
        self.faults.iter().filter(|f| f.status == Status::Caught).count()
    }

    /// The clean run is perfect and every fault is caught.
    pub fn passed(&self) -> bool {
        self.clean_ok() && self.caught() == self.faults.len()
    }

    /// The result for `fault`, if it was tried.
    pub fn result(&self, fault: Fault) -> Option<&FaultResult> {
        self.faults.iter().find(|f| f.fault == fault)
    }

    /// Families of the profile in which no case failed under any fault.
    pub fn idle_families(&self) -> Vec<Family> {
        let present: BTreeSet<Family> = self.clean.cases.iter().map(|c| c.family).collect();
        let catching: BTreeSet<Family> = self.faults.iter().flat_map(|f| f.families.iter().copied()).collect();
        present.difference(&catching).copied().collect()
    }

    /// `mutation score: CAUGHT/TOTAL (PERCENT%)`.
    pub fn score_line(&self) -> String {
        score_line(self.caught(), self.faults.len())
    }

    /// The terminal text; the score line comes last.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let clean = &self.clean;
        let _ = writeln!(
            out,
            "selftest: profile {}, seed {}, {} cases per run",
            self.profile,
            self.seed,
            clean.cases.len()
        );
        let _ = writeln!(
            out,
            "clean reference: {}, score {:.1}% ({} of {} cases passed){}",
            clean.verdict_label(),
            clean.score * 100.0,
            clean.summary.cases.pass,
            clean.cases.len(),
            if self.clean_ok() {
                ""
            } else {
                "  <- must be CONFORMANT at 100%"
            }
        );
        for case in clean.cases.iter().filter(|c| c.outcome != Outcome::Pass) {
            let _ = writeln!(out, "  {} {}", case.outcome.as_str(), case.id);
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<30} {:<13} {:>5}  {:<14}  result",
            "fault", "breaks", "cases", "verdict"
        );
        for f in &self.faults {
            let verdict = f.verdict.map_or("-", |v| v.as_str());
            let mut note = String::new();
            if let Some(e) = &f.error {
                note = format!("  ({e})");
            } else if !f.in_profile {
                note = format!("  ({} is not among the requirements run)", f.fault.breaks());
            } else if f.status == Status::Caught && f.verdict == Some(Verdict::Conformant) {
                note = format!(
                    "  ({} is a SHOULD: it failed and lowered the score; SHOULDs never block the verdict)",
                    f.fault.breaks()
                );
            } else if let Some(line) = &f.explored {
                note = format!("  (rare schedule: the default run missed it; {line})");
            } else if f.fault.rare() {
                note = "  (rare schedule: the default run caught it)".to_string();
            } else if f.status == Status::Survived && !f.failed_requirements.is_empty() {
                note = format!("  (failed only: {})", f.failed_requirements.join(", "));
            }
            let _ = writeln!(
                out,
                "{:<30} {:<13} {:>5}  {:<14}  {}{note}",
                f.fault.name(),
                f.fault.breaks(),
                f.failed_cases.len(),
                verdict,
                f.status.as_str()
            );
        }
        let _ = writeln!(out);
        let idle: Vec<&str> = self.idle_families().iter().map(|f| f.as_str()).collect();
        let _ = writeln!(
            out,
            "vector families that catch no fault: {}",
            if idle.is_empty() {
                "none".to_string()
            } else {
                idle.join(", ")
            }
        );
        let _ = writeln!(out, "{}", self.score_line());
        out
    }
}

/// `mutation score: CAUGHT/TOTAL (PERCENT%)`, the percentage with one decimal unless it is whole.
pub fn score_line(caught: usize, total: usize) -> String {
    let percent = if total == 0 {
        0.0
    } else {
        100.0 * caught as f64 / total as f64
    };
    let percent = format!("{percent:.1}");
    let percent = percent.strip_suffix(".0").unwrap_or(&percent);
    format!("mutation score: {caught}/{total} ({percent}%)")
}

fn request(options: &SelftestOptions, target_args: String) -> RunRequest {
    RunRequest {
        plan: options.plan.clone(),
        seed: Some(options.seed),
        out_dir: None,
        concurrency: options.concurrency.max(1),
        case_timeout: options.case_timeout,
        deadline: None,
        target_args,
        transcript: false,
        monitor: true,
        progress: false,
        shared_progress: None,
        repeat: 1,
    }
}

/// One run against a fresh provider from `factory`.
async fn run_once(
    factory: &dyn ProviderFactory,
    options: &SelftestOptions,
    faults: &Faults,
) -> Result<Result<RunReport, String>, ToolError> {
    let provider = match factory.start(faults).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("provider did not start: {e}"))),
    };
    let result = execute::run(&request(options, factory.target_args(faults)), provider.clone(), false).await;
    factory.stop(provider).await;
    match result {
        Ok(output) => Ok(Ok(output.report)),
        Err(ToolError::Unreachable(e)) => Ok(Err(format!("target unreachable: {e}"))),
        Err(e) => Err(e),
    }
}

fn judge(fault: Fault, report: Result<RunReport, String>, scope: &[String]) -> FaultResult {
    let in_profile = scope.iter().any(|r| r == fault.breaks());
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            return FaultResult {
                fault,
                in_profile,
                failed_cases: vec![],
                failed_requirements: vec![],
                verdict: None,
                status: Status::Error,
                error: Some(e),
                families: BTreeSet::new(),
                explored: None,
            };
        }
    };
    let failed = report.cases.iter().filter(|c| c.outcome == Outcome::Fail);
    let failed_cases: Vec<String> = failed.clone().map(|c| c.id.clone()).collect();
    let families = failed.map(|c| c.family).collect();
    let failed_requirements: Vec<String> = report
        .requirements
        .iter()
        .filter(|r| r.verdict == RequirementVerdict::Fail)
        .map(|r| r.id.clone())
        .collect();
    // A fault is caught when the requirement it breaks fails. For a MUST requirement that also makes the run
    // NOT_CONFORMANT; a SHOULD failure lowers the score but never blocks the verdict (by the scoring rule), so
    // there the failed requirement alone is the catch.
    let broken_is_must = report
        .requirements
        .iter()
        .any(|r| r.id == fault.breaks() && r.level == crate::requirements::Level::Must);
    let caught = failed_requirements.iter().any(|r| r == fault.breaks())
        && (report.scope_verdict() == Verdict::NotConformant || !broken_is_must);
    FaultResult {
        fault,
        in_profile,
        failed_cases,
        failed_requirements,
        verdict: Some(report.scope_verdict()),
        status: if caught { Status::Caught } else { Status::Survived },
        error: None,
        families,
        explored: None,
    }
}

/// Schedules of the bounded campaign selftest gives a rare-schedule fault the default run missed. The planted
/// one failed about one `scenario.tamper` schedule in 210 (5 in two 3,000-schedule campaigns, seeds 1 and 2), and
/// a round draws 12 tamper schedules of 68: about one schedule in 1,200, so this bound misses it with a chance
/// near e^-25. A campaign ends at its first failure (seed 1: after 96 schedules).
pub const RARE_FAULT_SCHEDULES: u64 = 30_000;

/// The bounded `explore` for a rare fault: a fresh provider, the selftest seed, ending at the first failure.
async fn explore_once(
    factory: &dyn ProviderFactory,
    options: &SelftestOptions,
    faults: &Faults,
) -> Result<Result<(RunReport, String), String>, ToolError> {
    let provider = match factory.start(faults).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("provider did not start: {e}"))),
    };
    let request = crate::campaign::ExploreRequest {
        plan: options.plan.clone(),
        seed: options.seed,
        limit: crate::campaign::Limit::Schedules(RARE_FAULT_SCHEDULES),
        out_dir: None,
        target_args: factory.target_args(faults),
        case_timeout: options.case_timeout,
        progress: false,
        until_found: true,
    };
    let result = crate::campaign::explore(&request, provider.clone(), false).await;
    factory.stop(provider).await;
    match result {
        Ok(output) => Ok(Ok((
            output.run.report,
            format!("`{}` found it in {:.1}s", output.replay, output.campaign.seconds),
        ))),
        Err(ToolError::Unreachable(e)) => Ok(Err(format!("target unreachable: {e}"))),
        Err(e) => Err(e),
    }
}

/// Run the clean reference, then every fault in `options.faults` alone. Only the tool's own failures (a broken
/// profile or vector file, an unreachable clean target) are errors; a surviving fault is data.
pub async fn run(factory: &dyn ProviderFactory, options: &SelftestOptions) -> Result<SelftestReport, ToolError> {
    let clean = run_once(factory, options, &Faults::none())
        .await?
        .map_err(|e| ToolError::Unreachable(format!("clean run: {e}")))?;
    let scope = clean.requirements.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    let mut faults = Vec::with_capacity(options.faults.len());
    // A fault is tried in the run of the profile that catches it (`selftest --profile NAME` for the others).
    for fault in options.faults.iter().filter(|f| f.profile() == clean.run.profile) {
        let only = Faults::only(*fault);
        let mut result = judge(*fault, run_once(factory, options, &only).await?, &scope);
        // A rare-schedule fault the default run missed gets a bounded campaign, and the table says so.
        if fault.rare() && result.status == Status::Survived {
            match explore_once(factory, options, &only).await? {
                Ok((report, line)) => {
                    result = FaultResult {
                        explored: Some(line),
                        ..judge(*fault, Ok(report), &scope)
                    };
                }
                Err(e) => result.error = Some(e),
            }
        }
        faults.push(result);
    }
    Ok(SelftestReport {
        profile: clean.run.profile.clone(),
        seed: options.seed,
        clean,
        faults,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceProvider;

    /// The Signal-side faults the embedded reference implements; the media and security-code faults are not
    /// in this profile yet.
    const SIGNAL_FAULTS: [Fault; 10] = [
        Fault::SkipSignedPrekeyCheck,
        Fault::AcceptRawKeySignature,
        Fault::SkipMacCheck,
        Fault::PartialMacCheck,
        Fault::AcceptDuplicates,
        Fault::KeepConsumedPrekeys,
        Fault::AcceptAnyVersion,
        Fault::AcceptWrongKeyType,
        Fault::NoForwardJumpBound,
        Fault::AcceptIdentityChange,
    ];

    fn embedded(faults: &Faults) -> Arc<dyn Provider> {
        Arc::new(ReferenceProvider::with_faults(faults.clone()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clean_reference_is_perfect_and_every_signal_fault_is_caught() {
        let report = run(&embedded, &SelftestOptions::new(7)).await.expect("selftest runs");
        assert!(report.clean_ok(), "clean run:\n{}", report.render());
        for fault in SIGNAL_FAULTS {
            let result = report.result(fault).expect("every fault is tried");
            assert_eq!(result.status, Status::Caught, "{fault}:\n{}", report.render());
            assert!(!result.failed_cases.is_empty());
        }
        let last = report.render().lines().last().map(str::to_string);
        assert_eq!(last, Some(report.score_line()));
        let tried = Fault::ALL
            .iter()
            .filter(|f| f.profile() == crate::plan::DEFAULT_PROFILE)
            .count();
        assert_eq!(report.faults.len(), tried);
        assert_eq!(report.passed(), report.caught() == tried);
    }

    /// A fault whose requirement is outside the run survives, is named as such, and fails the selftest.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fault_outside_the_scope_survives_and_fails_the_selftest() {
        let mut options = SelftestOptions::new(7);
        options.plan.only = vec!["RO-ENC-014".into()];
        options.faults = vec![Fault::SkipMacCheck, Fault::AcceptDuplicates];
        let report = run(&embedded, &options).await.expect("selftest runs");
        assert!(report.clean_ok(), "{}", report.render());
        let skip = report.result(Fault::SkipMacCheck).expect("tried");
        assert!(!skip.in_profile);
        assert_eq!(skip.status, Status::Survived);
        assert_eq!(
            report.result(Fault::AcceptDuplicates).map(|r| r.status),
            Some(Status::Caught)
        );
        assert!(!report.passed());
        let text = report.render();
        assert!(text.contains("RO-ENC-011 is not among the requirements run"), "{text}");
        assert!(text.ends_with("mutation score: 1/2 (50%)\n"), "{text}");
    }

    #[test]
    fn score_line_format() {
        assert_eq!(score_line(14, 14), "mutation score: 14/14 (100%)");
        assert_eq!(score_line(10, 14), "mutation score: 10/14 (71.4%)");
        assert_eq!(score_line(0, 0), "mutation score: 0/0 (0%)");
    }
}

/// Selftest over HTTP: each run's reference (with its faults) is served on an ephemeral loopback port by the
/// adapter server and driven through the HTTP client, exactly as an external provider would be.
#[derive(Default)]
pub struct LoopbackHttp {
    servers: std::sync::Mutex<Vec<(String, crate::http::server::LoopbackServer)>>,
}

#[async_trait]
impl ProviderFactory for LoopbackHttp {
    async fn start(&self, faults: &Faults) -> Result<Arc<dyn Provider>, String> {
        let reference: Arc<dyn Provider> = Arc::new(crate::reference::ReferenceProvider::with_faults(faults.clone()));
        let running = crate::http::server::spawn_loopback(reference, None)
            .await
            .map_err(|e| format!("cannot serve the reference on loopback: {e}"))?;
        let url = running.url();
        let client = crate::http::client::HttpProvider::new(&crate::http::client::HttpOptions::new(url.clone()))
            .map_err(|e| e.to_string())?;
        self.servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((url, running));
        Ok(Arc::new(client))
    }

    async fn stop(&self, provider: Arc<dyn Provider>) {
        let target = provider.target();
        // Dropping the `LoopbackServer` stops it.
        self.servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(url, _)| !target.starts_with(url.as_str()));
    }

    /// Replays run the same fault in-process (the loopback server is gone by then).
    fn target_args(&self, faults: &Faults) -> String {
        fault_args(faults)
    }
}
