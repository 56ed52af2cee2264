//! A reference provider with one bug planted on top, shared by the test crates that judge how the suite reads
//! a buggy provider (scenarios, verdicts). Each crate uses some of the bugs.
#![allow(dead_code)]

use async_trait::async_trait;
use interop_conformance::provider::{
    CallError, CallResult, Capabilities, Ciphertext, ClientId, CreateClient, Enlistment, EnlistmentRequest, ErrorClass,
    PreKeyBundle, Provider, TransportConnect, TransportReport,
};
use interop_conformance::reference::ReferenceProvider;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A bug planted on top of the correct reference.
#[derive(Clone, Copy, PartialEq)]
pub enum Bug {
    /// Answers a duplicate with the plaintext it cached the first time (RO-ENC-014).
    AcceptDuplicates,
    /// Answers a message whose MAC fails with the last plaintext it produced, as if it skipped the check
    /// (RO-ENC-011).
    SkipMacCheck,
    /// Reports a bad MAC as `invalid_message`: allowed for tampered copies, but not what the reference does.
    RenameBadMac,
    /// Reports every decrypt rejection as `invalid_key`: the behaviour is right, the class names another cause.
    ReclassAsInvalidKey,
    /// Answers "unsupported" (501 over HTTP) to a replay instead of refusing it: opting out of a mandatory
    /// operation for the requests it would fail.
    Selective501,
    /// Refuses the first delivery to each client, as a library that cannot receive a new session.
    FirstDeliveryFails,
    /// Refuses every other client creation: a flaky provider (`run --repeat` flags it).
    FlakyClients,
    /// Not a bug: a Noise client without IK resume (always XX) that does not declare `transport_ik`.
    NoIkResume,
    /// Declares `transport_ik`, but its Noise client always connects with XX.
    ClaimsIkResume,
}

/// Ciphertext body -> plaintext, and the last plaintext produced.
type Seen = (HashMap<Vec<u8>, Vec<u8>>, Vec<u8>);

pub struct Planted {
    inner: ReferenceProvider,
    bug: Bug,
    /// Ciphertext body -> plaintext, and the last plaintext.
    seen: Mutex<Seen>,
    /// Clients that were delivered a message.
    received: Mutex<HashSet<ClientId>>,
    /// Client creations so far.
    clients: std::sync::atomic::AtomicU64,
}

impl Planted {
    /// The reference with `bug` planted.
    pub fn provider(bug: Bug) -> Arc<dyn Provider> {
        let inner = match bug {
            Bug::NoIkResume | Bug::ClaimsIkResume => ReferenceProvider::new().without_ik_resume(),
            _ => ReferenceProvider::new(),
        };
        Arc::new(Self {
            inner,
            bug,
            seen: Mutex::new((HashMap::new(), Vec::new())),
            received: Mutex::default(),
            clients: Default::default(),
        })
    }
}

#[async_trait]
impl Provider for Planted {
    fn target(&self) -> String {
        "test:planted".into()
    }
    async fn capabilities(&self) -> CallResult<Capabilities> {
        let mut capabilities = self.inner.capabilities().await?;
        if self.bug == Bug::ClaimsIkResume {
            capabilities.operations.push("transport_ik".into());
        }
        Ok(capabilities)
    }
    async fn reset(&self) -> CallResult<()> {
        self.inner.reset().await
    }
    async fn create_client(&self, request: &CreateClient) -> CallResult<ClientId> {
        let n = self.clients.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.bug == Bug::FlakyClients && n % 2 == 1 {
            return Err(CallError::rejected(ErrorClass::Internal, "busy"));
        }
        self.inner.create_client(request).await
    }
    async fn prekey_bundle(&self, client: &ClientId) -> CallResult<PreKeyBundle> {
        self.inner.prekey_bundle(client).await
    }
    async fn process_bundle(&self, client: &ClientId, peer: &str, bundle: &PreKeyBundle) -> CallResult<()> {
        self.inner.process_bundle(client, peer, bundle).await
    }
    async fn encrypt(&self, client: &ClientId, peer: &str, plaintext: &[u8]) -> CallResult<Ciphertext> {
        self.inner.encrypt(client, peer, plaintext).await
    }
    async fn decrypt(&self, client: &ClientId, peer: &str, ciphertext: &Ciphertext) -> CallResult<Vec<u8>> {
        if self.bug == Bug::FirstDeliveryFails && self.received.lock().unwrap().insert(client.clone()) {
            return Err(CallError::rejected(
                ErrorClass::InvalidMessage,
                "cannot start a session",
            ));
        }
        let result = self.inner.decrypt(client, peer, ciphertext).await;
        let mut seen = self.seen.lock().unwrap();
        match (&result, self.bug) {
            (Ok(p), _) => {
                seen.0.insert(ciphertext.body.0.clone(), p.clone());
                seen.1 = p.clone();
                result
            }
            (
                Err(CallError::Rejected {
                    class: ErrorClass::Duplicate,
                    ..
                }),
                Bug::AcceptDuplicates,
            ) => seen
                .0
                .get(&ciphertext.body.0)
                .cloned()
                .ok_or_else(|| result.unwrap_err()),
            (
                Err(CallError::Rejected {
                    class: ErrorClass::BadMac,
                    ..
                }),
                Bug::SkipMacCheck,
            ) => Ok(seen.1.clone()),
            (
                Err(CallError::Rejected {
                    class: ErrorClass::BadMac,
                    ..
                }),
                Bug::RenameBadMac,
            ) => Err(CallError::rejected(ErrorClass::InvalidMessage, "renamed")),
            (Err(CallError::Rejected { detail, .. }), Bug::ReclassAsInvalidKey) => {
                Err(CallError::rejected(ErrorClass::InvalidKey, detail.clone()))
            }
            (
                Err(CallError::Rejected {
                    class: ErrorClass::Duplicate,
                    ..
                }),
                Bug::Selective501,
            ) => Err(CallError::Unsupported {
                operation: "decrypt".into(),
            }),
            _ => result,
        }
    }
    async fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> CallResult<bool> {
        self.inner.verify_signature(public_key, message, signature).await
    }
    async fn enlistment_request(&self, request: &EnlistmentRequest) -> CallResult<Enlistment> {
        self.inner.enlistment_request(request).await
    }
    async fn transport_connect(&self, request: &TransportConnect) -> CallResult<TransportReport> {
        self.inner.transport_connect(request).await
    }
}
