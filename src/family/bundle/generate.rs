//! Prekey-bundle vectors: valid bundles (with and without a one-time prekey) and bundles that must be refused
//! before X3DH (bad or misplaced signatures, wrong key types and lengths).

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::bundle::{Group, Test};
use crate::generate::{Generated, file, flags, render, reqs, with_fidelity};
use crate::provider::{ErrorClass, PreKeyBundle};
use crate::vector::Expected;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::KeyPair;

struct Case<'a> {
    id: &'a str,
    comment: &'a str,
    requirements: &'a [&'a str],
    flags: &'a [&'a str],
    expected: Expected,
    errors: &'a [ErrorClass],
    bundle: PreKeyBundle,
}

fn test(c: Case<'_>) -> Test {
    Test {
        id: format!("bundle.{}", c.id),
        comment: c.comment.into(),
        requirements: with_fidelity(reqs(c.requirements), !c.errors.is_empty()),
        flags: flags(c.flags),
        expected: c.expected,
        bundle: c.bundle,
        errors: c.errors.to_vec(),
    }
}

fn retype(key: &Bytes, type_byte: u8) -> Bytes {
    let mut v = key.0.clone();
    v[0] = type_byte;
    Bytes(v)
}

pub(crate) async fn generate() -> Result<Generated, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    let identity = KeyPair::generate(&mut rng);
    let signed = KeyPair::generate(&mut rng);
    let one_time = KeyPair::generate(&mut rng);
    let stranger = KeyPair::generate(&mut rng);
    let sign = |rng: &mut StdRng, key: &KeyPair, message: &[u8]| {
        key.private_key
            .calculate_signature(message, rng)
            .map(|s| Bytes(s.to_vec()))
            .map_err(|e| format!("signing failed: {e}"))
    };
    let spk = Bytes(signed.public_key.serialize().to_vec());
    let signature = sign(&mut rng, &identity, &spk)?;
    let raw_signature = sign(&mut rng, &identity, &spk[1..])?;
    let stranger_signature = sign(&mut rng, &stranger, &spk)?;
    let base = PreKeyBundle {
        registration_id: 4242,
        identity_key: Bytes(identity.public_key.serialize().to_vec()),
        signed_prekey_id: 1,
        signed_prekey: spk.clone(),
        signed_prekey_signature: signature.clone(),
        prekey_id: Some(31),
        prekey: Some(Bytes(one_time.public_key.serialize().to_vec())),
    };
    let with = |f: &dyn Fn(&mut PreKeyBundle)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let flip = |index: usize| {
        with(&|b| {
            let mut s = b.signed_prekey_signature.0.clone();
            s[index] ^= 0x01;
            b.signed_prekey_signature = Bytes(s);
        })
    };
    let sig_fail = [ErrorClass::BadSignature];
    let key_fail = [ErrorClass::InvalidKey];
    let mut valid = vec![
        test(Case {
            id: "valid.with-one-time-prekey",
            comment: "a well-formed bundle with a one-time prekey (4-DH X3DH)",
            requirements: &["RO-SIG-003", "RO-ID-007", "RO-ENC-002"],
            flags: &[],
            expected: Expected::Valid,
            errors: &[],
            bundle: base.clone(),
        }),
        test(Case {
            id: "valid.without-one-time-prekey",
            comment: "a well-formed bundle without a one-time prekey (3-DH X3DH)",
            requirements: &["RO-SIG-003", "RO-ID-007", "RO-ENC-002"],
            flags: &[],
            expected: Expected::Valid,
            errors: &[],
            bundle: with(&|b| {
                b.prekey = None;
                b.prekey_id = None;
            }),
        }),
    ];
    let mut signatures = vec![
        test(Case {
            id: "signature.flip-first-bit",
            comment: "bit 0 of the signed-prekey signature flipped",
            requirements: &["RO-SIG-003"],
            flags: &["BadSignature"],
            expected: Expected::Invalid,
            errors: &sig_fail,
            bundle: flip(0),
        }),
        test(Case {
            id: "signature.flip-middle-bit",
            comment: "a bit of byte 31 of the signature flipped",
            requirements: &["RO-SIG-003"],
            flags: &["BadSignature"],
            expected: Expected::Invalid,
            errors: &sig_fail,
            bundle: flip(31),
        }),
        test(Case {
            id: "signature.flip-last-byte",
            comment: "a bit of byte 63 of the signature flipped",
            requirements: &["RO-SIG-003"],
            flags: &["BadSignature"],
            expected: Expected::Invalid,
            errors: &sig_fail,
            bundle: flip(63),
        }),
        test(Case {
            id: "signature.over-raw-key",
            comment: "signed by the identity key, but over the raw 32-byte prekey instead of 0x05 || key",
            requirements: &["RO-SIG-002", "RO-SIG-003"],
            flags: &["WrongEncoding"],
            expected: Expected::Invalid,
            errors: &sig_fail,
            bundle: with(&|b| b.signed_prekey_signature = raw_signature.clone()),
        }),
        test(Case {
            id: "signature.by-other-key",
            comment: "a valid signature over the prekey, but by a key other than the bundle's identity",
            requirements: &["RO-SIG-003"],
            flags: &["BadSignature"],
            expected: Expected::Invalid,
            errors: &sig_fail,
            bundle: with(&|b| b.signed_prekey_signature = stranger_signature.clone()),
        }),
        test(Case {
            id: "signature.len63",
            comment: "a 63-byte signature",
            requirements: &["RO-SIG-001", "RO-SIG-003"],
            flags: &["WrongLength"],
            expected: Expected::Invalid,
            errors: &sig_fail,
            bundle: with(&|b| b.signed_prekey_signature = Bytes(signature.0[..63].to_vec())),
        }),
    ];
    // A bad signed-prekey encoding comes with a signature over exactly the bytes sent, so that the encoding is
    // the only fault: a receiver that checks the signature over what it received reaches the key check.
    let signed_as_sent = |rng: &mut StdRng, sent: Bytes| -> Result<PreKeyBundle, String> {
        let signature = sign(rng, &identity, &sent)?;
        Ok(with(&|b| {
            b.signed_prekey = sent.clone();
            b.signed_prekey_signature = signature.clone();
        }))
    };
    let mut keys = Vec::new();
    for type_byte in [0x00u8, 0x04, 0x06] {
        keys.push(test(Case {
            id: &format!("key.signed-prekey-type-{type_byte:02x}"),
            comment: &format!(
                "signed prekey with type byte {type_byte:#04x} instead of 0x05, signed over those 33 bytes"
            ),
            requirements: &["RO-ID-007"],
            flags: &["WrongKeyType"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: signed_as_sent(&mut rng, retype(&spk, type_byte))?,
        }));
    }
    let spk_32 = signed_as_sent(&mut rng, Bytes(spk.0[1..].to_vec()))?;
    let spk_34 = signed_as_sent(&mut rng, Bytes([spk.0.as_slice(), &[0]].concat()))?;
    keys.extend([
        test(Case { id: "key.identity-type-06", comment: "identity key with type byte 0x06", requirements: &["RO-ID-007"], flags: &["WrongKeyType"], expected: Expected::Invalid, errors: &key_fail, bundle: with(&|b| b.identity_key = retype(&b.identity_key, 0x06)) }),
        test(Case { id: "key.one-time-prekey-type-00", comment: "one-time prekey with type byte 0x00", requirements: &["RO-ID-007"], flags: &["WrongKeyType"], expected: Expected::Invalid, errors: &key_fail, bundle: with(&|b| b.prekey = b.prekey.as_ref().map(|k| retype(k, 0x00))) }),
        test(Case { id: "key.signed-prekey-32-bytes", comment: "the raw 32-byte signed prekey where 33 bytes (0x05 || key) are expected, signed over its own 32 bytes: refused for its length, or (by a receiver that reads it as 0x05 || key) for a signature not over 0x05 || key", requirements: &["RO-ID-007"], flags: &["WrongKeyLength"], expected: Expected::Invalid, errors: &[ErrorClass::InvalidKey, ErrorClass::BadSignature], bundle: spk_32.clone() }),
        test(Case { id: "key.identity-32-bytes", comment: "the raw 32-byte identity key where 33 bytes are expected", requirements: &["RO-ID-007"], flags: &["WrongKeyLength"], expected: Expected::Invalid, errors: &key_fail, bundle: with(&|b| b.identity_key = Bytes(b.identity_key.0[1..].to_vec())) }),
        test(Case { id: "key.signed-prekey-trailing-byte", comment: "0x05 || key || 0x00, signed over those 34 bytes: Signal's libsignal logs a warning, Go libsignal ignores it; receivers SHOULD refuse", requirements: &["RO-ID-007A"], flags: &["TrailingBytes"], expected: Expected::Invalid, errors: &key_fail, bundle: spk_34.clone() }),
    ]);
    for i in [7usize, 15, 23, 39, 47, 55, 62] {
        signatures.push(test(Case {
            id: &format!("signature.flip-byte-{i}"),
            comment: &format!("a bit of byte {i} of the signed-prekey signature flipped"),
            requirements: &["RO-SIG-003"],
            flags: &["BadSignature"],
            expected: Expected::Invalid,
            errors: &sig_fail,
            bundle: flip(i),
        }));
    }
    signatures.push(test(Case {
        id: "signature.sign-bit",
        comment: "the sign bit sig[63] & 0x80 toggled",
        requirements: &["RO-SIG-001", "RO-SIG-003"],
        flags: &["BadSignature"],
        expected: Expected::Invalid,
        errors: &sig_fail,
        bundle: with(&|b| b.signed_prekey_signature.0[63] ^= 0x80),
    }));
    signatures.push(test(Case {
        id: "signature.len65",
        comment: "a 65-byte signature",
        requirements: &["RO-SIG-001", "RO-SIG-003"],
        flags: &["WrongLength"],
        expected: Expected::Invalid,
        errors: &sig_fail,
        bundle: with(&|b| b.signed_prekey_signature = Bytes([signature.0.as_slice(), &[0]].concat())),
    }));
    keys.extend([
        test(Case {
            id: "key.one-time-prekey-32-bytes",
            comment: "the raw 32-byte one-time prekey",
            requirements: &["RO-ID-007"],
            flags: &["WrongKeyLength"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: with(&|b| b.prekey = b.prekey.as_ref().map(|k| Bytes(k.0[1..].to_vec()))),
        }),
        test(Case {
            id: "key.identity-trailing-byte",
            comment: "identity key 0x05 || key || 0x00",
            requirements: &["RO-ID-007A"],
            flags: &["TrailingBytes"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: with(&|b| b.identity_key = Bytes([b.identity_key.0.as_slice(), &[0]].concat())),
        }),
        test(Case {
            id: "key.one-time-prekey-trailing-byte",
            comment: "one-time prekey 0x05 || key || 0x00",
            requirements: &["RO-ID-007A"],
            flags: &["TrailingBytes"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: with(&|b| b.prekey = b.prekey.as_ref().map(|k| Bytes([k.0.as_slice(), &[0]].concat()))),
        }),
        test(Case {
            id: "key.one-time-prekey-type-04",
            comment: "one-time prekey with type byte 0x04",
            requirements: &["RO-ID-007"],
            flags: &["WrongKeyType"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: with(&|b| b.prekey = b.prekey.as_ref().map(|k| retype(k, 0x04))),
        }),
        test(Case {
            id: "key.identity-type-00",
            comment: "identity key with type byte 0x00",
            requirements: &["RO-ID-007"],
            flags: &["WrongKeyType"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: with(&|b| b.identity_key = retype(&b.identity_key, 0x00)),
        }),
    ]);
    // Low-order keys: a signed prekey with a valid signature over it, a one-time prekey, an identity key.
    let mut low = Vec::new();
    for (name, point) in crate::family::session::generate::wire::low_order_points()? {
        let serialized = Bytes([&[0x05u8][..], &point].concat());
        let signed_low = sign(&mut rng, &identity, &serialized)?;
        low.push(test(Case {
            id: &format!("low-order.signed-prekey-{name}"),
            comment: "a low-order signed prekey, validly signed: its DH output is all zero and must not be used",
            requirements: &["RO-ENC-002", "RO-ENC-003"],
            flags: &["LowOrderKey"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: with(&|b| {
                b.signed_prekey = serialized.clone();
                b.signed_prekey_signature = signed_low.clone();
            }),
        }));
        low.push(test(Case {
            id: &format!("low-order.one-time-prekey-{name}"),
            comment: "a low-order one-time prekey: DH4 would be all zero",
            requirements: &["RO-ENC-002", "RO-ENC-003"],
            flags: &["LowOrderKey"],
            expected: Expected::Invalid,
            errors: &key_fail,
            bundle: with(&|b| b.prekey = Some(serialized.clone())),
        }));
        low.push(test(Case {
            id: &format!("low-order.identity-{name}"),
            comment: "a low-order identity key (the signature cannot verify either)",
            requirements: &["RO-ENC-002"],
            flags: &["LowOrderKey"],
            expected: Expected::Invalid,
            errors: &[ErrorClass::InvalidKey, ErrorClass::BadSignature],
            bundle: with(&|b| b.identity_key = serialized.clone()),
        }));
    }
    // Low-order identity keys with a real forgery (R = identity, s = 0) over a signed prekey picked so that the
    // reference library accepts it: only the low-order check can refuse these bundles.
    let forgery = crate::family::xeddsa::generate::low_order_forgery();
    for (name, point) in crate::family::session::generate::wire::low_order_points()? {
        let identity_low = Bytes([&[0x05u8][..], &point].concat());
        let found = (0..256).find_map(|_| {
            let candidate = Bytes(KeyPair::generate(&mut rng).public_key.serialize().to_vec());
            crate::family::xeddsa::generate::library_accepts(&identity_low, &candidate, &forgery).then_some(candidate)
        });
        // u = p - 1 has no Edwards point: no signature verifies under it, so it has no forgery case.
        let Some(signed_prekey) = found else { continue };
        low.push(test(Case {
            id: &format!("low-order.identity-{name}-forged-signature"),
            comment: "a low-order identity key and the forgery R = identity, s = 0, which libsignal's XEdDSA accepts over this signed prekey: refused because the key is low-order (a strict verifier refuses the signature for the same reason)",
            // Not RO-SIG-003: by the sources the forgery verifies, so accepting it is no signature-check bug.
            requirements: &["RO-ENC-002"],
            flags: &["LowOrderKey", "LowOrderForgery"],
            expected: Expected::Invalid,
            errors: &[ErrorClass::InvalidKey, ErrorClass::BadSignature],
            bundle: with(&|b| {
                b.identity_key = identity_low.clone();
                b.signed_prekey = signed_prekey.clone();
                b.signed_prekey_signature = forgery.clone();
            }),
        }));
    }
    let notes = [
        (
            "LowOrderForgery",
            "SIGNATURE_FORGERY",
            "R = identity and s = 0 verify under a low-order key whenever the key's order divides h; the XEdDSA specification's algorithm and libsignal (wacore-libsignal) accept them, strict verifiers refuse small-order keys. No private key is needed, so a bundle with a low-order identity key must be refused for the key (RO-ENC-002), whatever the verifier says.",
            "Prekeys \"signed\" by nobody.",
        ),
        (
            "LowOrderKey",
            "EDGE_CASE",
            "A public key of small order gives an all-zero DH output. RFC 7748 section 6.1 allows the check; this suite requires it (RO-ENC-002). It is not a published Meta rule.",
            "Session keys derived from a known secret.",
        ),
        (
            "BadSignature",
            "AUTH_BYPASS",
            "The signed-prekey signature does not verify under the bundle's identity key.",
            "Accepting it lets a server substitute prekeys (MITM).",
        ),
        (
            "WrongEncoding",
            "MISSING_STEP",
            "The signature input is the raw 32-byte key, not 0x05 || key.",
            "",
        ),
        ("WrongLength", "EDGE_CASE", "Signatures are exactly 64 bytes.", ""),
        crate::generate::WRONG_KEY_TYPE_NOTE,
        (
            "WrongKeyLength",
            "EDGE_CASE",
            "Serialized keys are 33 bytes; 32 bytes is the raw form used only in stanzas and enlistment.",
            "",
        ),
        (
            "TrailingBytes",
            "EDGE_CASE",
            "Bytes after a 33-byte key. Sources disagree on refusing them, hence a SHOULD requirement.",
            "",
        ),
    ];
    let groups = vec![
        Group {
            comment: "valid bundles".into(),
            tests: std::mem::take(&mut valid),
        },
        Group {
            comment: "signed-prekey signatures that must be refused before X3DH".into(),
            tests: std::mem::take(&mut signatures),
        },
        Group {
            comment: "key encodings that must be refused".into(),
            tests: std::mem::take(&mut keys),
        },
        Group {
            comment: "low-order public keys that must be refused".into(),
            tests: low,
        },
    ];
    render(
        "prekey-bundle.yaml",
        &file(
            Family::PrekeyBundle,
            "Processing a peer's prekey bundle as session initiator (RO-SIG-003, RO-ID-007).",
            &notes,
            groups,
        ),
    )
}
