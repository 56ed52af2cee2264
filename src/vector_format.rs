//! The vector file format, in Wycheproof's vocabulary: the header (`schema_version`, `family`, `description`,
//! `notes`: flag -> explanation), `groups` of `tests`, and the common fields of every test (a stable string `id`,
//! a `comment`, the `requirements` it checks, `flags`, `expected: valid | invalid | acceptable`), plus what the
//! generators need to write a file.
//!
//! A leaf: families, [`crate::outcome`], the loader ([`crate::vector`]) and the generators read it, and it reads
//! none of them (the [`Family`] names live here; each family's code lives in [`crate::family`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The vector format version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// What a test expects of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// The input is well-formed and must be accepted, with the stated outputs.
    Valid,
    /// The input must be rejected (with one of the stated error classes, when given).
    Invalid,
    /// Either outcome conforms; sources disagree or the behaviour is legacy. Flags say why.
    Acceptable,
}

impl Expected {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Acceptable => "acceptable",
        }
    }

    /// A test's expectation from its steps': invalid if any step is, else acceptable if any step is, else valid.
    pub fn summarise(steps: impl Iterator<Item = Expected>) -> Expected {
        steps.fold(Expected::Valid, |acc, e| match (acc, e) {
            (Expected::Invalid, _) | (_, Expected::Invalid) => Expected::Invalid,
            (Expected::Acceptable, _) | (_, Expected::Acceptable) => Expected::Acceptable,
            _ => Expected::Valid,
        })
    }
}

/// Explanation of a flag, as Wycheproof's `notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagNote {
    /// Kind of bug the flagged cases look for: BASIC, AUTH_BYPASS, MISSING_STEP, EDGE_CASE, LEGACY, ...
    pub bug_type: String,
    /// What the flag means.
    pub description: String,
    /// What an implementation that gets it wrong exposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

/// A vector file with family-specific groups `G`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorFile<G> {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Which family (operation and shape) the file holds.
    pub family: Family,
    /// What the file covers.
    pub description: String,
    /// Flag -> explanation.
    #[serde(default)]
    pub notes: BTreeMap<String, FlagNote>,
    /// Groups of tests sharing inputs.
    pub groups: Vec<G>,
}

/// A group of tests that share nothing but a theme (families whose tests carry all their own inputs).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestGroup<T> {
    /// The theme.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The tests.
    pub tests: Vec<T>,
}

/// The common fields of every test, as read by the loader.
#[derive(Debug, Clone)]
pub struct TestMeta {
    /// Stable id.
    pub id: String,
    /// Why the case exists.
    pub comment: String,
    /// Requirement ids.
    pub requirements: Vec<String>,
    /// Flags.
    pub flags: Vec<String>,
    /// Expectation.
    pub expected: Expected,
}

/// Declare a family's test struct: the common fields, then the family's own.
macro_rules! vector_test {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Stable id, unique across the corpus (`family.topic.case`).
            pub id: String,
            /// Why the case exists.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub comment: String,
            /// Requirement ids this case checks.
            pub requirements: Vec<String>,
            /// Flags, each explained in the file's `notes`.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub flags: Vec<String>,
            /// valid, invalid or acceptable.
            pub expected: $crate::vector_format::Expected,
            $($(#[$fm])* pub $field: $ty,)*
        }

        impl $name {
            /// The common fields.
            pub fn meta(&self) -> $crate::vector_format::TestMeta {
                $crate::vector_format::TestMeta {
                    id: self.id.clone(),
                    comment: self.comment.clone(),
                    requirements: self.requirements.clone(),
                    flags: self.flags.clone(),
                    expected: self.expected,
                }
            }
        }
    };
}
pub(crate) use vector_test;

