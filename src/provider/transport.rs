//! The Noise channel to chatd (optional capability `transport`): the provider's client connects to the suite's
//! responder, sends stanzas and says what happened. The verdict rests on what the responder saw on the wire
//! ([`crate::transport::responder`]); the answer here is a diagnostic.
//!
//! Adapter mapping: `POST /v1/transport-connect` takes [`TransportConnect`] and answers [`TransportReport`]
//! (see `docs/adapter-api.md`).

use crate::bytes::Bytes;
use crate::provider::{ClientId, ErrorClass};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Connect an enlisted client to a chat server, send stanzas after the handshake, then read until the server
/// closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransportConnect {
    /// The client; it enlisted before (`enlistment-request`), so its Noise static key is its `authkey` and its
    /// ClientPayload carries a Partner JWT for `identifier`.
    pub client: ClientId,
    /// The identifier the JWT vouches for.
    pub identifier: String,
    /// Where the chat server listens: `tcp://HOST:PORT` (always loopback in a test run).
    pub url: String,
    /// The 32-byte Curve25519 root key to trust for the server's certificate chain, instead of WhatsApp's.
    pub root_key: Bytes,
    /// Binary-XML stanzas to send, in order, one transport frame each, once the handshake is done.
    pub stanzas: Vec<Bytes>,
    /// Test hook (RO-TRANSPORT-019): start the client's sending counter here instead of 0. A client must honour
    /// it, and refuse to send once the 32-bit counter is used up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_start: Option<u32>,
    /// Edge-routing info to send in the pre-intro, if the client uses one (RO-TRANSPORT-020, MAY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_info: Option<Bytes>,
    /// How long the client may take, in milliseconds.
    pub timeout_ms: u64,
}

/// How the connection ended, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransportState {
    /// The handshake completed and the stanzas were sent.
    Connected,
    /// The client refused the server (bad chain, malformed handshake) and closed.
    Refused,
    /// The connection closed or failed before the handshake completed.
    Closed,
}

/// What the client did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransportReport {
    /// How it ended.
    pub state: TransportState,
    /// For `refused`: why, as a class (`bad_signature` for a chain, `invalid_message` for a malformed
    /// handshake, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<ErrorClass>,
    /// Free text for the report.
    #[serde(default)]
    pub detail: String,
    /// The server's stanzas delivered to the stanza layer, in order.
    #[serde(default)]
    pub received: Vec<Bytes>,
}
