//! The deviations behind the Signal-side [`Fault`] switches, called only when a switch is on.
//!
//! wacore-libsignal checks MACs, versions, duplicates and bounds inside its decrypt path, so each fault wraps
//! the correct path (`Client::process_bundle`, `Client::decrypt` in the parent module) and rewrites its input
//! or its outcome, never the correct path itself:
//! - skip-signed-prekey-check: when the correct path refuses the signature, build the session with the crate's
//!   low-level X3DH (`initialize_alice_session_record`), which verifies nothing.
//! - accept-raw-key-signature: the same fallback, taken only when the signature verifies over the raw 32 bytes.
//! - skip-mac-check: on `bad_mac` for a `msg`, recompute the MAC from the session's receiving chain, splice it
//!   in, and decrypt again (a `pkmsg` that would start a session has no chain yet and stays refused).
//! - partial-mac-check: the same repair, taken only when the first 4 of the 8 MAC bytes already match.
//! - accept-duplicates: remember every plaintext by its message bytes and answer a `duplicate` with it (what
//!   keeping used message keys gives for an exact replay).
//! - keep-consumed-prekeys: put the one-time prekey the correct path deleted back.
//! - accept-any-version: rewrite a `pkmsg`'s outer version byte to 0x33 (no MAC covers it); a `msg`'s version
//!   byte is MAC-covered, so a version-blind receiver still fails there and the correct path is left to answer.
//! - accept-wrong-key-type: rewrite the type byte of every 33-byte bundle key to 0x05 before the correct path.
//! - no-forward-jump-bound: on `too_far_in_future` for a `msg`, fast-forward the receiving chain to the
//!   message's counter (dropping the keys in between) and decrypt again.
//! - keep-dropped-state: after each message on a new sender ratchet key, keep a copy of the session record; when
//!   the correct path refuses a `msg` as `bad_mac` or `invalid_message` (its chain or session was dropped), try it
//!   against the copies, newest first, leaving the current record as it was.
//! - accept-identity-change: the identity store trusts any key (`Identities::trust_changed_identities`).
//! - no-dh-ratchet-on-send: after a decrypt that stepped the DH ratchet, put the old sending chain (ratchet key
//!   pair and chain key) back, so the client keeps sending under its first ratchet key; the peer still holds that
//!   receiving chain and decrypts everything.
//! - reuse-counter: after the first message to a peer, put the session record back as it was before it, so the
//!   second message carries the same counter and key.
//! - registration-id-drift, made-up-prekey-id, send-version-0x32: rewrite the outgoing pkmsg (its outer
//!   protobuf and version byte carry no MAC): registrationId + 1, preKeyId 0 when none was offered, version 0x32.
//! - stale-base-key: after the correct path accepted a bundle, redo X3DH with the client's first base key.
//! - loose-forward-bound: on `too_far_in_future` for a jump of at most 25,000, fast-forward as
//!   no-forward-jump-bound does.
//! - version-outside-mac: a version byte with either nibble 3 (a loose check) is read as 0x33 (the outer byte of
//!   a `pkmsg`, its inner message's byte, a `msg`'s byte) before the correct path, so the MAC is computed over a
//!   constant 0x33 rather than the byte received.
//! - identity-pinned-before-auth: a first `pkmsg` from an address with no known identity pins the identity key
//!   it carries before the correct path checks its MAC, so a refused forgery still changes what is trusted.
//! - version-mask-typo: a `msg` whose version byte equals 0x33 under the mask 0xb3 (0x37, 0x3b, 0x73, ...) is
//!   read as 0x33 before the correct path, so the MAC verifies over the byte it was computed over and a
//!   copy with exactly that bit flipped is accepted.
//! - selective-501: when the correct path refuses a message as `duplicate`, answer "unsupported" instead.
//! - unbounded-skipped-keys: before each `msg` that skips keys, keep a copy of the session record; when the
//!   correct path refuses a `msg` never decrypted before (its skipped key was evicted), decrypt it from the
//!   copies, newest first, as a store that never evicts would.
//! - send-on-old-session: when a bundle or a received `pkmsg` sets up a new session with a peer that had one,
//!   keep the old record and encrypt every later message on it (the new record stays for receiving).

