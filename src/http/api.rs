//! The adapter API v1 on the wire: one [`Operation`] per provider call (method, path, request and response
//! types), the error body, and the status codes. Server, client and OpenAPI document all read this one table,
//! so a new provider operation is one `operation!` entry, one line in [`for_each_operation`] and one client
//! method.
//!
//! Every binary field is lowercase hex ([`Bytes`]); every body is JSON.

use crate::bytes::Bytes;
use crate::provider::{
    self, CallError, CallResult, Capabilities, Ciphertext, ClientId, CreateClient, MediaDecrypt, MediaEncrypt,
    MediaEncrypted, PreKeyBundle, Provider,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// The API version spoken, in paths (`/v1/...`) and in [`Capabilities::api_version`].
pub const API_VERSION: &str = "v1";

/// Success: the body is the operation's response.
pub const STATUS_OK: u16 = 200;
/// The request was not a valid request of the operation (bad JSON, wrong types); the suite records `error`.
pub const STATUS_BAD_REQUEST: u16 = 400;
/// The provider rejected the input: an [`ErrorBody`] with a taxonomy class. Conformance data.
pub const STATUS_REJECTED: u16 = 422;
/// The provider does not implement this optional operation: `{"error": "unsupported"}`. Scores `unsupported`.
pub const STATUS_UNSUPPORTED: u16 = 501;

/// The `error` value of an unsupported operation (beside the taxonomy classes).
pub const UNSUPPORTED: &str = "unsupported";

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// No request body.
    Get,
    /// JSON request body.
    Post,
}

impl Method {
    /// Lowercase name, as OpenAPI writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
        }
    }
}

/// A boxed future, so that operations can be called through `&dyn Provider`.
pub type CallFuture<'a, T> = Pin<Box<dyn Future<Output = CallResult<T>> + Send + 'a>>;

/// One provider call on the wire.
pub trait Operation: 'static {
    /// The operation's name, as in [`CallError::Unsupported`] and reports (`encrypt`).
    const NAME: &'static str;
    /// HTTP method.
    const METHOD: Method;
    /// Path under the server root (`/v1/encrypt`).
    const PATH: &'static str;
    /// One line for the OpenAPI document.
    const SUMMARY: &'static str;
    /// JSON request body ([`Empty`] for none).
    type Request: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;
    /// JSON response body on success.
    type Response: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;
    /// The capability (from [`provider::OPTIONAL_OPERATIONS`]) this request needs, if any.
    fn capability(request: &Self::Request) -> Option<&'static str>;
    /// Perform the operation on a provider (the server side).
    fn call<'a>(provider: &'a dyn Provider, request: &'a Self::Request) -> CallFuture<'a, Self::Response>;
}

/// Something that walks the operation table (router, OpenAPI writer, tests).
pub trait OperationVisitor {
    /// Called once per operation, in [`for_each_operation`] order.
    fn visit<O: Operation>(&mut self);
}

/// The operation table, in the order the documentation lists it.
pub fn for_each_operation(v: &mut impl OperationVisitor) {
    v.visit::<GetCapabilities>();
    v.visit::<Reset>();
    v.visit::<CreateClientOp>();
    v.visit::<GetPrekeyBundle>();
    v.visit::<ProcessBundle>();
    v.visit::<Encrypt>();
    v.visit::<Decrypt>();
    v.visit::<VerifySignature>();
    v.visit::<MediaEncryptOp>();
    v.visit::<MediaDecryptOp>();
    v.visit::<SecurityCodeOp>();
    v.visit::<EnlistmentRequestOp>();
    v.visit::<PushEndpointOp>();
    v.visit::<GroupSenderKeyOp>();
    v.visit::<GroupProcessSkdmOp>();
    v.visit::<GroupEncryptOp>();
    v.visit::<GroupDecryptOp>();
    v.visit::<TransportConnectOp>();
}

/// A JSON object with no fields: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Every non-2xx answer of an adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// A taxonomy class (`bad_mac`, ...) with status 422, or `unsupported` with status 501.
    #[schemars(schema_with = "error_code_schema")]
    pub error: String,
    /// Free text for the report; never compared.
    #[serde(default)]
    pub detail: String,
}

impl ErrorBody {
    /// The status and body that carry a call error. `None` for transport errors and contract violations, which
    /// only the harness side produces.
    pub fn from_call_error(error: &CallError) -> Option<(u16, Self)> {
        match error {
            CallError::Rejected { class, detail } => Some((
                STATUS_REJECTED,
                Self {
                    error: class.as_str().into(),
                    detail: detail.clone(),
                },
            )),
            CallError::Unsupported { operation } => Some((
                STATUS_UNSUPPORTED,
                Self {
                    error: UNSUPPORTED.into(),
                    detail: operation.clone(),
                },
            )),
            CallError::Transport { .. } | CallError::Violation { .. } => None,
        }
    }
}

fn error_code_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut codes: Vec<&str> = provider::ErrorClass::ALL.iter().map(|c| c.as_str()).collect();
    codes.push(UNSUPPORTED);
    schemars::json_schema!({ "type": "string", "enum": codes })
}

