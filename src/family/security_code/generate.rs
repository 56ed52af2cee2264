//! Security-code vectors: Signal's published fingerprint vector (KAT-3), seeded identity pairs seen from both
//! sides, and the same pairs with one key or identifier changed.
//!
//! Codes come from the reference (`reference::security_code`) and are re-derived by `family::security_code::verify`
//! with plain SHA-512; KAT-3 is also pinned to Signal's published digits there. The identifiers are arbitrary
//! bytes: which identifier WhatsApp hashes for interop chats is unconfirmed (reference-offer.md section 5 item 12).

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::security_code::{Group, Test};
use crate::generate::{Generated, file, flags, render, reqs};
use crate::provider::SecurityCode;
use crate::reference::Faults;
use crate::reference::security_code::security_code;
use crate::vector::Expected;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::KeyPair;

/// KAT-3 (signalapp/libsignal `rust/protocol/src/fingerprint.rs`, `fingerprint_test_v1`; reference-offer.md
/// section 4): Alice's identity key and stable identifier.
pub(crate) const KAT3_ALICE_KEY: &str = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868";
/// KAT-3: Alice's identifier.
pub(crate) const KAT3_ALICE_ID: &str = "+14152222222";
/// KAT-3: Bob's identity key.
pub(crate) const KAT3_BOB_KEY: &str = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b";
/// KAT-3: Bob's identifier.
pub(crate) const KAT3_BOB_ID: &str = "+14153333333";
/// KAT-3: the displayed code, the same for both parties (`DISPLAYABLE_FINGERPRINT_V1`).
pub(crate) const KAT3_CODE: &str = "300354477692869396892869876765458257569162576843440918079131";

/// One party: serialized identity key and identifier bytes.
struct Party {
    key: Vec<u8>,
    id: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_default()
}

fn flip_key(key: &[u8]) -> Vec<u8> {
    let mut v = key.to_vec();
    v[9] ^= 0x01;
    v
}

struct Case<'a> {
    id: String,
    comment: &'a str,
    flags: &'a [&'a str],
    local: &'a Party,
    remote: &'a Party,
    same_code_as: Option<String>,
    differs_from: Option<String>,
}

fn test(c: Case<'_>) -> Result<Test, String> {
    let request = SecurityCode {
        local_identity: Bytes(c.local.key.clone()),
        local_id: Bytes(c.local.id.clone()),
        remote_identity: Bytes(c.remote.key.clone()),
        remote_id: Bytes(c.remote.id.clone()),
    };
    let code = security_code(&request, &Faults::none()).map_err(|e| format!("{}: {e}", c.id))?;
    Ok(Test {
        id: c.id,
        comment: c.comment.into(),
        requirements: reqs(&["RO-ID-009"]),
        flags: flags(c.flags),
        expected: Expected::Valid,
        local_identity: request.local_identity,
        local_id: request.local_id,
        remote_identity: request.remote_identity,
        remote_id: request.remote_id,
        code,
        same_code_as: c.same_code_as,
        differs_from: c.differs_from,
        errors: vec![],
    })
}

/// Both views of a pair, then the pair with the remote key, the local key and the local identifier changed.
fn pair_tests(prefix: &str, a: &Party, b: &Party, published: bool) -> Result<Vec<Test>, String> {
    let base = format!("{prefix}.a-view");
    let f: &[&str] = if published { &["PublishedKnownAnswer"] } else { &[] };
    let b_changed = Party {
        key: flip_key(&b.key),
        id: b.id.clone(),
    };
    let a_changed = Party {
        key: flip_key(&a.key),
        id: a.id.clone(),
    };
    let a_renamed = Party {
        key: a.key.clone(),
        id: [&a.id[..], b"2"].concat(),
    };
    let a_comment = if published {
        "Signal's published vector (fingerprint_test_v1 in signalapp/libsignal rust/protocol/src/fingerprint.rs, \
         5200 iterations), seen from Alice"
    } else {
        "the code seen from A"
    };
    Ok(vec![
        test(Case {
            id: base.clone(),
            comment: a_comment,
            flags: f,
            local: a,
            remote: b,
            same_code_as: None,
            differs_from: None,
        })?,
        test(Case {
            id: format!("{prefix}.b-view"),
            comment: "the same pair seen from B: the same 60 digits",
            flags: &[f, &["OtherView"]].concat(),
            local: b,
            remote: a,
            same_code_as: Some(base.clone()),
            differs_from: None,
        })?,
        test(Case {
            id: format!("{prefix}.remote-key-changed"),
            comment: "A's view with one bit of B's identity key changed: the code changes",
            flags: &["ChangedKey"],
            local: a,
            remote: &b_changed,
            same_code_as: None,
            differs_from: Some(base.clone()),
        })?,
        test(Case {
            id: format!("{prefix}.local-key-changed"),
            comment: "A's view with one bit of A's own identity key changed: the code changes",
            flags: &["ChangedKey"],
            local: &a_changed,
            remote: b,
            same_code_as: None,
            differs_from: Some(base.clone()),
        })?,
        test(Case {
            id: format!("{prefix}.local-id-changed"),
            comment: "A's view with a character appended to A's identifier: the code changes",
            flags: &["ChangedIdentifier"],
            local: &a_renamed,
            remote: b,
            same_code_as: None,
            differs_from: Some(base),
        })?,
    ])
}