use super::chain;
use super::strict::VERSION_BYTE;
use super::{Client, Fault, Faults, address, public_key, reject};
use crate::provider::{CallError, CallResult, Ciphertext, CiphertextKind, ErrorClass, PreKeyBundle};
use crate::wire::PreKeyWhisperMessage;
use hmac::{Hmac, KeyInit, Mac};
use prost::Message;
use sha2::Sha256;
use std::collections::HashMap;
use wacore_libsignal::protocol::{
    AliceSignalProtocolParameters, Direction, IdentityKey, IdentityKeyStore, KeyPair, PreKeyId, PreKeySignalMessage,
    SessionRecord, SignalMessage, SignedPreKeyId, UsePQRatchet, initialize_alice_session_record,
};

/// Bytes of the truncated MAC (RO-ENC-011).
const MAC_LEN: usize = 8;
/// How many MAC bytes partial-mac-check compares.
const PARTIAL_MAC_LEN: usize = 4;

/// What a faulty client remembers beyond the correct state.
#[derive(Default)]
pub(super) struct Memory {
    /// accept-duplicates: plaintexts by (peer, WhisperMessage bytes).
    plaintexts: HashMap<(String, Vec<u8>), Vec<u8>>,
    /// keep-dropped-state: per peer, the last sender ratchet key seen and a record copy per ratchet key.
    kept: HashMap<String, (Vec<u8>, Vec<SessionRecord>)>,
    /// reuse-counter: peers whose first counter was already sent twice.
    reused: std::collections::HashSet<String>,
    /// stale-base-key: the base key every session starts from.
    base_key: Option<KeyPair>,
    /// unbounded-skipped-keys: per peer, a record copy from before each jump, and every (ratchet key, counter)
    /// decrypted.
    before_jumps: HashMap<String, Vec<SessionRecord>>,
    decrypted: std::collections::HashSet<(String, Vec<u8>, u32)>,
    /// send-on-old-session: per peer, the session record a new session replaced.
    old_session: HashMap<String, SessionRecord>,
}

/// version-mask-typo: the mask it compares the version byte under (bits 2, 3 and 6 dropped).
const MASK_TYPO: u8 = 0xb3;

/// loose-forward-bound: the looser bound it applies.
const LOOSE_BOUND: u32 = 25_000;

/// Switches that live in the stores rather than in a call path.
pub(super) fn configure(client: &mut Client, faults: &Faults) {
    if faults.has(Fault::AcceptIdentityChange) {
        client.identities.trust_changed_identities = true;
    }
}

/// `Client::process_bundle` with the bundle-side faults.
pub(super) async fn process_bundle(
    client: &mut Client,
    faults: &Faults,
    peer: &str,
    bundle: &PreKeyBundle,
) -> CallResult<()> {
    let mut bundle = bundle.clone();
    if faults.has(Fault::AcceptWrongKeyType) {
        for key in [
            Some(&mut bundle.identity_key),
            Some(&mut bundle.signed_prekey),
            bundle.prekey.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if key.0.len() == 33 && key.0[0] != 0x05 {
                key.0[0] = 0x05;
            }
        }
    }
    let replaced = established_record(client, faults, peer);
    let result = process_bundle_faulty(client, faults, peer, &bundle).await;
    if let (Ok(()), Some(old)) = (&result, replaced) {
        client.faulty.old_session.insert(peer.to_string(), old);
    }
    result
}

/// send-on-old-session: the peer's record while it has a session, before something may replace it.
fn established_record(client: &Client, faults: &Faults, peer: &str) -> Option<SessionRecord> {
    if !faults.has(Fault::SendOnOldSession) {
        return None;
    }
    client
        .sessions
        .0
        .get(&address(peer))
        .filter(|r| r.session_state().is_some())
        .cloned()
}

/// The base key of the peer's current session.
fn current_base_key(client: &Client, peer: &str) -> Option<Vec<u8>> {
    let state = client.sessions.0.get(&address(peer))?.session_state()?;
    Some(state.alice_base_key().to_vec())
}