/// `POST /v1/clients` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClientCreated {
    /// The provider's name for the new client; later requests pass it back verbatim.
    pub client: ClientId,
}

/// A request about one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    /// The client, as returned by `POST /v1/clients`.
    pub client: ClientId,
}

/// `POST /v1/process-bundle` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessBundleRequest {
    /// The initiating client.
    pub client: ClientId,
    /// The peer's address (name) the session is for.
    pub peer: String,
    /// The peer's bundle.
    pub bundle: PreKeyBundle,
}

/// `POST /v1/encrypt` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptRequest {
    /// The sending client.
    pub client: ClientId,
    /// The recipient's address.
    pub peer: String,
    /// The plaintext.
    pub plaintext: Bytes,
}

/// `POST /v1/decrypt` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecryptRequest {
    /// The receiving client.
    pub client: ClientId,
    /// The sender's address.
    pub peer: String,
    /// The message.
    pub ciphertext: Ciphertext,
}

/// A decrypted plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Plaintext {
    /// The plaintext.
    pub plaintext: Bytes,
}

/// `POST /v1/verify-signature` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySignatureRequest {
    /// Serialized public key (33 bytes, `0x05 || key`; other lengths are test inputs).
    pub public_key: Bytes,
    /// The signed message.
    pub message: Bytes,
    /// The XEdDSA signature (64 bytes; other lengths are test inputs).
    pub signature: Bytes,
}

/// `POST /v1/verify-signature` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verified {
    /// Whether the signature verifies.
    pub valid: bool,
}

/// `POST /v1/security-code` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecurityCodeResult {
    /// The code, digits only.
    pub code: String,
}

/// Declares one operation: a marker type and its [`Operation`] impl.
macro_rules! operation {
    (
        #[doc = $doc:literal]
        $ty:ident: $method:ident $path:literal, name $name:literal,
        $req:ty => $resp:ty,
        capability |$creq:pat_param| $cap:expr,
        call |$p:ident, $r:ident| $body:expr
    ) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;

        impl Operation for $ty {
            const NAME: &'static str = $name;
            const METHOD: Method = Method::$method;
            const PATH: &'static str = $path;
            const SUMMARY: &'static str = $doc.trim_ascii();
            type Request = $req;
            type Response = $resp;
            fn capability($creq: &Self::Request) -> Option<&'static str> {
                $cap
            }
            fn call<'a>($p: &'a dyn Provider, $r: &'a Self::Request) -> CallFuture<'a, Self::Response> {
                Box::pin(async move { $body })
            }
        }
    };
}

operation! {
    /// What the provider implements: optional operations, profiles, API version.
    GetCapabilities: Get "/v1/capabilities", name "capabilities",
    Empty => Capabilities,
    capability |_| None,
    call |p, _r| p.capabilities().await
}

operation! {
    /// Forget every client and session.
    Reset: Post "/v1/reset", name "reset",
    Empty => Empty,
    capability |_| None,
    call |p, _r| p.reset().await.map(|()| Empty {})
}

operation! {
    /// Create a client with fresh keys, or with imported key material (capability import_keys).
    CreateClientOp: Post "/v1/clients", name "create_client",
    CreateClient => ClientCreated,
    capability |r| r.keys.as_ref().map(|_| "import_keys"),
    call |p, r| p.create_client(r).await.map(|client| ClientCreated { client })
}

operation! {
    /// The client's current prekey bundle, with a one-time prekey while any is left.
    GetPrekeyBundle: Post "/v1/prekey-bundle", name "prekey_bundle",
    ClientRequest => PreKeyBundle,
    capability |_| None,
    call |p, r| p.prekey_bundle(&r.client).await
}

operation! {
    /// Start a session with a peer from its bundle (X3DH as initiator), verifying the signed prekey.
    ProcessBundle: Post "/v1/process-bundle", name "process_bundle",
    ProcessBundleRequest => Empty,
    capability |_| None,
    call |p, r| p.process_bundle(&r.client, &r.peer, &r.bundle).await.map(|()| Empty {})
}

operation! {
    /// Encrypt a plaintext to a peer on the established session.
    Encrypt: Post "/v1/encrypt", name "encrypt",
    EncryptRequest => Ciphertext,
    capability |_| None,
    call |p, r| p.encrypt(&r.client, &r.peer, &r.plaintext).await
}

operation! {
    /// Decrypt a message from a peer; a pkmsg may create the session.
    Decrypt: Post "/v1/decrypt", name "decrypt",
    DecryptRequest => Plaintext,
    capability |_| None,
    call |p, r| p.decrypt(&r.client, &r.peer, &r.ciphertext).await.map(|b| Plaintext { plaintext: b.into() })
}

operation! {
    /// Verify an XEdDSA signature under a serialized public key (capability verify_signature).
    VerifySignature: Post "/v1/verify-signature", name "verify_signature",
    VerifySignatureRequest => Verified,
    capability |_| Some("verify_signature"),
    call |p, r| p.verify_signature(&r.public_key, &r.message, &r.signature).await.map(|valid| Verified { valid })
}

