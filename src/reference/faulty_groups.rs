//! The deviations behind the group [`Fault`] switches, called only when a switch is on. Each wraps the correct
//! path in `groups.rs` and rewrites its input or its outcome:
//! - group-skip-signature: when the correct path refuses a signature, decrypt anyway (by hand, unverified).
//! - group-advance-before-verify: when the correct path refuses a signature, advance the chain to the forged
//!   iteration first, as a receiver that derives keys before verifying would (RO-GROUP-011).
//! - group-unbounded-jump / group-upstream-jump-bound: on `too_far_in_future`, decrypt by hand with no bound /
//!   with upstream Signal's 25,000.
//! - group-accept-duplicate: remember plaintexts by message bytes and answer a `duplicate` with it.
//! - group-any-version: on `invalid_version`, decrypt by hand without looking at the version byte.
//! - group-wrong-message-key: always decrypt by hand with the 48 HKDF bytes read as key || iv.
//! - group-lax-skdm-key: give an SKDM signing key without (or with another) type byte the 0x05 before parsing.
//! - group-no-rekey-on-leave: the departed holders are added back to the member list, so no one seems to leave.
//! - group-rotate-keeps-id: after a rotation, the new key is given the old key's id.
//! - group-upstream-format / group-sign-without-version: re-frame each outgoing skmsg in upstream Signal's
//!   fields / re-sign it over the protobuf without the version byte.
//! - group-skdm-raw-signing-key: send the SKDM's signing key as 32 raw bytes, without 0x05.
//! - group-evict-newest-state: after the crate evicted the oldest of five states for a sixth key, put it back in
//!   place of the newest older one.
//! - group-skdm-from-start: remember the first SKDM of each own key and answer it again while the key is current.
//! - group-skdm-unauthenticated: open an SKDM's pairwise carrier without checking its MAC (skip-mac-check's path).

use super::groups::{self, Checks, Groups, MAX_JUMP, UPSTREAM_MAX_JUMP};
use super::{Client, Fault, Faults, reject};
use crate::provider::{
    CallError, CallResult, ErrorClass, GroupDecrypt, GroupEncrypt, GroupProcessSkdm, GroupSenderKey,
};
use crate::wire::{
    SenderKeyDistributionMessage as SkdmProto, SenderKeyMessage as SkmsgProto, UpstreamSenderKeyMessage,
};
use prost::Message;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::{PrivateKey, PublicKey, SenderKeyDistributionMessage, SenderKeyRecord};
use wacore_libsignal::store::sender_key_name::SenderKeyName;

fn internal(detail: impl Into<String>) -> CallError {
    CallError::rejected(ErrorClass::Internal, detail)
}

fn class_of(result: &CallResult<Vec<u8>>) -> Option<ErrorClass> {
    match result {
        Err(CallError::Rejected { class, .. }) => Some(*class),
        _ => None,
    }
}

/// `groups::sender_key` with the sender-side key faults.
pub(super) async fn sender_key(client: &mut Client, faults: &Faults, request: &GroupSenderKey) -> CallResult<Vec<u8>> {
    let name = SenderKeyName::new(request.group.clone(), client.name.clone());
    let old_id = client.groups.own_key_id(&name);
    let mut request = request.clone();
    if faults.has(Fault::GroupNoRekeyOnLeave) {
        // Nobody ever seems to leave: the departed holders are added back to the member list.
        for holder in client.groups.holders(&request.group) {
            if !request.members.contains(&holder) {
                request.members.push(holder);
            }
        }
    }
    let mut skdm = groups::sender_key(client, &request).await?;
    if let (true, Some(old)) = (faults.has(Fault::GroupRotateKeepsId), old_id)
        && client.groups.own_key_id(&name) != Some(old)
    {
        skdm = set_own_key_id(&mut client.groups, &name, old)?.serialized().to_vec();
    }
    if faults.has(Fault::GroupSkdmFromStart) {
        skdm = skdm_from_start(&mut client.groups, &request.group, skdm)?;
    }
    if faults.has(Fault::GroupSkdmRawSigningKey) {
        let parsed = SenderKeyDistributionMessage::try_from(skdm.as_slice()).map_err(reject)?;
        skdm = skdm_with_raw_signing_key(&parsed);
    }
    Ok(skdm)
}

