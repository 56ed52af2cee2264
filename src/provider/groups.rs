//! Group messaging with Sender Keys (optional capability `groups`): the four library-shaped calls a provider
//! answers, and their JSON shapes. Groups and members are named by the harness; a member's name is also the
//! address of its client, as in 1:1 calls.

use crate::bytes::Bytes;
use crate::provider::ClientId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The provider's own sender key for a group, for the group's current members.
///
/// The provider creates a sender key when it has none for the group; when a member that received its current
/// key is no longer in `members`, it must rotate first (new key id, fresh chain and signing key: RO-GROUP-006).
/// The answer is the SenderKeyDistributionMessage the provider would send, pairwise, to every member lacking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSenderKey {
    /// The sending client.
    pub client: ClientId,
    /// The group's id (the stanza's chat, e.g. `123-456@g.us`).
    pub group: String,
    /// The group's other members now (names of their clients), not including the sender.
    pub members: Vec<String>,
}

/// A SenderKeyDistributionMessage: `0x33 || protobuf {id, iteration, chainKey, signingKey}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Skdm {
    /// The serialized message, version byte first.
    pub skdm: Bytes,
}

/// Install a peer's sender key, in the context of `group`. Either the SKDM as it arrived inside a successfully
/// decrypted pairwise message from `sender` (`skdm`: the harness stands in for the pairwise layer), or that
/// pairwise message itself (`carrier`): the provider decrypts it on its session with `sender` and installs the
/// SKDM it carries only if it decrypts (RO-GROUP-009).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupProcessSkdm {
    /// The receiving client.
    pub client: ClientId,
    /// The group.
    pub group: String,
    /// The sender's address (name).
    pub sender: String,
    /// The serialized SKDM (empty when `carrier` is given).
    #[serde(default)]
    pub skdm: Bytes,
    /// The pairwise Signal message from `sender` whose plaintext is the serialized SKDM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<crate::provider::Ciphertext>,
}

/// Encrypt a group message under the client's current sender key for the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupEncrypt {
    /// The sending client.
    pub client: ClientId,
    /// The group.
    pub group: String,
    /// The plaintext.
    pub plaintext: Bytes,
}

/// A group message (`enc type="skmsg"`): `0x33 || protobuf {id, iteration, ciphertext} || signature(64)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Skmsg {
    /// The serialized message, version byte first.
    pub skmsg: Bytes,
}

/// Decrypt a group message from `sender`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupDecrypt {
    /// The receiving client.
    pub client: ClientId,
    /// The group.
    pub group: String,
    /// The sender's address (name).
    pub sender: String,
    /// The serialized SenderKeyMessage.
    pub skmsg: Bytes,
}
