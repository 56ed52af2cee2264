//! `key_schedule`: known answers for X3DH, the first ratchet step, the symmetric chain and the message keys.
//!
//! Each test carries the expected key-schedule values for fixed sender and receiver keys (checked by
//! `conformance vectors verify`, computed from both the initiator's and the responder's private keys) and
//! messages built from those keys. The provider is judged observably, as in [`super::session`]: it imports the
//! receiver's keys and must decrypt every valid message to the exact plaintext and refuse the others. No
//! provider operation exposes the intermediate keys; the plaintexts prove them.

pub mod generate;

use super::CaseContext;
use super::session::{self, Step};
use crate::bytes::Bytes;
use crate::outcome::Observation;
use crate::provider::KeyMaterial;
use crate::vector_format::{TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tests sharing a receiver and a sender with fixed keys.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the group is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Receiver key material, imported into the provider for every test.
    pub receiver: KeyMaterial,
    /// The sender's name (its address).
    pub sender: String,
    /// The sender's fixed private keys (so that anyone can recompute the schedule).
    pub sender_keys: SenderPrivate,
    /// The tests.
    pub tests: Vec<Test>,
}

/// The initiator's private keys.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SenderPrivate {
    /// Identity private key (32 bytes).
    pub identity_private: Bytes,
    /// Base key private key (32 bytes).
    pub base_private: Bytes,
    /// First sending ratchet private key (32 bytes).
    pub ratchet_private: Bytes,
}

/// The honest key schedule of the session.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// X3DH root key ("WhisperText", bytes 0-31).
    pub root_key: Bytes,
    /// X3DH chain key ("WhisperText", bytes 32-63).
    pub chain_key: Bytes,
    /// Root key after the ratchet step with DH(sender ratchet, receiver signed prekey) ("WhisperRatchet").
    pub ratchet_root_key: Bytes,
    /// The sender's first sending chain key, index 0 ("WhisperRatchet", bytes 32-63).
    pub sending_chain_key: Bytes,
    /// Chain steps and message keys.
    pub chain: Vec<ChainStep>,
}

/// The chain at one index.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainStep {
    /// Index (message counter).
    pub index: u32,
    /// Chain key at this index.
    pub chain_key: Bytes,
    /// AES-256 key of message `index`.
    pub cipher_key: Bytes,
    /// HMAC key of message `index`.
    pub mac_key: Bytes,
    /// CBC IV of message `index`.
    pub iv: Bytes,
}

vector_test! {
    /// A session with known keys and deliveries to a freshly imported receiver.
    pub struct Test {
        /// The receiver's one-time prekey the sender used (absent: 3-DH X3DH).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub one_time_prekey_id: Option<u32>,
        /// Expected key schedule.
        pub schedule: Schedule,
        /// Deliveries, in order.
        pub messages: Vec<Step>,
    }
}

/// Inputs of one case.
#[derive(Debug, Clone)]
pub struct Check {
    /// The observable part, run as a session case.
    pub session: session::Check,
    /// Sender's private keys.
    pub sender_keys: SenderPrivate,
    /// One-time prekey used.
    pub one_time_prekey_id: Option<u32>,
    /// Expected schedule.
    pub schedule: Schedule,
}

/// Same rules as session files: steps must agree with the test-level `expected`.
pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            session::validate_steps(
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

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                session: session::Check {
                    receiver: group.receiver.clone(),
                    sender: group.sender.clone(),
                    messages: t.messages.clone(),
                },
                sender_keys: group.sender_keys.clone(),
                one_time_prekey_id: t.one_time_prekey_id,
                schedule: t.schedule.clone(),
            };
            (t.meta(), super::Check::KeySchedule(check))
        })
        .collect()
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    session::run(meta, &check.session, ctx).await
}
