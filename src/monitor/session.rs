//! One session between the provider and the harness peer, as the monitor follows it: the root key, the
//! provider's sending chains and the peer ratchet keys the provider has received, all derived from the peer's
//! private keys ([`super::KeyLog`]) and the public keys on the wire.
//!
//! The provider's root chain moves twice per round trip: when it receives a new peer ratchet key Q (the
//! receiving step, DH(Q, P) with its current key P) and when it then sends under a fresh key P' (the sending
//! step, DH(Q, P')). The monitor computes both from Q's private half. A peer message on a new key is placed in
//! the session whose receiving step makes its MAC verify, so reordering and archived sessions need no guess.

use super::decode::{Prekey, Whisper};
use super::{KeyLog, Rule, Started, rules};
use crate::provider::CiphertextKind;
use crate::verify::crypto as c;
use std::collections::{BTreeSet, HashSet};

/// Most chain steps the monitor takes for one message; beyond it the message is not judged (an honest sender
/// counts up by one, and a hostile one must not make the harness do unbounded work).
const MAX_STEPS: u32 = 50_000;

/// One sending chain of the provider.
#[derive(Clone)]
struct Chain {
    ratchet_key: [u8; 32],
    start: [u8; 32],
    /// (index, chain key at index), the furthest point derived.
    cache: (u32, [u8; 32]),
    counters: BTreeSet<u32>,
    previous_counter: u32,
}

impl Chain {
    fn new(ratchet_key: [u8; 32], start: [u8; 32], previous_counter: u32) -> Self {
        Self {
            ratchet_key,
            start,
            cache: (0, start),
            counters: BTreeSet::new(),
            previous_counter,
        }
    }

    fn keys_at(&mut self, counter: u32) -> Option<c::MessageKeys> {
        let (mut index, mut key) = if counter >= self.cache.0 {
            self.cache
        } else {
            (0, self.start)
        };
        if counter - index > MAX_STEPS {
            return None;
        }
        while index < counter {
            key = c::next_chain_key(&key);
            index += 1;
        }
        self.cache = (index, key);
        Some(c::message_keys(&key))
    }
}

#[derive(Clone)]
pub(super) struct Session {
    pub(super) base_key: [u8; 32],
    /// The peer's bundle the provider started from (provider-initiated sessions).
    pub(super) started: Option<Started>,
    received_reply: bool,
    root: [u8; 32],
    /// The provider's current ratchet key as the peer last paired with it (responder: its signed prekey).
    provider_key: Option<[u8; 32]>,
    /// The newest peer ratchet key the provider received (initiator: the peer's signed prekey at first).
    peer_key: [u8; 32],
    peer_keys: HashSet<[u8; 32]>,
    /// A new peer ratchet key arrived since the provider's last new sending chain.
    must_ratchet: bool,
    chains: Vec<Chain>,
    provider_identity: [u8; 33],
    peer_identity: [u8; 33],
}

fn dh(keys: &KeyLog, private_of: &[u8; 32], public: &[u8; 32]) -> Option<[u8; 32]> {
    Some(c::x25519(&keys.private_for(private_of)?, public))
}

impl Session {
    /// A session the provider starts with its first pkmsg `p`, from the peer's bundle `started`: X3DH as the
    /// responder computes it.
    pub(super) fn initiator(keys: &KeyLog, p: &Prekey, started: &Started) -> Option<Self> {
        let identity = c::parse_public(&p.identity, "identity").ok()?;
        let peer_identity = c::parse_public(&started.identity, "identity").ok()?;
        let spk = &started.signed_prekey;
        let mut shared = vec![
            dh(keys, spk, &identity)?,
            dh(keys, &peer_identity, &p.base_key)?,
            dh(keys, spk, &p.base_key)?,
        ];
        if let Some((_, opk)) = started.prekey {
            shared.push(dh(keys, &opk, &p.base_key)?);
        }
        let (root, _) = c::x3dh_keys(&shared);
        Some(Self {
            base_key: p.base_key,
            started: Some(started.clone()),
            received_reply: false,
            root,
            provider_key: None,
            peer_key: *spk,
            peer_keys: HashSet::new(),
            must_ratchet: true,
            chains: Vec::new(),
            provider_identity: p.identity,
            peer_identity: started.identity,
        })
    }

