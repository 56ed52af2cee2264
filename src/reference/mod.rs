//! The embedded reference provider: wacore-libsignal 0.7 with in-memory stores.
//!
//! Where the crate is laxer than a MUST requirement of the profile, this wrapper enforces the requirement
//! itself, and says so at the place it does:
//! - it deletes a consumed one-time prekey (the crate returns its id and leaves deletion to the caller);
//! - it refuses any message version byte other than `0x33` before parsing (the crate accepts a v4 header);
//! - it refuses serialized public keys that are not exactly 33 bytes (the crate ignores trailing bytes);
//! - it refuses signatures that are not exactly 64 bytes;
//! - it names a too-long forward jump `too_far_in_future` (the crate reports a generic decryption failure).
//!
//! Planted bugs ([`Fault`]) live in `faulty.rs`, which wraps this correct path and is called only when a switch
//! is on; `chain.rs` holds the direct ratchet-chain edits they and the vector generator need.
//! - it refuses low-order (small-subgroup) public keys wherever they would enter a Diffie-Hellman: bundle keys,
//!   the base key and ratchet keys of messages. The crate computes the all-zero shared secret and carries on
//!   (a pkmsg with a low-order ratchet key and a MAC made from that zero secret decrypts); RFC 7748 section 6.1
//!   allows the check and this profile requires it (RO-ENC-002);
//! - it refuses key fields of messages longer than 33 bytes (RO-ID-007A) and an inner WhisperMessage of a
//!   pkmsg whose version is not 3 (the crate reads past both).
//!
//! These message checks run on the raw protobuf ([`crate::wire`]) in `strict.rs`, before the crate parses.
//!
//! Groups (Sender Keys) go through the crate's group API in `groups.rs`, with its own strictness fixes listed
//! there (exact 0x33 version byte, rotation when a member leaves, a new key id on rotation).

mod chain;
mod faults;
mod faulty;
mod faulty_groups;
mod groups;
mod keylog;
pub(crate) mod media;
mod noise_client;
pub(crate) mod security_code;
mod signature;
mod stores;
mod strict;

pub use faults::{Fault, Faults, GROUPS_PROFILE};
pub(crate) use groups::SenderKeys;

use crate::provider::{
    CallError, CallResult, Capabilities, Ciphertext, CiphertextKind, ClientId, CreateClient, Enlistment,
    EnlistmentRequest, ErrorClass, GroupDecrypt, GroupEncrypt, GroupProcessSkdm, GroupSenderKey, KeyMaterial,
    MediaDecrypt, MediaEncrypt, MediaEncrypted, PreKeyBundle, Provider, PushConfig, PushEndpoint, SecurityCode,
    TransportConnect, TransportReport,
};
use async_trait::async_trait;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use stores::{Identities, PreKeys, Sessions, SignedPreKeys};
use wacore_libsignal::protocol::consts::MAX_FORWARD_JUMPS;
use wacore_libsignal::protocol::{
    self as signal, CiphertextMessage, DeviceId, GenericSignedPreKey, IdentityKey, IdentityKeyPair, KeyPair, PreKeyId,
    PreKeyRecord, PreKeySignalMessage, PrivateKey, ProtocolAddress, PublicKey, SignalMessage, SignalProtocolError,
    SignedPreKeyId, SignedPreKeyRecord, Timestamp, UsePQRatchet,
};

/// One user with one device, and everything it stores.
struct Client {
    name: String,
    identities: Identities,
    prekeys: PreKeys,
    signed_prekeys: SignedPreKeys,
    sessions: Sessions,
    signed_prekey_id: SignedPreKeyId,
    /// One-time prekeys already handed out in a bundle (each goes to one fetch only, as a server hands them out).
    handed_out: std::collections::BTreeSet<u32>,
    rng: keylog::LoggingRng,
    /// State kept only by planted faults (empty on the correct path).
    faulty: faulty::Memory,
    /// Noise static key pair (the enlistment `authkey`), made on first enlistment.
    noise_static: Option<KeyPair>,
    /// The Partner JWT of the last enlistment, sent in the Noise ClientPayload.
    noise_token: Option<String>,
    /// What the Noise client remembers of the chat server between connections (IK resume).
    noise_resume: noise_client::Resume,
    /// Sender keys (group messaging).
    groups: groups::Groups,
}

