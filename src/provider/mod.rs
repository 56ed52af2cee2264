//! What the suite asks of an implementation under test, and the small error taxonomy it answers in.
//!
//! One trait, two implementations: the embedded reference ([`crate::reference`]) and the HTTP adapter client.
//! A provider's rejection is data ([`CallError::Rejected`] with an [`ErrorClass`]); the harness compares classes,
//! never library-specific strings. An optional operation the provider does not advertise scores `unsupported`;
//! [`contract::Contract`] holds every provider to that rule during a run: a mandatory operation answering
//! unsupported is a [`CallError::Violation`] (`fail`), an advertised one an error.

pub mod contract;
mod groups;
mod signature;
mod transport;
mod types;

pub use groups::*;
pub use signature::*;
pub use transport::*;
pub use types::*;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a provider rejected an input. Stable names: they appear in vectors, reports and the adapter API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// A message authentication code did not verify (Whisper MAC, media MAC).
    BadMac,
    /// A signature did not verify (signed prekey, XEdDSA).
    BadSignature,
    /// A message whose key was already used (replay).
    Duplicate,
    /// A peer's identity key differs from the one trusted for its address.
    UntrustedIdentity,
    /// A public key with a wrong type byte, wrong length or unusable value.
    InvalidKey,
    /// A message that cannot be parsed: too short, bad protobuf, missing fields, bad padding.
    InvalidMessage,
    /// A message version other than the one spoken (3).
    InvalidVersion,
    /// No session with that peer.
    NoSession,
    /// A one-time prekey id that is unknown or already consumed.
    InvalidPrekey,
    /// A signed-prekey id that is unknown.
    InvalidSignedPrekey,
    /// A message counter too far ahead of the chain.
    TooFarInFuture,
    /// An integrity hash (media file hash) did not match.
    BadHash,
    /// A malformed request to the provider (unknown client, bad arguments).
    InvalidArgument,
    /// The provider failed internally.
    Internal,
}

impl ErrorClass {
    /// Every class, in a stable order.
    pub const ALL: [ErrorClass; 14] = [
        Self::BadMac,
        Self::BadSignature,
        Self::Duplicate,
        Self::UntrustedIdentity,
        Self::InvalidKey,
        Self::InvalidMessage,
        Self::InvalidVersion,
        Self::NoSession,
        Self::InvalidPrekey,
        Self::InvalidSignedPrekey,
        Self::TooFarInFuture,
        Self::BadHash,
        Self::InvalidArgument,
        Self::Internal,
    ];

    /// The wire name (`bad_mac`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadMac => "bad_mac",
            Self::BadSignature => "bad_signature",
            Self::Duplicate => "duplicate",
            Self::UntrustedIdentity => "untrusted_identity",
            Self::InvalidKey => "invalid_key",
            Self::InvalidMessage => "invalid_message",
            Self::InvalidVersion => "invalid_version",
            Self::NoSession => "no_session",
            Self::InvalidPrekey => "invalid_prekey",
            Self::InvalidSignedPrekey => "invalid_signed_prekey",
            Self::TooFarInFuture => "too_far_in_future",
            Self::BadHash => "bad_hash",
            Self::InvalidArgument => "invalid_argument",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one provider call can end other than with its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The provider rejected the input: conformance data, compared with the vector's expectation.
    Rejected {
        /// The taxonomy class.
        class: ErrorClass,
        /// The provider's own words, for the report only.
        detail: String,
    },
    /// The provider does not implement this optional operation.
    Unsupported {
        /// The operation's name.
        operation: String,
    },
    /// The call did not complete: timeout, connection failure, garbage response. The case scores `error`.
    Transport {
        /// What went wrong, naming the operation.
        message: String,
    },
    /// The provider broke the adapter contract in a way that is a finding, not a harness problem: it answered
    /// "unsupported" to a mandatory operation. The case scores `fail`, whatever the vector expects.
    Violation {
        /// What it did, naming the operation.
        message: String,
    },
}

impl CallError {
    /// A rejection with a class and detail.
    pub fn rejected(class: ErrorClass, detail: impl Into<String>) -> Self {
        Self::Rejected {
            class,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected { class, detail } if detail.is_empty() => write!(f, "rejected: {class}"),
            Self::Rejected { class, detail } => write!(f, "rejected: {class} ({detail})"),
            Self::Unsupported { operation } => write!(f, "unsupported operation: {operation}"),
            Self::Transport { message } => write!(f, "transport error: {message}"),
            Self::Violation { message } => write!(f, "contract violation: {message}"),
        }
    }
}

/// The result of one provider call.
pub type CallResult<T> = Result<T, CallError>;

/// An implementation under test. Calls take `&self` so that cases can run concurrently; each case works on
/// clients it created, identified by the [`ClientId`] the provider returned.
#[async_trait]
pub trait Provider: Send + Sync {
    /// A short description for reports: `embedded:reference` or the adapter URL.
    fn target(&self) -> String;

