//! Per-requirement verdicts, the overall verdict, and the score.
//!
//! A requirement passes when it has at least one applicable case and all of them pass. A requirement with no
//! applicable case is `untested`, never `pass`. A case counts toward each requirement it lists as described in
//! [`crate::outcome`] (blame): its outcome where the requirement is charged, `blocked` where its steps were never
//! reached, `pass` otherwise. A requirement with an unsupported case is not `pass` either. The run is
//! CONFORMANT when every MUST requirement in scope passes; an untested, unsupported, blocked or errored MUST
//! blocks it. A waived MUST blocks it too, unless the caller
//! allows MUST waivers (`--allow-must-waivers`), and the report then says so first.

use crate::outcome::{FIDELITY, Outcome};
use crate::requirements::{Level, Profile};
use crate::runner::CaseResult;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Version and statement of the score formula, written into every report.
pub const SCORE_FORMULA: &str = "score-v2: sum of weights of passed requirements / sum of weights of applicable \
requirements; weights MUST=3, SHOULD=2, MAY=1; applicable = every requirement in scope except `unsupported` and \
`not_applicable`; a `waived` or `blocked` requirement is applicable and not passed";

/// Verdict of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequirementVerdict {
    /// Every applicable case passed (and there was at least one).
    Pass,
    /// At least one case failed.
    Fail,
    /// No failure, but at least one case could not be judged.
    Error,
    /// No failure or error, but some case stopped at an earlier step (of another requirement) before this
    /// requirement's steps: not tested, never pass.
    Blocked,
    /// Some case needed an operation the provider does not implement (and none failed, errored or was blocked).
    Unsupported,
    /// No case ran for it.
    Untested,
    /// A conditional requirement (catalog `applies_if`) whose cases all found the capability absent: the client
    /// is not bound by it. Never passed, never counted, and not held against CONFORMANT.
    NotApplicable,
    /// No unwaived failure or error, and at least one failure or error covered by a waiver.
    Waived,
}

impl RequirementVerdict {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Error => "error",
            Self::Blocked => "blocked",
            Self::Unsupported => "unsupported",
            Self::Untested => "untested",
            Self::NotApplicable => "not_applicable",
            Self::Waived => "waived",
        }
    }
}

/// The run's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Verdict {
    /// Every MUST requirement in scope passed.
    #[serde(rename = "CONFORMANT")]
    Conformant,
    /// Some MUST requirement in scope did not pass.
    #[serde(rename = "NOT_CONFORMANT")]
    NotConformant,
    /// The run covered only part of its profile (`--only`, `--vector`, `--shard`); never a certification.
    /// Scoring never returns it: the report sets it and keeps the verdict within scope apart.
    #[serde(rename = "PARTIAL")]
    Partial,
}

impl Verdict {
    /// The report spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conformant => "CONFORMANT",
            Self::NotConformant => "NOT_CONFORMANT",
            Self::Partial => "PARTIAL",
        }
    }
}

/// Case counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Unsupported.
    pub unsupported: usize,
    /// Errored.
    pub error: usize,
    /// Failed or errored, and covered by a waiver.
    #[serde(default)]
    pub waived: usize,
    /// Stopped before this requirement's steps (per requirement only; a case's own outcome is never blocked).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub blocked: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What one case contributes to one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contribution {
    /// The case's outcome (or `pass` when the failure was charged elsewhere).
    Outcome(Outcome),
    /// The case stopped before the requirement's steps.
    Blocked,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.pass += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Unsupported => self.unsupported += 1,
            Outcome::Error => self.error += 1,
            Outcome::Waived => self.waived += 1,
        }
    }

    fn add_contribution(&mut self, c: Contribution) {
        match c {
            Contribution::Outcome(o) => self.add(o),
            Contribution::Blocked => self.blocked += 1,
        }
    }

    /// Cases that were judged or could have been: everything but unsupported (and blocked, counted per
    /// requirement only).
    pub fn applicable(&self) -> usize {
        self.pass + self.fail + self.error + self.waived
    }

    /// Count outcomes.
    pub fn of<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Self {
        let mut c = Self::default();
        outcomes.for_each(|o| c.add(*o));
        c
    }
}

