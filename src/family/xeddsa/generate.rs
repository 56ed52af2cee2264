//! XEdDSA verification vectors: the Reference Offer's own signed-prekey example, generated signatures, and
//! their mutations. Expected results are verification outcomes, never signature bytes.

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::xeddsa::{Group, Test};
use crate::generate::{Generated, file, flags, render, reqs};
use crate::vector::Expected;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::{KeyPair, PublicKey};

/// RO-TS 1.2.3 curl example, decoded from base64url (../shared/reference/reference-offer.md, KAT-1).
pub(crate) const RO_IDENTITY: &str = "c7a83ab46a5e93439bc7ae7ebd5c7db77c0db632545dc418da26ab47e02eb21e";
/// The example's signed prekey (`e_skey_val`).
pub(crate) const RO_SIGNED_PREKEY: &str = "fed749bc23a2d3e17d865ee268786b9f8d9dd469c8de9e8bc24171dc14bf8d7c";
/// The example's signature (`e_skey_sig`).
pub(crate) const RO_SIGNATURE: &str = "04f11c7a3948ed185a7177bd32f04c504b3f20772d95c0f2cdadb8bc3ad971ad0defb6031aa0805ebd9558300bbce7134b388d59f54c278203c4810dc2fc8008";

/// The Ed25519 group order L, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn hex(s: &str) -> Bytes {
    Bytes(hex::decode(s).unwrap_or_default())
}

fn with_prefix(key: &[u8]) -> Bytes {
    let mut v = vec![0x05];
    v.extend_from_slice(key);
    Bytes(v)
}

fn flip(bytes: &[u8], index: usize, mask: u8) -> Bytes {
    let mut v = bytes.to_vec();
    v[index] ^= mask;
    Bytes(v)
}

/// `s + L` with the sign bit kept, when the sum stays below 2^253 (else `None`).
pub(crate) fn add_group_order(signature: &[u8]) -> Option<Bytes> {
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..64]);
    let sign = s[31] & 0x80;
    s[31] &= 0x7f;
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(GROUP_ORDER) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
    if carry != 0 || s[31] & 0xe0 != 0 {
        return None;
    }
    s[31] |= sign;
    let mut out = signature[..32].to_vec();
    out.extend_from_slice(&s);
    Some(Bytes(out))
}

/// The forgery that needs no private key under a low-order key: R = the Edwards identity (y = 1), s = 0. The
/// check s*B - h*A = R holds exactly when the order of A divides h, i.e. for about 1 message in 2, 4 or 8.
pub(crate) fn low_order_forgery() -> Bytes {
    let mut signature = vec![0u8; 64];
    signature[0] = 0x01;
    Bytes(signature)
}

/// Whether the reference library (libsignal's XEdDSA algorithm) accepts `signature` over `message` under
/// `key`. The generator's claim; `vectors verify` re-checks it with the independent verifier.
pub(crate) fn library_accepts(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    PublicKey::deserialize(key).is_ok_and(|k| k.verify_signature(message, signature))
}

/// A key variant: id suffix, description, the key bytes, requirements, flags.
type Altered = (String, String, Bytes, &'static [&'static str], &'static [&'static str]);