/// The reference implementation, in-process.
pub struct ReferenceProvider {
    clients: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Client>>>>,
    next_id: AtomicU64,
    /// Planted bugs; empty for the real reference.
    faults: Faults,
    /// Token issuer, JWKS and push endpoint (started on first use).
    signature: signature::SignatureService,
    /// The harness peer only: where its private keys go for the wire monitor.
    key_log: Option<Arc<crate::monitor::KeyLog>>,
    /// Whether its Noise client resumes with IK (and declares `transport_ik`); IK is optional (RO-TRANSPORT-021).
    ik_resume: bool,
}

impl Default for ReferenceProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl ReferenceProvider {
    /// A reference provider with no clients.
    pub fn new() -> Self {
        Self::with_faults(Faults::none())
    }

    /// A reference provider with planted bugs (for `selftest` and `--fault`).
    pub fn with_faults(faults: Faults) -> Self {
        Self {
            clients: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            faults,
            signature: signature::SignatureService::default(),
            key_log: None,
            ik_resume: true,
        }
    }

    /// The optional operations it implements (its capabilities' `operations`).
    fn operations(&self) -> Vec<String> {
        let mut ops: Vec<String> = [
            "import_keys",
            "verify_signature",
            "media",
            "security_code",
            "enlistment",
            "push",
            "groups",
            "transport",
        ]
        .map(String::from)
        .to_vec();
        if self.ik_resume {
            ops.push("transport_ik".into());
        }
        ops
    }

    /// The same reference as a client without IK resume, like most open clients: it always connects with XX and
    /// does not declare `transport_ik`, so RO-TRANSPORT-021/022 do not apply to it.
    pub fn without_ik_resume(mut self) -> Self {
        self.ik_resume = false;
        self
    }

    /// The harness's reference peer: a correct reference that logs every private key it makes into `log`.
    pub fn harness_peer(log: Arc<crate::monitor::KeyLog>) -> Self {
        Self {
            key_log: Some(log),
            ..Self::new()
        }
    }

    /// Vector generation: make the next message `client` sends to `peer` carry `counter`, without encrypting the
    /// messages before it (see [`chain`]).
    pub(crate) async fn skip_to_counter(&self, client: &ClientId, peer: &str, counter: u32) -> CallResult<()> {
        let client = self.client(client)?;
        let mut client = client.lock().await;
        let record = client
            .sessions
            .0
            .get_mut(&address(peer))
            .ok_or_else(|| CallError::rejected(ErrorClass::NoSession, format!("no session with {peer}")))?;
        chain::advance_sender_chain(record, counter).map_err(reject)
    }

    /// Identifiers woken by accepted push calls so far.
    pub fn push_wakeups(&self) -> Vec<String> {
        self.signature.wakeups()
    }

    fn client(&self, id: &ClientId) -> CallResult<Arc<tokio::sync::Mutex<Client>>> {
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .get(&id.0)
            .cloned()
            .ok_or_else(|| CallError::rejected(ErrorClass::InvalidArgument, format!("unknown client {id}")))
    }
}

fn address(name: &str) -> ProtocolAddress {
    ProtocolAddress::new(name, DeviceId::from(1))
}