    /// What makes this provider's text safe to keep: it redacts the secrets the provider was given (an HTTP
    /// target's bearer token). Default: no secrets.
    fn sanitizer(&self) -> crate::sanitize::Sanitizer {
        crate::sanitize::Sanitizer::default()
    }

    /// The hosts the harness may contact when this provider names a URL (its JWKS, its push endpoint).
    /// Default: loopback, where the embedded reference serves them.
    fn allowed_hosts(&self) -> crate::signature::http::HostPolicy {
        crate::signature::http::HostPolicy::loopback()
    }

    /// What the provider implements. Called once before a run; failure here means the target is unreachable.
    async fn capabilities(&self) -> CallResult<Capabilities>;

    /// Whether the provider declared `capability` (an entry of `operations`) when asked before the run. Known
    /// only to the [`contract::Contract`] that holds a run's provider; others answer `false`.
    fn declares(&self, capability: &str) -> bool {
        let _ = capability;
        false
    }

    /// Forget every client and session.
    async fn reset(&self) -> CallResult<()>;

    /// Create a client: fresh keys, or imported key material for known-answer vectors.
    async fn create_client(&self, request: &CreateClient) -> CallResult<ClientId>;

    /// The client's current prekey bundle (with a one-time prekey while any is left).
    async fn prekey_bundle(&self, client: &ClientId) -> CallResult<PreKeyBundle>;

    /// Start a session with `peer` from its bundle (X3DH as initiator). Verifies the signed prekey.
    async fn process_bundle(&self, client: &ClientId, peer: &str, bundle: &PreKeyBundle) -> CallResult<()>;

    /// Encrypt a plaintext to `peer` on the established session.
    async fn encrypt(&self, client: &ClientId, peer: &str, plaintext: &[u8]) -> CallResult<Ciphertext>;

    /// Decrypt a message from `peer`; a `pkmsg` may create the session.
    async fn decrypt(&self, client: &ClientId, peer: &str, ciphertext: &Ciphertext) -> CallResult<Vec<u8>>;

    /// Verify an XEdDSA signature under a serialized (0x05-prefixed) public key. `Ok(false)` and a rejection
    /// both count as "invalid".
    async fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> CallResult<bool>;

    /// Optional: derive media keys and encrypt (issue: media). Default: unsupported.
    async fn media_encrypt(&self, request: &MediaEncrypt) -> CallResult<MediaEncrypted> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "media_encrypt".into(),
        })
    }

    /// Optional: verify and decrypt a media blob. Default: unsupported.
    async fn media_decrypt(&self, request: &MediaDecrypt) -> CallResult<Vec<u8>> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "media_decrypt".into(),
        })
    }

    /// Optional: the enlistment request `request.client` would send for `request.identifier` (RO-ID-001..004),
    /// with the JWKS URL of the token issuer. Default: unsupported.
    async fn enlistment_request(&self, request: &EnlistmentRequest) -> CallResult<Enlistment> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "enlistment_request".into(),
        })
    }

    /// Optional: trust `config.jwks_url` for push tokens and say where `POST /push` is (RO-ID-005).
    /// Default: unsupported.
    async fn push_endpoint(&self, config: &PushConfig) -> CallResult<PushEndpoint> {
        let _ = config;
        Err(CallError::Unsupported {
            operation: "push_endpoint".into(),
        })
    }

    /// Optional: the 60-digit security code between two identities. Default: unsupported.
    async fn security_code(&self, request: &SecurityCode) -> CallResult<String> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "security_code".into(),
        })
    }

    /// Optional (capability `transport`): connect an enlisted client to the suite's chat server and send
    /// stanzas. Default: unsupported.
    async fn transport_connect(&self, request: &TransportConnect) -> CallResult<TransportReport> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "transport_connect".into(),
        })
    }

    /// Optional (capability `groups`): the client's sender key for a group and its current members, created or
    /// rotated as needed; answers the SKDM. Default: unsupported.
    async fn group_sender_key(&self, request: &GroupSenderKey) -> CallResult<Vec<u8>> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "group_sender_key".into(),
        })
    }

    /// Optional (capability `groups`): install a peer's SKDM received pairwise. Default: unsupported.
    async fn group_process_skdm(&self, request: &GroupProcessSkdm) -> CallResult<()> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "group_process_skdm".into(),
        })
    }

    /// Optional (capability `groups`): encrypt a group message; answers the skmsg. Default: unsupported.
    async fn group_encrypt(&self, request: &GroupEncrypt) -> CallResult<Vec<u8>> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "group_encrypt".into(),
        })
    }

    /// Optional (capability `groups`): verify and decrypt a peer's group message. Default: unsupported.
    async fn group_decrypt(&self, request: &GroupDecrypt) -> CallResult<Vec<u8>> {
        let _ = request;
        Err(CallError::Unsupported {
            operation: "group_decrypt".into(),
        })
    }
}
