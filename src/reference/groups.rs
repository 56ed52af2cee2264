//! Group messaging (Sender Keys) through wacore-libsignal's group API: `create_sender_key_distribution_message`,
//! `process_sender_key_distribution_message`, `group_encrypt` and `group_decrypt`, with an in-memory
//! [`SenderKeyStore`].
//!
//! Where the crate is laxer than the groups profile, this wrapper enforces the requirement itself:
//! - it refuses an SKDM or a SenderKeyMessage whose version byte is not exactly `0x33` (the crate reads only the
//!   high nibble, so `0x34` passes it; RO-GROUP-004 / RO-GROUP-002);
//! - it rotates its own sender key when a member that received the current key is no longer in the group
//!   (RO-GROUP-006: the crate has no notion of members), drawing a key id other than the old one (RO-GROUP-008:
//!   the crate draws a random 31-bit id and could repeat it);
//! - it refuses to encrypt for a group it has no sender key for (the caller must ask for the SKDM first, so a
//!   message never precedes its key).
//!
//! The planted bugs of the group faults live in `faulty_groups.rs`, which wraps these functions (nothing here
//! calls it); [`decrypt_by_hand`] is the receiver they share: the crate's steps, with the checks switchable.

use super::{Client, public_key, reject};
use crate::provider::{
    CallError, CallResult, ErrorClass, GroupDecrypt, GroupEncrypt, GroupProcessSkdm, GroupSenderKey,
};
use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use prost::Message;
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};
use wacore_libsignal::protocol::{
    PrivateKey, SenderChainKeyComponents, SenderKeyDistributionMessage, SenderKeyRecord, SenderKeyStore,
    SenderMessageKeyComponents, SignalProtocolError, create_sender_key_distribution_message, group_decrypt,
    group_encrypt, process_sender_key_distribution_message,
};
use wacore_libsignal::store::sender_key_name::SenderKeyName;

/// The only version byte of WhatsApp's sender-key messages: (3 << 4) | 3.
const VERSION_BYTE: u8 = 0x33;
/// Signature bytes at the end of a SenderKeyMessage.
const SIGNATURE_LEN: usize = 64;
/// WA Web's `signalFutureMessagesMax`, which wacore-libsignal 0.7 applies to sender keys.
pub(super) const MAX_JUMP: u32 = 2_000;
/// Upstream Signal's `MAX_FORWARD_JUMPS`.
pub(super) const UPSTREAM_MAX_JUMP: u32 = 25_000;

/// One client's sender keys: its own per group, and its peers' per (group, sender).
#[derive(Default)]
pub(super) struct Groups {
    store: SenderKeys,
    /// Per group: the members that received the client's current sender key.
    holders: HashMap<String, BTreeSet<String>>,
    /// group-accept-duplicate: plaintexts by message bytes.
    seen: HashMap<Vec<u8>, Vec<u8>>,
    /// group-skdm-from-start: the first SKDM of the current own key, per group.
    first_skdm: HashMap<String, Vec<u8>>,
}

/// wacore-libsignal's sender-key store, in memory (the vector generator uses it too).
#[derive(Default)]
pub(crate) struct SenderKeys(pub(crate) HashMap<SenderKeyName, SenderKeyRecord>);

#[async_trait]
impl SenderKeyStore for SenderKeys {
    async fn store_sender_key(
        &mut self,
        name: &SenderKeyName,
        record: SenderKeyRecord,
    ) -> Result<(), SignalProtocolError> {
        self.0.insert(name.clone(), record);
        Ok(())
    }

    async fn load_sender_key(&self, name: &SenderKeyName) -> Result<Option<SenderKeyRecord>, SignalProtocolError> {
        Ok(self.0.get(name).cloned())
    }
}

pub(super) fn version_check(bytes: &[u8], what: &str) -> CallResult<()> {
    match bytes.first() {
        Some(&VERSION_BYTE) => Ok(()),
        Some(b) => Err(CallError::rejected(
            ErrorClass::InvalidVersion,
            format!("{what} version byte {b:#04x}, expected 0x33"),
        )),
        None => Err(CallError::rejected(ErrorClass::InvalidMessage, format!("empty {what}"))),
    }
}