/// Map the crate's errors onto the suite's taxonomy. Exhaustive on purpose: a new variant must be placed.
pub fn classify(error: &SignalProtocolError) -> ErrorClass {
    use SignalProtocolError as E;
    match error {
        E::BadMac(_) | E::InvalidMacKeyLength(_) => ErrorClass::BadMac,
        E::SignatureValidationFailed => ErrorClass::BadSignature,
        E::DuplicatedMessage(..) => ErrorClass::Duplicate,
        E::UntrustedIdentity(_) => ErrorClass::UntrustedIdentity,
        E::NoKeyTypeIdentifier | E::BadKeyType(_) | E::BadKeyLength(..) | E::KeyAgreementFailed(_) => {
            ErrorClass::InvalidKey
        }
        E::InvalidProtobufEncoding | E::CiphertextMessageTooShort(_) => ErrorClass::InvalidMessage,
        E::LegacyCiphertextVersion(_) | E::UnrecognizedCiphertextVersion(_) | E::UnrecognizedMessageVersion(_) => {
            ErrorClass::InvalidVersion
        }
        E::SessionNotFound(_) | E::NoSenderKeyState(_) | E::InvalidSenderKeySession => ErrorClass::NoSession,
        E::InvalidPreKeyId => ErrorClass::InvalidPrekey,
        E::InvalidSignedPreKeyId => ErrorClass::InvalidSignedPrekey,
        // The crate reports these as free text inside InvalidMessage.
        E::InvalidMessage(_, text) if text.contains("too far into the future") => ErrorClass::TooFarInFuture,
        E::InvalidMessage(_, text) if text.contains("No session") => ErrorClass::NoSession,
        E::InvalidMessage(..) | E::InvalidSessionStructure(_) | E::InvalidRegistrationId(..) => {
            ErrorClass::InvalidMessage
        }
        E::InvalidArgument(_) | E::InvalidState(..) => ErrorClass::InvalidArgument,
        _ => ErrorClass::Internal,
    }
}

fn reject(error: SignalProtocolError) -> CallError {
    CallError::rejected(classify(&error), error.to_string())
}

/// A serialized public key, exactly `0x05 || 32 bytes`. The crate tolerates trailing bytes; RO-ID-007 says
/// receivers SHOULD refuse them, so the reference does.
fn public_key(bytes: &[u8], what: &str) -> CallResult<PublicKey> {
    if bytes.len() > PublicKey::SERIALIZED_KEY_LEN {
        return Err(CallError::rejected(
            ErrorClass::InvalidKey,
            format!("{what}: {} bytes, expected 33", bytes.len()),
        ));
    }
    PublicKey::deserialize(bytes).map_err(|e| reject(e.into()))
}

fn private_key(bytes: &[u8], what: &str) -> CallResult<PrivateKey> {
    PrivateKey::deserialize(bytes).map_err(|e| CallError::rejected(ErrorClass::InvalidArgument, format!("{what}: {e}")))
}

fn key_pair(private: &[u8], what: &str) -> CallResult<KeyPair> {
    let private = private_key(private, what)?;
    KeyPair::try_from(private).map_err(|e| CallError::rejected(ErrorClass::InvalidArgument, format!("{what}: {e}")))
}

impl Client {
    fn generate(name: &str, rng: &mut keylog::LoggingRng) -> CallResult<Self> {
        let identity = IdentityKeyPair::generate(rng);
        let signed = KeyPair::generate(rng);
        let signature = identity
            .private_key()
            .calculate_signature(&signed.public_key.serialize(), rng)
            .map_err(|e| CallError::rejected(ErrorClass::Internal, e.to_string()))?;
        let registration_id = rand::RngExt::random::<u32>(rng) & 0x3fff;
        let prekeys = (1..=4)
            .map(|id| (id, KeyPair::generate(rng)))
            .map(|(id, pair)| (PreKeyId::from(id), PreKeyRecord::new(PreKeyId::from(id), &pair)))
            .collect();
        Ok(Self::assemble(
            name,
            identity,
            registration_id,
            1,
            &signed,
            &signature,
            PreKeys(prekeys),
        ))
    }