/// Every mutation of one honest signature: the valid case, bit flips in R, s and the message, s with high
/// bits set, the sign bit, wrong lengths, and s + L (acceptable).
fn mutations(prefix: &str, msg: &Bytes, sig: &Bytes) -> Vec<Test> {
    let id = |what: &str| format!("{prefix}.{what}");
    let invalid = |what: &str, comment: String, f: &str, m: Bytes, s: Bytes| {
        test(&id(what), &comment, &["RO-SIG-001"], &[f], Expected::Invalid, m, s)
    };
    let mut tests = vec![test(
        &id("valid"),
        "an honest signature",
        &["RO-SIG-001"],
        &[],
        Expected::Valid,
        msg.clone(),
        sig.clone(),
    )];
    for (i, mask) in [(0usize, 0x01u8), (13, 0x10), (31, 0x01)] {
        tests.push(invalid(
            &format!("flip-r{i}"),
            format!("byte {i} of R changed"),
            "ModifiedSignature",
            msg.clone(),
            flip(sig, i, mask),
        ));
    }
    for (i, mask) in [(32usize, 0x01u8), (45, 0x08), (62, 0x01), (63, 0x01)] {
        tests.push(invalid(
            &format!("flip-s{i}"),
            format!("byte {i} (in s) changed"),
            "ModifiedSignature",
            msg.clone(),
            flip(sig, i, mask),
        ));
    }
    if !msg.is_empty() {
        for i in [0, msg.len() / 2, msg.len() - 1] {
            tests.push(invalid(
                &format!("flip-message{i}"),
                format!("message byte {i} changed"),
                "ModifiedMessage",
                flip(msg, i, 0x10),
                sig.clone(),
            ));
        }
    } else {
        tests.push(invalid(
            "message-extended",
            "one byte appended to the empty message".into(),
            "ModifiedMessage",
            Bytes(vec![0]),
            sig.clone(),
        ));
    }
    for (name, bits) in [("s-bit-253", 0x20u8), ("s-bit-254", 0x40), ("s-bits-253-254", 0x60)] {
        let mut v = sig.0.clone();
        v[63] |= bits;
        if v != sig.0 {
            tests.push(invalid(
                name,
                format!("sig[63] |= {bits:#04x}: s >= 2^253, rejected by the XEdDSA specification"),
                "NonCanonicalS",
                msg.clone(),
                Bytes(v),
            ));
        }
    }
    tests.push(invalid(
        "sign-bit",
        "the Edwards sign bit in sig[63] toggled".into(),
        "SignBit",
        msg.clone(),
        flip(sig, 63, 0x80),
    ));
    tests.push(invalid(
        "len63",
        "a 63-byte signature".into(),
        "WrongLength",
        msg.clone(),
        Bytes(sig.0[..63].to_vec()),
    ));
    tests.push(invalid(
        "len65",
        "a 65-byte signature (one zero byte appended)".into(),
        "WrongLength",
        msg.clone(),
        Bytes([sig.0.as_slice(), &[0]].concat()),
    ));
    tests.push(invalid(
        "len0",
        "an empty signature".into(),
        "WrongLength",
        msg.clone(),
        Bytes(Vec::new()),
    ));
    if let Some(big) = add_group_order(sig) {
        tests.push(test(
            &id("s-plus-order"),
            "s + L (still < 2^253): the XEdDSA specification and libsignal accept it, strict RFC 8032 verifiers reject it",
            &["RO-SIG-001"],
            &["MalleableS"],
            Expected::Acceptable,
            msg.clone(),
            big,
        ));
    }
    tests
}

fn test(id: &str, comment: &str, r: &[&str], f: &[&str], expected: Expected, message: Bytes, signature: Bytes) -> Test {
    Test {
        id: id.into(),
        comment: comment.into(),
        requirements: reqs(r),
        flags: flags(f),
        expected,
        message,
        signature,
    }
}