    /// A session the peer starts with its pkmsg `p` from the provider's bundle `started`: X3DH as the peer
    /// (initiator) computes it.
    pub(super) fn responder(keys: &KeyLog, p: &Prekey, started: &Started) -> Option<Self> {
        let provider_identity = c::parse_public(&started.identity, "identity").ok()?;
        let peer_identity = c::parse_public(&p.identity, "identity").ok()?;
        let spk = started.signed_prekey;
        let mut shared = vec![
            dh(keys, &peer_identity, &spk)?,
            dh(keys, &p.base_key, &provider_identity)?,
            dh(keys, &p.base_key, &spk)?,
        ];
        if let Some((_, opk)) = started.prekey {
            shared.push(dh(keys, &p.base_key, &opk)?);
        }
        let (root, _) = c::x3dh_keys(&shared);
        Some(Self {
            base_key: p.base_key,
            started: None,
            received_reply: true,
            root,
            provider_key: Some(spk),
            peer_key: [0; 32],
            peer_keys: HashSet::new(),
            must_ratchet: false,
            chains: Vec::new(),
            provider_identity: started.identity,
            peer_identity: p.identity,
        })
    }

    pub(super) fn knows_peer_key(&self, key: &[u8; 32]) -> bool {
        self.peer_keys.contains(key)
    }

    pub(super) fn sends_on(&self, key: &[u8; 32]) -> bool {
        self.chains.iter().any(|c| c.ratchet_key == *key)
    }

    /// Whether the provider's msg `w` belongs to this session: its MAC verifies under keys derived here (a
    /// dry run of [`Session::sent`]; nothing changes).
    pub(super) fn would_verify(&self, keys: &KeyLog, w: &Whisper) -> bool {
        let mut trial = self.clone();
        let mut mac_failed = false;
        let derived = trial.sent(
            keys,
            &mut HashSet::new(),
            CiphertextKind::Msg,
            w,
            &[],
            &mut |rule, _, _| mac_failed |= rule == rules::MAC,
        );
        derived && !mac_failed
    }

    /// The provider decrypted the peer's message `w` on this session? True when the message belongs here (a
    /// known peer key, or a new one whose receiving step makes the message's MAC verify); the state moves then.
    pub(super) fn received(&mut self, keys: &KeyLog, w: &Whisper) -> bool {
        if self.peer_keys.contains(&w.ratchet_key) {
            self.received_reply = true;
            return true;
        }
        let (Some(provider_key), Some(private)) = (self.provider_key, keys.private_for(&w.ratchet_key)) else {
            return false;
        };
        let (root, chain) = c::ratchet_step(&self.root, &c::x25519(&private, &provider_key));
        let mut receiving = Chain::new(w.ratchet_key, chain, 0);
        let Some(k) = receiving.keys_at(w.counter) else {
            return false;
        };
        let mac = c::whisper_mac(&k.mac_key, &self.peer_identity, &self.provider_identity, &w.signed);
        if mac != w.mac {
            return false;
        }
        self.root = root;
        self.peer_key = w.ratchet_key;
        self.peer_keys.insert(w.ratchet_key);
        self.must_ratchet = true;
        self.received_reply = true;
        true
    }

