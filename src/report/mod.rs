//! The one owned run report, and the pure renderers that turn it into terminal text, JSON, JUnit, HTML,
//! Markdown and a badge; plus the diff of two reports.

pub mod badge;
pub mod diff;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod terminal;

use crate::plan::Plan;
use crate::requirements::{Evidence, Level};
use crate::runner::CaseResult;
use crate::scope::Scope;
use crate::scoring::{Counts, RequirementVerdict, SCORE_FORMULA, Scoring, Verdict};
use crate::waiver::WaiverRecord;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the JSON report format. Readers check it; a change that removes or renames a field bumps it.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything a run produced. Renderers read it; nothing else does work after it is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunReport {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Set when `--allow-must-waivers` let waived MUST requirements count: every renderer shows it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver_notice: Option<String>,
    /// CONFORMANT or NOT_CONFORMANT for a run of the whole profile; PARTIAL for any other run
    /// (`run.scope.complete` is false), whose verdict within its scope is `scope_verdict`.
    pub verdict: Verdict,
    /// A partial run's verdict over the requirements and cases it ran (CONFORMANT or NOT_CONFORMANT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_verdict: Option<Verdict>,
    /// Weighted share of applicable requirements passed, 0..=1.
    pub score: f64,
    /// The score formula and its version.
    pub score_formula: String,
    /// Counts of requirements by verdict and cases by outcome.
    pub summary: Summary,
    /// What ran, against what, when, on which data.
    pub run: RunInfo,
    /// One entry per requirement in scope.
    pub requirements: Vec<RequirementReport>,
    /// One entry per case.
    pub cases: Vec<CaseResult>,
    /// The waivers given with `--waivers`, and what each covered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverRecord>,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Requirements in scope.
    pub requirements: usize,
    /// Requirements passed.
    pub requirements_passed: usize,
    /// Requirements failed.
    pub requirements_failed: usize,
    /// Requirements with errors and no failure.
    pub requirements_error: usize,
    /// Requirements with no failure or error whose steps some case never reached (another step failed first).
    #[serde(default)]
    pub requirements_blocked: usize,
    /// Requirements the provider does not support.
    pub requirements_unsupported: usize,
    /// Requirements with no case.
    pub requirements_untested: usize,
    /// Conditional requirements (catalog `applies_if`) the provider is not bound by: it does not declare the
    /// capability they depend on.
    #[serde(default)]
    pub requirements_not_applicable: usize,
    /// Requirements whose failures are all covered by waivers.
    #[serde(default)]
    pub requirements_waived: usize,
    /// Case counts by outcome.
    pub cases: Counts,
}

impl Summary {
    /// Column names of the count table every renderer shows.
    pub const COLUMNS: [&'static str; 9] = [
        "pass",
        "fail",
        "error",
        "blocked",
        "waived",
        "unsupported",
        "not applicable",
        "untested",
        "total",
    ];

    /// The requirements row of the count table.
    pub fn requirement_row(&self) -> [Option<usize>; 9] {
        [
            self.requirements_passed,
            self.requirements_failed,
            self.requirements_error,
            self.requirements_blocked,
            self.requirements_waived,
            self.requirements_unsupported,
            self.requirements_not_applicable,
            self.requirements_untested,
            self.requirements,
        ]
        .map(Some)
    }

    /// The cases row of the count table (`None` under `blocked`, `not applicable` and `untested`: a case always
    /// has an outcome).
    pub fn case_row(&self) -> [Option<usize>; 9] {
        let c = &self.cases;
        [
            Some(c.pass),
            Some(c.fail),
            Some(c.error),
            None,
            Some(c.waived),
            Some(c.unsupported),
            None,
            None,
            Some(c.applicable() + c.unsupported),
        ]
    }
}

