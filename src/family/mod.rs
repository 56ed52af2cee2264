//! Vector families: one module per family, each with its YAML shape and its check against a provider.

pub mod bundle;
pub mod enlistment;
pub mod enlistment_decode;
pub mod push;
pub mod roundtrip;
pub mod session;
pub mod xeddsa;

use crate::outcome::Observation;
use crate::provider::Provider;
use crate::vector::{FlagNote, TestMeta, VectorFile};
use crate::yaml::{self, InputError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

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
    /// The provider's enlistment request, judged by the harness as WhatsApp's enlistment endpoint.
    Enlistment,
    /// Known answers for the harness's enlistment-form decoder (no provider involved).
    EnlistmentDecode,
    /// Push requests from the harness (as WhatsApp) to the provider's push endpoint.
    PushToken,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 7] = [
        Self::XeddsaVerify,
        Self::PrekeyBundle,
        Self::Session,
        Self::SessionRoundtrip,
        Self::Enlistment,
        Self::EnlistmentDecode,
        Self::PushToken,
    ];

    /// The family's name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XeddsaVerify => "xeddsa_verify",
            Self::PrekeyBundle => "prekey_bundle",
            Self::Session => "session",
            Self::SessionRoundtrip => "session_roundtrip",
            Self::Enlistment => "enlistment",
            Self::EnlistmentDecode => "enlistment_decode",
            Self::PushToken => "push_token",
        }
    }

    /// JSON Schema of this family's vector files.
    pub fn schema(self) -> schemars::Schema {
        match self {
            Self::XeddsaVerify => schemars::schema_for!(VectorFile<xeddsa::Group>),
            Self::PrekeyBundle => schemars::schema_for!(VectorFile<bundle::Group>),
            Self::Session => schemars::schema_for!(VectorFile<session::Group>),
            Self::SessionRoundtrip => schemars::schema_for!(VectorFile<roundtrip::Group>),
            Self::Enlistment => schemars::schema_for!(VectorFile<enlistment::Group>),
            Self::EnlistmentDecode => schemars::schema_for!(VectorFile<enlistment_decode::Group>),
            Self::PushToken => schemars::schema_for!(VectorFile<push::Group>),
        }
    }
}

/// Family-specific inputs of one case.
#[derive(Debug, Clone)]
pub enum Check {
    /// See [`xeddsa`].
    Xeddsa(xeddsa::Check),
    /// See [`bundle`].
    Bundle(bundle::Check),
    /// See [`session`].
    Session(session::Check),
    /// See [`roundtrip`].
    Roundtrip(roundtrip::Check),
    /// See [`enlistment`].
    Enlistment(enlistment::Check),
    /// See [`enlistment_decode`].
    EnlistmentDecode(enlistment_decode::Check),
    /// See [`push`].
    Push(push::Check),
}

/// A parsed file, flattened to tests with their key paths.
pub struct Parsed {
    /// Format version.
    pub schema_version: u32,
    /// Flag notes.
    pub notes: BTreeMap<String, FlagNote>,
    /// (key path, common fields, check) per test.
    pub tests: Vec<(String, TestMeta, Check)>,
}

/// Parse a file of a known family strictly.
pub fn parse(family: Family, path: &Path, text: &str) -> Result<Parsed, InputError> {
    match family {
        Family::XeddsaVerify => flatten(yaml::parse::<VectorFile<xeddsa::Group>>(path, text)?, xeddsa::checks),
        Family::PrekeyBundle => flatten(yaml::parse::<VectorFile<bundle::Group>>(path, text)?, bundle::checks),
        Family::Session => {
            let file = yaml::parse::<VectorFile<session::Group>>(path, text)?;
            session::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, session::checks)
        }
        Family::SessionRoundtrip => {
            let file = yaml::parse::<VectorFile<roundtrip::Group>>(path, text)?;
            roundtrip::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, roundtrip::checks)
        }
        Family::Enlistment => {
            let file = yaml::parse::<VectorFile<enlistment::Group>>(path, text)?;
            enlistment::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, enlistment::checks)
        }
        Family::EnlistmentDecode => {
            let file = yaml::parse::<VectorFile<enlistment_decode::Group>>(path, text)?;
            enlistment_decode::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, enlistment_decode::checks)
        }
        Family::PushToken => {
            let file = yaml::parse::<VectorFile<push::Group>>(path, text)?;
            push::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, push::checks)
        }
    }
}

fn flatten<G>(file: VectorFile<G>, checks: impl Fn(&G) -> Vec<(TestMeta, Check)>) -> Result<Parsed, InputError> {
    let mut tests = Vec::new();
    for (g, group) in file.groups.iter().enumerate() {
        for (t, (meta, check)) in checks(group).into_iter().enumerate() {
            tests.push((format!("groups[{g}].tests[{t}]"), meta, check));
        }
    }
    Ok(Parsed {
        schema_version: file.schema_version,
        notes: file.notes,
        tests,
    })
}

/// What a check may use: the provider under test, the harness's own reference peer, and the case's seed.
pub struct CaseContext<'a> {
    /// The implementation under test.
    pub provider: &'a dyn Provider,
    /// The harness's reference peer (plays the other party in live exchanges).
    pub peer: &'a dyn Provider,
    /// Seed for this case, derived from the run seed and the case id.
    pub seed: u64,
}

/// Run one case's check.
pub async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    match check {
        Check::Xeddsa(c) => xeddsa::run(meta, c, ctx).await,
        Check::Bundle(c) => bundle::run(meta, c, ctx).await,
        Check::Session(c) => session::run(meta, c, ctx).await,
        Check::Roundtrip(c) => roundtrip::run(meta, c, ctx).await,
        Check::Enlistment(c) => enlistment::run(meta, c, ctx).await,
        Check::EnlistmentDecode(c) => enlistment_decode::run(meta, c, ctx).await,
        Check::Push(c) => push::run(meta, c, ctx).await,
    }
}