pub(crate) fn generate() -> Result<Generated, String> {
    let alice = Party {
        key: hex(KAT3_ALICE_KEY),
        id: KAT3_ALICE_ID.as_bytes().to_vec(),
    };
    let bob = Party {
        key: hex(KAT3_BOB_KEY),
        id: KAT3_BOB_ID.as_bytes().to_vec(),
    };
    let kat3 = pair_tests("security-code.kat3", &alice, &bob, true)?;
    // Refuse to write a file that contradicts Signal's published digits.
    if kat3.iter().take(2).any(|t| t.code != KAT3_CODE) {
        return Err(format!(
            "the reference's KAT-3 code differs from Signal's published {KAT3_CODE}"
        ));
    }
    let mut groups = vec![Group {
        comment: "KAT-3: Signal's public fingerprint vector and its variations".into(),
        tests: kat3,
    }];
    let mut rng = StdRng::seed_from_u64(0x5eed_0c0d);
    // Identifier shapes: phone numbers, free text, empty, binary. None is WhatsApp's confirmed encoding.
    let ids: [(&[u8], &[u8]); 6] = [
        (b"+14155550101", b"+447700900123"),
        (b"+4915112345678", b"+4915112345679"),
        (b"alice@partner.example", b"bob@whatsapp.example"),
        (b"", b"+33612345678"),
        ("ü-名前".as_bytes(), b"x"),
        (&[0x00, 0xff, 0x10, 0x80, 0x7f], &[0u8; 32]),
    ];
    for (n, (a_id, b_id)) in ids.iter().enumerate() {
        let a = Party {
            key: KeyPair::generate(&mut rng).public_key.serialize().to_vec(),
            id: a_id.to_vec(),
        };
        let b = Party {
            key: KeyPair::generate(&mut rng).public_key.serialize().to_vec(),
            id: b_id.to_vec(),
        };
        groups.push(Group {
            comment: format!("seeded pair {n} (seed 0x5eed0c0d)"),
            tests: pair_tests(&format!("security-code.pair{n}"), &a, &b, false)?,
        });
    }
    let me = Party {
        key: KeyPair::generate(&mut rng).public_key.serialize().to_vec(),
        id: b"+14155550199".to_vec(),
    };
    groups.push(Group {
        comment: "degenerate pairs".into(),
        tests: vec![
            test(Case {
                id: "security-code.same-party".into(),
                comment: "both halves from the same key and identifier: two equal halves",
                flags: &["Degenerate"],
                local: &me,
                remote: &me,
                same_code_as: None,
                differs_from: None,
            })?,
            test(Case {
                id: "security-code.same-key-other-id".into(),
                comment: "one key under two identifiers: the identifier alone separates the halves",
                flags: &["Degenerate"],
                local: &me,
                remote: &Party {
                    key: me.key.clone(),
                    id: b"+14155550198".to_vec(),
                },
                same_code_as: None,
                differs_from: Some("security-code.same-party".into()),
            })?,
        ],
    });
    render(
        "security-code.yaml",
        &file(Family::SecurityCode, DESCRIPTION, &NOTES, groups),
    )
}

const DESCRIPTION: &str = "The 60-digit security code (RO-ID-009), as Signal's numeric fingerprint: per party SHA-512 over \
     0x0000 || key(33) || identifier || key(33), then 5199 rounds over digest || key(33); six 5-byte big-endian \
     chunks mod 100000; halves shown smaller-first. WhatsApp's identifier bytes and prefix for interop chats are \
     unconfirmed (reference-offer.md section 5 item 12): these cases test the generic algorithm.";

const NOTES: [(&str, &str, &str, &str); 5] = [
    (
        "PublishedKnownAnswer",
        "BASIC",
        "Signal's published vector: signalapp/libsignal rust/protocol/src/fingerprint.rs (fingerprint_test_v1), reference-offer.md section 4 KAT-3.",
        "",
    ),
    (
        "OtherView",
        "BASIC",
        "The same pair seen from the other party; `same_code_as` names the first view.",
        "Two users comparing codes would see different digits.",
    ),
    (
        "ChangedKey",
        "MISSING_STEP",
        "One identity key differs by one bit from the case named in `differs_from`.",
        "A changed (possibly attacker's) key would go unnoticed.",
    ),
    (
        "ChangedIdentifier",
        "MISSING_STEP",
        "One identifier differs from the case named in `differs_from`.",
        "The code is not bound to the identifier.",
    ),
    ("Degenerate", "EDGE_CASE", "Both halves from one key.", ""),
];