/// The score of one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementScore {
    /// Requirement id.
    pub id: String,
    /// Level.
    pub level: Level,
    /// Verdict.
    pub verdict: RequirementVerdict,
    /// Ids of its cases.
    pub cases: Vec<String>,
    /// Case counts.
    pub counts: Counts,
    /// For each case that stopped before this requirement's steps: "case-id (by RO-...)".
    pub blocked_by: Vec<String>,
}

/// Everything scoring decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Scoring {
    /// Per requirement in scope, in profile order.
    pub requirements: Vec<RequirementScore>,
    /// The verdict.
    pub verdict: Verdict,
    /// Weighted share of applicable requirements passed, 0..=1.
    pub score: f64,
    /// MUST requirements whose verdict is `waived` (they count toward CONFORMANT only when allowed).
    pub waived_must: Vec<String>,
}

/// How waivers enter scoring (empty by default: no waiver).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaiverPolicy {
    /// Requirements waived as a whole: a failed or errored case counts as `waived` in these requirements only.
    pub requirements: BTreeSet<String>,
    /// Whether a waived MUST requirement may count toward CONFORMANT.
    pub allow_must: bool,
}

fn weight(level: Level) -> f64 {
    match level {
        Level::Must => 3.0,
        Level::Should => 2.0,
        Level::May => 1.0,
    }
}

/// Score the results of a run over `scope` (requirement ids of `profile`).
pub fn score(profile: &Profile, scope: &[String], results: &[CaseResult]) -> Scoring {
    score_with(profile, scope, results, &WaiverPolicy::default())
}

/// What `case` contributes to `requirement` by blame alone (see [`crate::outcome`]).
pub fn contribution(case: &CaseResult, requirement: &str) -> Contribution {
    let blocked = case.blocked.iter().any(|r| r == requirement);
    if requirement == FIDELITY {
        // Judged by the class notes alone; a behaviour failure stopped the case before every class was seen.
        return match case.outcome {
            _ if !case.class_mismatch.is_empty() => Contribution::Outcome(Outcome::Fail),
            _ if blocked => Contribution::Blocked,
            Outcome::Fail if !case.charged.iter().any(|r| r == FIDELITY) => Contribution::Blocked,
            other => Contribution::Outcome(other),
        };
    }
    if blocked {
        return Contribution::Blocked;
    }
    if !case.charged.is_empty() && !case.charged.iter().any(|r| r == requirement) {
        return Contribution::Outcome(Outcome::Pass);
    }
    Contribution::Outcome(case.outcome)
}

/// What a case contributes to one requirement: failures and errors in a waived requirement are `waived`.
fn contribution_in(case: &CaseResult, requirement: &str, policy: &WaiverPolicy) -> Contribution {
    match contribution(case, requirement) {
        Contribution::Outcome(Outcome::Fail | Outcome::Error) if policy.requirements.contains(requirement) => {
            Contribution::Outcome(Outcome::Waived)
        }
        other => other,
    }
}

/// The requirement a blocked case stopped at: what it charged, or all its non-blocked requirements.
fn blocker(case: &CaseResult) -> String {
    let by: Vec<&str> = if case.charged.is_empty() {
        case.requirements
            .iter()
            .filter(|r| !case.blocked.contains(r) && r.as_str() != FIDELITY)
            .map(String::as_str)
            .collect()
    } else {
        case.charged.iter().map(String::as_str).collect()
    };
    format!("{} (by {})", case.id, by.join(", "))
}

