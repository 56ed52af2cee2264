//! The receiving side of a 1:1 session, modelled independently: X3DH as responder, the first DH ratchet step,
//! the symmetric chain with skipped keys, MAC check, AES-CBC, and the state a receiver keeps across deliveries
//! (consumed one-time prekeys, used counters, the sender's trusted identity). Every step commits only on
//! success, as a receiver must (a refused message leaves no session behind).
//!
//! Limits of the model: the receiver never replies, so it only derives chains for ratchet keys received while
//! its own ratchet key is still the signed prekey; a later new ratchet key is refused as `bad_mac` (the real
//! receiver derives from a fresh random key, so the sender's MAC cannot verify either).

use super::crypto::{self as c, MessageKeys, Reject};
use crate::provider::{CiphertextKind, ErrorClass, KeyMaterial};
use crate::wire::{PreKeyWhisperMessage, WhisperMessage};
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};

/// Furthest a counter may run ahead of its chain: 2,000, WA Web's signalFutureMessagesMax and wacore-libsignal's
/// peer bound (RO-ENC-015C, a SHOULD; sources disagree, 25,000 in Signal's libsignal, which the MUST
/// RO-ENC-015 tolerates: the vectors between the two are `acceptable`).
pub const MAX_FORWARD_JUMP: u32 = 2_000;

/// Most skipped message keys kept per chain, the oldest evicted first (RO-ENC-015A: Signal's libsignal and
/// wacore-libsignal keep 2,000; WhatsApp's own bound is unconfirmed).
pub const MAX_SKIPPED_KEYS: usize = 2_000;

/// A parsed WhisperMessage and the bytes its MAC covers.
pub struct ParsedWhisper {
    /// Ratchet key (32 bytes).
    pub ratchet_key: [u8; 32],
    /// Counter.
    pub counter: u32,
    /// AES ciphertext.
    pub ciphertext: Vec<u8>,
    /// version || protobuf.
    pub signed: Vec<u8>,
    /// The trailing 8 bytes.
    pub mac: Vec<u8>,
}

fn malformed(detail: impl Into<String>) -> Reject {
    Reject::new(ErrorClass::InvalidMessage, detail)
}

fn check_version(body: &[u8], what: &str) -> Result<(), Reject> {
    match body.first() {
        None => Err(malformed(format!("{what}: empty"))),
        Some(&v) if v >> 4 != c::VERSION_BYTE >> 4 => Err(Reject::new(
            ErrorClass::InvalidVersion,
            format!("{what}: version byte {v:#04x}"),
        )),
        Some(_) => Ok(()),
    }
}

/// Parse `version || WhisperMessage || mac8` (RO-ENC-010, RO-ENC-012).
pub fn parse_whisper(body: &[u8]) -> Result<ParsedWhisper, Reject> {
    if body.len() < c::MAC_LENGTH + 1 {
        return Err(malformed(format!("msg of {} bytes is shorter than 9", body.len())));
    }
    check_version(body, "msg")?;
    let split = body.len() - c::MAC_LENGTH;
    let proto = WhisperMessage::decode(&body[1..split]).map_err(|e| malformed(format!("msg protobuf: {e}")))?;
    let ratchet = proto.ratchet_key.ok_or_else(|| malformed("msg without ratchetKey"))?;
    let counter = proto.counter.ok_or_else(|| malformed("msg without counter"))?;
    let ciphertext = proto.ciphertext.ok_or_else(|| malformed("msg without ciphertext"))?;
    let ratchet_key = c::parse_public(&ratchet, "ratchetKey")?;
    Ok(ParsedWhisper {
        ratchet_key,
        counter,
        ciphertext,
        signed: body[..split].to_vec(),
        mac: body[split..].to_vec(),
    })
}

/// A parsed PreKeyWhisperMessage.
pub struct ParsedPrekey {
    /// One-time prekey id.
    pub prekey_id: Option<u32>,
    /// Signed prekey id.
    pub signed_prekey_id: u32,
    /// Base key (32 bytes).
    pub base_key: [u8; 32],
    /// Sender identity, serialized (33 bytes).
    pub identity: [u8; 33],
    /// The inner message.
    pub message: ParsedWhisper,
}

