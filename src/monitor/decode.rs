//! Parsing what the provider sends, strictly and without judging it yet: the version byte, the protobuf's
//! fields and wire types, key encodings and the MAC's place. A [`Decoded`] message also renders itself for
//! the report (the judged message's fields).

use crate::verify::crypto as c;
use crate::wire::{PreKeyWhisperMessage, WhisperMessage};
use prost::Message;
use std::fmt;

/// Protobuf wire types used by the two messages.
const VARINT: u64 = 0;
const LEN: u64 = 2;

/// A problem found while parsing, before any key is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Which part: `version`, `msg`, `pkmsg`.
    pub part: &'static str,
    /// What is wrong.
    pub detail: String,
}

fn malformed(part: &'static str, detail: impl Into<String>) -> Malformed {
    Malformed {
        part,
        detail: detail.into(),
    }
}

/// Walk the top-level fields of a protobuf and check every tag is known, with its wire type, at most once.
fn check_fields(bytes: &[u8], known: &[(u32, u64)], part: &'static str) -> Result<(), Malformed> {
    let mut at = 0usize;
    let mut seen = Vec::new();
    let varint = |at: &mut usize| -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    };
    while at < bytes.len() {
        let key = varint(&mut at).ok_or_else(|| malformed(part, "truncated field key"))?;
        let (tag, wire) = ((key >> 3) as u32, key & 7);
        match known.iter().find(|(t, _)| *t == tag) {
            None => return Err(malformed(part, format!("unknown field {tag} (wire type {wire})"))),
            Some((_, w)) if *w != wire => {
                return Err(malformed(
                    part,
                    format!("field {tag} has wire type {wire}, expected {w}"),
                ));
            }
            Some(_) => {}
        }
        if seen.contains(&tag) {
            return Err(malformed(part, format!("field {tag} appears twice")));
        }
        seen.push(tag);
        let len = varint(&mut at).ok_or_else(|| malformed(part, format!("field {tag}: truncated value")))?;
        if wire == LEN {
            at = usize::try_from(len)
                .ok()
                .and_then(|l| at.checked_add(l))
                .filter(|end| *end <= bytes.len())
                .ok_or_else(|| malformed(part, format!("field {tag}: length {len} runs past the end")))?;
        }
    }
    Ok(())
}

/// A public key field: exactly `0x05 || 32 bytes`.
fn key(bytes: &Option<Vec<u8>>, what: &str, part: &'static str) -> Result<[u8; 32], Malformed> {
    let bytes = bytes
        .as_ref()
        .ok_or_else(|| malformed(part, format!("{what} missing")))?;
    c::parse_public(bytes, what).map_err(|r| malformed(part, r.detail))
}

/// A decoded WhisperMessage (`msg`, or a pkmsg's inner message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whisper {
    /// The version byte.
    pub version: u8,
    /// Ratchet key.
    pub ratchet_key: [u8; 32],
    /// Counter.
    pub counter: u32,
    /// previousCounter (0 when absent, as proto2 readers take it).
    pub previous_counter: u32,
    /// AES ciphertext.
    pub ciphertext: Vec<u8>,
    /// `version || protobuf`, what the MAC covers.
    pub signed: Vec<u8>,
    /// The trailing MAC.
    pub mac: [u8; c::MAC_LENGTH],
}

/// A decoded PreKeyWhisperMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prekey {
    /// The outer version byte.
    pub version: u8,
    /// registrationId.
    pub registration_id: Option<u32>,
    /// preKeyId.
    pub prekey_id: Option<u32>,
    /// signedPreKeyId.
    pub signed_prekey_id: Option<u32>,
    /// Base key.
    pub base_key: [u8; 32],
    /// Identity key, serialized.
    pub identity: [u8; 33],
    /// The inner message.
    pub inner: Whisper,
}

/// What the provider sent, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A `msg`.
    Msg(Whisper),
    /// A `pkmsg`.
    Pkmsg(Prekey),
}

impl Decoded {
    /// The WhisperMessage (a pkmsg's inner one).
    pub fn whisper(&self) -> &Whisper {
        match self {
            Self::Msg(w) => w,
            Self::Pkmsg(p) => &p.inner,
        }
    }
}

fn short(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    if hex.len() > 16 {
        format!("{}..", &hex[..16])
    } else {
        hex
    }
}

impl fmt::Display for Whisper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "msg {{version {:#04x}, ratchetKey 05{}, counter {}, previousCounter {}, ciphertext {} bytes, mac {}}}",
            self.version,
            short(&self.ratchet_key),
            self.counter,
            self.previous_counter,
            self.ciphertext.len(),
            hex::encode(self.mac)
        )
    }
}