    fn import(name: &str, keys: &KeyMaterial) -> CallResult<Self> {
        let private = private_key(&keys.identity_private, "identity_private")?;
        let public = private
            .public_key()
            .map_err(|e| CallError::rejected(ErrorClass::InvalidArgument, format!("identity_private: {e}")))?;
        let identity = IdentityKeyPair::new(IdentityKey::new(public), private);
        let signed = key_pair(&keys.signed_prekey_private, "signed_prekey_private")?;
        let mut prekeys = PreKeys::default();
        for p in &keys.prekeys {
            let pair = key_pair(&p.private, "prekeys[].private")?;
            prekeys
                .0
                .insert(PreKeyId::from(p.id), PreKeyRecord::new(PreKeyId::from(p.id), &pair));
        }
        Ok(Self::assemble(
            name,
            identity,
            keys.registration_id,
            keys.signed_prekey_id,
            &signed,
            &keys.signed_prekey_signature,
            prekeys,
        ))
    }

    fn assemble(
        name: &str,
        identity: IdentityKeyPair,
        registration_id: u32,
        signed_prekey_id: u32,
        signed: &KeyPair,
        signature: &[u8],
        prekeys: PreKeys,
    ) -> Self {
        let id = SignedPreKeyId::from(signed_prekey_id);
        let record = SignedPreKeyRecord::new(id, Timestamp::from_epoch_millis(0), signed, signature);
        let mut signed_prekeys = SignedPreKeys::default();
        signed_prekeys.0.insert(id, record);
        Self {
            name: name.to_string(),
            identities: Identities {
                own: identity,
                registration_id,
                peers: HashMap::new(),
                trust_changed_identities: false,
            },
            prekeys,
            signed_prekeys,
            sessions: Sessions::default(),
            signed_prekey_id: id,
            handed_out: Default::default(),
            rng: keylog::LoggingRng {
                inner: StdRng::seed_from_u64(0),
                log: None,
            },
            faulty: faulty::Memory::default(),
            noise_static: None,
            noise_token: None,
            noise_resume: noise_client::Resume::default(),
            groups: groups::Groups::default(),
        }
    }

    /// The bundle, with the lowest one-time prekey not handed out before (`reuse`: the lowest not yet consumed,
    /// the planted fault hand-out-prekey-twice).
    fn bundle(&mut self, reuse: bool) -> CallResult<PreKeyBundle> {
        let signed = self
            .signed_prekeys
            .0
            .get(&self.signed_prekey_id)
            .ok_or_else(|| CallError::rejected(ErrorClass::Internal, "signed prekey missing"))?;
        let signed_public = signed.public_key().map_err(reject)?;
        let signature = signed.signature().map_err(reject)?;
        let handed_out = &self.handed_out;
        let prekey = self
            .prekeys
            .0
            .iter()
            .filter(|(id, _)| reuse || !handed_out.contains(&u32::from(**id)))
            .min_by_key(|(id, _)| u32::from(**id));
        if let Some((id, _)) = prekey {
            self.handed_out.insert(u32::from(*id));
        }
        let (prekey_id, prekey) = match prekey {
            Some((id, record)) => (
                Some(u32::from(*id)),
                Some(record.public_key().map_err(reject)?.serialize().to_vec().into()),
            ),
            None => (None, None),
        };
        Ok(PreKeyBundle {
            registration_id: self.identities.registration_id,
            identity_key: self.identities.own.identity_key().serialize().to_vec().into(),
            signed_prekey_id: u32::from(self.signed_prekey_id),
            signed_prekey: signed_public.serialize().to_vec().into(),
            signed_prekey_signature: signature.to_vec().into(),
            prekey_id,
            prekey,
        })
    }