operation! {
    /// Derive media keys from a media key and encrypt a file (capability media).
    MediaEncryptOp: Post "/v1/media/encrypt", name "media_encrypt",
    MediaEncrypt => MediaEncrypted,
    capability |_| Some("media"),
    call |p, r| p.media_encrypt(r).await
}

operation! {
    /// Verify the hashes and MAC of a media blob and decrypt it (capability media).
    MediaDecryptOp: Post "/v1/media/decrypt", name "media_decrypt",
    MediaDecrypt => Plaintext,
    capability |_| Some("media"),
    call |p, r| p.media_decrypt(r).await.map(|b| Plaintext { plaintext: b.into() })
}

operation! {
    /// The numeric security code between two identities (capability security_code).
    SecurityCodeOp: Post "/v1/security-code", name "security_code",
    provider::SecurityCode => SecurityCodeResult,
    capability |_| Some("security_code"),
    call |p, r| p.security_code(r).await.map(|code| SecurityCodeResult { code })
}

operation! {
    /// The form an enlisting client would POST to WhatsApp's enlistment API, and its JWKS URL (capability enlistment).
    EnlistmentRequestOp: Post "/v1/enlistment-request", name "enlistment_request",
    provider::EnlistmentRequest => provider::Enlistment,
    capability |_| Some("enlistment"),
    call |p, r| p.enlistment_request(r).await
}

operation! {
    /// Trust this JWKS for push tokens (instead of WhatsApp's); answer where /push is (capability push).
    PushEndpointOp: Post "/v1/push-endpoint", name "push_endpoint",
    provider::PushConfig => provider::PushEndpoint,
    capability |_| Some("push"),
    call |p, r| p.push_endpoint(r).await
}

operation! {
    /// The client's sender key for a group and its current members, created or rotated as needed: its SKDM (capability groups).
    GroupSenderKeyOp: Post "/v1/groups/sender-key", name "group_sender_key",
    provider::GroupSenderKey => provider::Skdm,
    capability |_| Some("groups"),
    call |p, r| p.group_sender_key(r).await.map(|b| provider::Skdm { skdm: b.into() })
}

operation! {
    /// Install a peer's SKDM, received inside a pairwise message from that peer (capability groups).
    GroupProcessSkdmOp: Post "/v1/groups/process-skdm", name "group_process_skdm",
    provider::GroupProcessSkdm => Empty,
    capability |_| Some("groups"),
    call |p, r| p.group_process_skdm(r).await.map(|()| Empty {})
}

operation! {
    /// Encrypt a group message under the client's current sender key: the skmsg (capability groups).
    GroupEncryptOp: Post "/v1/groups/encrypt", name "group_encrypt",
    provider::GroupEncrypt => provider::Skmsg,
    capability |_| Some("groups"),
    call |p, r| p.group_encrypt(r).await.map(|b| provider::Skmsg { skmsg: b.into() })
}

operation! {
    /// Verify and decrypt a peer's group message (capability groups).
    GroupDecryptOp: Post "/v1/groups/decrypt", name "group_decrypt",
    provider::GroupDecrypt => Plaintext,
    capability |_| Some("groups"),
    call |p, r| p.group_decrypt(r).await.map(|b| Plaintext { plaintext: b.into() })
}

operation! {
    /// Connect an enlisted client to the suite's chat server, hand-shake, send the stanzas, read until the server closes; say what happened (capability transport).
    TransportConnectOp: Post "/v1/transport-connect", name "transport_connect",
    provider::TransportConnect => provider::TransportReport,
    capability |_| Some("transport"),
    call |p, r| p.transport_connect(r).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    struct Collect(Vec<(&'static str, &'static str)>);

    impl OperationVisitor for Collect {
        fn visit<O: Operation>(&mut self) {
            self.0.push((O::NAME, O::PATH));
        }
    }

    #[test]
    fn paths_and_names_are_unique_and_versioned() {
        let mut c = Collect(Vec::new());
        for_each_operation(&mut c);
        let names: BTreeSet<_> = c.0.iter().map(|o| o.0).collect();
        let paths: BTreeSet<_> = c.0.iter().map(|o| o.1).collect();
        assert_eq!(names.len(), c.0.len());
        assert_eq!(paths.len(), c.0.len());
        assert!(c.0.iter().all(|o| o.1.starts_with("/v1/")));
    }

    #[test]
    fn errors_map_to_documented_statuses() {
        let rejected = CallError::rejected(provider::ErrorClass::BadMac, "mac");
        assert_eq!(
            ErrorBody::from_call_error(&rejected).map(|(s, b)| (s, b.error)),
            Some((STATUS_REJECTED, "bad_mac".to_string()))
        );
        let unsupported = CallError::Unsupported {
            operation: "media_encrypt".into(),
        };
        assert_eq!(
            ErrorBody::from_call_error(&unsupported).map(|(s, b)| (s, b.error)),
            Some((STATUS_UNSUPPORTED, UNSUPPORTED.to_string()))
        );
    }
}
