//! XEdDSA verification vectors: the Reference Offer's own signed-prekey example, generated signatures, and
//! their mutations. Expected results are verification outcomes, never signature bytes.

use super::{Generated, file, flags, render, reqs};
use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::xeddsa::{Group, Test};
use crate::vector::Expected;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::KeyPair;

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

pub(super) fn generate() -> Result<Generated, String> {
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
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let messages: [&[u8]; 2] = [b"", b"interop conformance: XEdDSA over an arbitrary message"];
    for k in 0..3 {
        let pair = KeyPair::generate(&mut rng);
        let public = Bytes(pair.public_key.serialize().to_vec());
        let mut tests = Vec::new();
        for (m, message) in messages.iter().enumerate() {
            let signature = pair
                .private_key
                .calculate_signature(message, &mut rng)
                .map_err(|e| format!("signing failed: {e}"))?;
            let (msg, sig) = (Bytes(message.to_vec()), Bytes(signature.to_vec()));
            let id = |what: &str| format!("xeddsa.key{k}.msg{m}.{what}");
            tests.push(test(
                &id("valid"),
                "an honest signature",
                &["RO-SIG-001"],
                &[],
                Expected::Valid,
                msg.clone(),
                sig.clone(),
            ));
            if m == 0 {
                continue;
            }
            tests.extend([
                test(
                    &id("flip-r"),
                    "bit 0 of R flipped",
                    &["RO-SIG-001"],
                    &["ModifiedSignature"],
                    Expected::Invalid,
                    msg.clone(),
                    flip(&sig, 0, 0x01),
                ),
                test(
                    &id("flip-s"),
                    "bit 0 of s flipped",
                    &["RO-SIG-001"],
                    &["ModifiedSignature"],
                    Expected::Invalid,
                    msg.clone(),
                    flip(&sig, 32, 0x01),
                ),
                test(
                    &id("flip-message"),
                    "one message bit flipped",
                    &["RO-SIG-001"],
                    &["ModifiedMessage"],
                    Expected::Invalid,
                    flip(&msg, 3, 0x10),
                    sig.clone(),
                ),
                test(
                    &id("s-top-bit"),
                    "sig[63] |= 0x20: s >= 2^253, rejected by the XEdDSA specification",
                    &["RO-SIG-001"],
                    &["NonCanonicalS"],
                    Expected::Invalid,
                    msg.clone(),
                    Bytes({
                        let mut v = sig.0.clone();
                        v[63] |= 0x20;
                        v
                    }),
                ),
                test(
                    &id("sign-bit"),
                    "the Edwards sign bit in sig[63] toggled",
                    &["RO-SIG-001"],
                    &["SignBit"],
                    Expected::Invalid,
                    msg.clone(),
                    flip(&sig, 63, 0x80),
                ),
                test(
                    &id("len63"),
                    "a 63-byte signature",
                    &["RO-SIG-001"],
                    &["WrongLength"],
                    Expected::Invalid,
                    msg.clone(),
                    Bytes(sig.0[..63].to_vec()),
                ),
                test(
                    &id("len65"),
                    "a 65-byte signature (one zero byte appended)",
                    &["RO-SIG-001"],
                    &["WrongLength"],
                    Expected::Invalid,
                    msg.clone(),
                    Bytes([sig.0.as_slice(), &[0]].concat()),
                ),
            ]);
            if let Some(big) = add_group_order(&sig) {
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
        }
        groups.push(Group {
            comment: format!("generated key {k} (seed 0x5eed0001)"),
            public_key: public.clone(),
            tests,
        });
        if k == 0 {
            let signature = pair
                .private_key
                .calculate_signature(messages[1], &mut rng)
                .map_err(|e| format!("signing failed: {e}"))?;
            let msg = Bytes(messages[1].to_vec());
            groups.push(Group {
                comment: "key 0 with its key bit flipped: signatures by key 0 must not verify".into(),
                public_key: flip(&public, 5, 0x04),
                tests: vec![test(
                    "xeddsa.key0.wrong-key",
                    "a valid signature checked under a different key",
                    &["RO-SIG-001"],
                    &["ModifiedKey"],
                    Expected::Invalid,
                    msg,
                    Bytes(signature.to_vec()),
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
