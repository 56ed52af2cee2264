//! The sending side, built from the same specifications as the receiver model: X3DH as initiator, the first
//! sending chain, and message framing. The generator uses it to build known-answer and malformed messages whose
//! MAC is valid, so that only the check under test can refuse them; the reference library decrypting the valid
//! ones is the cross-check of this code.

use super::crypto::{self as c, MessageKeys};
use crate::wire::{PreKeyWhisperMessage, WhisperMessage};
use prost::Message;

/// The initiator's fixed private keys.
#[derive(Debug, Clone)]
pub struct SenderKeys {
    /// Identity private key.
    pub identity: [u8; 32],
    /// Base (ephemeral) private key.
    pub base: [u8; 32],
    /// First sending ratchet private key.
    pub ratchet: [u8; 32],
}

/// The responder's public keys, as in its bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Registration id of the sender (written into pkmsgs).
    pub sender_registration_id: u32,
    /// Identity public key.
    pub identity: [u8; 32],
    /// Signed prekey id.
    pub signed_prekey_id: u32,
    /// Signed prekey public key.
    pub signed_prekey: [u8; 32],
    /// One-time prekey id and public key, when used.
    pub prekey: Option<(u32, [u8; 32])>,
}

/// How the key schedule may deliberately deviate, to build wrong-derivation negatives.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deviation {
    /// Omit the 0xFF x 32 prefix of the X3DH master secret.
    pub no_ff_prefix: bool,
    /// Use "WhisperText" instead of "WhisperRatchet" for the ratchet step.
    pub ratchet_info_whisper_text: bool,
    /// Derive message keys from the chain key itself instead of HMAC(chainKey, 0x01).
    pub unhashed_seed: bool,
    /// Swap the cipher and MAC key halves of the message keys.
    pub swapped_key_split: bool,
}

/// Every value of the initiator's key schedule, for vectors.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// X3DH root key.
    pub root_key: [u8; 32],
    /// X3DH chain key.
    pub chain_key: [u8; 32],
    /// Root key after the first ratchet step.
    pub ratchet_root_key: [u8; 32],
    /// First sending chain key (index 0).
    pub sending_chain_key: [u8; 32],
}

/// An initiator with a fixed session toward one bundle.
pub struct Sender {
    keys: SenderKeys,
    bundle: Bundle,
    deviation: Deviation,
    /// The serialized base key written into pkmsgs (normally `0x05 || public(base)`).
    pub base_serialized: Vec<u8>,
    /// The serialized ratchet key written into messages (normally `0x05 || public(ratchet)`).
    pub ratchet_serialized: Vec<u8>,
    /// The key schedule.
    pub schedule: Schedule,
}

impl Sender {
    /// X3DH as initiator and the first sending chain.
    pub fn new(keys: SenderKeys, bundle: Bundle, deviation: Deviation) -> Self {
        let base = keys.base;
        let mut shared = vec![
            c::x25519(&keys.identity, &bundle.signed_prekey),
            c::x25519(&base, &bundle.identity),
            c::x25519(&base, &bundle.signed_prekey),
        ];
        if let Some((_, opk)) = bundle.prekey {
            shared.push(c::x25519(&base, &opk));
        }
        let ratchet_shared = c::x25519(&keys.ratchet, &bundle.signed_prekey);
        Self::from_shared(keys, bundle, deviation, &shared, ratchet_shared)
    }

    /// A sender whose DH outputs are given: what the receiver computes for substituted (e.g. low-order) keys.
    pub fn from_shared(
        keys: SenderKeys,
        bundle: Bundle,
        deviation: Deviation,
        shared: &[[u8; 32]],
        ratchet_shared: [u8; 32],
    ) -> Self {
        let (root_key, chain_key) = if deviation.no_ff_prefix {
            c::split64(&c::hkdf(None, &shared.concat(), b"WhisperText", 64))
        } else {
            c::x3dh_keys(shared)
        };
        let (ratchet_root_key, sending_chain_key) = if deviation.ratchet_info_whisper_text {
            c::split64(&c::hkdf(Some(&root_key), &ratchet_shared, b"WhisperText", 64))
        } else {
            c::ratchet_step(&root_key, &ratchet_shared)
        };
        Self {
            base_serialized: c::serialize_public(&c::public_of(&keys.base)).to_vec(),
            ratchet_serialized: c::serialize_public(&c::public_of(&keys.ratchet)).to_vec(),
            keys,
            bundle,
            deviation,
            schedule: Schedule {
                root_key,
                chain_key,
                ratchet_root_key,
                sending_chain_key,
            },
        }
    }