/// `groups::process_skdm` with group-lax-skdm-key.
pub(super) async fn process_skdm(client: &mut Client, faults: &Faults, request: &GroupProcessSkdm) -> CallResult<()> {
    let mut request = request.clone();
    if let Some(carrier) = request.carrier.take() {
        request.skdm = if faults.has(Fault::GroupSkdmUnauthenticated) {
            super::faulty::decrypt(client, &Faults::only(Fault::SkipMacCheck), &request.sender, &carrier).await?
        } else {
            client.decrypt(&request.sender, &carrier).await?
        }
        .into();
    }
    if faults.has(Fault::GroupLaxSkdmKey) {
        request.skdm = repair_skdm_key(&request.skdm.0).into();
    }
    if !faults.has(Fault::GroupEvictNewestState) {
        return groups::install_skdm(client, &request).await;
    }
    let name = SenderKeyName::new(request.group.clone(), request.sender.clone());
    let before = client.groups.record(&name).cloned();
    groups::install_skdm(client, &request).await?;
    let Some(before) = before else {
        return Ok(());
    };
    let Some(after) = client.groups.take(&name) else {
        return Ok(());
    };
    let before = before.into_components().map_err(reject)?;
    let mut after = after.into_components().map_err(reject)?;
    // Newest first: the crate dropped the last (oldest) state for a new one; keep it and drop the newest older.
    let evicted = before
        .states
        .last()
        .filter(|oldest| !after.states.iter().any(|s| s.key_id == oldest.key_id))
        .cloned();
    if let Some(oldest) = evicted
        && after.states.len() > 1
    {
        after.states.remove(1);
        after.states.push(oldest);
    }
    client
        .groups
        .put(&name, SenderKeyRecord::from_components(after).map_err(reject)?);
    Ok(())
}

/// group-skdm-from-start: the first SKDM of the current own key, whatever the chain has advanced to since.
fn skdm_from_start(groups: &mut Groups, group: &str, skdm: Vec<u8>) -> CallResult<Vec<u8>> {
    let id = |bytes: &[u8]| SenderKeyDistributionMessage::try_from(bytes).map(|m| m.chain_id());
    let current = id(&skdm).map_err(reject)?;
    let first = groups
        .first_skdm()
        .entry(group.to_string())
        .or_insert_with(|| skdm.clone());
    if id(first).map_err(reject)? != current {
        *first = skdm;
    }
    Ok(first.clone())
}

/// `groups::encrypt` with the outgoing-format faults.
pub(super) async fn encrypt(client: &mut Client, faults: &Faults, request: &GroupEncrypt) -> CallResult<Vec<u8>> {
    let bytes = groups::encrypt(client, request).await?;
    if !faults.has(Fault::GroupUpstreamFormat) && !faults.has(Fault::GroupSignWithoutVersion) {
        return Ok(bytes);
    }
    let name = SenderKeyName::new(request.group.clone(), client.name.clone());
    let record = client
        .groups
        .record(&name)
        .ok_or_else(|| internal("no own sender key"))?;
    let key = groups::own_signing_key(record)?;
    reframe_skmsg(&key, faults, &bytes, &mut client.rng.inner)
}

/// `groups::decrypt` with the receiver-side faults.
pub(super) async fn decrypt(client: &mut Client, faults: &Faults, request: &GroupDecrypt) -> CallResult<Vec<u8>> {
    let name = SenderKeyName::new(request.group.clone(), request.sender.clone());
    group_decrypt(&mut client.groups, faults, &name, &request.skmsg.0).await
}

async fn group_decrypt(
    groups: &mut Groups,
    faults: &Faults,
    name: &SenderKeyName,
    bytes: &[u8],
) -> CallResult<Vec<u8>> {
    let by_hand = |verify: bool, max_jump: Option<u32>| Checks {
        verify,
        max_jump,
        swap_key_and_iv: false,
        store: true,
    };
    if faults.has(Fault::GroupWrongMessageKey) {
        groups::version_check(bytes, "SenderKeyMessage")?;
        let checks = Checks {
            swap_key_and_iv: true,
            ..by_hand(true, Some(MAX_JUMP))
        };
        return groups::decrypt_by_hand(groups, name, bytes, checks);
    }
    let result = groups::decrypt_correctly(groups, name, bytes).await;
    match class_of(&result) {
        Some(ErrorClass::BadSignature) if faults.has(Fault::GroupSkipSignature) => {
            groups::decrypt_by_hand(groups, name, bytes, by_hand(false, Some(MAX_JUMP)))
        }
        Some(ErrorClass::BadSignature) if faults.has(Fault::GroupAdvanceBeforeVerify) => {
            let _ = groups::decrypt_by_hand(groups, name, bytes, by_hand(false, Some(MAX_JUMP)));
            result
        }
        Some(ErrorClass::TooFarInFuture) if faults.has(Fault::GroupUnboundedJump) => {
            groups::decrypt_by_hand(groups, name, bytes, by_hand(true, None))
        }
        Some(ErrorClass::TooFarInFuture) if faults.has(Fault::GroupUpstreamJumpBound) => {
            groups::decrypt_by_hand(groups, name, bytes, by_hand(true, Some(UPSTREAM_MAX_JUMP)))
        }
        Some(ErrorClass::InvalidVersion) if faults.has(Fault::GroupAnyVersion) => {
            groups::decrypt_by_hand(groups, name, bytes, by_hand(true, Some(MAX_JUMP)))
        }
        Some(ErrorClass::Duplicate) if faults.has(Fault::GroupAcceptDuplicate) => {
            groups.seen().get(bytes).cloned().map_or(result, Ok)
        }
        None if faults.has(Fault::GroupAcceptDuplicate) => {
            if let Ok(plaintext) = &result {
                groups.seen().insert(bytes.to_vec(), plaintext.clone());
            }
            result
        }
        _ => result,
    }
}

