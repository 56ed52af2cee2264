//! `conformance vectors generate`: writes the vector corpus deterministically from fixed seeds.
//!
//! Keys, signatures and ciphertexts come from seeded RNGs, so regenerating gives byte-identical files. Two
//! producers, each checked by the other:
//! - the reference library (xeddsa, prekey-bundle, session): every expected value is recomputed without it by
//!   `conformance vectors verify` ([`crate::verify`]);
//! - the independent sender of [`crate::verify::sender`] (key-schedule, wire-format), which can build
//!   malformed messages with valid MACs: the reference library must decrypt its valid messages to the exact
//!   plaintext (every `cargo test`), and `vectors verify` replays them through the independent receiver model.
//!   Sender and receiver models share the primitives of [`crate::verify::crypto`], which are pinned by external
//!   known answers (RFC 5869, RFC 4231, RFC 8032, the Reference Offer's signed prekey, python-axolotl's X3DH).
//!
//! Known answers published by others are included verbatim with their source in the comment.

use crate::outcome::FIDELITY;
pub use crate::vector_format::Generated;
pub(crate) use crate::vector_format::{file, flags, render, reqs};

/// Generate every file of the corpus.
pub async fn all() -> Result<Vec<Generated>, String> {
    use crate::family::{
        bundle, enlistment, key_schedule, media, noise_known_answer, push, roundtrip, security_code, sender_keys,
        session, transport, xeddsa,
    };
    let mut files = vec![
        xeddsa::generate::generate()?,
        bundle::generate::generate().await?,
        session::generate::generate().await?,
        session::generate::bounds::generate().await?,
        roundtrip::generate::generate()?,
        roundtrip::generate::generate_limits()?,
        key_schedule::generate::generate()?,
        session::generate::wire::generate()?,
        media::generate::generate()?,
        media::generate::generate_uploads()?,
        security_code::generate::generate()?,
    ];
    files.extend(enlistment::generate::generate()?);
    files.push(push::generate::generate()?);
    files.push(sender_keys::generate::generate()?);
    files.push(sender_keys::generate::generate_live()?);
    files.push(noise_known_answer::generate::generate()?);
    files.push(transport::generate::generate()?);
    Ok(files)
}

/// The `WrongKeyType` flag, shared by every family that serialises keys: (flag, bug type, description, effect).
pub(crate) const WRONG_KEY_TYPE_NOTE: (&str, &str, &str, &str) = (
    "WrongKeyType",
    "MODIFIED_PARAMETER",
    "Serialized Curve25519 keys start with the type byte 0x05.",
    "",
);

/// A test's requirement ids, with the error-class fidelity SHOULD ([`FIDELITY`]) added when the test is class
/// sensitive (it lists rejection classes as diagnostics): any rejection then meets the behaviour, and whether
/// the class names the cause is judged under that requirement alone (see [`crate::outcome`]).
pub(crate) fn with_fidelity(mut ids: Vec<String>, class_sensitive: bool) -> Vec<String> {
    if class_sensitive && !ids.iter().any(|r| r == FIDELITY) {
        ids.push(FIDELITY.to_string());
    }
    ids
}