/// The correct path, or the X3DH a signature or base-key fault does instead.
async fn process_bundle_faulty(
    client: &mut Client,
    faults: &Faults,
    peer: &str,
    bundle: &PreKeyBundle,
) -> CallResult<()> {
    match client.process_bundle(peer, bundle).await {
        Err(CallError::Rejected {
            class: ErrorClass::BadSignature,
            ..
        }) if faults.has(Fault::SkipSignedPrekeyCheck)
            || (faults.has(Fault::AcceptRawKeySignature) && signed_over_raw_key(bundle)) =>
        {
            let base = KeyPair::generate(&mut client.rng);
            unverified_x3dh(client, peer, bundle, base).await
        }
        Ok(()) if faults.has(Fault::StaleBaseKey) => {
            if client.faulty.base_key.is_none() {
                client.faulty.base_key = Some(KeyPair::generate(&mut client.rng));
            }
            let Some(base) = client.faulty.base_key.clone() else {
                return Err(CallError::rejected(ErrorClass::Internal, "no base key"));
            };
            unverified_x3dh(client, peer, bundle, base).await
        }
        other => other,
    }
}

fn signed_over_raw_key(bundle: &PreKeyBundle) -> bool {
    let (Ok(identity), Ok(signed)) = (
        public_key(&bundle.identity_key, "identity_key"),
        public_key(&bundle.signed_prekey, "signed_prekey"),
    ) else {
        return false;
    };
    bundle.signed_prekey_signature.0.len() == 64
        && identity.verify_signature(signed.public_key_bytes(), &bundle.signed_prekey_signature.0)
}

/// X3DH as initiator from base key `base`, as `process_prekey_bundle` does it, minus the signature check.
async fn unverified_x3dh(client: &mut Client, peer: &str, bundle: &PreKeyBundle, base: KeyPair) -> CallResult<()> {
    let identity = IdentityKey::new(public_key(&bundle.identity_key, "identity_key")?);
    let signed = public_key(&bundle.signed_prekey, "signed_prekey")?;
    let address = address(peer);
    let trusted = client
        .identities
        .is_trusted_identity(&address, &identity, Direction::Sending)
        .await
        .map_err(reject)?;
    if !trusted {
        return Err(CallError::rejected(
            ErrorClass::UntrustedIdentity,
            format!("{peer}: identity not trusted"),
        ));
    }
    let base_public = base.public_key;
    let mut parameters = AliceSignalProtocolParameters::new(
        client.identities.own.clone(),
        base,
        identity,
        signed,
        signed,
        UsePQRatchet::No,
    );
    let prekey_id = match (bundle.prekey_id, &bundle.prekey) {
        (Some(id), Some(key)) => {
            parameters.set_their_one_time_pre_key(public_key(key, "prekey")?);
            Some(PreKeyId::from(id))
        }
        _ => None,
    };
    let mut state = initialize_alice_session_record(&parameters, &mut client.rng)
        .map_err(reject)?
        .take_session_state()
        .ok_or_else(|| CallError::rejected(ErrorClass::Internal, "X3DH gave no session"))?;
    state.set_unacknowledged_pre_key_message(prekey_id, SignedPreKeyId::from(bundle.signed_prekey_id), &base_public);
    state.set_local_registration_id(client.identities.registration_id);
    state.set_remote_registration_id(bundle.registration_id);
    client
        .identities
        .save_identity(&address, &identity)
        .await
        .map_err(reject)?;
    client
        .sessions
        .0
        .entry(address)
        .or_insert_with(SessionRecord::new_fresh)
        .promote_fresh_state(state);
    Ok(())
}

