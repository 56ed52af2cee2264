//! The scenario file format (`suites/<profile>/scenarios/*.yaml`) and its strict loader.
//!
//! One file is one scenario: the requirements it checks, the property it checks, its parameters (the space
//! of schedules to draw from) and its case counts. Loading goes through [`crate::yaml`], so a broken file gets
//! the same `file:line:column: at key: reason` errors as a broken vector file; semantic checks name their key.

use crate::requirements::Profile;
use crate::yaml::{self, InputError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The scenario format version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The largest forward jump a scenario may draw. RO-ENC-015 requires jumps within 2,000 to decrypt; jumps
/// beyond it are judged by vectors, where sources disagree on the bound (2,000 vs 25,000).
pub const MAX_JUMP: u32 = 2000;

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Stable case id (`scenario.topic`).
    pub id: String,
    /// What the scenario exercises and why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Requirement ids it checks.
    pub requirements: Vec<String>,
    /// The property every drawn schedule must satisfy.
    pub property: Property,
    /// Schedules per run.
    pub cases: CaseCounts,
    /// The space of schedules.
    #[serde(default)]
    pub parameters: Parameters,
}

/// What a scenario checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// Messages flow between the provider and the reference peer under reordering, loss, duplication, tampering
    /// and jumps: every genuine delivery within the bounds decrypts exactly once to its plaintext, every
    /// duplicate and tampered copy is rejected without disturbing the session, and the provider sends `pkmsg`
    /// until it has received, `msg` after.
    ExactlyOnce,
    /// After the peer's session consumed the provider's one-time prekey, a second session built on the same
    /// prekey is rejected; the first session (or a fresh re-initiation) keeps working.
    PrekeySingleUse,
    /// After some exchange the peer comes back under a new identity key; the provider reports
    /// `untrusted_identity`, whichever side starts the new session.
    IdentityChange,
}

/// How many schedules to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseCounts {
    /// In a normal run (keep the whole profile within a few seconds in-process).
    pub default: u32,
    /// With `--thorough`.
    pub thorough: u32,
}

/// An inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// Smallest value.
    pub min: u32,
    /// Largest value.
    pub max: u32,
}

/// Which way messages may flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Directions {
    /// Both ways.
    Both,
    /// Only from the reference peer to the provider.
    PeerToProvider,
    /// Only from the provider to the reference peer.
    ProviderToPeer,
}

/// Who starts the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    /// The reference peer.
    Peer,
    /// The provider.
    Provider,
    /// Drawn per schedule.
    Either,
}

/// A yes/no parameter that may also be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Always.
    Always,
    /// Never.
    Never,
    /// Drawn per schedule.
    Either,
}

/// The space of schedules. Every field has a default; each property uses the fields it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Parameters {
    /// Messages per schedule (before any property-specific step).
    pub messages: Span,
    /// Which way messages flow.
    pub directions: Directions,
    /// Who starts the session (`prekey_single_use` always lets the peer start).
    pub initiator: Initiator,
    /// Whether the initiator uses the responder's one-time prekey.
    pub one_time_prekey: Choice,
    /// A message may be overtaken by at most `reorder_window - 1` later messages (1: in order).
    pub reorder_window: u32,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a delivery to the provider is followed by the redelivery of an earlier one.
    pub duplicate: f64,
    /// Probability that a delivery to the provider is preceded by a copy with one bit flipped.
    pub tamper: f64,
    /// Plaintext sizes in bytes (a short label naming the message comes first, so tiny sizes grow to fit it).
    pub message_size: Span,
    /// Probability that a sender first encrypts a burst of messages that are all lost (a counter jump).
    pub jump_probability: f64,
    /// Size of such a burst.
    pub jump: Span,
    /// After the schedule, do a ratchet round trip and replay every ciphertext the provider decrypted.
    pub replay_at_end: bool,
    /// `prekey_single_use`: who builds the second session on the consumed prekey (the same peer
    /// re-initiating, or another peer).
    pub second_session_by: SecondSession,
    /// `prekey_single_use`: afterwards the peer re-initiates from a fresh bundle, which must work.
    pub fresh_reinitiation: Choice,
    /// `identity_change`: who starts the session with the changed identity.
    pub new_session_by: Initiator,
}