/// The client's SKDM for `request.group`, rotating first when a holder of the current key has left.
pub(super) async fn sender_key(client: &mut Client, request: &GroupSenderKey) -> CallResult<Vec<u8>> {
    let name = SenderKeyName::new(request.group.clone(), client.name.clone());
    let members: BTreeSet<String> = request.members.iter().cloned().collect();
    let holders = client.groups.holders.entry(request.group.clone()).or_default();
    let someone_left = holders.iter().any(|h| !members.contains(h));
    let old_id = client.groups.own_key_id(&name);
    if someone_left {
        client.groups.store.0.remove(&name);
        client.groups.holders.insert(request.group.clone(), BTreeSet::new());
    }
    let mut skdm = create_sender_key_distribution_message(&name, &mut client.groups.store, &mut client.rng)
        .await
        .map_err(reject)?;
    // A fresh key must not reuse the old id (RO-GROUP-008); redraw in the rare case the crate repeats it.
    while someone_left && old_id == Some(skdm.chain_id()) {
        client.groups.store.0.remove(&name);
        skdm = create_sender_key_distribution_message(&name, &mut client.groups.store, &mut client.rng)
            .await
            .map_err(reject)?;
    }
    client
        .groups
        .holders
        .entry(request.group.clone())
        .or_default()
        .extend(members);
    Ok(skdm.serialized().to_vec())
}

/// Install a peer's SKDM; one that comes in a pairwise `carrier` only if the carrier decrypts on the session
/// with the sender (RO-GROUP-009).
pub(super) async fn process_skdm(client: &mut Client, request: &GroupProcessSkdm) -> CallResult<()> {
    let mut request = request.clone();
    if let Some(carrier) = &request.carrier {
        request.skdm = client.decrypt(&request.sender, carrier).await?.into();
    }
    install_skdm(client, &request).await
}

/// Install the SKDM of `request.skdm` (carried, if it was, already opened).
pub(super) async fn install_skdm(client: &mut Client, request: &GroupProcessSkdm) -> CallResult<()> {
    let bytes = &request.skdm.0;
    version_check(bytes, "SKDM")?;
    let skdm = SenderKeyDistributionMessage::try_from(bytes.as_slice()).map_err(reject)?;
    // The crate parses the signing key with `PublicKey::deserialize`, which also checks the 0x05 type byte; the
    // length is checked here again so that the rule is visible where the SKDM is accepted (RO-GROUP-002).
    public_key(&skdm.signing_key().serialize(), "signingKey")?;
    let name = SenderKeyName::new(request.group.clone(), request.sender.clone());
    process_sender_key_distribution_message(&name, &skdm, &mut client.groups.store)
        .await
        .map_err(reject)
}

/// Encrypt under the client's current sender key for the group.
pub(super) async fn encrypt(client: &mut Client, request: &GroupEncrypt) -> CallResult<Vec<u8>> {
    let name = SenderKeyName::new(request.group.clone(), client.name.clone());
    if !client.groups.store.0.contains_key(&name) {
        return Err(CallError::rejected(
            ErrorClass::NoSession,
            format!("no sender key for group {}: ask for its SKDM first", request.group),
        ));
    }
    let message = group_encrypt(&mut client.groups.store, &name, &request.plaintext, &mut client.rng)
        .await
        .map_err(reject)?;
    Ok(message.serialized().to_vec())
}

/// Verify and decrypt a peer's group message.
pub(super) async fn decrypt(client: &mut Client, request: &GroupDecrypt) -> CallResult<Vec<u8>> {
    let name = SenderKeyName::new(request.group.clone(), request.sender.clone());
    decrypt_correctly(&mut client.groups, &name, &request.skmsg.0).await
}

/// The correct receiver: the strict version check, then the crate (which selects the state by id, verifies the
/// signature, and only then derives keys; it stores nothing on failure).
pub(super) async fn decrypt_correctly(groups: &mut Groups, name: &SenderKeyName, bytes: &[u8]) -> CallResult<Vec<u8>> {
    version_check(bytes, "SenderKeyMessage")?;
    group_decrypt(bytes, &mut groups.store, name).await.map_err(reject)
}

/// What [`decrypt_by_hand`] checks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Checks {
    /// Verify the signature before deriving keys.
    pub verify: bool,
    /// Largest accepted forward jump (none: unbounded).
    pub max_jump: Option<u32>,
    /// Use the 48 HKDF bytes as key || iv instead of iv || key.
    pub swap_key_and_iv: bool,
    /// Store the advanced chain.
    pub store: bool,
}

impl Groups {
    pub(super) fn record(&self, name: &SenderKeyName) -> Option<&SenderKeyRecord> {
        self.store.0.get(name)
    }

    pub(super) fn take(&mut self, name: &SenderKeyName) -> Option<SenderKeyRecord> {
        self.store.0.remove(name)
    }

    /// The id of the client's own current sender key in a group.
    pub(super) fn own_key_id(&self, name: &SenderKeyName) -> Option<u32> {
        let record = self.store.0.get(name)?;
        record.sender_key_state().ok().map(|s| s.chain_id())
    }