/// `Client::decrypt` with the message-side faults.
pub(super) async fn decrypt(
    client: &mut Client,
    faults: &Faults,
    peer: &str,
    ciphertext: &Ciphertext,
) -> CallResult<Vec<u8>> {
    let mut ciphertext = ciphertext.clone();
    if faults.has(Fault::VersionOutsideMac) {
        read_loose_version_as_current(&mut ciphertext);
    }
    if faults.has(Fault::IdentityPinnedBeforeAuth) {
        pin_identity_unauthenticated(client, peer, &ciphertext);
    }
    if faults.has(Fault::VersionMaskTypo)
        && ciphertext.kind == CiphertextKind::Msg
        && let Some(byte) = ciphertext.body.0.first_mut()
        && *byte & MASK_TYPO == VERSION_BYTE
    {
        *byte = VERSION_BYTE;
    }
    if faults.has(Fault::AcceptAnyVersion)
        && ciphertext.kind == CiphertextKind::Pkmsg
        && let Some(byte) = ciphertext.body.0.first_mut()
    {
        *byte = VERSION_BYTE;
    }
    let prekeys = faults.has(Fault::KeepConsumedPrekeys).then(|| client.prekeys.0.clone());
    let replaced = established_record(client, faults, peer);
    let base_before = current_base_key(client, peer);
    let before_jump = (faults.has(Fault::UnboundedSkippedKeys) && jump(client, peer, &ciphertext) > Some(0))
        .then(|| client.sessions.0.get(&address(peer)).cloned())
        .flatten();
    let sending = if faults.has(Fault::NoDhRatchetOnSend) {
        sending_chain(client, peer)
    } else {
        None
    };
    let result = match client.decrypt(peer, &ciphertext).await {
        Err(CallError::Rejected {
            class: ErrorClass::BadMac,
            ..
        }) if faults.has(Fault::SkipMacCheck) || faults.has(Fault::PartialMacCheck) => {
            let compared = if faults.has(Fault::SkipMacCheck) {
                0
            } else {
                PARTIAL_MAC_LEN
            };
            retry_with_repaired_mac(client, peer, &ciphertext, compared).await
        }
        Err(CallError::Rejected {
            class: ErrorClass::TooFarInFuture,
            detail,
        }) if faults.has(Fault::NoForwardJumpBound)
            || (faults.has(Fault::LooseForwardBound) && jump(client, peer, &ciphertext) <= Some(LOOSE_BOUND)) =>
        {
            let refused = CallError::rejected(ErrorClass::TooFarInFuture, detail);
            retry_fast_forwarded(client, peer, &ciphertext, refused).await
        }
        Err(CallError::Rejected {
            class: class @ (ErrorClass::BadMac | ErrorClass::InvalidMessage),
            detail,
        }) if faults.has(Fault::KeepDroppedState) => {
            let refused = CallError::rejected(class, detail);
            retry_on_kept_state(client, peer, &ciphertext, refused).await
        }
        Err(refused @ CallError::Rejected { .. })
            if faults.has(Fault::UnboundedSkippedKeys) && !was_decrypted(client, peer, &ciphertext) =>
        {
            retry_before_jumps(client, peer, &ciphertext, refused).await
        }
        Err(CallError::Rejected {
            class: ErrorClass::Duplicate,
            ..
        }) if faults.has(Fault::Selective501) => Err(CallError::Unsupported {
            operation: "decrypt".into(),
        }),
        Err(CallError::Rejected {
            class: ErrorClass::Duplicate,
            detail,
        }) if faults.has(Fault::AcceptDuplicates) => replay_key(peer, &ciphertext)
            .and_then(|key| client.faulty.plaintexts.get(&key).cloned())
            .ok_or_else(|| CallError::rejected(ErrorClass::Duplicate, detail)),
        other => other,
    };
    if let Ok(plaintext) = &result {
        if faults.has(Fault::AcceptDuplicates)
            && let Some(key) = replay_key(peer, &ciphertext)
        {
            client.faulty.plaintexts.insert(key, plaintext.clone());
        }
        if faults.has(Fault::KeepDroppedState) {
            keep_state(client, peer, &ciphertext);
        }
        if let Some(before) = prekeys {
            for (id, record) in before {
                client.prekeys.0.entry(id).or_insert(record);
            }
        }
        if let Some(old) = sending {
            restore_sending_chain(client, peer, old);
        }
        if faults.has(Fault::UnboundedSkippedKeys) {
            if let Some(key) = counter_key(peer, &ciphertext) {
                client.faulty.decrypted.insert(key);
            }
            if let Some(record) = before_jump {
                client
                    .faulty
                    .before_jumps
                    .entry(peer.to_string())
                    .or_default()
                    .push(record);
            }
        }
        if let Some(old) = replaced
            && current_base_key(client, peer) != base_before
        {
            client.faulty.old_session.insert(peer.to_string(), old);
        }
    }
    result
}