pub(crate) fn generate() -> Result<Generated, String> {
    let sig = hex(RO_SIGNATURE);
    let spk = hex(RO_SIGNED_PREKEY);
    let ro = Group {
        comment: "The Reference Offer's enlistment example (RO-TS 1.2.3): identity key e_ident".into(),
        public_key: with_prefix(&hex(RO_IDENTITY)),
        tests: vec![
            test(
                "xeddsa.ro-example.over-serialized-key",
                "RO-TS 1.2.3 example: e_skey_sig verifies over 0x05 || e_skey_val (decoded from the published curl request)",
                &["RO-SIG-001", "RO-SIG-002"],
                &["PublishedExample"],
                Expected::Valid,
                with_prefix(&spk),
                sig.clone(),
            ),
            test(
                "xeddsa.ro-example.over-raw-key",
                "RO-TS 1.2.3 example: the same signature does not verify over the raw 32-byte e_skey_val",
                &["RO-SIG-002"],
                &["PublishedExample", "WrongEncoding"],
                Expected::Invalid,
                spk.clone(),
                sig.clone(),
            ),
        ],
    };
    let mut groups = vec![ro];
    // All-zero and other low-order verifying keys: the RO example signature must not verify under them.
    for (name, point) in crate::family::session::generate::wire::low_order_points()? {
        groups.push(Group {
            comment: format!("low-order key {name}"),
            public_key: with_prefix(&point),
            tests: vec![test(
                &format!("xeddsa.low-order-key.{name}"),
                "the Reference Offer's example signature checked under a low-order key",
                &["RO-SIG-001"],
                &["ModifiedKey"],
                Expected::Invalid,
                with_prefix(&spk),
                sig.clone(),
            )],
        });
    }
    // Real forgeries under low-order keys: R = identity, s = 0, over messages chosen so that the order of the key
    // divides h (the library accepts), and over one message where it does not (everyone refuses).
    let forgery = low_order_forgery();
    for (name, point) in crate::family::session::generate::wire::low_order_points()? {
        let key = with_prefix(&point);
        let message = |i: u32| Bytes(format!("low-order forgery under {name}, attempt {i}").into_bytes());
        let accepted = (0..64).find(|&i| library_accepts(&key, &message(i), &forgery));
        let refused = (0..64).find(|&i| !library_accepts(&key, &message(i), &forgery));
        let mut tests = Vec::new();
        if let Some(i) = accepted {
            tests.push(test(
                &format!("xeddsa.low-order-key.{name}.forgery"),
                "R = identity, s = 0 under a low-order key, over a message whose h the key's order divides: no private key was used. The XEdDSA specification's algorithm and libsignal (wacore-libsignal) accept it; strict verifiers refuse low-order keys. Acceptable by the sources; a bundle carrying such a key is refused under RO-ENC-002",
                &["RO-SIG-001"],
                &["LowOrderForgery"],
                Expected::Acceptable,
                message(i),
                forgery.clone(),
            ));
        }
        if let Some(i) = refused {
            tests.push(test(
                &format!("xeddsa.low-order-key.{name}.forgery-other-message"),
                if accepted.is_some() {
                    "the same forgery over a message whose h the key's order does not divide: every source refuses it"
                } else {
                    "the same forgery under a key with no Edwards point (u = -1): every source refuses it"
                },
                &["RO-SIG-001"],
                &["LowOrderForgery"],
                Expected::Invalid,
                message(i),
                forgery.clone(),
            ));
        }
        groups.push(Group {
            comment: format!("low-order key {name}: forgeries without a private key"),
            public_key: key,
            tests,
        });
    }
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let messages: [&[u8]; 3] = [
        b"",
        b"interop conformance: XEdDSA over an arbitrary message",
        &[0xa5; 200],
    ];
    for k in 0..5 {
        let pair = KeyPair::generate(&mut rng);
        let public = Bytes(pair.public_key.serialize().to_vec());
        let mut tests = Vec::new();
        for (m, message) in messages.iter().enumerate() {
            let signature = pair
                .private_key
                .calculate_signature(message, &mut rng)
                .map_err(|e| format!("signing failed: {e}"))?;
            let (msg, sig) = (Bytes(message.to_vec()), Bytes(signature.to_vec()));
            tests.extend(mutations(&format!("xeddsa.key{k}.msg{m}"), &msg, &sig));
        }
        // RO-SIG-002: a signed prekey signed over 0x05 || key verifies; one signed over the raw 32 bytes does not.
        let spk = KeyPair::generate(&mut rng).public_key.serialize().to_vec();
        let over_serialized = pair
            .private_key
            .calculate_signature(&spk, &mut rng)
            .map_err(|e| format!("signing failed: {e}"))?;
        let over_raw = pair
            .private_key
            .calculate_signature(&spk[1..], &mut rng)
            .map_err(|e| format!("signing failed: {e}"))?;
        tests.push(test(
            &format!("xeddsa.key{k}.signed-prekey.over-serialized"),
            "a signed-prekey signature over 0x05 || key",
            &["RO-SIG-001", "RO-SIG-002"],
            &[],
            Expected::Valid,
            Bytes(spk.clone()),
            Bytes(over_serialized.to_vec()),
        ));
        tests.push(test(
            &format!("xeddsa.key{k}.signed-prekey.raw-signature-checked-over-serialized"),
            "a signature over the raw 32-byte prekey, checked over 0x05 || key",
            &["RO-SIG-002"],
            &["WrongEncoding"],
            Expected::Invalid,
            Bytes(spk.clone()),
            Bytes(over_raw.to_vec()),
        ));
        tests.push(test(
            &format!("xeddsa.key{k}.signed-prekey.serialized-signature-checked-over-raw"),
            "a signature over 0x05 || key, checked over the raw 32 bytes",
            &["RO-SIG-002"],
            &["WrongEncoding"],
            Expected::Invalid,
            Bytes(spk[1..].to_vec()),
            Bytes(over_serialized.to_vec()),
        ));
        groups.push(Group {
            comment: format!("generated key {k} (seed 0x5eed0001)"),
            public_key: public.clone(),
            tests,
        });
        // The same valid signature under altered keys: other key bits, other encodings.
        let msg = Bytes(messages[1].to_vec());
        let signature = Bytes(
            pair.private_key
                .calculate_signature(messages[1], &mut rng)
                .map_err(|e| format!("signing failed: {e}"))?
                .to_vec(),
        );
        let mut altered: Vec<Altered> = [1usize, 9, 17, 32]
            .iter()
            .map(|&i| {
                (
                    format!("key-bit-{i}"),
                    format!("byte {i} of the verifying key changed"),
                    flip(&public, i, 0x04),
                    &["RO-SIG-001"][..],
                    &["ModifiedKey"][..],
                )
            })
            .collect();
        for t in [0x00u8, 0x04, 0x06] {
            altered.push((
                format!("key-type-{t:02x}"),
                format!("the verifying key with type byte {t:#04x}"),
                Bytes([&[t][..], &public[1..]].concat()),
                &["RO-ID-007"],
                &["WrongKeyType"],
            ));
        }
        altered.push((
            "key-raw-32".into(),
            "the raw 32-byte verifying key where 0x05 || key is expected".into(),
            Bytes(public[1..].to_vec()),
            &["RO-ID-007"],
            &["WrongKeyLength"],
        ));
        altered.push((
            "key-trailing-byte".into(),
            "0x05 || key || 0x00: receivers SHOULD refuse trailing bytes".into(),
            Bytes([&public[..], &[0]].concat()),
            &["RO-ID-007A"],
            &["TrailingBytes"],
        ));
        for (name, comment, key, r, f) in altered {
            groups.push(Group {
                comment: format!("key {k}, altered: {comment}"),
                public_key: key,
                tests: vec![test(
                    &format!("xeddsa.key{k}.{name}"),
                    &format!("a valid signature by key {k}, checked under {comment}"),
                    r,
                    f,
                    Expected::Invalid,
                    msg.clone(),
                    signature.clone(),
                )],
            });
        }
    }

    let notes = [
        (
            "PublishedExample",
            "BASIC",
            "A value published in the Reference Offer itself, decoded here.",
            "",
        ),
        (
            "WrongEncoding",
            "MISSING_STEP",
            "The signature input is the raw 32-byte key, not 0x05 || key.",
            "A peer signing the raw key is rejected by every WhatsApp-compatible verifier.",
        ),
        (
            "ModifiedSignature",
            "AUTH_BYPASS",
            "One bit of the signature changed.",
            "Accepting it means signatures are not checked.",
        ),
        (
            "ModifiedMessage",
            "AUTH_BYPASS",
            "One bit of the message changed.",
            "Accepting it means the message is not bound.",
        ),
        (
            "ModifiedKey",
            "AUTH_BYPASS",
            "The verifying key differs from the signer's.",
            "Accepting it means the key is not bound.",
        ),
        (
            "NonCanonicalS",
            "SIGNATURE_MALLEABILITY",
            "s has one of its top three bits set; the XEdDSA specification rejects s >= 2^253.",
            "Malleable signatures.",
        ),
        crate::generate::WRONG_KEY_TYPE_NOTE,
        (
            "WrongKeyLength",
            "EDGE_CASE",
            "Serialized keys are 33 bytes; the raw 32-byte form is used only in stanzas and enlistment.",
            "",
        ),
        (
            "TrailingBytes",
            "EDGE_CASE",
            "Bytes after a 33-byte key. Sources disagree on refusing them (RO-ID-007A), hence SHOULD.",
            "",
        ),
        (
            "SignBit",
            "SIGNATURE_MALLEABILITY",
            "The Edwards sign bit travels in sig[63] & 0x80; toggling it changes the verifying key.",
            "",
        ),
        (
            "WrongLength",
            "EDGE_CASE",
            "Signatures are exactly 64 bytes.",
            "Reading past or short of the buffer.",
        ),
        (
            "LowOrderForgery",
            "SIGNATURE_FORGERY",
            "R = identity and s = 0 under a low-order key verify whenever the key's order divides h (about half of all messages for the order-2 key 0). Sources: the XEdDSA specification's verification and libsignal (as wacore-libsignal 0.7) have no small-order check and accept it; strict Ed25519 verifiers (libsodium, ed25519-dalek verify_strict) refuse small-order keys. Either result conforms for a bare verification: no honest key is low-order, and a bundle whose identity key is low-order must be refused (RO-ENC-002, this suite's rule, not a published Meta rule). Where h is not a multiple of the order, or the key has no Edwards point (u = -1), every source refuses.",
            "A verifier that trusts a low-order identity key accepts statements nobody signed.",
        ),
        (
            "MalleableS",
            "SIGNATURE_MALLEABILITY",
            "s in [L, 2^253): accepted by the XEdDSA specification and libsignal, rejected by strict RFC 8032 verifiers (reference-offer.md section 7). Either result conforms.",
            "None for interoperability: honest signers never produce it.",
        ),
    ];
    render(
        "xeddsa.yaml",
        &file(
            Family::XeddsaVerify,
            "XEdDSA verification under serialized Curve25519 identity keys (RO-SIG-001, RO-SIG-002).",
            &notes,
            groups,
        ),
    )
}