    /// The members that received the client's current key for `group`.
    pub(super) fn holders(&self, group: &str) -> Vec<String> {
        self.holders
            .get(group)
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(super) fn put(&mut self, name: &SenderKeyName, record: SenderKeyRecord) {
        self.store.0.insert(name.clone(), record);
    }

    pub(super) fn seen(&mut self) -> &mut HashMap<Vec<u8>, Vec<u8>> {
        &mut self.seen
    }

    pub(super) fn first_skdm(&mut self) -> &mut HashMap<String, Vec<u8>> {
        &mut self.first_skdm
    }
}

fn hmac(key: &[u8], byte: u8) -> CallResult<[u8; 32]> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|e| CallError::rejected(ErrorClass::Internal, e.to_string()))?;
    mac.update(&[byte]);
    Ok(mac.finalize().into_bytes().into())
}

/// A sender-key receiver written out step by step, the same steps as the crate's, for the planted faults that
/// switch one of them off. Parses the message without looking at its version byte.
pub(super) fn decrypt_by_hand(
    groups: &mut Groups,
    name: &SenderKeyName,
    bytes: &[u8],
    checks: Checks,
) -> CallResult<Vec<u8>> {
    let invalid = |d: &str| CallError::rejected(ErrorClass::InvalidMessage, d.to_string());
    if bytes.len() < 1 + SIGNATURE_LEN {
        return Err(invalid("too short"));
    }
    let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let proto = crate::wire::SenderKeyMessage::decode(&signed[1..]).map_err(|_| invalid("bad protobuf"))?;
    let (Some(id), Some(iteration), Some(ciphertext)) = (proto.id, proto.iteration, proto.ciphertext) else {
        return Err(invalid("missing field"));
    };
    let record = groups
        .record(name)
        .cloned()
        .ok_or_else(|| CallError::rejected(ErrorClass::NoSession, "no sender key record"))?;
    let mut parts = record.into_components().map_err(reject)?;
    let state = parts
        .states
        .iter_mut()
        .find(|s| s.key_id == id)
        .ok_or_else(|| CallError::rejected(ErrorClass::NoSession, format!("no state for key id {id}")))?;
    if checks.verify {
        let key = public_key(&state.signing_key.public, "signing key")?;
        if !key.verify_signature(signed, signature) {
            return Err(CallError::rejected(ErrorClass::BadSignature, "signature"));
        }
    }
    let seed = if iteration < state.chain_key.iteration {
        let at = state
            .message_keys
            .iter()
            .position(|k| k.iteration == iteration)
            .ok_or_else(|| CallError::rejected(ErrorClass::Duplicate, format!("iteration {iteration} already used")))?;
        state.message_keys.remove(at).seed
    } else {
        let jump = iteration - state.chain_key.iteration;
        if checks.max_jump.is_some_and(|max| jump > max) {
            return Err(CallError::rejected(
                ErrorClass::TooFarInFuture,
                format!("jump of {jump}"),
            ));
        }
        let mut chain = state.chain_key.seed.clone();
        for i in state.chain_key.iteration..iteration {
            state.message_keys.push(SenderMessageKeyComponents {
                iteration: i,
                seed: hmac(&chain, 1)?.to_vec(),
            });
            chain = hmac(&chain, 2)?.to_vec();
        }
        let seed = hmac(&chain, 1)?.to_vec();
        state.chain_key = SenderChainKeyComponents {
            iteration: iteration + 1,
            seed: hmac(&chain, 2)?.to_vec(),
        };
        seed
    };
    if checks.store {
        // Stored before decryption: a receiver written this way keeps the advanced chain even when the message
        // then fails (what group-advance-before-verify plants; the correct path stores nothing on failure).
        let record = SenderKeyRecord::from_components(parts).map_err(reject)?;
        groups.put(name, record);
    }
    let okm = {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(&[0u8; 32]), &seed);
        let mut okm = [0u8; 48];
        hk.expand(b"WhisperGroup", &mut okm)
            .map_err(|e| CallError::rejected(ErrorClass::Internal, e.to_string()))?;
        okm
    };
    let (iv, key) = if checks.swap_key_and_iv {
        (&okm[32..48], &okm[..32])
    } else {
        (&okm[..16], &okm[16..48])
    };
    let mut plaintext = Vec::new();
    wacore_libsignal::crypto::aes_256_cbc_decrypt_into(&ciphertext, key, iv, &mut plaintext)
        .map_err(|_| invalid("decryption failed"))?;
    Ok(plaintext)
}

/// The client's own signing key for a group (faults that re-sign).
pub(super) fn own_signing_key(record: &SenderKeyRecord) -> CallResult<PrivateKey> {
    record
        .sender_key_state()
        .ok()
        .and_then(|s| s.signing_key_private().ok())
        .ok_or_else(|| CallError::rejected(ErrorClass::Internal, "no signing key"))
}
