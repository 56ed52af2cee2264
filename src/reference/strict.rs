//! Checks the reference wrapper adds in front of wacore-libsignal where the crate is laxer than the profile.
//! Each check names the requirement it enforces; see the module doc of [`super`].

use crate::provider::{CallError, CallResult, CiphertextKind, ErrorClass};
use crate::wire::{PreKeyWhisperMessage, WhisperMessage};
use prost::Message;

/// The message version byte spoken by WhatsApp-compatible stacks: (3 << 4) | 3.
pub(super) const VERSION_BYTE: u8 = 0x33;

fn invalid_key(detail: String) -> CallError {
    CallError::rejected(ErrorClass::InvalidKey, detail)
}

/// The encodings (top bit ignored) of the Curve25519 points of small order, as listed by libsodium's
/// `has_small_order`: 0, 1, the two points of order 8, and p-1, p, p+1.
const SMALL_ORDER: [[u8; 32]; 7] = [
    [0; 32],
    {
        let mut one = [0; 32];
        one[0] = 1;
        one
    },
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09,
        0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44,
        0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
    ],
    high(0xec),
    high(0xed),
    high(0xee),
];

/// `b ff ff .. ff 7f`: p - 1, p and p + 1 for b = 0xec, 0xed, 0xee.
const fn high(first: u8) -> [u8; 32] {
    let mut v = [0xff; 32];
    v[0] = first;
    v[31] = 0x7f;
    v
}

/// A point of small order: every clamped scalar (a multiple of 8) maps it to the all-zero shared secret.
/// RO-ENC-002 / RFC 7748 section 6.1: such a key must not be used for agreement; wacore does not check.
/// A table look-up, not a scalar multiplication: it runs on every message's ratchet key.
pub(super) fn is_low_order(key: &[u8]) -> bool {
    let Some(raw) = key.get(1..33).and_then(|k| <[u8; 32]>::try_from(k).ok()) else {
        return false;
    };
    let mut masked = raw;
    masked[31] &= 0x7f;
    SMALL_ORDER.contains(&masked)
}

/// Refuse a serialized agreement key that is low-order.
pub(super) fn agreement_key(key: &[u8], what: &str) -> CallResult<()> {
    if is_low_order(key) {
        return Err(invalid_key(format!("{what}: low-order public key")));
    }
    Ok(())
}

/// A key field of a message: exactly 33 bytes (RO-ID-007A; the crate ignores trailing bytes) and not low-order.
fn message_key(key: Option<&Vec<u8>>, what: &str) -> CallResult<()> {
    let Some(key) = key else { return Ok(()) };
    if key.len() > 33 {
        return Err(invalid_key(format!("{what}: {} bytes, expected 33", key.len())));
    }
    agreement_key(key, what)
}

fn version(body: &[u8], what: &str) -> CallResult<()> {
    // RO-ENC-010/010A: only version 3. The crate accepts a 0x4_ header.
    match body.first() {
        None => Err(CallError::rejected(
            ErrorClass::InvalidMessage,
            format!("{what}: empty"),
        )),
        Some(&v) if v >> 4 != VERSION_BYTE >> 4 => Err(CallError::rejected(
            ErrorClass::InvalidVersion,
            format!("{what}: version byte {v:#04x}"),
        )),
        Some(_) => Ok(()),
    }
}

fn whisper(body: &[u8]) -> CallResult<()> {
    version(body, "msg")?;
    // Unparsable messages are left to the crate, which classifies them.
    if body.len() > 9
        && let Ok(m) = WhisperMessage::decode(&body[1..body.len() - 8])
    {
        message_key(m.ratchet_key.as_ref(), "ratchetKey")?;
    }
    Ok(())
}

/// Check a ciphertext before the crate sees it.
pub(super) fn precheck(kind: CiphertextKind, body: &[u8]) -> CallResult<()> {
    match kind {
        CiphertextKind::Msg => whisper(body),
        CiphertextKind::Pkmsg => {
            version(body, "pkmsg")?;
            if let Ok(m) = PreKeyWhisperMessage::decode(&body[1..]) {
                message_key(m.base_key.as_ref(), "baseKey")?;
                message_key(m.identity_key.as_ref(), "identityKey")?;
                if let Some(inner) = &m.message {
                    whisper(inner)?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod low_order_tests {
    use super::*;

    /// The table agrees with the definition: X25519 with a clamped scalar gives all zeros exactly for these.
    #[test]
    fn table_matches_scalar_multiplication() {
        let by_multiplication = |raw: [u8; 32]| x25519_dalek::x25519([0x58; 32], raw) == [0u8; 32];
        let serialized = |raw: [u8; 32]| [&[0x05][..], &raw].concat();
        for point in SMALL_ORDER {
            for top in [0u8, 0x80] {
                let mut raw = point;
                raw[31] |= top;
                assert!(by_multiplication(raw), "{raw:02x?}");
                assert!(is_low_order(&serialized(raw)), "{raw:02x?}");
            }
        }
        let mut raw = [9u8; 32];
        for i in 0..2000u32 {
            raw[..4].copy_from_slice(&i.to_le_bytes());
            raw[i as usize % 32] ^= i as u8;
            assert_eq!(is_low_order(&serialized(raw)), by_multiplication(raw), "{raw:02x?}");
        }
    }
}