    /// Judge the provider's message `w` sent on this session; `report` takes each violation. False when the
    /// monitor cannot derive its keys.
    pub(super) fn sent(
        &mut self,
        keys: &KeyLog,
        used_keys: &mut HashSet<[u8; 32]>,
        kind: CiphertextKind,
        w: &Whisper,
        plaintext: &[u8],
        report: &mut dyn FnMut(Rule, String, String),
    ) -> bool {
        let initiated = self.started.is_some();
        match kind {
            CiphertextKind::Msg if initiated && !self.received_reply => report(
                rules::SETUP,
                "pkmsg: nothing received on the session yet".into(),
                "msg".into(),
            ),
            CiphertextKind::Pkmsg if self.received_reply => report(
                rules::SETUP,
                "msg: a message was received on the session".into(),
                "pkmsg".into(),
            ),
            _ => {}
        }
        let key = w.ratchet_key;
        let index = match self.chains.iter().position(|c| c.ratchet_key == key) {
            Some(i) => {
                if self.must_ratchet {
                    report(
                        rules::DH_RATCHET,
                        format!(
                            "a new ratchet key after receiving the peer's new ratchet key 05{}",
                            hex::encode(self.peer_key)
                        ),
                        format!("the old ratchet key 05{} again", hex::encode(key)),
                    );
                } else if i + 1 != self.chains.len() {
                    report(
                        rules::DH_RATCHET,
                        "the current sending ratchet key".into(),
                        format!("an earlier ratchet key 05{}", hex::encode(key)),
                    );
                }
                i
            }
            None => {
                if self.provider_key == Some(key) && self.must_ratchet {
                    report(
                        rules::DH_RATCHET,
                        "a new ratchet key after receiving the peer's first message".into(),
                        "the signed prekey as ratchet key".into(),
                    );
                    return false;
                }
                if !used_keys.insert(key) {
                    report(
                        rules::DH_RATCHET,
                        "a ratchet key never used before".into(),
                        format!("ratchet key 05{} of an earlier chain or session", hex::encode(key)),
                    );
                }
                let Some(private) = keys.private_for(&self.peer_key) else {
                    return false;
                };
                let (root, start) = c::ratchet_step(&self.root, &c::x25519(&private, &key));
                self.root = root;
                self.provider_key = Some(key);
                self.must_ratchet = false;
                let previous = self.chains.last().and_then(|c| c.counters.last().copied()).unwrap_or(0);
                self.chains.push(Chain::new(key, start, previous));
                self.chains.len() - 1
            }
        };
        let chain = &mut self.chains[index];
        if chain.counters.contains(&w.counter) {
            report(
                rules::COUNTERS,
                "a counter never used before in the chain".into(),
                format!("counter {} again", w.counter),
            );
        } else if let Some(&last) = chain.counters.last()
            && w.counter < last
        {
            report(
                rules::COUNTERS,
                format!("a counter above {last}"),
                format!("counter {}", w.counter),
            );
        }
        chain.counters.insert(w.counter);
        if w.previous_counter != chain.previous_counter {
            report(
                rules::COUNTERS,
                format!(
                    "previousCounter {}: the last counter of the previous sending chain (0 when it sent none or one)",
                    chain.previous_counter
                ),
                format!("previousCounter {}", w.previous_counter),
            );
        }
        let Some(k) = chain.keys_at(w.counter) else {
            return false;
        };
        let mac = c::whisper_mac(&k.mac_key, &self.provider_identity, &self.peer_identity, &w.signed);
        if mac != w.mac {
            report(
                rules::MAC,
                format!("MAC {} (keys derived by the monitor)", hex::encode(mac)),
                format!("MAC {}", hex::encode(w.mac)),
            );
            return true;
        }
        match c::aes_cbc_decrypt(&k, &w.ciphertext) {
            Ok(p) if p == plaintext => {}
            Ok(p) => report(
                rules::CONTENT,
                format!("plaintext {}", hex::encode(plaintext)),
                format!("plaintext {}", hex::encode(p)),
            ),
            Err(e) => report(
                rules::CONTENT,
                format!("plaintext {} with valid PKCS#7 padding", hex::encode(plaintext)),
                e.detail,
            ),
        }
        true
    }
}