    async fn process_bundle(&mut self, peer: &str, bundle: &PreKeyBundle) -> CallResult<()> {
        let identity = IdentityKey::new(public_key(&bundle.identity_key, "identity_key")?);
        let signed = public_key(&bundle.signed_prekey, "signed_prekey")?;
        strict::agreement_key(&bundle.identity_key, "identity_key")?;
        strict::agreement_key(&bundle.signed_prekey, "signed_prekey")?;
        if bundle.signed_prekey_signature.len() != 64 {
            return Err(CallError::rejected(
                ErrorClass::BadSignature,
                format!("signature of {} bytes", bundle.signed_prekey_signature.len()),
            ));
        }
        let prekey = match (bundle.prekey_id, &bundle.prekey) {
            (Some(id), Some(key)) => {
                let parsed = public_key(key, "prekey")?;
                strict::agreement_key(key, "prekey")?;
                Some((PreKeyId::from(id), parsed))
            }
            (None, None) => None,
            _ => {
                return Err(CallError::rejected(
                    ErrorClass::InvalidArgument,
                    "prekey_id and prekey must come together",
                ));
            }
        };
        let bundle = signal::PreKeyBundle::new(
            bundle.registration_id,
            DeviceId::from(1),
            prekey,
            SignedPreKeyId::from(bundle.signed_prekey_id),
            signed,
            bundle.signed_prekey_signature.to_vec(),
            identity,
        )
        .map_err(reject)?;
        signal::process_prekey_bundle(
            &address(peer),
            &mut self.sessions,
            &mut self.identities,
            &bundle,
            &mut self.rng,
            UsePQRatchet::No,
        )
        .await
        .map_err(reject)?;
        Ok(())
    }

    async fn encrypt(&mut self, peer: &str, plaintext: &[u8]) -> CallResult<Ciphertext> {
        let message = signal::message_encrypt(plaintext, &address(peer), &mut self.sessions, &mut self.identities)
            .await
            .map_err(reject)?;
        let kind = match &message {
            CiphertextMessage::PreKeySignalMessage(_) => CiphertextKind::Pkmsg,
            CiphertextMessage::SignalMessage(_) => CiphertextKind::Msg,
            _ => return Err(CallError::rejected(ErrorClass::Internal, "unexpected message type")),
        };
        Ok(Ciphertext {
            kind,
            body: message.serialize().to_vec().into(),
        })
    }

    /// The crate folds "too far into the future" into a generic "decryption failed" once it has tried every
    /// stored session; name it again (RO-ENC-015) when the current session's chain shows the jump is too long.
    fn decrypt_error(&self, peer: &str, message: &CiphertextMessage, error: SignalProtocolError) -> CallError {
        let inner = match message {
            CiphertextMessage::SignalMessage(m) => Some(m),
            CiphertextMessage::PreKeySignalMessage(m) => Some(m.message()),
            _ => None,
        };
        let jump = inner.and_then(|m| {
            let record = self.sessions.0.get(&address(peer))?;
            chain::forward_jump(record, m.sender_ratchet_key(), m.counter())
        });
        match (&error, jump) {
            (SignalProtocolError::InvalidMessage(..), Some(jump)) if jump as usize > MAX_FORWARD_JUMPS => {
                CallError::rejected(
                    ErrorClass::TooFarInFuture,
                    format!("counter is {jump} ahead of the receiving chain (bound {MAX_FORWARD_JUMPS})"),
                )
            }
            _ => reject(error),
        }
    }

    async fn decrypt(&mut self, peer: &str, ciphertext: &Ciphertext) -> CallResult<Vec<u8>> {
        let body = ciphertext.body.as_slice();
        strict::precheck(ciphertext.kind, body)?;
        let message = match ciphertext.kind {
            CiphertextKind::Pkmsg => {
                CiphertextMessage::PreKeySignalMessage(PreKeySignalMessage::try_from(body).map_err(reject)?)
            }
            CiphertextKind::Msg => CiphertextMessage::SignalMessage(SignalMessage::try_from(body).map_err(reject)?),
        };
        let result = signal::message_decrypt(
            &message,
            &address(peer),
            &mut self.sessions,
            &mut self.identities,
            &mut self.prekeys,
            &self.signed_prekeys,
            &mut self.rng,
            UsePQRatchet::No,
        )
        .await
        .map_err(|e| self.decrypt_error(peer, &message, e))?;
        // RO-ENC-005: the crate leaves deleting a consumed one-time prekey to the caller.
        if let Some(id) = result.consumed_prekey_id {
            self.prekeys.0.remove(&id);
        }
        Ok(result.plaintext)
    }
}

