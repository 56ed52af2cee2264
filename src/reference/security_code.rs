//! The 60-digit security code in the reference provider (RO-ID-009, constant C48, KAT-3): Signal's numeric
//! fingerprint as in signalapp/libsignal `rust/protocol/src/fingerprint.rs` (wacore-libsignal has no fingerprint
//! module).
//!
//! Each party's half: SHA-512 over `0x0000 || key(33) || identifier || key(33)`, then 5199 more rounds over
//! `digest || key(33)`; the first 30 bytes become six 5-digit groups (5 bytes big-endian mod 100000). The two
//! 30-digit halves are shown smaller-first, so both parties see the same 60 digits.
//!
//! Unconfirmed (reference-offer.md section 5 item 12): which identifier bytes WhatsApp hashes for interop chats
//! (phone number, LID, Partner identifier), whether it hashes the 0x0000 prefix and the 33-byte key as Signal
//! does, and whether interop chats show a security code at all. This is Signal's generic algorithm only.

use super::faults::{Fault, Faults};
use super::public_key;
use crate::provider::{CallResult, SecurityCode};
use wacore_libsignal::crypto::CryptographicHash;

/// Hash rounds per half (C48; libsignal's callers pass 5200).
const ITERATIONS: u32 = 5200;

/// Planted bug `security-code-few-iterations`: the 1024 rounds libsignal's own random-key tests use.
const FAULTY_ITERATIONS: u32 = 1024;

/// Fingerprint format version hashed first (libsignal `fingerprint_version = [0, 0]`).
const VERSION: [u8; 2] = [0, 0];

fn sha512(parts: &[&[u8]]) -> Vec<u8> {
    let mut hash = CryptographicHash::new("SHA-512").expect("SHA-512 is built in");
    for part in parts {
        hash.update(part);
    }
    hash.finalize()
}

/// One party's iterated digest (64 bytes).
fn digest(key: &[u8], identifier: &[u8], iterations: u32) -> Vec<u8> {
    let mut buf = sha512(&[&VERSION, key, identifier, key]);
    for _ in 1..iterations {
        buf = sha512(&[&buf, key]);
    }
    buf
}

/// Thirty digits from the first 30 bytes of a digest.
fn half(digest: &[u8]) -> String {
    digest[..30]
        .chunks_exact(5)
        .map(|chunk| chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)) % 100_000)
        .map(|n| format!("{n:05}"))
        .collect()
}

/// The displayed code between the local and the remote party.
pub(crate) fn security_code(request: &SecurityCode, faults: &Faults) -> CallResult<String> {
    // Keys must be well-formed serialized keys (0x05 || 32 bytes); libsignal hashes `IdentityKey::serialize()`.
    let local = public_key(&request.local_identity, "local_identity")?.serialize();
    let remote = public_key(&request.remote_identity, "remote_identity")?.serialize();
    let iterations = if faults.has(Fault::SecurityCodeFewIterations) {
        FAULTY_ITERATIONS
    } else {
        ITERATIONS
    };
    let local = half(&digest(&local, &request.local_id, iterations));
    let remote = half(&digest(&remote, &request.remote_id, iterations));
    Ok(if local < remote {
        local + &remote
    } else {
        remote + &local
    })
}
