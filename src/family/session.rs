//! `session`: known-answer decryption. The provider imports fixed receiver key material, then decrypts fixed
//! ciphertexts from one sender in order; each step expects an exact plaintext or a rejection.

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::{Observation, Outcome, judge};
use crate::provider::{Ciphertext, CreateClient, ErrorClass, KeyMaterial};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// Accepted rejection classes (any, when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorClass>,
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
                test.expected,
                &test.messages,
            )?;
        }
    }
    Ok(())
}

/// Check one test's steps: at least one, plaintexts on valid steps, and a matching test-level `expected`.
pub(super) fn validate_steps(
    key: &str,
    id: &str,
    expected: Expected,
    messages: &[Step],
) -> Result<(), (String, String)> {
    if messages.is_empty() {
        return Err((format!("{key}.messages"), format!("test `{id}` delivers no message")));
    }
    for (s, step) in messages.iter().enumerate() {
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

pub(super) async fn run(_meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let create = CreateClient {
        name: "bob".into(),
        seed: Some(ctx.seed),
        keys: Some(check.receiver.clone()),
    };
    let client = match ctx.provider.create_client(&create).await {
        Ok(c) => c,
        Err(e) => return Observation::from_call_error("import receiver keys", &e).at_step("create_client"),
    };
    let mut last = Observation::pass("", "");
    for (i, step) in check.messages.iter().enumerate() {
        let result = ctx.provider.decrypt(&client, &check.sender, &step.ciphertext).await;
        let want = step.plaintext.clone().unwrap_or_default();
        let expected_ok = format!("plaintext {want}");
        let observation = judge(
            step.expected,
            &expected_ok,
            &step.errors,
            &result,
            |p: &Vec<u8>| format!("plaintext {}", hex::encode(p)),
            |p| *p == want.0,
        );
        let label = format!("message {} of {}", i + 1, check.messages.len());
        if observation.outcome != Outcome::Pass {
            return observation.at_step(&label);
        }
        last = observation.at_step(&label);
    }
    last
}
