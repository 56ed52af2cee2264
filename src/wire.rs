//! The two 1:1 Signal messages as hand-written prost structs (no protoc, no build script).
//!
//! Every field is optional so that malformed vectors can omit required ones. Framing (version byte in front,
//! 8-byte MAC behind a WhisperMessage) is not part of the protobuf and lives with its users.

/// `WhisperMessage` (libsignal `SignalMessage`), proto2.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhisperMessage {
    /// Sender's ratchet public key, serialized (`0x05 || key`).
    #[prost(bytes = "vec", optional, tag = "1")]
    pub ratchet_key: Option<Vec<u8>>,
    /// Index of the message in its sending chain.
    #[prost(uint32, optional, tag = "2")]
    pub counter: Option<u32>,
    /// Length of the sender's previous sending chain.
    #[prost(uint32, optional, tag = "3")]
    pub previous_counter: Option<u32>,
    /// AES-256-CBC ciphertext.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub ciphertext: Option<Vec<u8>>,
}

/// `PreKeyWhisperMessage` (libsignal `PreKeySignalMessage`), proto2.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PreKeyWhisperMessage {
    /// One-time prekey id, when one was used.
    #[prost(uint32, optional, tag = "1")]
    pub pre_key_id: Option<u32>,
    /// Initiator's base (ephemeral) key, serialized.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub base_key: Option<Vec<u8>>,
    /// Initiator's identity key, serialized.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub identity_key: Option<Vec<u8>>,
    /// The inner serialized WhisperMessage (version byte, protobuf, MAC).
    #[prost(bytes = "vec", optional, tag = "4")]
    pub message: Option<Vec<u8>>,
    /// Initiator's registration id.
    #[prost(uint32, optional, tag = "5")]
    pub registration_id: Option<u32>,
    /// Signed prekey id used.
    #[prost(uint32, optional, tag = "6")]
    pub signed_pre_key_id: Option<u32>,
}