/// group-lax-skdm-key: make the signing key `0x05 || 32 bytes` whatever it was.
fn repair_skdm_key(bytes: &[u8]) -> Vec<u8> {
    let Some((version, proto)) = bytes.split_first() else {
        return bytes.to_vec();
    };
    let Ok(mut skdm) = SkdmProto::decode(proto) else {
        return bytes.to_vec();
    };
    if let Some(key) = &mut skdm.signing_key {
        match key.len() {
            32 => key.insert(0, 0x05),
            33 => key[0] = 0x05,
            _ => {}
        }
    }
    let mut out = vec![*version];
    out.extend(skdm.encode_to_vec());
    out
}

/// group-skdm-raw-signing-key: the same SKDM with its signing key's 0x05 dropped.
fn skdm_with_raw_signing_key(skdm: &SenderKeyDistributionMessage) -> Vec<u8> {
    let proto = SkdmProto {
        id: Some(skdm.chain_id()),
        iteration: Some(skdm.iteration()),
        chain_key: Some(skdm.chain_key().to_vec()),
        signing_key: Some(skdm.signing_key().public_key_bytes().to_vec()),
    };
    let mut out = vec![skdm.serialized()[0]];
    out.extend(proto.encode_to_vec());
    out
}

/// group-rotate-keeps-id: give the client's fresh sender key the id of the one it replaced.
fn set_own_key_id(groups: &mut Groups, name: &SenderKeyName, id: u32) -> CallResult<SenderKeyDistributionMessage> {
    let record = groups.take(name).ok_or_else(|| internal("no own sender key"))?;
    let mut parts = record.into_components().map_err(reject)?;
    let state = parts.states.first_mut().ok_or_else(|| internal("empty record"))?;
    state.key_id = id;
    let chain_key: [u8; 32] = state
        .chain_key
        .seed
        .as_slice()
        .try_into()
        .map_err(|_| internal("chain key length"))?;
    let signing = PublicKey::deserialize(&state.signing_key.public).map_err(|e| reject(e.into()))?;
    let skdm =
        SenderKeyDistributionMessage::new(3, id, state.chain_key.iteration, chain_key, signing).map_err(reject)?;
    groups.put(name, SenderKeyRecord::from_components(parts).map_err(reject)?);
    Ok(skdm)
}

/// group-upstream-format / group-sign-without-version: re-frame one outgoing skmsg and sign it again.
fn reframe_skmsg(key: &PrivateKey, faults: &Faults, bytes: &[u8], rng: &mut StdRng) -> CallResult<Vec<u8>> {
    let signed = &bytes[..bytes.len().saturating_sub(64)];
    let proto = SkmsgProto::decode(signed.get(1..).unwrap_or_default()).map_err(|e| internal(e.to_string()))?;
    let body = if faults.has(Fault::GroupUpstreamFormat) {
        let id = proto.id.unwrap_or_default();
        UpstreamSenderKeyMessage {
            distribution_uuid: Some([id.to_be_bytes(); 4].concat()),
            chain_id: proto.id,
            iteration: proto.iteration,
            ciphertext: proto.ciphertext,
        }
        .encode_to_vec()
    } else {
        proto.encode_to_vec()
    };
    let mut out = vec![bytes[0]];
    out.extend(&body);
    let covered: &[u8] = if faults.has(Fault::GroupSignWithoutVersion) {
        &body
    } else {
        &out
    };
    let signature = key
        .calculate_signature(covered, rng)
        .map_err(|e| internal(e.to_string()))?;
    out.extend_from_slice(&signature);
    Ok(out)
}