    /// The sender's serialized identity key.
    pub fn identity(&self) -> [u8; 33] {
        c::serialize_public(&c::public_of(&self.keys.identity))
    }

    /// The receiver's serialized identity key.
    pub fn receiver_identity(&self) -> [u8; 33] {
        c::serialize_public(&self.bundle.identity)
    }

    /// Chain key at `counter`.
    pub fn chain_key_at(&self, counter: u32) -> [u8; 32] {
        (0..counter).fold(self.schedule.sending_chain_key, |k, _| c::next_chain_key(&k))
    }

    /// Message keys at `counter`, with the deviation applied.
    pub fn keys_at(&self, counter: u32) -> MessageKeys {
        let chain = self.chain_key_at(counter);
        let mut keys = if self.deviation.unhashed_seed {
            MessageKeys::from_okm(&c::hkdf(None, &chain, b"WhisperMessageKeys", 80))
        } else {
            c::message_keys(&chain)
        };
        if self.deviation.swapped_key_split {
            std::mem::swap(&mut keys.cipher_key, &mut keys.mac_key);
        }
        keys
    }

    /// The protobuf of message `counter` carrying `plaintext`.
    pub fn proto(&self, counter: u32, plaintext: &[u8]) -> WhisperMessage {
        WhisperMessage {
            ratchet_key: Some(self.ratchet_serialized.clone()),
            counter: Some(counter),
            previous_counter: Some(0),
            ciphertext: Some(c::aes_cbc_encrypt(&self.keys_at(counter), plaintext)),
        }
    }

    /// Frame a protobuf: `version || protobuf || MAC`, the MAC made with `mac_key` over `first || second`
    /// identities (sender then receiver when honest), truncated to `mac_len` bytes.
    pub fn frame(&self, version: u8, proto: &[u8], mac_key: &[u8; 32], swap: bool, mac_len: usize) -> Vec<u8> {
        let mut out = vec![version];
        out.extend_from_slice(proto);
        let (s, r) = (self.identity(), self.receiver_identity());
        let (first, second) = if swap { (r, s) } else { (s, r) };
        let full = c::hmac_sha256(mac_key, &[&first, &second, &out]);
        out.extend_from_slice(&full[..mac_len.min(32)]);
        out
    }

    /// An honest serialized WhisperMessage.
    pub fn whisper(&self, counter: u32, plaintext: &[u8]) -> Vec<u8> {
        let proto = self.proto(counter, plaintext).encode_to_vec();
        self.frame(
            c::VERSION_BYTE,
            &proto,
            &self.keys_at(counter).mac_key,
            false,
            c::MAC_LENGTH,
        )
    }

    /// The PreKeyWhisperMessage protobuf around an inner serialized message.
    pub fn prekey_proto(&self, inner: Vec<u8>) -> PreKeyWhisperMessage {
        PreKeyWhisperMessage {
            pre_key_id: self.bundle.prekey.map(|(id, _)| id),
            base_key: Some(self.base_serialized.clone()),
            identity_key: Some(self.identity().to_vec()),
            message: Some(inner),
            registration_id: Some(self.bundle.sender_registration_id),
            signed_pre_key_id: Some(self.bundle.signed_prekey_id),
        }
    }

    /// `version || PreKeyWhisperMessage`.
    pub fn prekey_frame(version: u8, proto: &PreKeyWhisperMessage) -> Vec<u8> {
        let mut out = vec![version];
        out.extend_from_slice(&proto.encode_to_vec());
        out
    }

    /// An honest pkmsg carrying message `counter`.
    pub fn prekey_message(&self, counter: u32, plaintext: &[u8]) -> Vec<u8> {
        Self::prekey_frame(c::VERSION_BYTE, &self.prekey_proto(self.whisper(counter, plaintext)))
    }
}
