//! The YAML shape of `sender_keys` vector files. A leaf: the check, the generator and the independent verifier
//! all read it, and it reads none of them.

use crate::bytes::Bytes;
use crate::provider::ErrorClass;
use crate::vector_format::{Expected, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tests about one group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the group covers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The group's id, as a stanza names the chat (`...@g.us`).
    pub group: String,
    /// The tests.
    pub tests: Vec<Test>,
}

/// Who plays the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// The provider receives fixed SKDMs and SenderKeyMessages (`steps`), known answers from fixed seeds.
    Receive,
    /// The provider sends (`script`): the harness checks every SKDM and skmsg with its own receiver.
    Send,
    /// Live: several members played by the harness's reference peer send to the provider, with reordering, loss,
    /// duplicates and a jump near the bound drawn with proptest from the case seed and shrunk when a schedule
    /// fails (`members`, `messages`, `schedules`).
    Members,
    /// Live: a member played by the harness sends its SKDM inside a pairwise Signal message (`carrier`); the
    /// provider must install it only from a carrier that decrypts on its session with that member (RO-GROUP-009).
    Pairwise,
}

vector_test! {
    /// One case.
    pub struct Test {
        /// receive, send or members.
        pub operation: Operation,
        /// Receive: what the harness delivers, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub steps: Vec<Step>,
        /// Send: what the harness asks of the provider, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub script: Vec<Action>,
        /// Members: how many members send to the provider.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub members: Option<u32>,
        /// Members: messages per member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub messages: Option<u32>,
        /// Members: delivery schedules drawn (and shrunk on failure) with proptest from the case seed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub schedules: Option<u32>,
    }
}

/// One delivery to the provider.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Requirement ids this step checks (blame goes to them when it fails).
    pub checks: Vec<String>,
    /// What the step is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The sender's name.
    pub sender: String,
    /// An SKDM to install (`group_process_skdm`); exactly one of `skdm` and `skmsg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skdm: Option<Bytes>,
    /// A SenderKeyMessage to decrypt (`group_decrypt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skmsg: Option<Bytes>,
    /// valid, invalid or acceptable.
    pub expected: Expected,
    /// The plaintext of a valid skmsg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<Bytes>,
    /// Rejection classes that name the cause (a diagnostic: any rejection meets an `invalid` step).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorClass>,
}

/// What a send script asks of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `group_sender_key` with the group's members now; the harness parses the SKDM and judges rotation.
    SenderKey,
    /// `group_encrypt`; the harness checks the skmsg and opens it with every member's own receiver.
    Encrypt,
}

/// One step of a send script.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// sender_key or encrypt.
    pub action: ActionKind,
    /// Another group than the test group's (cases about several groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Sender key: the group's other members now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Encrypt: the plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<Bytes>,
}