/// Who builds the second session on a consumed one-time prekey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecondSession {
    /// The same peer, re-initiating from the stale bundle.
    SamePeer,
    /// Another peer with its own identity.
    OtherPeer,
    /// Drawn per schedule.
    Either,
}

impl Default for Parameters {
    fn default() -> Self {
        Self {
            messages: Span { min: 1, max: 8 },
            directions: Directions::Both,
            initiator: Initiator::Either,
            one_time_prekey: Choice::Either,
            reorder_window: 1,
            loss: 0.0,
            duplicate: 0.0,
            tamper: 0.0,
            message_size: Span { min: 0, max: 64 },
            jump_probability: 0.0,
            jump: Span { min: 1, max: 1 },
            replay_at_end: false,
            second_session_by: SecondSession::Either,
            fresh_reinitiation: Choice::Either,
            new_session_by: Initiator::Either,
        }
    }
}

/// Load one scenario file strictly and check it against `profile`'s catalog.
pub fn load(path: &Path, profile: &Profile) -> Result<(ScenarioFile, Vec<u8>), InputError> {
    let bytes = yaml::read_input(path)?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| InputError::file(path, "file is not UTF-8"))?;
    let file: ScenarioFile = yaml::parse(path, &text)?;
    validate(&file, profile).map_err(|(key, message)| locate(&text, &key, InputError::file(path, message)))?;
    Ok((file, bytes))
}

/// Semantic checks after parsing: (key path, reason).
pub fn validate(file: &ScenarioFile, profile: &Profile) -> Result<(), (String, String)> {
    let err = |key: &str, msg: String| Err((key.to_string(), msg));
    if file.schema_version != SCHEMA_VERSION {
        return err(
            "schema_version",
            format!(
                "schema_version {} is not supported (this build reads {SCHEMA_VERSION})",
                file.schema_version
            ),
        );
    }
    if !file.id.starts_with("scenario.") {
        return err("id", format!("scenario id `{}` must start with `scenario.`", file.id));
    }
    if file.requirements.is_empty() {
        return err("requirements", format!("scenario `{}` names no requirement", file.id));
    }
    for (i, r) in file.requirements.iter().enumerate() {
        if !profile.catalog.contains_key(r) {
            return err(&format!("requirements[{i}]"), format!("unknown requirement id `{r}`"));
        }
    }
    if file.cases.default == 0 || file.cases.thorough < file.cases.default {
        return err("cases", "need 1 <= default <= thorough".into());
    }
    let p = &file.parameters;
    for (key, span, limit) in [("messages", p.messages, 500), ("message_size", p.message_size, 65_536)] {
        if span.min > span.max || span.max > limit {
            return err(&format!("parameters.{key}"), format!("need min <= max <= {limit}"));
        }
    }
    if p.jump.min == 0 || p.jump.min > p.jump.max || p.jump.max > MAX_JUMP {
        return err(
            "parameters.jump",
            format!("need 1 <= min <= max <= {MAX_JUMP} (jumps beyond {MAX_JUMP} are judged by vectors)"),
        );
    }
    if !(1..=16).contains(&p.reorder_window) {
        return err("parameters.reorder_window", "need 1 <= reorder_window <= 16".into());
    }
    for (key, value) in [
        ("loss", p.loss),
        ("duplicate", p.duplicate),
        ("tamper", p.tamper),
        ("jump_probability", p.jump_probability),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return err(
                &format!("parameters.{key}"),
                format!("probability {value} is not within 0..=1"),
            );
        }
    }
    if p.loss + p.duplicate + p.tamper > 1.0 {
        return err("parameters.loss", "loss + duplicate + tamper must not exceed 1".into());
    }
    Ok(())
}

/// Point an error at the line of the last segment of `key` (e.g. `loss:` for `parameters.loss`).
fn locate(text: &str, key: &str, error: InputError) -> InputError {
    let last = key.rsplit('.').next().unwrap_or(key);
    let needle = match last.split_once('[') {
        Some((name, _)) => format!("{name}:"),
        None => format!("{last}:"),
    };
    let mut error = error.at_key(key);
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(&needle) {
            error.line = Some(i as u64 + 1);
            error.column = Some(col as u64 + 1);
            break;
        }
    }
    error
}
