//! How a case ends, and the one place that compares a provider's answer with a vector's expectation.
//!
//! # Blame
//!
//! A failure belongs to the requirement of the step that failed, not to every requirement its case lists.
//! Every step of a multi-step case names the requirement(s) it checks (setup steps included); a family walks
//! its steps with [`Steps`], which records what each passed step checked and, at the first step that does not
//! pass, fills the observation's two blame fields:
//! - `charged`: the case requirements the failing step checks. Empty means "all of the case's requirements"
//!   (a single-step case, or a step whose requirements the case does not list);
//! - `blocked`: the case requirements no reached step checked: the case stopped before their steps.
//!
//! Scoring ([`crate::scoring`]) then counts, per requirement, the case's outcome where the requirement is
//! charged, `blocked` where it is blocked, and `pass` otherwise (its steps ran and passed). A requirement whose
//! only non-passing cases are blocked is itself `blocked`: never pass, and a blocked MUST keeps the run from
//! CONFORMANT.
//!
//! # Rejection classes
//!
//! A must-reject input is met by a rejection with any class ([`judge`]): the class is a diagnostic. When the
//! class is not one the vector lists, the observation carries a [`Observation::class_mismatch`] note
//! ("rejected as invalid_key; the vector expects invalid_message"); the runner charges it to the error-class
//! fidelity requirement ([`FIDELITY`]) alone when the case lists it, and keeps it as a note otherwise. Where the
//! class is the behaviour under test (a vector's `class_required` says why), a mismatch fails the step.

use crate::provider::{CallError, CallResult, ErrorClass};
use crate::vector_format::Expected;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The end of one case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The provider behaved as the vector expects.
    #[default]
    Pass,
    /// The provider did not: a conformance finding.
    Fail,
    /// The provider does not implement an optional operation the case needs.
    Unsupported,
    /// The case could not be judged: transport failure, timeout, harness problem. Never pass, never fail.
    Error,
    /// The case failed or errored, and an approved, unexpired waiver covers it (see [`crate::waiver`]).
    Waived,
}

impl Outcome {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Unsupported => "unsupported",
            Self::Error => "error",
            Self::Waived => "waived",
        }
    }
}

/// The requirement that judges whether a rejection's class names its cause (a SHOULD of the profile).
pub const FIDELITY: &str = "RO-ERR-001";

/// What a family's check observed: the outcome and, for the report, expected vs observed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// The outcome.
    pub outcome: Outcome,
    /// What the vector expected, in words and hex.
    pub expected: String,
    /// What the provider did.
    pub observed: String,
    /// On a non-pass outcome, the case requirements the failing step checks; empty means all of them.
    pub charged: Vec<String>,
    /// Case requirements whose steps were never reached because an earlier step did not pass.
    pub blocked: Vec<String>,
    /// Rejections whose class is not one the vector lists, in words (the behaviour itself was right).
    pub class_mismatch: Vec<String>,
    /// A scenario that kept going after its first failing schedule (`--thorough`, `explore`): every distinct
    /// failure, the first one included (it is also the case's own expected and observed).
    pub failures: Vec<ScheduleFailure>,
}

/// One distinct failure of a scenario case that went on after failing: schedules whose failing step, blame and
/// observation read the same (numbers and hex aside) are one failure, as fuzzers deduplicate crashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduleFailure {
    /// The first schedule (1-based, in drawing order) that failed this way; `--schedule N` replays it alone.
    pub schedule: u32,
    /// Schedules that failed this way.
    pub occurrences: u32,
    /// The requirements its failing step checks (empty: all of the case's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charged: Vec<String>,
    /// What the step should have done.
    pub expected: String,
    /// What the provider did, with the shrunk schedule.
    pub observed: String,
    /// The command that replays this schedule alone (filled in by whoever knows the run's command).
    #[serde(default)]
    pub replay: String,
}

impl Observation {
    /// A passing observation.
    pub fn pass(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Pass,
            expected: expected.into(),
            observed: observed.into(),
            ..Self::default()
        }
    }

    /// A failing observation.
    pub fn fail(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Fail,
            expected: expected.into(),
            observed: observed.into(),
            ..Self::default()
        }
    }

    /// An observation with this outcome.
    pub fn with(outcome: Outcome, expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            outcome,
            expected: expected.into(),
            observed: observed.into(),
            ..Self::default()
        }
    }

    /// Prefix both sides with the step that produced them.
    pub fn at_step(mut self, step: &str) -> Self {
        if step.is_empty() {
            return self;
        }
        self.expected = format!("{step}: {}", self.expected);
        self.observed = format!("{step}: {}", self.observed);
        self.class_mismatch = self.class_mismatch.iter().map(|m| format!("{step}: {m}")).collect();
        self
    }

    /// An observation for a call that did not complete or is not supported.
    pub fn from_call_error(expected: impl Into<String>, error: &CallError) -> Self {
        let outcome = match error {
            CallError::Unsupported { .. } => Outcome::Unsupported,
            CallError::Transport { .. } => Outcome::Error,
            CallError::Rejected { .. } | CallError::Violation { .. } => Outcome::Fail,
        };
        Self::with(outcome, expected, error.to_string())
    }
}