/// Provenance of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    /// Version of this tool.
    pub tool_version: String,
    /// Profile name.
    pub profile: String,
    /// Profile version.
    pub profile_version: String,
    /// The run seed; `--seed` with it replays the run.
    pub seed: u64,
    /// `embedded:reference` or the adapter URL.
    pub target: String,
    /// What the provider said it is.
    pub implementation: String,
    /// Whether `--only` or `--vector` narrowed the run (the verdict then covers only the scope).
    pub filtered: bool,
    /// Requirement ids given with `--only`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// Case ids given with `--vector`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vector_filter: Vec<String>,
    /// What part of the profile ran: complete, or which shard of which plan.
    #[serde(default)]
    pub scope: Scope,
    /// Scenarios drew their `thorough` case counts (`--thorough`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thorough: bool,
    /// Scenarios were compared with the reference (`--differential`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub differential: bool,
    /// `--repeat N`: every case ran N times with fresh clients; cases whose outcome changed list them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// `conformance explore`: what the campaign played (its cases are the profile's scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Campaign>,
    /// Every vector file read, with the SHA-256 of its bytes.
    pub vectors: Vec<VectorDigest>,
    /// The command that replays the run.
    pub command: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 end time.
    pub finished_at: String,
}

/// What an exploration campaign played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Campaign {
    /// The campaign seed (each round's seed derives from it).
    pub seed: u64,
    /// Rounds started.
    pub rounds: u32,
    /// Schedules judged: with the seed, what `explore --schedules N` replays.
    pub schedules: u64,
    /// Messages those schedules sent.
    pub messages: u64,
    /// Wall time.
    pub seconds: f64,
    /// The time budget, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_seconds: Option<f64>,
}

impl Campaign {
    /// Schedules judged per second.
    pub fn rate(&self) -> f64 {
        self.schedules as f64 / self.seconds.max(1e-3)
    }

    /// One line: `seed 7: 1234 schedules in 10.0s (123.4 schedules/s, 1500 messages/s), 12 rounds`.
    pub fn line(&self) -> String {
        format!(
            "seed {}: {} schedules in {:.1}s ({:.1} schedules/s, {:.0} messages/s), {} rounds",
            self.seed,
            self.schedules,
            self.seconds,
            self.rate(),
            self.messages as f64 / self.seconds.max(1e-3),
            self.rounds
        )
    }
}

/// A vector file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VectorDigest {
    /// Path relative to the vector folder.
    pub path: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Cases in the file.
    pub cases: usize,
}

/// A requirement's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequirementReport {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Level.
    pub level: Level,
    /// Area.
    pub area: String,
    /// Evidence grade.
    pub evidence: Evidence,
    /// Source.
    pub source: String,
    /// Verdict.
    pub verdict: RequirementVerdict,
    /// Case ids.
    pub cases: Vec<String>,
    /// Case counts.
    pub counts: Counts,
    /// Cases that stopped before this requirement's steps, each with the requirement it stopped at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
}

/// What the caller knows about the run besides the plan and results.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The run seed.
    pub seed: u64,
    /// Target description.
    pub target: String,
    /// Implementation description from capabilities.
    pub implementation: String,
    /// Filters.
    pub only: Vec<String>,
    /// Filters.
    pub vector_filter: Vec<String>,
    /// Replay command.
    pub command: String,
    /// `--thorough` and `--differential`.
    pub mode: crate::scenario::ScenarioMode,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// End time, RFC 3339.
    pub finished_at: String,
}