/// Parse `version || PreKeyWhisperMessage` (RO-ENC-013), inner message included.
pub fn parse_prekey(body: &[u8]) -> Result<ParsedPrekey, Reject> {
    check_version(body, "pkmsg")?;
    let proto = PreKeyWhisperMessage::decode(&body[1..]).map_err(|e| malformed(format!("pkmsg protobuf: {e}")))?;
    let base = proto.base_key.ok_or_else(|| malformed("pkmsg without baseKey"))?;
    let identity = proto
        .identity_key
        .ok_or_else(|| malformed("pkmsg without identityKey"))?;
    let inner = proto.message.ok_or_else(|| malformed("pkmsg without message"))?;
    let signed_prekey_id = proto
        .signed_pre_key_id
        .ok_or_else(|| malformed("pkmsg without signedPreKeyId"))?;
    let base_key = c::parse_public(&base, "baseKey")?;
    let identity = c::serialize_public(&c::parse_public(&identity, "identityKey")?);
    Ok(ParsedPrekey {
        prekey_id: proto.pre_key_id,
        signed_prekey_id,
        base_key,
        identity,
        message: parse_whisper(&inner)?,
    })
}

#[derive(Clone)]
struct Chain {
    their_ratchet: [u8; 32],
    key: [u8; 32],
    index: u32,
    skipped: BTreeMap<u32, MessageKeys>,
}

#[derive(Clone)]
struct Session {
    base_key: [u8; 32],
    their_identity: [u8; 33],
    root: [u8; 32],
    /// Our ratchet private key while it is still the signed prekey; `None` once we would have ratcheted.
    our_ratchet: Option<[u8; 32]>,
    chains: Vec<Chain>,
}

/// Private keys of the receiver, as 32-byte arrays.
pub struct ReceiverKeys {
    identity_private: [u8; 32],
    identity: [u8; 33],
    signed_prekey_id: u32,
    signed_private: [u8; 32],
    prekeys: BTreeMap<u32, [u8; 32]>,
}

fn key32(bytes: &[u8], what: &str) -> Result<[u8; 32], String> {
    bytes
        .try_into()
        .map_err(|_| format!("{what}: {} bytes, expected 32", bytes.len()))
}

impl ReceiverKeys {
    /// From a vector's key material.
    pub fn from_material(keys: &KeyMaterial) -> Result<Self, String> {
        let identity_private = key32(&keys.identity_private, "identity_private")?;
        let mut prekeys = BTreeMap::new();
        for p in &keys.prekeys {
            prekeys.insert(p.id, key32(&p.private, "prekeys[].private")?);
        }
        Ok(Self {
            identity: c::serialize_public(&c::public_of(&identity_private)),
            identity_private,
            signed_prekey_id: keys.signed_prekey_id,
            signed_private: key32(&keys.signed_prekey_private, "signed_prekey_private")?,
            prekeys,
        })
    }

    /// The receiver's serialized identity key.
    pub fn identity(&self) -> [u8; 33] {
        self.identity
    }

    /// RO-ENC-003 as responder: (RootKey, ChainKey) from the sender's identity and base key.
    pub fn x3dh(
        &self,
        their_identity: &[u8; 32],
        base: &[u8; 32],
        prekey: Option<u32>,
    ) -> Result<([u8; 32], [u8; 32]), Reject> {
        let mut shared = vec![
            c::dh(&self.signed_private, their_identity, "DH(SPK_B, IK_A)")?,
            c::dh(&self.identity_private, base, "DH(IK_B, EK_A)")?,
            c::dh(&self.signed_private, base, "DH(SPK_B, EK_A)")?,
        ];
        if let Some(id) = prekey {
            let private = self
                .prekeys
                .get(&id)
                .ok_or_else(|| Reject::new(ErrorClass::InvalidPrekey, format!("no one-time prekey {id}")))?;
            shared.push(c::dh(private, base, "DH(OPK_B, EK_A)")?);
        }
        Ok(c::x3dh_keys(&shared))
    }
}

/// The receiver's state across deliveries from one sender address.
pub struct Receiver {
    keys: ReceiverKeys,
    consumed: BTreeSet<u32>,
    trusted: Option<[u8; 33]>,
    /// Sessions, the current one last.
    sessions: Vec<Session>,
}

impl Receiver {
    /// A receiver with no session.
    pub fn new(keys: ReceiverKeys) -> Self {
        Self {
            keys,
            consumed: BTreeSet::new(),
            trusted: None,
            sessions: Vec::new(),
        }
    }