/// unbounded-skipped-keys: a `msg` is known by its peer, ratchet key and counter.
fn counter_key(peer: &str, ciphertext: &Ciphertext) -> Option<(String, Vec<u8>, u32)> {
    if ciphertext.kind != CiphertextKind::Msg {
        return None;
    }
    let message = SignalMessage::try_from(ciphertext.body.as_slice()).ok()?;
    Some((
        peer.to_string(),
        message.sender_ratchet_key().serialize().to_vec(),
        message.counter(),
    ))
}

fn was_decrypted(client: &Client, peer: &str, ciphertext: &Ciphertext) -> bool {
    counter_key(peer, ciphertext).is_none_or(|key| client.faulty.decrypted.contains(&key))
}

/// unbounded-skipped-keys: decrypt a refused `msg` from the records kept before each jump, newest first, as if
/// every skipped key were still stored; the current record stays as it was.
async fn retry_before_jumps(
    client: &mut Client,
    peer: &str,
    ciphertext: &Ciphertext,
    refused: CallError,
) -> CallResult<Vec<u8>> {
    let address = address(peer);
    let copies = client.faulty.before_jumps.get(peer).cloned().unwrap_or_default();
    for old in copies.into_iter().rev() {
        let current = client.sessions.0.insert(address.clone(), old);
        let result = client.decrypt(peer, ciphertext).await;
        match current {
            Some(current) => client.sessions.0.insert(address.clone(), current),
            None => client.sessions.0.remove(&address),
        };
        if let Ok(plaintext) = result {
            if let Some(key) = counter_key(peer, ciphertext) {
                client.faulty.decrypted.insert(key);
            }
            return Ok(plaintext);
        }
    }
    Err(refused)
}

/// The jump of a `msg` beyond its receiving chain, when the current session has that chain.
fn jump(client: &Client, peer: &str, ciphertext: &Ciphertext) -> Option<u32> {
    if ciphertext.kind != CiphertextKind::Msg {
        return None;
    }
    let message = SignalMessage::try_from(ciphertext.body.as_slice()).ok()?;
    let record = client.sessions.0.get(&address(peer))?;
    chain::forward_jump(record, message.sender_ratchet_key(), message.counter())
}

/// The current session's base key, sending ratchet key pair and chain key.
type Sending = (Vec<u8>, KeyPair, wacore_libsignal::protocol::ChainKey);

fn sending_chain(client: &Client, peer: &str) -> Option<Sending> {
    let state = client.sessions.0.get(&address(peer))?.session_state()?;
    let pair = KeyPair::new(
        state.sender_ratchet_key().ok()?,
        state.sender_ratchet_private_key().ok()?,
    );
    Some((
        state.alice_base_key().to_vec(),
        pair,
        state.get_sender_chain_key().ok()?,
    ))
}

/// no-dh-ratchet-on-send: the same session stepped its ratchet; put the old sending chain back.
fn restore_sending_chain(client: &mut Client, peer: &str, (base, pair, chain): Sending) {
    let Some(state) = client
        .sessions
        .0
        .get_mut(&address(peer))
        .and_then(|r| r.session_state_mut())
    else {
        return;
    };
    if state.alice_base_key() == base.as_slice() && state.sender_ratchet_key().ok() != Some(pair.public_key) {
        state.set_sender_chain(&pair, &chain);
    }
}

