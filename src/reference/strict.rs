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

/// A point of small order: every clamped scalar (a multiple of 8) maps it to the all-zero shared secret.
/// RO-ENC-002 / RFC 7748 section 6.1: such a key must not be used for agreement; wacore does not check.
pub(super) fn is_low_order(key: &[u8]) -> bool {
    let Some(raw) = key.get(1..33).and_then(|k| <[u8; 32]>::try_from(k).ok()) else {
        return false;
    };
    x25519_dalek::x25519([0x58; 32], raw) == [0u8; 32]
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