/// Walks the steps of one case and blames the first that does not pass (see the module doc).
#[derive(Debug, Clone)]
pub struct Steps {
    requirements: Vec<String>,
    reached: Vec<String>,
    class_mismatch: Vec<String>,
}

impl Steps {
    /// Steps of a case that lists `requirements`.
    pub fn new(requirements: &[String]) -> Self {
        Self {
            requirements: requirements.to_vec(),
            reached: Vec::new(),
            class_mismatch: Vec::new(),
        }
    }

    /// The case requirements `checks` names; all of them when it names none the case lists.
    fn within<S: AsRef<str>>(&self, checks: &[S]) -> Vec<String> {
        let inside: Vec<String> = self
            .requirements
            .iter()
            .filter(|r| checks.iter().any(|c| c.as_ref() == r.as_str()))
            .cloned()
            .collect();
        if inside.is_empty() {
            self.requirements.clone()
        } else {
            inside
        }
    }

    /// Record the observation of step `label`, which checks `checks`. A passing step is remembered and `None`
    /// returned; otherwise the case ends with the returned observation, labelled, charged to the step's
    /// requirements and blocking every case requirement no step reached yet.
    pub fn step<S: AsRef<str>>(&mut self, label: &str, checks: &[S], observation: Observation) -> Option<Observation> {
        let mut o = observation.at_step(label);
        if o.outcome == Outcome::Pass {
            self.reached.extend(self.within(checks));
            self.class_mismatch.append(&mut o.class_mismatch);
            return None;
        }
        let charged = self.within(checks);
        o.blocked = self
            .requirements
            .iter()
            .filter(|r| !charged.contains(r) && !self.reached.contains(r))
            .cloned()
            .collect();
        o.charged = if charged.len() == self.requirements.len() {
            Vec::new()
        } else {
            charged
        };
        self.class_mismatch.append(&mut o.class_mismatch);
        o.class_mismatch = std::mem::take(&mut self.class_mismatch);
        Some(o)
    }

    /// The passing end of the case, with the class notes its steps collected.
    pub fn pass(self, expected: impl Into<String>, observed: impl Into<String>) -> Observation {
        Observation {
            class_mismatch: self.class_mismatch,
            ..Observation::pass(expected, observed)
        }
    }
}

/// Describe the accepted rejection classes.
pub fn describe_rejection(errors: &[ErrorClass]) -> String {
    if errors.is_empty() {
        "rejected".to_string()
    } else {
        let names: Vec<&str> = errors.iter().map(|e| e.as_str()).collect();
        format!("rejected: {}", names.join(" | "))
    }
}

/// The words for a rejection whose class the vector does not list.
pub fn class_mismatch(observed: ErrorClass, errors: &[ErrorClass]) -> String {
    let names: Vec<&str> = errors.iter().map(|e| e.as_str()).collect();
    format!("rejected as {observed}; the vector expects {}", names.join(" or "))
}

/// Judge one call against an expectation, the rejection class being a diagnostic.
///
/// `valid`: the call must succeed and `check_ok` must accept its value (it returns the mismatch, if any).
/// `invalid`: the call must be rejected; any class meets the behaviour, and a class outside a non-empty
/// `errors` is recorded as a [`class_mismatch`] note.
/// `acceptable`: any completed call passes; what happened is recorded.
pub fn judge<T>(
    expected: Expected,
    expected_ok: &str,
    errors: &[ErrorClass],
    result: &CallResult<T>,
    describe_ok: impl Fn(&T) -> String,
    check_ok: impl Fn(&T) -> bool,
) -> Observation {
    judge_class(expected, expected_ok, errors, false, result, describe_ok, check_ok)
}

