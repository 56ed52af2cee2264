//! `session`: known-answer decryption. The provider imports fixed receiver key material, then decrypts fixed
//! ciphertexts from one sender in order; each step expects an exact plaintext or a rejection.
//!
//! Each step may name the requirement(s) it checks (a subset of the test's); a step that names none checks
//! all of them. A failing step is blamed on its own requirements, and the test's requirements no reached step
//! checked are blocked ([`crate::outcome`]). Importing the receiver's keys is blamed like the first step.

pub mod generate;

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::{Observation, Steps, judge_class};
use crate::provider::{Ciphertext, CreateClient, ErrorClass, KeyMaterial};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The requirement session setup checks (the first pkmsg a receiver decrypts, the bundle it needs): in the
/// whatsapp-ro-2024 catalog, RO-ENC-004. Families blame setup steps on it when a case lists it.
pub const SETUP: &str = "RO-ENC-004";

/// Tests sharing a receiver and a sender.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the group's session is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Receiver key material, imported into the provider for every test.
    pub receiver: KeyMaterial,
    /// The sender's name (its address), as the provider sees it.
    pub sender: String,
    /// The sender's serialized identity key, for independent checks and readers.
    pub sender_identity: Bytes,
    /// The tests.
    pub tests: Vec<Test>,
}

vector_test! {
    /// A sequence of deliveries to a freshly imported receiver.
    pub struct Test {
        /// Deliveries, in order.
        pub messages: Vec<Step>,
    }
}

/// One delivery.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What this delivery is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The message delivered.
    pub ciphertext: Ciphertext,
    /// valid: must decrypt to `plaintext`; invalid: must be rejected; acceptable: either.
    pub expected: Expected,
    /// The exact plaintext, for valid steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<Bytes>,
    /// Accepted rejection classes (any, when empty). Any rejection meets an invalid step; a class outside
    /// this list counts only toward the error-class fidelity requirement, unless `class_required` says why
    /// the class is itself the behaviour under test.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorClass>,
    /// Why the rejection class is the behaviour under test; a rejection with another class then fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_required: Option<String>,
    /// Requirement ids this step checks (a subset of the test's; all of the test's when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
}

/// Inputs of one session case.
#[derive(Debug, Clone)]
pub struct Check {
    /// Receiver keys.
    pub receiver: KeyMaterial,
    /// Sender name.
    pub sender: String,
    /// Deliveries.
    pub messages: Vec<Step>,
}

/// The test-level `expected` summarises the steps; a mismatch is a file error.
pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            validate_steps(
                &format!("groups[{g}].tests[{t}]"),
                &test.id,
                &test.requirements,
                test.expected,
                &test.messages,
            )?;
        }
    }
    Ok(())
}

/// Check one test's steps: at least one, plaintexts on valid steps, step requirements among the test's, and a
/// matching test-level `expected`.
pub(super) fn validate_steps(
    key: &str,
    id: &str,
    requirements: &[String],
    expected: Expected,
    messages: &[Step],
) -> Result<(), (String, String)> {
    if messages.is_empty() {
        return Err((format!("{key}.messages"), format!("test `{id}` delivers no message")));
    }
    for (s, step) in messages.iter().enumerate() {
        if let Some(r) = step.requirements.iter().find(|r| !requirements.contains(r)) {
            return Err((
                format!("{key}.messages[{s}].requirements"),
                format!("step of test `{id}` checks {r}, which the test does not list"),
            ));
        }
        if step.expected == Expected::Valid && step.plaintext.is_none() {
            return Err((
                format!("{key}.messages[{s}].plaintext"),
                format!("valid step of test `{id}` needs a plaintext"),
            ));
        }
    }
    let summary = Expected::summarise(messages.iter().map(|s| s.expected));
    if summary != expected {
        return Err((
            format!("{key}.expected"),
            format!(
                "test `{id}` says `{}` but its steps make it `{}`",
                expected.as_str(),
                summary.as_str()
            ),
        ));
    }
    Ok(())
}

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                receiver: group.receiver.clone(),
                sender: group.sender.clone(),
                messages: t.messages.clone(),
            };
            (t.meta(), super::Check::Session(check))
        })
        .collect()
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let mut steps = Steps::new(&meta.requirements);
    let create = CreateClient {
        name: "bob".into(),
        seed: Some(ctx.seed),
        keys: Some(check.receiver.clone()),
    };
    let first = check
        .messages
        .first()
        .map(|s| s.requirements.as_slice())
        .unwrap_or_default();
    let client = match ctx.provider.create_client(&create).await {
        Ok(c) => c,
        Err(e) => {
            let o = Observation::from_call_error("import receiver keys", &e);
            return steps.step("create_client", first, o).unwrap_or_default();
        }
    };
    let mut last = String::new();
    for (i, step) in check.messages.iter().enumerate() {
        let result = ctx.provider.decrypt(&client, &check.sender, &step.ciphertext).await;
        let want = step.plaintext.clone().unwrap_or_default();
        let expected_ok = format!("plaintext {want}");
        let observation = judge_class(
            step.expected,
            &expected_ok,
            &step.errors,
            step.class_required.is_some(),
            &result,
            |p: &Vec<u8>| format!("plaintext {}", hex::encode(p)),
            |p| *p == want.0,
        );
        let label = format!("message {} of {}", i + 1, check.messages.len());
        last = format!("{label}: {}", observation.observed);
        if let Some(failed) = steps.step(&label, &step.requirements, observation) {
            return failed;
        }
    }
    steps.pass(
        format!("{} deliveries as the vector expects", check.messages.len()),
        last,
    )
}
