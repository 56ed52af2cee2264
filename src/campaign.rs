//! `conformance explore`: a campaign over fresh scenario schedules, for the bugs that hide in rare schedules.
//!
//! A campaign plays rounds. Round `r` has its own seed, derived from the campaign seed, and in it every scenario
//! case of the profile (every kind) draws its default number of schedules exactly as `conformance run --seed
//! <round seed> --vector <case>` would. So one schedule is named by (round seed, case, schedule number) and
//! `run --seed S --vector ID --schedule K` replays it alone. The campaign goes on after failures, shrinks each
//! new one and keeps it once (deduplicated as in [`crate::scenario::explore`]), until its budget of time or of
//! schedules is spent. Given its seed and the number of schedules judged, a campaign is deterministic: the
//! printed `--schedules N` replays it without a clock.

use crate::execute::{self, Connected, RunOutput, ToolError};
use crate::family::{self, CaseContext, Family};
use crate::outcome::{Observation, Outcome, ScheduleFailure};
use crate::plan::{Plan, PlanOptions};
use crate::progress::Progress;
use crate::provider::Provider;
use crate::report::{Campaign, RunContext, RunReport};
use crate::runner;
use crate::sanitize::Budget;
use crate::scenario::explore::{self, Watch};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest budget: a week. Longer campaigns are several campaigns with other seeds.
pub const MAX_BUDGET: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most schedules one campaign judges.
pub const MAX_SCHEDULES: u64 = 100_000_000;

/// When a campaign ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this much time (checked before each schedule).
    Budget(Duration),
    /// After this many schedules: the clock-free replay of a campaign.
    Schedules(u64),
}