/// [`judge`], where `class_required` makes a rejection with an unlisted class fail: the vector says the class
/// is the behaviour under test (e.g. `untrusted_identity` is how an identity change is reported).
pub fn judge_class<T>(
    expected: Expected,
    expected_ok: &str,
    errors: &[ErrorClass],
    class_required: bool,
    result: &CallResult<T>,
    describe_ok: impl Fn(&T) -> String,
    check_ok: impl Fn(&T) -> bool,
) -> Observation {
    let expected_text = match expected {
        Expected::Valid => expected_ok.to_string(),
        Expected::Invalid => describe_rejection(errors),
        Expected::Acceptable => format!("acceptable: {expected_ok} or {}", describe_rejection(errors)),
    };
    match result {
        Err(e @ (CallError::Unsupported { .. } | CallError::Transport { .. } | CallError::Violation { .. })) => {
            Observation::from_call_error(expected_text, e)
        }
        Ok(value) => {
            let observed = describe_ok(value);
            match expected {
                Expected::Valid if check_ok(value) => Observation::pass(expected_text, observed),
                Expected::Acceptable => Observation::pass(expected_text, observed),
                _ => Observation::fail(expected_text, observed),
            }
        }
        Err(rejection @ CallError::Rejected { class, .. }) => {
            let observed = rejection.to_string();
            let listed = errors.is_empty() || errors.contains(class);
            match expected {
                Expected::Invalid if listed => Observation::pass(expected_text, observed),
                Expected::Invalid if class_required => Observation::fail(expected_text, class_mismatch(*class, errors)),
                Expected::Invalid => Observation {
                    class_mismatch: vec![class_mismatch(*class, errors)],
                    ..Observation::pass(expected_text, observed)
                },
                Expected::Acceptable => Observation::pass(expected_text, observed),
                Expected::Valid => Observation::fail(expected_text, observed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(class: ErrorClass) -> CallResult<u8> {
        Err(CallError::rejected(class, ""))
    }

    #[test]
    fn any_rejection_meets_invalid_and_an_unlisted_class_is_a_note() {
        let e = [ErrorClass::InvalidMessage];
        let j = |r: &CallResult<u8>| judge(Expected::Invalid, "ok", &e, r, |v| v.to_string(), |_| true);
        assert_eq!(
            j(&rejected(ErrorClass::InvalidMessage)),
            Observation::pass("rejected: invalid_message", "rejected: invalid_message")
        );
        let other = j(&rejected(ErrorClass::InvalidKey));
        assert_eq!(other.outcome, Outcome::Pass);
        assert_eq!(
            other.class_mismatch,
            ["rejected as invalid_key; the vector expects invalid_message"]
        );
        assert_eq!(j(&Ok(1)).outcome, Outcome::Fail);
    }

    #[test]
    fn a_required_class_fails_on_mismatch() {
        let e = [ErrorClass::UntrustedIdentity];
        let o = judge_class(
            Expected::Invalid,
            "ok",
            &e,
            true,
            &rejected(ErrorClass::BadMac),
            |v| v.to_string(),
            |_| true,
        );
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.observed, "rejected as bad_mac; the vector expects untrusted_identity");
    }

    #[test]
    fn steps_charge_the_failing_step_and_block_the_unreached() {
        let reqs: Vec<String> = ["A", "B", "C"].map(String::from).to_vec();
        let mut steps = Steps::new(&reqs);
        let failed = steps.step("setup", &["A"], Observation::fail("x", "y")).unwrap();
        assert_eq!(failed.charged, ["A"]);
        assert_eq!(failed.blocked, ["B", "C"]);
        assert_eq!(failed.observed, "setup: y");

        let mut steps = Steps::new(&reqs);
        assert!(steps.step("setup", &["A"], Observation::pass("", "")).is_none());
        let failed = steps.step("check", &["B"], Observation::fail("x", "y")).unwrap();
        assert_eq!(
            (failed.charged, failed.blocked),
            (vec!["B".to_string()], vec!["C".to_string()])
        );

        // A step that names no requirement of the case is charged to all of them: blame unknown.
        let mut steps = Steps::new(&reqs);
        let failed = steps.step("other", &["Z"], Observation::fail("x", "y")).unwrap();
        assert!(failed.charged.is_empty() && failed.blocked.is_empty());
    }

    #[test]
    fn class_notes_survive_to_the_end_of_the_case() {
        let reqs = vec!["A".to_string()];
        let mut steps = Steps::new(&reqs);
        let note = Observation {
            class_mismatch: vec!["rejected as x; the vector expects y".into()],
            ..Observation::pass("", "")
        };
        assert!(steps.step::<&str>("message 1", &[], note).is_none());
        let end = steps.pass("e", "o");
        assert_eq!(end.class_mismatch, ["message 1: rejected as x; the vector expects y"]);
    }

    #[test]
    fn valid_checks_the_value_and_transport_is_error() {
        let j = |r: &CallResult<u8>| judge(Expected::Valid, "1", &[], r, |v| v.to_string(), |v| *v == 1).outcome;
        assert_eq!(j(&Ok(1)), Outcome::Pass);
        assert_eq!(j(&Ok(2)), Outcome::Fail);
        assert_eq!(j(&rejected(ErrorClass::BadMac)), Outcome::Fail);
        let t: CallResult<u8> = Err(CallError::Transport { message: "x".into() });
        assert_eq!(j(&t), Outcome::Error);
        let u: CallResult<u8> = Err(CallError::Unsupported { operation: "x".into() });
        assert_eq!(j(&u), Outcome::Unsupported);
        // A contract violation fails even where a rejection would pass.
        let v: CallResult<u8> = Err(CallError::Violation { message: "501".into() });
        let invalid = judge(Expected::Invalid, "1", &[], &v, |v| v.to_string(), |_| true).outcome;
        assert_eq!((j(&v), invalid), (Outcome::Fail, Outcome::Fail));
    }

    #[test]
    fn acceptable_takes_either() {
        let j = |r: &CallResult<u8>| judge(Expected::Acceptable, "1", &[], r, |v| v.to_string(), |_| false).outcome;
        assert_eq!(j(&Ok(3)), Outcome::Pass);
        assert_eq!(j(&rejected(ErrorClass::BadSignature)), Outcome::Pass);
    }
}
