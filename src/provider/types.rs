//! Plain data exchanged with a provider. The same shapes travel as JSON in the adapter API (bytes as hex).

use crate::bytes::Bytes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A client (one user with one device) inside a provider, named by the provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ClientId(pub String);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the provider says it implements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Implementation name and version, free text.
    pub implementation: String,
    /// Adapter API version spoken (`v1`).
    pub api_version: String,
    /// Profiles the provider claims (`whatsapp-ro-2024`).
    pub profiles: Vec<String>,
    /// Optional operations implemented, from: import_keys, media, security_code, verify_signature, enlistment,
    /// push, groups, transport, transport_ik. Mandatory operations are never listed. `transport_ik` is not an
    /// operation of its own: it declares that `transport-connect` resumes with Noise IK when the client holds a
    /// verified server static from an earlier connection (RO-TRANSPORT-021), and so owes the XXfallback of
    /// RO-TRANSPORT-022.
    pub operations: Vec<String>,
}

/// Operations a provider may leave out; a case needing one scores `unsupported`.
pub const OPTIONAL_OPERATIONS: [&str; 9] = [
    "import_keys",
    "media",
    "security_code",
    "verify_signature",
    "enlistment",
    "push",
    "groups",
    "transport",
    "transport_ik",
];

/// Ask for a new client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    /// The client's own name; peers address it by this name.
    pub name: String,
    /// A seed the provider may use for its randomness, so that runs replay. Providers may ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Fixed key material to import instead of generating keys (known-answer vectors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeyMaterial>,
}

/// A client's private key material, for known-answer vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyMaterial {
    /// Registration id (sent as 4 bytes big-endian).
    pub registration_id: u32,
    /// Identity private key, 32 bytes (Curve25519).
    pub identity_private: Bytes,
    /// Signed prekey id.
    pub signed_prekey_id: u32,
    /// Signed prekey private key, 32 bytes.
    pub signed_prekey_private: Bytes,
    /// XEdDSA signature by the identity key over the serialized (0x05-prefixed) signed prekey, 64 bytes.
    pub signed_prekey_signature: Bytes,
    /// One-time prekeys.
    #[serde(default)]
    pub prekeys: Vec<OneTimePrekey>,
}

/// A one-time prekey's private half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OneTimePrekey {
    /// Its id.
    pub id: u32,
    /// Private key, 32 bytes.
    pub private: Bytes,
}

/// A published prekey bundle. Keys are serialized: 33 bytes, `0x05 || key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreKeyBundle {
    /// Registration id of the bundle's owner.
    pub registration_id: u32,
    /// Identity public key.
    pub identity_key: Bytes,
    /// Signed prekey id.
    pub signed_prekey_id: u32,
    /// Signed prekey public key.
    pub signed_prekey: Bytes,
    /// Signature over `signed_prekey` by the identity key.
    pub signed_prekey_signature: Bytes,
    /// One-time prekey id, when one is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prekey_id: Option<u32>,
    /// One-time prekey public key, when one is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prekey: Option<Bytes>,
}

/// The two 1:1 message kinds, named as in WhatsApp's `enc` stanza `type` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CiphertextKind {
    /// PreKeyWhisperMessage (session setup).
    Pkmsg,
    /// WhisperMessage.
    Msg,
}

/// A serialized Signal message and its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ciphertext {
    /// `pkmsg` or `msg`.
    pub kind: CiphertextKind,
    /// The serialized message, version byte first.
    pub body: Bytes,
}

/// Encrypt a media attachment with keys derived from `media_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaEncrypt {
    /// Media type: image, sticker, video, gif, ptv, audio, ptt, document, thumbnail-image, thumbnail-video,
    /// thumbnail-document or thumbnail-link (Baileys' names). Providers refuse others as `invalid_argument`.
    pub media_type: String,
    /// The 32-byte media key (known-answer cases). Absent: the provider picks a fresh key as it would for a
    /// real upload (RO-MEDIA-003) and returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_key: Option<Bytes>,
    /// The plaintext file.
    pub plaintext: Bytes,
}

/// An encrypted media attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaEncrypted {
    /// `ciphertext || mac10`, the uploaded blob.
    pub blob: Bytes,
    /// SHA-256 of the plaintext.
    pub file_sha256: Bytes,
    /// SHA-256 of the blob.
    pub file_enc_sha256: Bytes,
    /// The media key the provider picked, when the request named none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_key: Option<Bytes>,
}

/// Verify and decrypt a downloaded media blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaDecrypt {
    /// Media type, as in `POST /v1/media/encrypt`.
    pub media_type: String,
    /// The 32-byte media key.
    pub media_key: Bytes,
    /// `ciphertext || mac10`.
    pub blob: Bytes,
    /// Expected SHA-256 of the plaintext.
    pub file_sha256: Bytes,
    /// Expected SHA-256 of the blob.
    pub file_enc_sha256: Bytes,
}

/// Compute the numeric security code between two parties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityCode {
    /// Local identity key, serialized (33 bytes).
    pub local_identity: Bytes,
    /// Local stable identifier (bytes as used in the hash).
    pub local_id: Bytes,
    /// Remote identity key, serialized (33 bytes).
    pub remote_identity: Bytes,
    /// Remote stable identifier.
    pub remote_id: Bytes,
}