/// Parse a budget: a number with a unit, `90s`, `10m`, `1.5h`, `2d` (a bare number is seconds), from 1 second to
/// [`MAX_BUDGET`].
pub fn parse_budget(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit {
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (use s, m, h or d, e.g. 10m)")),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 90s, 10m, 1h)"))?;
    let seconds = value * scale;
    if !(1.0..=MAX_BUDGET.as_secs_f64()).contains(&seconds) {
        return Err(format!("`{text}`: a budget is from 1s to 7d"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Everything `conformance explore` needs.
#[derive(Debug, Clone)]
pub struct ExploreRequest {
    /// Profile and data (no filters: every scenario of the profile is explored).
    pub plan: PlanOptions,
    /// The campaign seed.
    pub seed: u64,
    /// Budget of time or schedules.
    pub limit: Limit,
    /// Where to write the report files; `None`: `reports/<run-id>/`.
    pub out_dir: Option<PathBuf>,
    /// The words naming the target in replay commands (`--target URL`), empty for the embedded reference.
    pub target_args: String,
    /// Longest one scenario case may take within a round.
    pub case_timeout: Duration,
    /// Show live progress on stderr.
    pub progress: bool,
    /// End at the first failure (selftest's bounded campaign for a rare fault); a campaign otherwise goes on.
    pub until_found: bool,
}

/// A finished campaign.
#[derive(Debug, Clone)]
pub struct ExploreOutput {
    /// The report and where it was written.
    pub run: RunOutput,
    /// Rounds, schedules and messages played, and how long it took.
    pub campaign: Campaign,
    /// The command that replays the campaign without a clock.
    pub replay: String,
}

/// What one scenario case met over every round.
#[derive(Default)]
struct Found {
    /// The first failing (or halted) observation: the case's outcome and blame.
    first: Option<Observation>,
    /// Distinct failures with their signatures.
    failures: Vec<(String, ScheduleFailure)>,
    /// A halt (transport error, unsupported): the case is not explored further.
    halted: bool,
    schedules: u64,
    millis: f64,
}

struct Watcher {
    until: Option<Instant>,
    until_found: bool,
    found: AtomicBool,
    progress: Mutex<Progress>,
}

impl Watch for Watcher {
    fn stop(&self) -> bool {
        self.until.is_some_and(|t| Instant::now() >= t) || (self.until_found && self.found.load(Ordering::Relaxed))
    }
    fn judged(&self, new_failure: bool) {
        if new_failure {
            self.found.store(true, Ordering::Relaxed);
        }
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .case_done(new_failure);
    }
}

/// The seed of round `round` (1-based) of the campaign with seed `seed`.
pub fn round_seed(seed: u64, round: u32) -> u64 {
    runner::case_seed(seed, &format!("explore round {round}"))
}

/// The `conformance` words that select the profile, data and target (shared by every replay command).
fn common_args(request: &ExploreRequest) -> String {
    let mut words = String::new();
    if request.plan.profile != crate::plan::DEFAULT_PROFILE {
        words.push_str(&format!(" --profile {}", request.plan.profile));
    }
    if let Some(dir) = &request.plan.suites_dir {
        words.push_str(&format!(" --suites {}", dir.display()));
    }
    if !request.target_args.is_empty() {
        words.push(' ');
        words.push_str(&request.target_args);
    }
    words
}

/// Run a campaign against `provider`; write the report files when `write`.
pub async fn explore(
    request: &ExploreRequest,
    provider: Arc<dyn Provider>,
    write: bool,
) -> Result<ExploreOutput, ToolError> {
    let plan = scenario_plan(&request.plan).await?;
    let Connected {
        provider,
        peer,
        key_log,
        sanitizer,
        implementation,
    } = execute::connect(provider).await?;
    let common = common_args(request);
    let started_at = execute::now();
    let out_dir = if write {
        Some(match &request.out_dir {
            Some(dir) => execute::claim_given_folder(dir)?,
            None => execute::claim_new_folder(&PathBuf::from("reports").join(format!(
                "explore-seed{}-{}",
                request.seed,
                compact(&started_at)
            )))?,
        })
    } else {
        None
    };
    let (budget, cap) = match request.limit {
        Limit::Budget(d) => (Some(d), MAX_SCHEDULES),
        Limit::Schedules(n) => (None, n.min(MAX_SCHEDULES)),
    };
    let started = Instant::now();
    let watcher = Watcher {
        until: budget.map(|d| started + d),
        until_found: request.until_found,
        found: AtomicBool::new(false),
        progress: Mutex::new(Progress::campaign(
            if budget.is_none() { cap as usize } else { 0 },
            budget,
            request.progress,
        )),
    };
    let push_jwks = family::push::PushJwks::default();
    let mut found: Vec<Found> = plan.cases.iter().map(|_| Found::default()).collect();
    let (mut schedules, mut messages, mut rounds) = (0u64, 0u64, 0u32);
    'rounds: while schedules < cap && !watcher.stop() && found.iter().any(|f| !f.halted) {
        rounds += 1;
        let seed = round_seed(request.seed, rounds);
        let mut judged_this_round = 0;
        for (case, f) in plan.cases.iter().zip(found.iter_mut()) {
            let family::Check::Scenario(check) = &case.check else {
                continue;
            };
            if f.halted {
                continue;
            }
            if schedules >= cap || watcher.stop() {
                break 'rounds;
            }
            let mut check = check.clone();
            check.keep_going = true;
            check.cases = u32::try_from((cap - schedules).min(u64::from(check.cases))).unwrap_or(check.cases);
            let ctx = CaseContext {
                provider: provider.as_ref(),
                peer: peer.as_ref(),
                seed: runner::case_seed(seed, &case.meta.id),
                push_jwks: &push_jwks,
                monitor: Some(key_log.as_ref()),
            };
            let t0 = Instant::now();
            let drawn = match tokio::time::timeout(request.case_timeout, explore::draw(&check, &ctx, &watcher)).await {
                Ok(d) => d,
                Err(_) => {
                    let o = Observation::with(
                        Outcome::Error,
                        "the round's schedules complete",
                        format!(
                            "round {rounds}: did not finish within {:.1}s",
                            request.case_timeout.as_secs_f64()
                        ),
                    );
                    f.first.get_or_insert(o);
                    f.halted = true;
                    continue;
                }
            };
            f.millis += t0.elapsed().as_secs_f64() * 1000.0;
            f.schedules += u64::from(drawn.schedules);
            schedules += u64::from(drawn.schedules);
            messages += drawn.messages;
            judged_this_round += drawn.schedules;
            let replay = |k: u32| {
                format!(
                    "conformance run{common} --seed {seed} --vector {} --schedule {k}",
                    case.meta.id
                )
            };
            let mut observation = drawn.observation;
            let new_failures = std::mem::take(&mut observation.failures);
            for (signature, mut failure) in drawn.signatures.into_iter().zip(new_failures) {
                let room = f.failures.len() < explore::MAX_DISTINCT;
                match f.failures.iter_mut().find(|(s, _)| *s == signature) {
                    Some((_, known)) => known.occurrences += failure.occurrences,
                    None if room => {
                        failure.replay = replay(failure.schedule);
                        f.failures.push((signature, failure));
                    }
                    None => {}
                }
            }
            match observation.outcome {
                Outcome::Pass => {}
                Outcome::Fail => {
                    if f.first.is_none() {
                        f.first = Some(observation);
                    }
                }
                _ => {
                    // The provider could not be judged (transport error, unsupported): say so, go no further.
                    f.first.get_or_insert(observation.at_step(&format!("round {rounds}")));
                    f.halted = true;
                }
            }
        }
        if judged_this_round == 0 {
            break;
        }
    }
    let elapsed = started.elapsed();
    watcher.progress.lock().unwrap_or_else(|e| e.into_inner()).finish();
    let replay = format!(
        "conformance explore{common} --seed {} --schedules {schedules}",
        request.seed
    );
    let mut results = Vec::with_capacity(plan.cases.len());
    let mut total = Budget::default();
    for (case, f) in plan.cases.iter().zip(found) {
        let mut o = match f.first {
            Some(o) => o,
            None => Observation::pass(
                "every schedule holds",
                format!("{} schedules held over {rounds} rounds", f.schedules),
            ),
        };
        let first_replay = f.failures.first().map(|(_, x)| x.replay.clone());
        o.failures = f.failures.into_iter().map(|(_, x)| x).collect();
        let mut o = runner::sanitized(o, &sanitizer);
        runner::bounded(&mut o, &mut total);
        let mut r = runner::case_result(&plan, case, o, f.millis, &format!("conformance run{common}"));
        r.replay = first_replay.unwrap_or_else(|| replay.clone());
        results.push(r);
    }
    let campaign = Campaign {
        seed: request.seed,
        rounds,
        schedules,
        messages,
        seconds: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        budget_seconds: budget.map(|d| d.as_secs_f64()),
    };
    let scoring = crate::scoring::score(&plan.profile, &plan.scope, &results);
    let mut report = RunReport::build(
        &plan,
        results,
        &scoring,
        RunContext {
            seed: request.seed,
            target: provider.target(),
            implementation,
            only: Vec::new(),
            vector_filter: plan.cases.iter().map(|c| c.meta.id.clone()).collect(),
            command: replay.clone(),
            mode: crate::scenario::ScenarioMode::default(),
            started_at,
            finished_at: execute::now(),
        },
    );
    report.run.campaign = Some(campaign.clone());
    if let Some(dir) = &out_dir {
        execute::write_reports(&report, dir)?;
    }
    Ok(ExploreOutput {
        run: RunOutput {
            report,
            out_dir,
            waiver_errors: Vec::new(),
        },
        campaign,
        replay,
    })
}

/// The profile's scenario cases (a partial plan: a campaign is not a certification).
async fn scenario_plan(options: &PlanOptions) -> Result<Plan, ToolError> {
    let options = options.clone();
    tokio::task::spawn_blocking(move || -> Result<Plan, ToolError> {
        let all = Plan::build(&options)?;
        let ids: Vec<String> = all
            .cases
            .iter()
            .filter(|c| c.family == Family::Scenario)
            .map(|c| c.meta.id.clone())
            .collect();
        if ids.is_empty() {
            return Err(ToolError::Usage(format!(
                "profile {} has no scenarios to explore",
                options.profile
            )));
        }
        Ok(Plan::build(&PlanOptions {
            vectors: ids,
            ..options
        })?)
    })
    .await
    .map_err(|e| ToolError::Usage(format!("loading the plan failed: {e}")))?
}

fn compact(time: &str) -> String {
    time.chars().filter(|c| c.is_ascii_alphanumeric()).take(15).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_with_units_and_absurd_ones_are_refused() {
        assert_eq!(parse_budget("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_budget("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_budget("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_budget("2d"), Ok(Duration::from_secs(172_800)));
        for bad in [
            "",
            "m",
            "10x",
            "-5m",
            "0s",
            "0.5s",
            "8d",
            "1e30h",
            "NaNs",
            "infm",
            "ten minutes",
        ] {
            assert!(parse_budget(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_seeds_differ_and_are_stable() {
        assert_ne!(round_seed(1, 1), round_seed(1, 2));
        assert_eq!(round_seed(7, 3), round_seed(7, 3));
    }
}