impl fmt::Display for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Msg(w) => w.fmt(f),
            Self::Pkmsg(p) => {
                let opt = |v: Option<u32>| v.map_or("absent".to_string(), |v| v.to_string());
                write!(
                    f,
                    "pkmsg {{version {:#04x}, registrationId {}, preKeyId {}, signedPreKeyId {}, baseKey 05{}, \
                     identityKey {}, message {}}}",
                    p.version,
                    opt(p.registration_id),
                    opt(p.prekey_id),
                    opt(p.signed_prekey_id),
                    short(&p.base_key),
                    short(&p.identity),
                    p.inner
                )
            }
        }
    }
}

/// Parse `version || WhisperMessage || mac8`.
pub fn whisper(body: &[u8]) -> Result<Whisper, Malformed> {
    const PART: &str = "msg";
    if body.len() < 1 + c::MAC_LENGTH {
        return Err(malformed(
            PART,
            format!("{} bytes, shorter than version + MAC", body.len()),
        ));
    }
    let split = body.len() - c::MAC_LENGTH;
    let proto = &body[1..split];
    check_fields(proto, &[(1, LEN), (2, VARINT), (3, VARINT), (4, LEN)], PART)?;
    let m = WhisperMessage::decode(proto).map_err(|e| malformed(PART, format!("protobuf: {e}")))?;
    let ratchet_key = key(&m.ratchet_key, "ratchetKey", PART)?;
    let counter = m.counter.ok_or_else(|| malformed(PART, "counter missing"))?;
    let ciphertext = m.ciphertext.ok_or_else(|| malformed(PART, "ciphertext missing"))?;
    let mut mac = [0u8; c::MAC_LENGTH];
    mac.copy_from_slice(&body[split..]);
    Ok(Whisper {
        version: body[0],
        ratchet_key,
        counter,
        previous_counter: m.previous_counter.unwrap_or(0),
        ciphertext,
        signed: body[..split].to_vec(),
        mac,
    })
}

/// Parse `version || PreKeyWhisperMessage`, inner message included.
pub fn prekey(body: &[u8]) -> Result<Prekey, Malformed> {
    const PART: &str = "pkmsg";
    let Some((&version, proto)) = body.split_first() else {
        return Err(malformed(PART, "empty"));
    };
    check_fields(
        proto,
        &[(1, VARINT), (2, LEN), (3, LEN), (4, LEN), (5, VARINT), (6, VARINT)],
        PART,
    )?;
    let m = PreKeyWhisperMessage::decode(proto).map_err(|e| malformed(PART, format!("protobuf: {e}")))?;
    let base_key = key(&m.base_key, "baseKey", PART)?;
    let identity = c::serialize_public(&key(&m.identity_key, "identityKey", PART)?);
    let inner = m.message.as_deref().ok_or_else(|| malformed(PART, "message missing"))?;
    Ok(Prekey {
        version,
        registration_id: m.registration_id,
        prekey_id: m.pre_key_id,
        signed_prekey_id: m.signed_pre_key_id,
        base_key,
        identity,
        inner: whisper(inner)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg_proto() -> WhisperMessage {
        WhisperMessage {
            ratchet_key: Some(c::serialize_public(&c::public_of(&[3; 32])).to_vec()),
            counter: Some(4),
            previous_counter: Some(1),
            ciphertext: Some(vec![0; 16]),
        }
    }

    fn frame(proto: &[u8]) -> Vec<u8> {
        let mut out = vec![0x33];
        out.extend_from_slice(proto);
        out.extend_from_slice(&[9; 8]);
        out
    }

    #[test]
    fn a_well_formed_msg_decodes_with_its_fields() {
        let w = whisper(&frame(&msg_proto().encode_to_vec())).unwrap();
        assert_eq!((w.counter, w.previous_counter, w.version), (4, 1, 0x33));
        assert_eq!(w.mac, [9; 8]);
        assert!(w.to_string().contains("counter 4, previousCounter 1"));
    }

    #[test]
    fn unknown_fields_wrong_wire_types_and_bad_keys_are_malformed() {
        let mut proto = msg_proto().encode_to_vec();
        proto.extend_from_slice(&[0x28, 0x01]); // field 5, varint
        assert!(whisper(&frame(&proto)).unwrap_err().detail.contains("unknown field 5"));
        let mut proto = msg_proto().encode_to_vec();
        proto.extend_from_slice(&[0x12, 0x00]); // field 2 as bytes
        assert!(whisper(&frame(&proto)).unwrap_err().detail.contains("wire type 2"));
        let mut bad = msg_proto();
        bad.ratchet_key.as_mut().unwrap()[0] = 0x06;
        assert!(whisper(&frame(&bad.encode_to_vec())).is_err());
        assert!(whisper(&[0x33; 5]).is_err());
    }
}
