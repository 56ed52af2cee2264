//! The benches' baseline: wacore-libsignal called directly, with minimal in-memory stores (no harness, no
//! trait objects, no judging), so that a bench can print the harness's rate beside the raw library's.
#![allow(dead_code)]

use async_trait::async_trait;
use rand::rngs::StdRng;
use std::collections::HashMap;
use wacore_libsignal::protocol::*;

type R<T> = Result<T, SignalProtocolError>;

pub struct Ids(IdentityKeyPair, HashMap<ProtocolAddress, IdentityKey>);
#[async_trait]
impl IdentityKeyStore for Ids {
    async fn get_identity_key_pair(&self) -> R<IdentityKeyPair> {
        Ok(self.0.clone())
    }
    async fn get_local_registration_id(&self) -> R<u32> {
        Ok(1)
    }
    async fn save_identity(&mut self, a: &ProtocolAddress, k: &IdentityKey) -> R<IdentityChange> {
        self.1.insert(a.clone(), *k);
        Ok(IdentityChange::NewOrUnchanged)
    }
    async fn is_trusted_identity(&self, _: &ProtocolAddress, _: &IdentityKey, _: Direction) -> R<bool> {
        Ok(true)
    }
    async fn get_identity(&self, a: &ProtocolAddress) -> R<Option<IdentityKey>> {
        Ok(self.1.get(a).copied())
    }
}
#[derive(Default)]
pub struct Pre(HashMap<PreKeyId, PreKeyRecord>);
#[async_trait]
impl PreKeyStore for Pre {
    async fn get_pre_key(&self, id: PreKeyId) -> R<PreKeyRecord> {
        self.0.get(&id).cloned().ok_or(SignalProtocolError::InvalidPreKeyId)
    }
    async fn save_pre_key(&mut self, id: PreKeyId, r: &PreKeyRecord) -> R<()> {
        self.0.insert(id, r.clone());
        Ok(())
    }
    async fn remove_pre_key(&mut self, id: PreKeyId) -> R<()> {
        self.0.remove(&id);
        Ok(())
    }
}
#[derive(Default)]
pub struct Signed(HashMap<SignedPreKeyId, SignedPreKeyRecord>);
#[async_trait]
impl SignedPreKeyStore for Signed {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> R<SignedPreKeyRecord> {
        self.0
            .get(&id)
            .cloned()
            .ok_or(SignalProtocolError::InvalidSignedPreKeyId)
    }
    async fn save_signed_pre_key(&mut self, id: SignedPreKeyId, r: &SignedPreKeyRecord) -> R<()> {
        self.0.insert(id, r.clone());
        Ok(())
    }
}
#[derive(Default)]
pub struct Sessions(HashMap<ProtocolAddress, SessionRecord>);
#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, a: &ProtocolAddress) -> R<Option<SessionRecord>> {
        Ok(self.0.get(a).cloned())
    }
    async fn has_session(&self, a: &ProtocolAddress) -> R<bool> {
        Ok(self.0.contains_key(a))
    }
    async fn store_session(&mut self, a: &ProtocolAddress, r: SessionRecord) -> R<()> {
        self.0.insert(a.clone(), r);
        Ok(())
    }
}

pub struct Party {
    ids: Ids,
    pre: Pre,
    signed: Signed,
    sessions: Sessions,
    addr: ProtocolAddress,
}

fn party(rng: &mut StdRng, name: &str) -> (Party, PreKeyBundle) {
    let identity = IdentityKeyPair::generate(rng);
    let spk = KeyPair::generate(rng);
    let otk = KeyPair::generate(rng);
    let sig = identity
        .private_key()
        .calculate_signature(&spk.public_key.serialize(), rng)
        .unwrap();
    let mut signed = Signed::default();
    signed.0.insert(
        SignedPreKeyId::from(1),
        SignedPreKeyRecord::new(SignedPreKeyId::from(1), Timestamp::from_epoch_millis(0), &spk, &sig),
    );
    let mut pre = Pre::default();
    pre.0
        .insert(PreKeyId::from(1), PreKeyRecord::new(PreKeyId::from(1), &otk));
    let bundle = PreKeyBundle::new(
        1,
        DeviceId::from(1),
        Some((PreKeyId::from(1), otk.public_key)),
        SignedPreKeyId::from(1),
        spk.public_key,
        sig.to_vec(),
        *identity.identity_key(),
    )
    .unwrap();
    let p = Party {
        ids: Ids(identity, HashMap::new()),
        pre,
        signed,
        sessions: Sessions::default(),
        addr: ProtocolAddress::new(name, DeviceId::from(1)),
    };
    (p, bundle)
}

async fn send(from: &mut Party, to: &ProtocolAddress, text: &[u8]) -> CiphertextMessage {
    message_encrypt(text, to, &mut from.sessions, &mut from.ids)
        .await
        .unwrap()
}

async fn receive(to: &mut Party, from: &ProtocolAddress, ct: &CiphertextMessage, rng: &mut StdRng) {
    message_decrypt(
        ct,
        from,
        &mut to.sessions,
        &mut to.ids,
        &mut to.pre,
        &to.signed,
        rng,
        UsePQRatchet::No,
    )
    .await
    .unwrap();
}

/// Alice starts a session from Bob's bundle and Bob decrypts her first message.
pub async fn setup(rng: &mut StdRng) -> (Party, Party) {
    let (mut alice, _) = party(rng, "alice");
    let (mut bob, bundle) = party(rng, "bob");
    process_prekey_bundle(
        &bob.addr,
        &mut alice.sessions,
        &mut alice.ids,
        &bundle,
        rng,
        UsePQRatchet::No,
    )
    .await
    .unwrap();
    let ct = send(&mut alice, &bob.addr.clone(), b"hello").await;
    receive(&mut bob, &alice.addr.clone(), &ct, rng).await;
    (alice, bob)
}

pub struct Pair {
    alice: Party,
    bob: Party,
    rng: StdRng,
}

impl Pair {
    pub async fn new(rng: &mut StdRng) -> Self {
        let (mut alice, mut bob) = setup(rng).await;
        let back = send(&mut bob, &alice.addr.clone(), b"ack").await;
        receive(&mut alice, &bob.addr.clone(), &back, rng).await;
        let rng = <StdRng as rand::SeedableRng>::seed_from_u64(9);
        Self { alice, bob, rng }
    }

    pub async fn round(&mut self, payload: &[u8]) {
        let to = self.bob.addr.clone();
        let ct = send(&mut self.alice, &to, payload).await;
        let from = self.alice.addr.clone();
        receive(&mut self.bob, &from, &ct, &mut self.rng).await;
    }

    /// Ping-pong: one message each way, each after a reply, so every message carries a new ratchet key and
    /// its receiver takes one DH ratchet step (two messages).
    pub async fn ping_pong(&mut self, payload: &[u8]) {
        self.round(payload).await;
        let to = self.alice.addr.clone();
        let ct = send(&mut self.bob, &to, payload).await;
        let from = self.bob.addr.clone();
        receive(&mut self.alice, &from, &ct, &mut self.rng).await;
    }
}
