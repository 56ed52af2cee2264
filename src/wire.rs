//! The 1:1 Signal messages and the sender-key messages (WhatsApp's and upstream Signal's) as hand-written prost
//! structs (no protoc, no build script). The reference and the generators share them; the independent verifiers
//! of `family/*/verify.rs` spell their own.
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

/// WhatsApp's SenderKeyMessage protobuf (between the 0x33 version byte and the 64-byte signature).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SenderKeyMessage {
    /// Key id.
    #[prost(uint32, optional, tag = "1")]
    pub id: Option<u32>,
    /// Iteration.
    #[prost(uint32, optional, tag = "2")]
    pub iteration: Option<u32>,
    /// AES-256-CBC ciphertext.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub ciphertext: Option<Vec<u8>>,
}

/// WhatsApp's SenderKeyDistributionMessage protobuf (after the 0x33 version byte).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SenderKeyDistributionMessage {
    /// Key id.
    #[prost(uint32, optional, tag = "1")]
    pub id: Option<u32>,
    /// The chain's current iteration.
    #[prost(uint32, optional, tag = "2")]
    pub iteration: Option<u32>,
    /// The chain key at that iteration.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub chain_key: Option<Vec<u8>>,
    /// The signing public key, serialized.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub signing_key: Option<Vec<u8>>,
}

/// Upstream Signal's SenderKeyMessage (`wire.proto`), which WhatsApp does not speak (RO-GROUP-019).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpstreamSenderKeyMessage {
    /// 16-byte distribution UUID.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub distribution_uuid: Option<Vec<u8>>,
    /// Chain id.
    #[prost(uint32, optional, tag = "2")]
    pub chain_id: Option<u32>,
    /// Iteration.
    #[prost(uint32, optional, tag = "3")]
    pub iteration: Option<u32>,
    /// Ciphertext.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub ciphertext: Option<Vec<u8>>,
}

/// Upstream Signal's SenderKeyDistributionMessage (`wire.proto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpstreamSenderKeyDistributionMessage {
    /// 16-byte distribution UUID.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub distribution_uuid: Option<Vec<u8>>,
    /// Chain id.
    #[prost(uint32, optional, tag = "2")]
    pub chain_id: Option<u32>,
    /// Iteration.
    #[prost(uint32, optional, tag = "3")]
    pub iteration: Option<u32>,
    /// Chain key.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub chain_key: Option<Vec<u8>>,
    /// Signing key.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub signing_key: Option<Vec<u8>>,
}
