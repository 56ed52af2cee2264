//! Vector families: one module per family, each with its YAML shape and its check against a provider.

pub mod bundle;
pub mod enlistment;
pub mod enlistment_decode;
pub mod key_schedule;
pub mod media;
pub mod noise_known_answer;
pub mod push;
pub mod roundtrip;
pub mod security_code;
pub mod sender_keys;
pub mod session;
pub mod transport;
pub mod xeddsa;

#[cfg(test)]
mod independence;

pub use crate::vector_format::Family;

use crate::outcome::Observation;
use crate::provider::Provider;
use crate::vector_format::{FlagNote, TestMeta, VectorFile};
use crate::yaml::{self, InputError};
use std::collections::BTreeMap;
use std::path::Path;

impl Family {
    /// JSON Schema of this family's vector files.
    pub fn schema(self) -> schemars::Schema {
        match self {
            Self::XeddsaVerify => schemars::schema_for!(VectorFile<xeddsa::Group>),
            Self::PrekeyBundle => schemars::schema_for!(VectorFile<bundle::Group>),
            Self::Session => schemars::schema_for!(VectorFile<session::Group>),
            Self::SessionRoundtrip => schemars::schema_for!(VectorFile<roundtrip::Group>),
            Self::KeySchedule => schemars::schema_for!(VectorFile<key_schedule::Group>),
            Self::WireFormat => schemars::schema_for!(VectorFile<session::Group>),
            Self::Media => schemars::schema_for!(VectorFile<media::Group>),
            Self::SecurityCode => schemars::schema_for!(VectorFile<security_code::Group>),
            Self::Scenario => schemars::schema_for!(crate::scenario::definition::ScenarioFile),
            Self::Enlistment => schemars::schema_for!(VectorFile<enlistment::Group>),
            Self::EnlistmentDecode => schemars::schema_for!(VectorFile<enlistment_decode::Group>),
            Self::PushToken => schemars::schema_for!(VectorFile<push::Group>),
            Self::SenderKeys => schemars::schema_for!(VectorFile<sender_keys::Group>),
            Self::NoiseKnownAnswer => schemars::schema_for!(VectorFile<noise_known_answer::Group>),
            Self::Transport => schemars::schema_for!(VectorFile<transport::Group>),
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
    /// See [`key_schedule`].
    KeySchedule(key_schedule::Check),
    /// See [`media`].
    Media(media::Check),
    /// See [`security_code`].
    SecurityCode(security_code::Check),
    /// See [`crate::scenario`].
    Scenario(crate::scenario::Check),
    /// See [`enlistment`].
    Enlistment(enlistment::Check),
    /// See [`enlistment_decode`].
    EnlistmentDecode(enlistment_decode::Check),
    /// See [`push`].
    Push(push::Check),
    /// See [`sender_keys`].
    SenderKeys(sender_keys::Check),
    /// See [`noise_known_answer`].
    NoiseKnownAnswer(noise_known_answer::Check),
    /// See [`transport`].
    Transport(transport::Check),
}

/// One rejection a case expects: at which step, the classes the vector lists, and why the class is the
/// behaviour under test when it is (otherwise the class is a diagnostic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRejection {
    /// The step (`message 2 of 3`, `late delivery of a`), or empty for a single-step case.
    pub step: String,
    /// invalid or acceptable.
    pub expected: crate::vector::Expected,
    /// Classes listed (any when empty).
    pub classes: Vec<crate::provider::ErrorClass>,
    /// Why the class is required, when it is.
    pub class_required: Option<String>,
}

impl Check {
    /// The rejections this case may expect, step by step (for the generated class table).
    pub fn rejections(&self, expected: crate::vector::Expected) -> Vec<ExpectedRejection> {
        use crate::vector::Expected;
        let single = |classes: &[crate::provider::ErrorClass]| {
            (expected != Expected::Valid)
                .then(|| ExpectedRejection {
                    step: String::new(),
                    expected,
                    classes: classes.to_vec(),
                    class_required: None,
                })
                .into_iter()
                .collect()
        };
        let steps = |messages: &[session::Step]| {
            messages
                .iter()
                .enumerate()
                .filter(|(_, m)| m.expected != Expected::Valid)
                .map(|(i, m)| ExpectedRejection {
                    step: format!("message {} of {}", i + 1, messages.len()),
                    expected: m.expected,
                    classes: m.errors.clone(),
                    class_required: m.class_required.clone(),
                })
                .collect()
        };
        match self {
            Self::Bundle(c) => single(&c.errors),
            Self::Media(c) => single(&c.errors),
            Self::SecurityCode(c) => single(&c.errors),
            Self::Xeddsa(_) => single(&[]),
            Self::Session(c) => steps(&c.messages),
            Self::KeySchedule(c) => steps(&c.session.messages),
            Self::Roundtrip(c) => c
                .late
                .iter()
                .filter(|l| l.expected != Expected::Valid)
                .map(|l| ExpectedRejection {
                    step: format!("late delivery of `{}`", l.hold),
                    expected: l.expected,
                    classes: l.errors.clone(),
                    class_required: None,
                })
                .collect(),
            Self::SenderKeys(c) => c
                .test
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.expected != Expected::Valid)
                .map(|(i, s)| ExpectedRejection {
                    step: format!("step {}", i + 1),
                    expected: s.expected,
                    classes: s.errors.clone(),
                    class_required: None,
                })
                .collect(),
            // Noise known answers are judged by the suite's own transport code: no provider, no class.
            Self::Scenario(_)
            | Self::Enlistment(_)
            | Self::EnlistmentDecode(_)
            | Self::Push(_)
            | Self::NoiseKnownAnswer(_)
            | Self::Transport(_) => Vec::new(),
        }
    }
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
        Family::KeySchedule => {
            let file = yaml::parse::<VectorFile<key_schedule::Group>>(path, text)?;
            key_schedule::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, key_schedule::checks)
        }
        Family::WireFormat => {
            let file = yaml::parse::<VectorFile<session::Group>>(path, text)?;
            session::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, session::checks)
        }
        Family::Media => {
            let file = yaml::parse::<VectorFile<media::Group>>(path, text)?;
            media::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, media::checks)
        }
        Family::SecurityCode => {
            let file = yaml::parse::<VectorFile<security_code::Group>>(path, text)?;
            security_code::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, security_code::checks)
        }
        Family::Scenario => Err(InputError::file(
            path,
            "scenario files are listed under `scenarios:` in profile.yaml, not loaded as vector files",
        )
        .at_key("family")),
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
        Family::SenderKeys => {
            let file = yaml::parse::<VectorFile<sender_keys::Group>>(path, text)?;
            sender_keys::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, sender_keys::checks)
        }
        Family::NoiseKnownAnswer => {
            let file = yaml::parse::<VectorFile<noise_known_answer::Group>>(path, text)?;
            noise_known_answer::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, noise_known_answer::checks)
        }
        Family::Transport => {
            let file = yaml::parse::<VectorFile<transport::Group>>(path, text)?;
            transport::validate(&file).map_err(|(key, msg)| InputError::file(path, msg).at_key(key))?;
            flatten(file, transport::checks)
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

/// What a check may use: the provider under test, the harness's own reference peer, the case's seed and the
/// run's shared harness servers.
pub struct CaseContext<'a> {
    /// The implementation under test.
    pub provider: &'a dyn Provider,
    /// The harness's reference peer (plays the other party in live exchanges).
    pub peer: &'a dyn Provider,
    /// Seed for this case, derived from the run seed and the case id.
    pub seed: u64,
    /// The run's WhatsApp JWKS for push cases (one per run; see [`push::PushJwks`]).
    pub push_jwks: &'a push::PushJwks,
    /// The peer's private keys for the wire monitor ([`crate::monitor`]); `None` runs live exchanges unmonitored
    /// (benchmarks compare both).
    pub monitor: Option<&'a crate::monitor::KeyLog>,
}

/// Run one case's check.
pub async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    match check {
        Check::Xeddsa(c) => xeddsa::run(meta, c, ctx).await,
        Check::Bundle(c) => bundle::run(meta, c, ctx).await,
        Check::Session(c) => session::run(meta, c, ctx).await,
        Check::Roundtrip(c) => roundtrip::run(meta, c, ctx).await,
        Check::KeySchedule(c) => key_schedule::run(meta, c, ctx).await,
        Check::Media(c) => media::run(meta, c, ctx).await,
        Check::SecurityCode(c) => security_code::run(meta, c, ctx).await,
        Check::Scenario(c) => crate::scenario::run(c, ctx).await,
        Check::Enlistment(c) => enlistment::run(meta, c, ctx).await,
        Check::EnlistmentDecode(c) => enlistment_decode::run(meta, c, ctx).await,
        Check::Push(c) => push::run(meta, c, ctx).await,
        Check::SenderKeys(c) => sender_keys::run(meta, c, ctx).await,
        Check::NoiseKnownAnswer(c) => noise_known_answer::run(meta, c, ctx).await,
        Check::Transport(c) => transport::run(meta, c, ctx).await,
    }
}