#[async_trait]
impl Provider for ReferenceProvider {
    fn target(&self) -> String {
        "embedded:reference".into()
    }

    async fn capabilities(&self) -> CallResult<Capabilities> {
        Ok(Capabilities {
            implementation: format!(
                "interop-conformance reference (wacore-libsignal 0.7) {}",
                env!("CARGO_PKG_VERSION")
            ),
            api_version: "v1".into(),
            profiles: vec!["whatsapp-ro-2024".into(), GROUPS_PROFILE.into()],
            operations: self.operations(),
        })
    }

    fn declares(&self, capability: &str) -> bool {
        self.operations().iter().any(|o| o == capability)
    }

    async fn reset(&self) -> CallResult<()> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).clear();
        Ok(())
    }

    async fn create_client(&self, request: &CreateClient) -> CallResult<ClientId> {
        let inner = match request.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng::<StdRng>(),
        };
        let mut rng = keylog::LoggingRng {
            inner,
            log: self.key_log.clone(),
        };
        let mut client = match &request.keys {
            Some(keys) => {
                if let Some(log) = &self.key_log {
                    log.record(&keys.identity_private);
                    log.record(&keys.signed_prekey_private);
                    keys.prekeys.iter().for_each(|p| log.record(&p.private));
                }
                Client::import(&request.name, keys)?
            }
            None => Client::generate(&request.name, &mut rng)?,
        };
        client.rng = rng;
        if !self.faults.is_empty() {
            faulty::configure(&mut client, &self.faults);
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n}", client.name);
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Arc::new(tokio::sync::Mutex::new(client)));
        Ok(ClientId(id))
    }

    async fn prekey_bundle(&self, client: &ClientId) -> CallResult<PreKeyBundle> {
        let reuse = self.faults.has(Fault::HandOutPrekeyTwice);
        self.client(client)?.lock().await.bundle(reuse)
    }

    async fn process_bundle(&self, client: &ClientId, peer: &str, bundle: &PreKeyBundle) -> CallResult<()> {
        let client = self.client(client)?;
        let mut client = client.lock().await;
        if self.faults.is_empty() {
            client.process_bundle(peer, bundle).await
        } else {
            faulty::process_bundle(&mut client, &self.faults, peer, bundle).await
        }
    }

    async fn encrypt(&self, client: &ClientId, peer: &str, plaintext: &[u8]) -> CallResult<Ciphertext> {
        let client = self.client(client)?;
        let mut client = client.lock().await;
        if self.faults.is_empty() {
            client.encrypt(peer, plaintext).await
        } else {
            faulty::encrypt(&mut client, &self.faults, peer, plaintext).await
        }
    }

    async fn decrypt(&self, client: &ClientId, peer: &str, ciphertext: &Ciphertext) -> CallResult<Vec<u8>> {
        let client = self.client(client)?;
        let mut client = client.lock().await;
        if self.faults.is_empty() {
            client.decrypt(peer, ciphertext).await
        } else {
            faulty::decrypt(&mut client, &self.faults, peer, ciphertext).await
        }
    }

    async fn enlistment_request(&self, request: &EnlistmentRequest) -> CallResult<Enlistment> {
        let client = self.client(&request.client)?;
        let mut client = client.lock().await;
        self.signature
            .enlistment(&self.faults, &mut client, &request.identifier)
            .await
    }

    async fn transport_connect(&self, request: &TransportConnect) -> CallResult<TransportReport> {
        // One connection per client at a time: the lock is held across the connection, so the resume state it
        // reads and updates stays consistent.
        let client = self.client(&request.client)?;
        let mut client = client.lock().await;
        let (Some(pair), Some(token)) = (&client.noise_static, &client.noise_token) else {
            return Err(CallError::rejected(
                ErrorClass::InvalidArgument,
                "the client has not enlisted: no authkey or token yet",
            ));
        };
        let static_private: [u8; 32] = pair
            .private_key
            .serialize()
            .as_slice()
            .try_into()
            .map_err(|_| CallError::rejected(ErrorClass::Internal, "authkey private key is not 32 bytes"))?;
        let static_public: [u8; 32] = pair
            .public_key
            .public_key_bytes()
            .try_into()
            .map_err(|_| CallError::rejected(ErrorClass::Internal, "authkey public key is not 32 bytes"))?;
        let token = token.clone();
        let mut ephemeral = [0u8; 32];
        rand::Rng::fill_bytes(&mut client.rng, &mut ephemeral);
        let credential = noise_client::Credential {
            static_private,
            static_public,
            token,
            ephemeral,
        };
        if !self.ik_resume {
            client.noise_resume = noise_client::Resume::default();
        }
        noise_client::connect(request, &credential, &mut client.noise_resume, &self.faults).await
    }

    async fn push_endpoint(&self, config: &PushConfig) -> CallResult<PushEndpoint> {
        self.signature.push_endpoint(&self.faults, config).await
    }

    async fn verify_signature(&self, public_key_bytes: &[u8], message: &[u8], signature: &[u8]) -> CallResult<bool> {
        let key = public_key(public_key_bytes, "public_key")?;
        if signature.len() != 64 {
            return Ok(false);
        }
        if self.faults.has(Fault::XeddsaMaskSTopBits) {
            // Planted bug: bits 253 and 254 of s are cleared rather than refused (RO-SIG-001). Bit 255 carries
            // the Edwards sign bit in XEdDSA and is left alone.
            let mut masked = signature.to_vec();
            masked[63] &= 0x9f;
            return Ok(key.verify_signature(message, &masked));
        }
        Ok(key.verify_signature(message, signature))
    }

    async fn media_encrypt(&self, request: &MediaEncrypt) -> CallResult<MediaEncrypted> {
        media::encrypt(request, &self.faults)
    }

    async fn media_decrypt(&self, request: &MediaDecrypt) -> CallResult<Vec<u8>> {
        media::decrypt(request, &self.faults)
    }

    async fn security_code(&self, request: &SecurityCode) -> CallResult<String> {
        security_code::security_code(request, &self.faults)
    }

    async fn group_sender_key(&self, request: &GroupSenderKey) -> CallResult<Vec<u8>> {
        let client = self.client(&request.client)?;
        let mut client = client.lock().await;
        if self.faults.is_empty() {
            groups::sender_key(&mut client, request).await
        } else {
            faulty_groups::sender_key(&mut client, &self.faults, request).await
        }
    }

    async fn group_process_skdm(&self, request: &GroupProcessSkdm) -> CallResult<()> {
        let client = self.client(&request.client)?;
        let mut client = client.lock().await;
        if self.faults.is_empty() {
            groups::process_skdm(&mut client, request).await
        } else {
            faulty_groups::process_skdm(&mut client, &self.faults, request).await
        }
    }

    async fn group_encrypt(&self, request: &GroupEncrypt) -> CallResult<Vec<u8>> {
        let client = self.client(&request.client)?;
        let mut client = client.lock().await;
        if self.faults.is_empty() {
            groups::encrypt(&mut client, request).await
        } else {
            faulty_groups::encrypt(&mut client, &self.faults, request).await
        }
    }

    async fn group_decrypt(&self, request: &GroupDecrypt) -> CallResult<Vec<u8>> {
        let client = self.client(&request.client)?;
        let mut client = client.lock().await;
        if self.faults.is_empty() {
            groups::decrypt(&mut client, request).await
        } else {
            faulty_groups::decrypt(&mut client, &self.faults, request).await
        }
    }
}