/// `Client::encrypt` with the send-side faults.
pub(super) async fn encrypt(
    client: &mut Client,
    faults: &Faults,
    peer: &str,
    plaintext: &[u8],
) -> CallResult<Ciphertext> {
    let before = if faults.has(Fault::ReuseCounter) && !client.faulty.reused.contains(peer) {
        client.sessions.0.get(&address(peer)).cloned()
    } else {
        None
    };
    let mut ciphertext = match client.faulty.old_session.remove(peer) {
        Some(old) if faults.has(Fault::SendOnOldSession) => {
            // send-on-old-session: encrypt on the replaced record, keep what that does to it, and put the current
            // record back.
            let address = address(peer);
            let current = client.sessions.0.insert(address.clone(), old);
            let result = client.encrypt(peer, plaintext).await;
            if let Some(old) = client.sessions.0.remove(&address) {
                client.faulty.old_session.insert(peer.to_string(), old);
            }
            if let Some(current) = current {
                client.sessions.0.insert(address, current);
            }
            result?
        }
        _ => client.encrypt(peer, plaintext).await?,
    };
    if let Some(record) = before {
        client.faulty.reused.insert(peer.to_string());
        client.sessions.0.insert(address(peer), record);
    }
    let rewrite = [
        Fault::RegistrationIdDrift,
        Fault::MadeUpPrekeyId,
        Fault::SendVersion0x32,
    ];
    if ciphertext.kind == CiphertextKind::Pkmsg && rewrite.iter().any(|f| faults.has(*f)) {
        use prost::Message;
        let body = &ciphertext.body.0;
        let mut proto = crate::wire::PreKeyWhisperMessage::decode(&body[1..])
            .map_err(|e| CallError::rejected(ErrorClass::Internal, e.to_string()))?;
        if faults.has(Fault::RegistrationIdDrift) {
            proto.registration_id = proto.registration_id.map(|r| (r + 1) & 0x3fff);
        }
        if faults.has(Fault::MadeUpPrekeyId) && proto.pre_key_id.is_none() {
            proto.pre_key_id = Some(0);
        }
        let version = if faults.has(Fault::SendVersion0x32) {
            0x32
        } else {
            VERSION_BYTE
        };
        let mut out = vec![version];
        out.extend_from_slice(&proto.encode_to_vec());
        ciphertext.body.0 = out;
    }
    Ok(ciphertext)
}

/// version-outside-mac: a version byte "looks like 3" when either nibble is 3.
fn loose_version(byte: &mut u8) {
    if *byte >> 4 == 3 || *byte & 0x0f == 3 {
        *byte = VERSION_BYTE;
    }
}

/// version-outside-mac: rewrite every version byte the loose check passes to 0x33, the inner message's too.
fn read_loose_version_as_current(ciphertext: &mut Ciphertext) {
    let body = &mut ciphertext.body.0;
    let Some(first) = body.first_mut() else { return };
    loose_version(first);
    if ciphertext.kind == CiphertextKind::Pkmsg
        && let Ok(mut outer) = PreKeyWhisperMessage::decode(&body[1..])
        && let Some(inner) = outer.message.as_mut().and_then(|m| m.first_mut())
    {
        loose_version(inner);
        *body = [&body[..1], &outer.encode_to_vec()[..]].concat();
    }
}

/// identity-pinned-before-auth: trust on first use, applied before the message is authenticated.
fn pin_identity_unauthenticated(client: &mut Client, peer: &str, ciphertext: &Ciphertext) {
    if ciphertext.kind != CiphertextKind::Pkmsg {
        return;
    }
    let Ok(message) = PreKeySignalMessage::try_from(ciphertext.body.as_slice()) else {
        return;
    };
    client
        .identities
        .peers
        .entry(address(peer))
        .or_insert(*message.identity_key());
}

/// The sender ratchet key of a `msg`, or of a `pkmsg`'s inner message.
fn ratchet_key(ciphertext: &Ciphertext) -> Option<wacore_libsignal::protocol::PublicKey> {
    let message = match ciphertext.kind {
        CiphertextKind::Msg => SignalMessage::try_from(ciphertext.body.as_slice()).ok()?,
        CiphertextKind::Pkmsg => PreKeySignalMessage::try_from(ciphertext.body.as_slice())
            .ok()?
            .message()
            .clone(),
    };
    Some(*message.sender_ratchet_key())
}

/// keep-dropped-state: after a decrypt on a new sender ratchet key, keep a copy of the record.
fn keep_state(client: &mut Client, peer: &str, ciphertext: &Ciphertext) {
    let (Some(key), Some(record)) = (ratchet_key(ciphertext), client.sessions.0.get(&address(peer))) else {
        return;
    };
    let key = key.serialize().to_vec();
    let (last, copies) = client.faulty.kept.entry(peer.to_string()).or_default();
    if *last != key {
        *last = key;
        copies.push(record.clone());
    }
}

