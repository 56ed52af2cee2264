//! The capability contract, enforced around any provider for a whole run: `unsupported` only ever comes from
//! an optional operation the provider left out of `operations` when asked for its capabilities.
//!
//! - A mandatory operation (client creation with fresh keys, bundles, encrypt, decrypt) answering unsupported
//!   (HTTP 501) is a [`CallError::Violation`]: the case fails. An adapter cannot opt out of a mandatory operation,
//!   for all requests or for some (a replayed ciphertext, say).
//! - An advertised optional operation answering unsupported for a request is an `error` for that case.
//! - An optional operation not advertised is `unsupported` without a call.

use super::{
    CallError, CallResult, Capabilities, Ciphertext, ClientId, CreateClient, Enlistment, EnlistmentRequest,
    GroupDecrypt, GroupEncrypt, GroupProcessSkdm, GroupSenderKey, MediaDecrypt, MediaEncrypt, MediaEncrypted,
    PreKeyBundle, Provider, PushConfig, PushEndpoint, SecurityCode, TransportConnect, TransportReport,
};
use async_trait::async_trait;
use std::sync::Arc;

/// A provider held to the capabilities it advertised.
pub struct Contract {
    inner: Arc<dyn Provider>,
    advertised: Vec<String>,
}

impl Contract {
    /// Hold `inner` to `advertised` (its `operations` at capability time).
    pub fn new(inner: Arc<dyn Provider>, advertised: Vec<String>) -> Self {
        Self { inner, advertised }
    }

    fn mandatory<T>(operation: &str, result: CallResult<T>) -> CallResult<T> {
        match result {
            Err(CallError::Unsupported { .. }) => Err(CallError::Violation {
                message: format!(
                    "answered unsupported (501) to the mandatory operation `{operation}`; a provider cannot opt out of it"
                ),
            }),
            other => other,
        }
    }

    /// Run an optional operation needing `capability`, or answer unsupported when it was not advertised.
    async fn optional<T>(
        &self,
        capability: &str,
        operation: &str,
        call: impl std::future::Future<Output = CallResult<T>>,
    ) -> CallResult<T> {
        if !self.advertised.iter().any(|a| a == capability) {
            return Err(CallError::Unsupported {
                operation: operation.into(),
            });
        }
        match call.await {
            Err(CallError::Unsupported { .. }) => Err(CallError::Transport {
                message: format!(
                    "`{operation}` answered unsupported (501) although `{capability}` was advertised: \
                     an advertised operation cannot be refused for some requests"
                ),
            }),
            other => other,
        }
    }
}

#[async_trait]
impl Provider for Contract {
    fn target(&self) -> String {
        self.inner.target()
    }

    fn sanitizer(&self) -> crate::sanitize::Sanitizer {
        self.inner.sanitizer()
    }

    fn allowed_hosts(&self) -> crate::signature::http::HostPolicy {
        self.inner.allowed_hosts()
    }

    fn declares(&self, capability: &str) -> bool {
        self.advertised.iter().any(|a| a == capability)
    }

    async fn capabilities(&self) -> CallResult<Capabilities> {
        self.inner.capabilities().await
    }

    async fn reset(&self) -> CallResult<()> {
        self.inner.reset().await
    }

    async fn create_client(&self, request: &CreateClient) -> CallResult<ClientId> {
        match request.keys {
            Some(_) => {
                self.optional("import_keys", "create_client", self.inner.create_client(request))
                    .await
            }
            None => Self::mandatory("create_client", self.inner.create_client(request).await),
        }
    }

    async fn prekey_bundle(&self, client: &ClientId) -> CallResult<PreKeyBundle> {
        Self::mandatory("prekey_bundle", self.inner.prekey_bundle(client).await)
    }

    async fn process_bundle(&self, client: &ClientId, peer: &str, bundle: &PreKeyBundle) -> CallResult<()> {
        Self::mandatory("process_bundle", self.inner.process_bundle(client, peer, bundle).await)
    }

    async fn encrypt(&self, client: &ClientId, peer: &str, plaintext: &[u8]) -> CallResult<Ciphertext> {
        Self::mandatory("encrypt", self.inner.encrypt(client, peer, plaintext).await)
    }

    async fn decrypt(&self, client: &ClientId, peer: &str, ciphertext: &Ciphertext) -> CallResult<Vec<u8>> {
        Self::mandatory("decrypt", self.inner.decrypt(client, peer, ciphertext).await)
    }

    async fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> CallResult<bool> {
        let call = self.inner.verify_signature(public_key, message, signature);
        self.optional("verify_signature", "verify_signature", call).await
    }

    async fn media_encrypt(&self, request: &MediaEncrypt) -> CallResult<MediaEncrypted> {
        self.optional("media", "media_encrypt", self.inner.media_encrypt(request))
            .await
    }

    async fn media_decrypt(&self, request: &MediaDecrypt) -> CallResult<Vec<u8>> {
        self.optional("media", "media_decrypt", self.inner.media_decrypt(request))
            .await
    }

    async fn enlistment_request(&self, request: &EnlistmentRequest) -> CallResult<Enlistment> {
        self.optional(
            "enlistment",
            "enlistment_request",
            self.inner.enlistment_request(request),
        )
        .await
    }

    async fn push_endpoint(&self, config: &PushConfig) -> CallResult<PushEndpoint> {
        self.optional("push", "push_endpoint", self.inner.push_endpoint(config))
            .await
    }

    async fn security_code(&self, request: &SecurityCode) -> CallResult<String> {
        self.optional("security_code", "security_code", self.inner.security_code(request))
            .await
    }

    async fn group_sender_key(&self, request: &GroupSenderKey) -> CallResult<Vec<u8>> {
        self.optional("groups", "group_sender_key", self.inner.group_sender_key(request))
            .await
    }

    async fn group_process_skdm(&self, request: &GroupProcessSkdm) -> CallResult<()> {
        self.optional("groups", "group_process_skdm", self.inner.group_process_skdm(request))
            .await
    }

    async fn group_encrypt(&self, request: &GroupEncrypt) -> CallResult<Vec<u8>> {
        self.optional("groups", "group_encrypt", self.inner.group_encrypt(request))
            .await
    }

    async fn group_decrypt(&self, request: &GroupDecrypt) -> CallResult<Vec<u8>> {
        self.optional("groups", "group_decrypt", self.inner.group_decrypt(request))
            .await
    }

    async fn transport_connect(&self, request: &TransportConnect) -> CallResult<TransportReport> {
        self.optional("transport", "transport_connect", self.inner.transport_connect(request))
            .await
    }
}