impl RunReport {
    /// Assemble the report.
    pub fn build(plan: &Plan, results: Vec<CaseResult>, scoring: &Scoring, ctx: RunContext) -> Self {
        let count = |v: RequirementVerdict| scoring.requirements.iter().filter(|r| r.verdict == v).count();
        let summary = Summary {
            requirements: scoring.requirements.len(),
            requirements_passed: count(RequirementVerdict::Pass),
            requirements_failed: count(RequirementVerdict::Fail),
            requirements_error: count(RequirementVerdict::Error),
            requirements_blocked: count(RequirementVerdict::Blocked),
            requirements_unsupported: count(RequirementVerdict::Unsupported),
            requirements_untested: count(RequirementVerdict::Untested),
            requirements_not_applicable: count(RequirementVerdict::NotApplicable),
            requirements_waived: count(RequirementVerdict::Waived),
            cases: Counts::of(results.iter().map(|r| &r.outcome)),
        };
        let requirements = scoring
            .requirements
            .iter()
            .filter_map(|s| plan.profile.catalog.get(&s.id).map(|r| (s, r)))
            .map(|(s, r)| RequirementReport {
                id: r.id.clone(),
                title: r.title.clone(),
                level: r.level,
                area: r.area.clone(),
                evidence: r.evidence,
                source: r.source.clone(),
                verdict: s.verdict,
                cases: s.cases.clone(),
                counts: s.counts,
                blocked_by: s.blocked_by.clone(),
            })
            .collect();
        let vectors = plan
            .files
            .iter()
            .map(|f| VectorDigest {
                path: relative(&f.path, &plan.vectors_dir),
                sha256: f.sha256.clone(),
                cases: f.cases.len(),
            })
            .collect();
        let complete = !plan.filtered && plan.shard.is_none();
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            waiver_notice: None,
            verdict: if complete { scoring.verdict } else { Verdict::Partial },
            scope_verdict: (!complete).then_some(scoring.verdict),
            score: (scoring.score * 10_000.0).round() / 10_000.0,
            score_formula: SCORE_FORMULA.into(),
            summary,
            run: RunInfo {
                tool_version: env!("CARGO_PKG_VERSION").into(),
                profile: plan.profile.file.name.clone(),
                profile_version: plan.profile.file.version.clone(),
                seed: ctx.seed,
                target: ctx.target,
                implementation: ctx.implementation,
                filtered: plan.filtered,
                only: ctx.only,
                vector_filter: ctx.vector_filter,
                scope: Scope {
                    complete,
                    shard: plan.shard,
                    plan_digest: plan.digest.clone(),
                    plan_cases: plan.plan_cases,
                    cases: plan.cases.len(),
                },
                thorough: ctx.mode.thorough,
                differential: ctx.mode.differential,
                repeat: None,
                campaign: None,
                vectors,
                command: ctx.command,
                started_at: ctx.started_at,
                finished_at: ctx.finished_at,
            },
            requirements,
            cases: results,
            waivers: Vec::new(),
        }
    }

    /// The verdict over what ran: the verdict itself for a complete run, `scope_verdict` for a partial one.
    pub fn scope_verdict(&self) -> Verdict {
        self.scope_verdict.unwrap_or(self.verdict)
    }

    /// Whether the run covered only part of its profile.
    pub fn is_partial(&self) -> bool {
        self.verdict == Verdict::Partial
    }

    /// The verdict as every rendering shows it: `CONFORMANT`, `NOT_CONFORMANT`, or for a partial run
    /// `PARTIAL (CONFORMANT within scope)` / `PARTIAL (NOT_CONFORMANT within scope)`.
    pub fn verdict_label(&self) -> String {
        if self.is_partial() {
            format!("PARTIAL ({} within scope)", self.scope_verdict().as_str())
        } else {
            self.verdict.as_str().to_string()
        }
    }

    /// One line saying why the run is partial (empty for a complete run).
    pub fn partial_note(&self) -> String {
        if !self.is_partial() {
            return String::new();
        }
        let note = self.run.scope.describe(&self.run.only, &self.run.vector_filter);
        if note.is_empty() {
            "partial run: not a certification of the whole profile".into()
        } else {
            note
        }
    }

    /// Requirements that did not pass and are not waived or unsupported: fail, error, blocked, untested.
    pub fn failing_requirements(&self) -> impl Iterator<Item = &RequirementReport> {
        self.requirements.iter().filter(|r| {
            matches!(
                r.verdict,
                RequirementVerdict::Fail
                    | RequirementVerdict::Error
                    | RequirementVerdict::Blocked
                    | RequirementVerdict::Untested
            )
        })
    }

    /// The cases that failed or errored requirement `id` by blame (waived ones excluded): cases that stopped
    /// at another requirement's step are not among them.
    pub fn failing_cases<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a CaseResult> {
        self.cases.iter().filter(move |c| {
            matches!(
                crate::scoring::contribution(c, id),
                crate::scoring::Contribution::Outcome(crate::outcome::Outcome::Fail | crate::outcome::Outcome::Error)
            ) && c.requirements.iter().any(|r| r == id)
                && !self
                    .waivers
                    .iter()
                    .any(|w| w.entry.requirement.as_deref() == Some(id) && w.waived.iter().any(|x| x.case == c.id))
        })
    }

    /// Failed and errored cases grouped by root cause: the same observation at the same kind of step (step
    /// numbers, counts and hex normalised away), so that one bug reads as one bug, whichever requirements its
    /// cases list. Biggest group first; waived cases are left out.
    pub fn root_causes(&self) -> Vec<RootCause<'_>> {
        let mut groups: Vec<RootCause<'_>> = Vec::new();
        for case in &self.cases {
            if !matches!(
                case.outcome,
                crate::outcome::Outcome::Fail | crate::outcome::Outcome::Error
            ) {
                continue;
            }
            let key = (
                case.outcome,
                shape(case.expected.as_deref().unwrap_or_default()),
                shape(case.observed.as_deref().unwrap_or_default()),
            );
            let at = match groups.iter().position(|g| g.key == key) {
                Some(at) => at,
                None => {
                    groups.push(RootCause {
                        key,
                        cases: Vec::new(),
                        fails: Vec::new(),
                        blocks: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[at];
            group.cases.push(case);
            let charged = case.requirements.iter().filter(|r| {
                crate::scoring::contribution(case, r) == crate::scoring::Contribution::Outcome(case.outcome)
            });
            for r in charged {
                if !group.fails.contains(r) {
                    group.fails.push(r.clone());
                }
            }
            for r in &case.blocked {
                if !group.blocks.contains(r) {
                    group.blocks.push(r.clone());
                }
            }
        }
        for g in &mut groups {
            g.blocks.retain(|r| !g.fails.contains(r));
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.cases.len()));
        groups
    }

    /// Cases whose outcome changed between `--repeat` repetitions.
    pub fn unstable_cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.unstable.is_empty())
    }

    /// Cases that went on after a failing schedule and found distinct failures (`--thorough`, `explore`).
    pub fn cases_with_distinct_failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.failures.is_empty())
    }

    /// The waiver record that covered case `id`, if any.
    pub fn waiver_of(&self, id: &str) -> Option<&WaiverRecord> {
        self.waivers.iter().find(|w| w.waived.iter().any(|x| x.case == id))
    }

    /// The JSON rendering (pretty, stable field order).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// `pass, fail, pass`: the outcomes of an unstable case's repetitions.
pub fn outcomes_line(outcomes: &[crate::outcome::Outcome]) -> String {
    outcomes.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")
}

/// The first line of a multi-line observation.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// One root cause: cases that failed the same way.
#[derive(Debug)]
pub struct RootCause<'a> {
    key: (crate::outcome::Outcome, String, String),
    /// The cases, in report order; the first stands for the group.
    pub cases: Vec<&'a CaseResult>,
    /// Requirements these cases fail (their first failing step's).
    pub fails: Vec<String>,
    /// Requirements they left untested: "also blocks".
    pub blocks: Vec<String>,
}

impl RootCause<'_> {
    /// The case that stands for the group.
    pub fn first(&self) -> &CaseResult {
        self.cases[0]
    }
}

/// An observation's shape: numbers and hex replaced by `#`, so that the same failure at another message index
/// or on other bytes reads the same.
fn shape(text: &str) -> String {
    text.split_whitespace()
        .map(|word| {
            let core = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            if !core.is_empty()
                && core.chars().all(|c| c.is_ascii_hexdigit())
                && core.chars().any(|c| c.is_ascii_digit())
            {
                word.replace(core, "#")
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).to_string_lossy().into_owned()
}