/// keep-dropped-state: decrypt a refused `msg` against the kept records, newest first, as a receiver that still
/// had every chain and archived session would; the current record stays as it was.
async fn retry_on_kept_state(
    client: &mut Client,
    peer: &str,
    ciphertext: &Ciphertext,
    refused: CallError,
) -> CallResult<Vec<u8>> {
    if ciphertext.kind != CiphertextKind::Msg {
        return Err(refused);
    }
    let address = address(peer);
    let copies = client.faulty.kept.get(peer).map(|(_, c)| c.clone()).unwrap_or_default();
    for (index, old) in copies.into_iter().enumerate().rev() {
        let current = client.sessions.0.insert(address.clone(), old);
        let result = client.decrypt(peer, ciphertext).await;
        let used = client.sessions.0.remove(&address);
        if let Some(current) = current {
            client.sessions.0.insert(address.clone(), current);
        }
        if let (Ok(plaintext), Some(used)) = (result, used) {
            if let Some((_, copies)) = client.faulty.kept.get_mut(peer) {
                copies[index] = used;
            }
            return Ok(plaintext);
        }
    }
    Err(refused)
}

/// The WhisperMessage bytes a replay is recognised by (the inner message of a `pkmsg`).
fn replay_key(peer: &str, ciphertext: &Ciphertext) -> Option<(String, Vec<u8>)> {
    let inner = match ciphertext.kind {
        CiphertextKind::Msg => ciphertext.body.0.clone(),
        CiphertextKind::Pkmsg => PreKeySignalMessage::try_from(ciphertext.body.as_slice())
            .ok()?
            .message()
            .serialized()
            .to_vec(),
    };
    Some((peer.to_string(), inner))
}

async fn retry_with_repaired_mac(
    client: &mut Client,
    peer: &str,
    ciphertext: &Ciphertext,
    compared: usize,
) -> CallResult<Vec<u8>> {
    let refused = || CallError::rejected(ErrorClass::BadMac, "MAC does not match");
    if ciphertext.kind != CiphertextKind::Msg {
        return Err(refused());
    }
    let body = ciphertext.body.as_slice();
    let message = SignalMessage::try_from(body).map_err(reject)?;
    let Some(record) = client.sessions.0.get(&address(peer)) else {
        return Err(refused());
    };
    let Some(state) = record.session_state() else {
        return Err(refused());
    };
    let mac_key = chain::receiving_mac_key(record, message.sender_ratchet_key(), message.counter()).map_err(reject)?;
    let (Some(mac_key), Ok(Some(theirs)), Ok(ours)) =
        (mac_key, state.remote_identity_key(), state.local_identity_key())
    else {
        return Err(refused());
    };
    let covered = body.len() - MAC_LEN;
    let mut mac = Hmac::<Sha256>::new_from_slice(&mac_key)
        .map_err(|e| CallError::rejected(ErrorClass::Internal, e.to_string()))?;
    mac.update(&theirs.serialize());
    mac.update(&ours.serialize());
    mac.update(&body[..covered]);
    let mac = mac.finalize().into_bytes();
    if body[covered..covered + compared] != mac[..compared] {
        return Err(refused());
    }
    let mut repaired = ciphertext.clone();
    repaired.body.0[covered..].copy_from_slice(&mac[..MAC_LEN]);
    client.decrypt(peer, &repaired).await
}

async fn retry_fast_forwarded(
    client: &mut Client,
    peer: &str,
    ciphertext: &Ciphertext,
    refused: CallError,
) -> CallResult<Vec<u8>> {
    if ciphertext.kind != CiphertextKind::Msg {
        return Err(refused);
    }
    let message = SignalMessage::try_from(ciphertext.body.as_slice()).map_err(reject)?;
    let address = address(peer);
    let Some(before) = client.sessions.0.get(&address).cloned() else {
        return Err(refused);
    };
    let mut record = before.clone();
    if !chain::fast_forward_receiver_chain(&mut record, message.sender_ratchet_key(), message.counter())
        .map_err(reject)?
    {
        return Err(refused);
    }
    client.sessions.0.insert(address.clone(), record);
    let result = client.decrypt(peer, ciphertext).await;
    if result.is_err() {
        client.sessions.0.insert(address, before);
    }
    result
}