    /// Deliver one message; `Ok` is the plaintext.
    pub fn decrypt(&mut self, kind: CiphertextKind, body: &[u8]) -> Result<Vec<u8>, Reject> {
        match kind {
            CiphertextKind::Msg => {
                let m = parse_whisper(body)?;
                if self.sessions.is_empty() {
                    return Err(Reject::new(ErrorClass::NoSession, "msg without a session"));
                }
                let mut first_error = None;
                for i in (0..self.sessions.len()).rev() {
                    let mut s = self.sessions[i].clone();
                    match self.decrypt_in(&mut s, &m) {
                        Ok(p) => {
                            self.sessions[i] = s;
                            return Ok(p);
                        }
                        Err(e) if e.class == ErrorClass::Duplicate => return Err(e),
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                Err(first_error.unwrap_or_else(|| Reject::new(ErrorClass::NoSession, "no session")))
            }
            CiphertextKind::Pkmsg => self.decrypt_prekey(body),
        }
    }

    fn decrypt_prekey(&mut self, body: &[u8]) -> Result<Vec<u8>, Reject> {
        let m = parse_prekey(body)?;
        if let Some(t) = self.trusted
            && t != m.identity
        {
            return Err(Reject::new(
                ErrorClass::UntrustedIdentity,
                "the sender's identity key changed",
            ));
        }
        if let Some(i) = self.sessions.iter().position(|s| s.base_key == m.base_key) {
            let mut s = self.sessions[i].clone();
            let plaintext = self.decrypt_in(&mut s, &m.message)?;
            self.sessions.remove(i);
            self.sessions.push(s);
            return Ok(plaintext);
        }
        if m.signed_prekey_id != self.keys.signed_prekey_id {
            return Err(Reject::new(
                ErrorClass::InvalidSignedPrekey,
                format!("unknown signed prekey {}", m.signed_prekey_id),
            ));
        }
        if let Some(id) = m.prekey_id
            && (self.consumed.contains(&id) || !self.keys.prekeys.contains_key(&id))
        {
            return Err(Reject::new(
                ErrorClass::InvalidPrekey,
                format!("one-time prekey {id} unknown or consumed"),
            ));
        }
        let their_identity = c::parse_public(&m.identity, "identityKey")?;
        let (root, _chain) = self.keys.x3dh(&their_identity, &m.base_key, m.prekey_id)?;
        let mut session = Session {
            base_key: m.base_key,
            their_identity: m.identity,
            root,
            our_ratchet: Some(self.keys.signed_private),
            chains: Vec::new(),
        };
        let plaintext = self.decrypt_in(&mut session, &m.message)?;
        self.sessions.push(session);
        if let Some(id) = m.prekey_id {
            self.consumed.insert(id);
        }
        self.trusted = Some(m.identity);
        Ok(plaintext)
    }

    fn decrypt_in(&self, session: &mut Session, m: &ParsedWhisper) -> Result<Vec<u8>, Reject> {
        let position = session.chains.iter().position(|c| c.their_ratchet == m.ratchet_key);
        let index = match position {
            Some(i) => i,
            None => {
                let Some(ours) = session.our_ratchet else {
                    return Err(Reject::new(
                        ErrorClass::BadMac,
                        "a new ratchet key after our own ratchet step: keys from a fresh key cannot match",
                    ));
                };
                let shared = c::dh(&ours, &m.ratchet_key, "DH(ratchet)")?;
                let (root, key) = c::ratchet_step(&session.root, &shared);
                session.root = root;
                session.our_ratchet = None;
                session.chains.push(Chain {
                    their_ratchet: m.ratchet_key,
                    key,
                    index: 0,
                    skipped: BTreeMap::new(),
                });
                session.chains.len() - 1
            }
        };
        let chain = &mut session.chains[index];
        let keys = if m.counter < chain.index {
            chain
                .skipped
                .remove(&m.counter)
                .ok_or_else(|| Reject::new(ErrorClass::Duplicate, format!("counter {} already used", m.counter)))?
        } else {
            if m.counter - chain.index > MAX_FORWARD_JUMP {
                return Err(Reject::new(
                    ErrorClass::TooFarInFuture,
                    format!("counter {} is {} ahead", m.counter, m.counter - chain.index),
                ));
            }
            while chain.index < m.counter {
                chain.skipped.insert(chain.index, c::message_keys(&chain.key));
                if chain.skipped.len() > MAX_SKIPPED_KEYS {
                    chain.skipped.pop_first();
                }
                chain.key = c::next_chain_key(&chain.key);
                chain.index += 1;
            }
            let keys = c::message_keys(&chain.key);
            chain.key = c::next_chain_key(&chain.key);
            chain.index += 1;
            keys
        };
        let mac = c::whisper_mac(&keys.mac_key, &session.their_identity, &self.keys.identity, &m.signed);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&mac[..], &m.mac[..])) {
            return Err(Reject::new(ErrorClass::BadMac, "MAC does not verify"));
        }
        c::aes_cbc_decrypt(&keys, &m.ciphertext)
    }
}