/// Score with waivers: cases already marked `waived` (by [`crate::waiver`]) and waived requirements.
pub fn score_with(profile: &Profile, scope: &[String], results: &[CaseResult], policy: &WaiverPolicy) -> Scoring {
    let mut by_requirement: HashMap<&str, Vec<&CaseResult>> = HashMap::new();
    for r in results {
        for req in &r.requirements {
            by_requirement.entry(req.as_str()).or_default().push(r);
        }
    }
    let requirements: Vec<RequirementScore> = scope
        .iter()
        .filter_map(|id| profile.catalog.get(id))
        .map(|req| {
            let cases = by_requirement.get(req.id.as_str()).cloned().unwrap_or_default();
            let mut counts = Counts::default();
            let mut blocked_by = Vec::new();
            for case in &cases {
                let c = contribution_in(case, &req.id, policy);
                if c == Contribution::Blocked {
                    blocked_by.push(blocker(case));
                }
                counts.add_contribution(c);
            }
            let verdict = if counts.fail > 0 {
                RequirementVerdict::Fail
            } else if counts.error > 0 {
                RequirementVerdict::Error
            } else if counts.blocked > 0 {
                RequirementVerdict::Blocked
            } else if counts.waived > 0 {
                RequirementVerdict::Waived
            } else if counts.unsupported > 0 && counts.pass == 0 && req.applies_if.is_some() {
                // Every case found the capability absent. Mixed evidence (a case passed, another found it
                // absent) stays `unsupported`: not applicable is never granted on part of the cases.
                RequirementVerdict::NotApplicable
            } else if counts.unsupported > 0 {
                RequirementVerdict::Unsupported
            } else if counts.pass > 0 {
                RequirementVerdict::Pass
            } else {
                RequirementVerdict::Untested
            };
            RequirementScore {
                id: req.id.clone(),
                level: req.level,
                verdict,
                cases: cases.iter().map(|c| c.id.clone()).collect(),
                counts,
                blocked_by,
            }
        })
        .collect();
    let conformant = requirements.iter().filter(|r| r.level == Level::Must).all(|r| {
        matches!(r.verdict, RequirementVerdict::Pass | RequirementVerdict::NotApplicable)
            || (policy.allow_must && r.verdict == RequirementVerdict::Waived)
    });
    let waived_must = requirements
        .iter()
        .filter(|r| r.level == Level::Must && r.verdict == RequirementVerdict::Waived)
        .map(|r| r.id.clone())
        .collect();
    let applicable: Vec<&RequirementScore> = requirements
        .iter()
        .filter(|r| {
            !matches!(
                r.verdict,
                RequirementVerdict::Unsupported | RequirementVerdict::NotApplicable
            )
        })
        .collect();
    // fold from +0.0: `sum()` of no f64 is -0.0, which would print as a negative score.
    let total = applicable.iter().fold(0.0, |acc, r| acc + weight(r.level));
    let passed = applicable
        .iter()
        .filter(|r| r.verdict == RequirementVerdict::Pass)
        .fold(0.0, |acc, r| acc + weight(r.level));
    Scoring {
        requirements,
        verdict: if conformant && !scope.is_empty() {
            Verdict::Conformant
        } else {
            Verdict::NotConformant
        },
        score: if total > 0.0 { passed / total } else { 0.0 },
        waived_must,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Family;
    use crate::vector::Expected;

    fn case(id: &str, requirement: &str, outcome: Outcome) -> CaseResult {
        CaseResult {
            id: id.into(),
            requirements: vec![requirement.into()],
            family: Family::Transport,
            file: "transport.yaml".into(),
            expected_result: Expected::Valid,
            flags: Vec::new(),
            comment: String::new(),
            outcome,
            expected: None,
            observed: None,
            charged: Vec::new(),
            blocked: Vec::new(),
            class_mismatch: Vec::new(),
            replay: String::new(),
            failures: Vec::new(),
            unstable: Vec::new(),
            duration_ms: 0.0,
            transcript: None,
        }
    }

    fn verdict_of(requirement: &str, outcomes: &[Outcome]) -> (RequirementVerdict, Verdict) {
        let profile = Profile::load(std::path::Path::new("suites"), "whatsapp-ro-2024").expect("profile");
        let results: Vec<CaseResult> = outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| case(&format!("c{i}"), requirement, *o))
            .collect();
        let scoring = score(&profile, &[requirement.to_string()], &results);
        (scoring.requirements[0].verdict, scoring.verdict)
    }

    #[test]
    fn only_a_conditional_requirement_whose_every_case_lacks_the_capability_is_not_applicable() {
        // RO-TRANSPORT-022 is a MUST with `applies_if: transport_ik`; RO-TRANSPORT-017 is a plain MUST.
        use Outcome::{Pass, Unsupported};
        assert_eq!(
            verdict_of("RO-TRANSPORT-022", &[Unsupported, Unsupported]),
            (RequirementVerdict::NotApplicable, Verdict::Conformant)
        );
        assert_eq!(
            verdict_of("RO-TRANSPORT-022", &[Pass, Unsupported]),
            (RequirementVerdict::Unsupported, Verdict::NotConformant)
        );
        assert_eq!(
            verdict_of("RO-TRANSPORT-017", &[Unsupported]),
            (RequirementVerdict::Unsupported, Verdict::NotConformant)
        );
        assert_eq!(
            verdict_of("RO-TRANSPORT-022", &[Pass]),
            (RequirementVerdict::Pass, Verdict::Conformant)
        );
    }
}
