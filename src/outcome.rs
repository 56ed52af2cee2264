//! How a case ends, and the one place that compares a provider's answer with a vector's expectation.

use crate::provider::{CallError, CallResult, ErrorClass};
use crate::vector_format::Expected;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The end of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The provider behaved as the vector expects.
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

/// What a family's check observed: the outcome and, for the report, expected vs observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The outcome.
    pub outcome: Outcome,
    /// What the vector expected, in words and hex.
    pub expected: String,
    /// What the provider did.
    pub observed: String,
}

impl Observation {
    /// A passing observation.
    pub fn pass(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Pass,
            expected: expected.into(),
            observed: observed.into(),
        }
    }

    /// A failing observation.
    pub fn fail(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Fail,
            expected: expected.into(),
            observed: observed.into(),
        }
    }

    /// Prefix both sides with the step that produced them.
    pub fn at_step(mut self, step: &str) -> Self {
        self.expected = format!("{step}: {}", self.expected);
        self.observed = format!("{step}: {}", self.observed);
        self
    }

    /// An observation for a call that did not complete or is not supported.
    pub fn from_call_error(expected: impl Into<String>, error: &CallError) -> Self {
        let outcome = match error {
            CallError::Unsupported { .. } => Outcome::Unsupported,
            CallError::Transport { .. } => Outcome::Error,
            CallError::Rejected { .. } => Outcome::Fail,
        };
        Self {
            outcome,
            expected: expected.into(),
            observed: error.to_string(),
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

/// Judge one call against an expectation.
///
/// `valid`: the call must succeed and `check_ok` must accept its value (it returns the mismatch, if any).
/// `invalid`: the call must be rejected, with one of `errors` when that list is not empty.
/// `acceptable`: any completed call passes; what happened is recorded.
pub fn judge<T>(
    expected: Expected,
    expected_ok: &str,
    errors: &[ErrorClass],
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
        Err(e @ (CallError::Unsupported { .. } | CallError::Transport { .. })) => {
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
            match expected {
                Expected::Invalid if errors.is_empty() || errors.contains(class) => {
                    Observation::pass(expected_text, observed)
                }
                Expected::Acceptable => Observation::pass(expected_text, observed),
                _ => Observation::fail(expected_text, observed),
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
    fn invalid_needs_a_listed_class() {
        let e = [ErrorClass::BadMac];
        let j = |r: &CallResult<u8>| judge(Expected::Invalid, "ok", &e, r, |v| v.to_string(), |_| true).outcome;
        assert_eq!(j(&rejected(ErrorClass::BadMac)), Outcome::Pass);
        assert_eq!(j(&rejected(ErrorClass::InvalidMessage)), Outcome::Fail);
        assert_eq!(j(&Ok(1)), Outcome::Fail);
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
    }

    #[test]
    fn acceptable_takes_either() {
        let j = |r: &CallResult<u8>| judge(Expected::Acceptable, "1", &[], r, |v| v.to_string(), |_| false).outcome;
        assert_eq!(j(&Ok(3)), Outcome::Pass);
        assert_eq!(j(&rejected(ErrorClass::BadSignature)), Outcome::Pass);
    }
}