/// The families this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// XEdDSA signature verification.
    XeddsaVerify,
    /// Processing a peer's prekey bundle (X3DH as initiator).
    PrekeyBundle,
    /// Known-answer decryption with imported receiver keys and fixed ciphertexts.
    Session,
    /// Live 1:1 exchange between the provider and the harness's reference peer.
    SessionRoundtrip,
    /// Known-answer key schedule (X3DH, ratchet, chain, message keys), judged by decryption.
    KeySchedule,
    /// Wire-format known answers and malformed messages with valid MACs; same shape as `session`.
    WireFormat,
    /// Media encryption and decryption (HKDF media keys, AES-CBC, 10-byte MAC, file hashes).
    Media,
    /// The 60-digit security code between two identities.
    SecurityCode,
    /// Property-based session scenarios ([`crate::scenario`]); loaded from the profile, not from vector files.
    Scenario,
    /// The provider's enlistment request, judged by the harness as WhatsApp's enlistment endpoint.
    Enlistment,
    /// Known answers for the harness's enlistment-form decoder (no provider involved).
    EnlistmentDecode,
    /// Push requests from the harness (as WhatsApp) to the provider's push endpoint.
    PushToken,
    /// Group messaging with Sender Keys (the groups profile).
    SenderKeys,
    /// Known answers for the suite's own side of the Noise channel to chatd (no provider involved).
    NoiseKnownAnswer,
    /// The provider's Noise client against the suite's chat server, honest or hostile.
    Transport,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 15] = [
        Self::XeddsaVerify,
        Self::PrekeyBundle,
        Self::Session,
        Self::SessionRoundtrip,
        Self::KeySchedule,
        Self::WireFormat,
        Self::Media,
        Self::SecurityCode,
        Self::Scenario,
        Self::Enlistment,
        Self::EnlistmentDecode,
        Self::PushToken,
        Self::SenderKeys,
        Self::NoiseKnownAnswer,
        Self::Transport,
    ];

    /// The family's name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XeddsaVerify => "xeddsa_verify",
            Self::PrekeyBundle => "prekey_bundle",
            Self::Session => "session",
            Self::SessionRoundtrip => "session_roundtrip",
            Self::KeySchedule => "key_schedule",
            Self::WireFormat => "wire_format",
            Self::Media => "media",
            Self::SecurityCode => "security_code",
            Self::Scenario => "scenario",
            Self::Enlistment => "enlistment",
            Self::EnlistmentDecode => "enlistment_decode",
            Self::PushToken => "push_token",
            Self::SenderKeys => "sender_keys",
            Self::NoiseKnownAnswer => "noise_known_answer",
            Self::Transport => "transport",
        }
    }
}

/// One generated file: its name in `vectors/` and its text.
pub struct Generated {
    /// File name.
    pub name: &'static str,
    /// YAML text.
    pub text: String,
}

/// Serialize a vector file with the do-not-edit header.
pub(crate) fn render<G: Serialize>(name: &'static str, file: &VectorFile<G>) -> Result<Generated, String> {
    let body = serde_saphyr::to_string(file).map_err(|e| format!("{name}: {e}"))?;
    let text = format!(
        "# Generated by `conformance vectors generate` from fixed seeds; do not edit by hand.\n\
         # Every expected value is re-checked without the reference library by `conformance vectors verify`.\n{body}"
    );
    Ok(Generated { name, text })
}

/// A vector file header.
pub(crate) fn file<G>(
    family: Family,
    description: &str,
    notes: &[(&str, &str, &str, &str)],
    groups: Vec<G>,
) -> VectorFile<G> {
    let notes: BTreeMap<String, FlagNote> = notes
        .iter()
        .map(|(flag, bug_type, description, effect)| {
            (
                flag.to_string(),
                FlagNote {
                    bug_type: bug_type.to_string(),
                    description: description.to_string(),
                    effect: (!effect.is_empty()).then(|| effect.to_string()),
                },
            )
        })
        .collect();
    VectorFile {
        schema_version: SCHEMA_VERSION,
        family,
        description: description.to_string(),
        notes,
        groups,
    }
}

/// Strings to requirement ids.
pub(crate) fn reqs(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Strings to flags.
pub(crate) fn flags(ids: &[&str]) -> Vec<String> {
    reqs(ids)
}
