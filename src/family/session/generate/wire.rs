//! Wire-format vectors: the exact v3 framing, and malformed messages whose MAC is recomputed over the
//! malformed bytes, so that only the check under test (version, field presence, varints, key encoding, MAC
//! layout) can refuse them. Messages come from the independent sender ([`crate::verify::sender`]); each
//! negative is followed by the genuine message to show the session survived (or was never created).

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::key_schedule::generate::{bad, bundle_of, msg, ok, pkmsg, sender_keys};
use crate::family::session::generate::{blame_steps, key_material};
use crate::family::session::{Group, Step, Test};
use crate::generate::{Generated, file, flags, render};
use crate::provider::ErrorClass;
use crate::vector::Expected;
use crate::verify::crypto as c;
use crate::verify::sender::{Deviation, Sender};
use prost::Message;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Small-order Curve25519 u-coordinates (the blocklist libsodium and others use): 0, 1, two points of order 8,
/// and p - 1.
pub(crate) const LOW_ORDER: [(&str, &str); 5] = [
    (
        "zero",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ),
    (
        "one",
        "0100000000000000000000000000000000000000000000000000000000000000",
    ),
    (
        "order8a",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    ),
    (
        "order8b",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    ),
    (
        "p-minus-1",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
];

pub(crate) fn low_order_points() -> Result<Vec<(&'static str, [u8; 32])>, String> {
    LOW_ORDER
        .iter()
        .map(|(name, h)| {
            let k: [u8; 32] = hex::decode(h)
                .map_err(|e| e.to_string())?
                .try_into()
                .map_err(|_| "bad length")?;
            if !c::is_low_order(&k) {
                return Err(format!("{name} is not a low-order point"));
            }
            Ok((*name, k))
        })
        .collect()
}

const P: [&[u8]; 3] = [b"wire format 0", b"wire format 1", b"wire format 2"];

struct Builder {
    tests: Vec<Test>,
}

impl Builder {
    fn push(&mut self, id: &str, comment: &str, r: &[&str], f: &[&str], mut messages: Vec<Step>) {
        self.tests.push(Test {
            id: format!("wire.{id}"),
            comment: comment.into(),
            requirements: blame_steps(r, &mut messages),
            flags: flags(f),
            expected: Expected::summarise(messages.iter().map(|s| s.expected)),
            messages,
        });
    }
}

fn with_prefix(key: &[u8; 32], type_byte: u8) -> Vec<u8> {
    let mut v = vec![type_byte];
    v.extend_from_slice(key);
    v
}

pub(crate) fn generate() -> Result<Generated, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0005);
    let bob = key_material(&mut rng, 7001, &[41, 42])?;
    let alice = sender_keys(&mut rng);
    let bundle = bundle_of(&bob, Some(41), 7002)?;
    let s = Sender::new(alice.clone(), bundle.clone(), Deviation::default());
    let pk0 = s.prekey_message(0, P[0]);
    let w1 = s.whisper(1, P[1]);
    let w2 = s.whisper(2, P[2]);
    let genuine_pk = || ok("the genuine first message", pkmsg(pk0.clone()), P[0]);
    let first = || ok("", pkmsg(pk0.clone()), P[0]);
    let genuine_w1 = || ok("the genuine msg", msg(w1.clone()), P[1]);
    let mac1 = s.keys_at(1).mac_key;
    let proto1 = s.proto(1, P[1]).encode_to_vec();
    // A msg at index 1 with its protobuf or framing changed and a MAC recomputed over the result.
    let remac = |version: u8, proto: &[u8]| s.frame(version, proto, &mac1, false, 8);
    // A pkmsg whose inner message (index 0) is rebuilt from a changed protobuf, with a valid inner MAC.
    let mac0 = s.keys_at(0).mac_key;
    let proto0 = s.proto(0, P[0]);
    let inner_pk = |sender: &Sender, version: u8, proto: &[u8], mac_key: &[u8; 32]| {
        let inner = sender.frame(version, proto, mac_key, false, 8);
        Sender::prekey_frame(c::VERSION_BYTE, &sender.prekey_proto(inner))
    };
    let mut b = Builder { tests: Vec::new() };
    let inv = Expected::Invalid;
    let version = [ErrorClass::InvalidVersion];
    let malformed = [ErrorClass::InvalidMessage];
    let mac_err = [ErrorClass::BadMac];
    let mac_or_malformed = [ErrorClass::BadMac, ErrorClass::InvalidMessage];
    let key_err = [ErrorClass::InvalidKey];

    b.push(
        "valid.pkmsg-then-msgs",
        "version byte 0x33, a pkmsg then two msgs: exact plaintexts",
        &[
            "RO-ENC-004",
            "RO-ENC-010",
            "RO-ENC-011",
            "RO-ENC-012",
            "RO-ENC-013",
            "RO-ID-007",
        ],
        &[],
        vec![first(), ok("", msg(w1.clone()), P[1]), ok("", msg(w2.clone()), P[2])],
    );
    b.push(
        "valid.pkmsgs-only",
        "until a reply arrives every message is a pkmsg carrying the same base key",
        &["RO-ENC-004", "RO-ENC-013"],
        &[],
        vec![first(), ok("", pkmsg(s.prekey_message(1, P[1])), P[1])],
    );
    // Version nibbles on a msg, MAC recomputed over the new version byte.
    for (v, req) in [
        (0x23u8, "RO-ENC-010"),
        (0x13, "RO-ENC-010"),
        (0x03, "RO-ENC-010"),
        (0x22, "RO-ENC-010"),
        (0x43, "RO-ENC-010A"),
        (0x53, "RO-ENC-010"),
        (0xf3, "RO-ENC-010"),
    ] {
        let legacy = v >> 4 < 3;
        let errors: &[ErrorClass] = if legacy {
            &version
        } else {
            &[ErrorClass::InvalidVersion, ErrorClass::InvalidMessage]
        };
        let flag = match v >> 4 {
            0..=2 => "LegacyVersion",
            4 => "FutureVersion",
            _ => "UnknownVersion",
        };
        b.push(
            &format!("version.msg-{v:02x}"),
            &format!(
                "a msg with version byte {v:#04x} and a MAC recomputed over it: only the version check refuses it"
            ),
            &[req],
            &[flag],
            vec![first(), bad("", msg(remac(v, &proto1)), inv, errors), genuine_w1()],
        );
        if matches!(v, 0x23 | 0x43) {
            b.push(
                &format!("version.pkmsg-inner-{v:02x}"),
                &format!("a pkmsg (outer 0x33) whose inner message has version {v:#04x} and a valid inner MAC"),
                &[req],
                &[if legacy { "LegacyVersion" } else { "FutureVersion" }],
                vec![
                    bad("", pkmsg(inner_pk(&s, v, &proto0.encode_to_vec(), &mac0)), inv, errors),
                    genuine_pk(),
                ],
            );
        }
    }
    // Malleability: the version byte changed under the ORIGINAL MAC. The MAC covers the byte of a msg and of a
    // pkmsg's inner message, so every receiver refuses those; a receiver that MACs a constant 0x33 and checks
    // the version loosely accepts them. The outer byte of a pkmsg is covered by no MAC: only the version check
    // can refuse it.
    let stale_mac = [ErrorClass::InvalidVersion, ErrorClass::BadMac];
    let inner0 = s.whisper(0, P[0]);
    for v in [0x43u8, 0x32, 0xb3, 0x23] {
        let mut changed = w1.clone();
        changed[0] = v;
        b.push(
            &format!("version.msg-{v:02x}-original-mac"),
            &format!("a msg whose version byte became {v:#04x}, its MAC computed over 0x33 kept: the MAC refuses it"),
            &["RO-ENC-010", "RO-ENC-011"],
            &["VersionUnderOldMac"],
            vec![first(), bad("", msg(changed), inv, &stale_mac), genuine_w1()],
        );
        let mut changed_inner = inner0.clone();
        changed_inner[0] = v;
        b.push(
            &format!("version.pkmsg-inner-{v:02x}-original-mac"),
            &format!(
                "a pkmsg whose inner message's version byte became {v:#04x}, the inner MAC over 0x33 kept: refused, and no session is kept"
            ),
            &["RO-ENC-010", "RO-ENC-011", "RO-ENC-013"],
            &["VersionUnderOldMac"],
            vec![
                bad(
                    "",
                    pkmsg(Sender::prekey_frame(c::VERSION_BYTE, &s.prekey_proto(changed_inner))),
                    inv,
                    &stale_mac,
                ),
                genuine_pk(),
            ],
        );
        let outer_changed = pkmsg(Sender::prekey_frame(v, &s.prekey_proto(inner0.clone())));
        let (req, flag, expected, errors): (&str, &str, Expected, &[ErrorClass]) = match v >> 4 {
            3 => ("RO-ENC-010", "OuterLowNibble", Expected::Acceptable, &version),
            4 => (
                "RO-ENC-010A",
                "FutureVersion",
                inv,
                &[ErrorClass::InvalidVersion, ErrorClass::InvalidMessage],
            ),
            2 => ("RO-ENC-010", "LegacyVersion", inv, &version),
            _ => ("RO-ENC-010", "UnknownVersion", inv, &version),
        };
        let mut steps = vec![bad("", outer_changed, expected, errors)];
        if expected == inv {
            steps.push(genuine_pk());
        }
        b.push(
            &format!("version.pkmsg-outer-{v:02x}"),
            &format!(
                "a pkmsg whose outer version byte (covered by no MAC) became {v:#04x}, its inner message untouched"
            ),
            &[req, "RO-ENC-013"],
            &[flag],
            steps,
        );
    }
    // Truncation of a msg at every offset class.
    let n = w1.len();
    let ct_len = s.proto(1, P[1]).ciphertext.map_or(0, |c| c.len());
    for (name, keep) in [
        ("empty", 0usize),
        ("version-only", 1),
        ("in-first-tag", 2),
        ("in-ratchet-key", 20),
        ("after-ratchet-key", 36),
        ("in-ciphertext", n - 8 - ct_len / 2),
        ("protobuf-without-mac", n - 8),
        ("mac-minus-one", n - 1),
    ] {
        // Cutting the last byte leaves a 7-byte MAC: the same bytes as a MAC-layout case, so it checks both.
        let (what, r): (&str, &[&str]) = if keep == n - 1 {
            (" (a 7-byte MAC)", &["RO-ENC-011", "RO-ENC-012"])
        } else {
            ("", &["RO-ENC-012"])
        };
        b.push(
            &format!("truncated.msg-{name}"),
            &format!("the msg cut to {keep} of {n} bytes{what}"),
            r,
            &["Truncated"],
            vec![
                first(),
                bad("", msg(w1[..keep].to_vec()), inv, &mac_or_malformed),
                genuine_w1(),
            ],
        );
    }
    let n0 = pk0.len();
    for (name, keep) in [
        ("empty", 0usize),
        ("version-only", 1),
        ("in-prekey-id", 2),
        ("in-base-key", 20),
        ("in-identity-key", 50),
        ("in-inner-message", n0 / 2 + 20),
        ("minus-one", n0 - 1),
    ] {
        b.push(
            &format!("truncated.pkmsg-{name}"),
            &format!("the pkmsg cut to {keep} of {n0} bytes"),
            &["RO-ENC-013"],
            &["Truncated"],
            vec![
                bad("", pkmsg(pk0[..keep].to_vec()), inv, &mac_or_malformed),
                genuine_pk(),
            ],
        );
    }
    // Missing fields, valid MACs.
    let drop = |f: &dyn Fn(&mut crate::wire::WhisperMessage)| {
        let mut p = s.proto(1, P[1]);
        f(&mut p);
        remac(c::VERSION_BYTE, &p.encode_to_vec())
    };
    b.push(
        "missing.ratchet-key",
        "a msg without ratchetKey (field 1), MAC valid",
        &["RO-ENC-012"],
        &["MissingField"],
        vec![
            first(),
            bad("", msg(drop(&|p| p.ratchet_key = None)), inv, &malformed),
            genuine_w1(),
        ],
    );
    b.push(
        "missing.ciphertext",
        "a msg without ciphertext (field 4), MAC valid",
        &["RO-ENC-012"],
        &["MissingField"],
        vec![
            first(),
            bad("", msg(drop(&|p| p.ciphertext = None)), inv, &malformed),
            genuine_w1(),
        ],
    );
    // Without a counter, a reader of 0 must find index 0 unused and the MAC made with its keys: the session is
    // started by the pkmsg of index 1, which leaves index 0 skipped, and the counter-less msg carries index 0's
    // ciphertext and MAC. A receiver that refuses it and one that reads 0 (and decrypts "wire format 0") both
    // conform; index 2 decrypts after either.
    let no_counter = {
        let mut p = s.proto(0, P[0]);
        p.counter = None;
        s.frame(c::VERSION_BYTE, &p.encode_to_vec(), &mac0, false, 8)
    };
    b.push(
        "missing.counter",
        "a msg without counter (field 2) whose MAC and ciphertext are those of index 0, still unused: libsignal and wacore refuse it, Go libsignal reads 0 and decrypts it",
        &["RO-ENC-012"],
        &["MissingCounter"],
        vec![
            ok(
                "the pkmsg of index 1 starts the session; index 0 stays skipped",
                pkmsg(s.prekey_message(1, P[1])),
                P[1],
            ),
            bad("", msg(no_counter), Expected::Acceptable, &malformed),
            ok("index 2 decrypts either way", msg(w2.clone()), P[2]),
        ],
    );
    let outer = |f: &dyn Fn(&mut crate::wire::PreKeyWhisperMessage)| {
        let mut p = s.prekey_proto(s.whisper(0, P[0]));
        f(&mut p);
        pkmsg(Sender::prekey_frame(c::VERSION_BYTE, &p))
    };
    for (name, why, errors, f) in [
        (
            "base-key",
            "no base key: X3DH cannot run",
            &malformed[..],
            &(|p: &mut crate::wire::PreKeyWhisperMessage| p.base_key = None) as &dyn Fn(&mut _),
        ),
        (
            "identity-key",
            "no identity key: neither X3DH nor the MAC can be computed",
            &malformed[..],
            &|p: &mut crate::wire::PreKeyWhisperMessage| p.identity_key = None,
        ),
        (
            "message",
            "no inner message: nothing to authenticate or decrypt",
            &malformed[..],
            &|p: &mut crate::wire::PreKeyWhisperMessage| p.message = None,
        ),
        (
            "signed-prekey-id",
            "no signed prekey id: the receiver cannot pick its signed prekey",
            &[ErrorClass::InvalidMessage, ErrorClass::InvalidSignedPrekey][..],
            &|p: &mut crate::wire::PreKeyWhisperMessage| p.signed_pre_key_id = None,
        ),
        (
            "prekey-id",
            "the one-time prekey was used: without its id the receiver runs 3-DH and its keys differ, so the MAC fails",
            &[ErrorClass::BadMac][..],
            &|p: &mut crate::wire::PreKeyWhisperMessage| p.pre_key_id = None,
        ),
    ] {
        b.push(
            &format!("missing.pkmsg-{name}"),
            &format!("a pkmsg without its {name} field ({why})"),
            &["RO-ENC-013"],
            &["MissingField"],
            vec![bad("", outer(f), inv, errors), genuine_pk()],
        );
    }
    // Bad varints and protobuf framing, MAC recomputed over the bad bytes.
    for (name, tail) in [
        (
            "varint-11-bytes",
            vec![0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
        ("varint-truncated", vec![0x10, 0x80]),
        ("length-past-end", vec![0x22, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        ("wire-type-7", vec![0x0f]),
        ("field-zero", vec![0x00, 0x01]),
    ] {
        let body = [proto1.as_slice(), &tail].concat();
        b.push(
            &format!("protobuf.msg-{name}"),
            &format!("a msg protobuf followed by {}, MAC recomputed", hex::encode(&tail)),
            &["RO-ENC-012"],
            &["BadProtobuf"],
            vec![
                first(),
                bad("", msg(remac(c::VERSION_BYTE, &body)), inv, &malformed),
                genuine_w1(),
            ],
        );
        let outer_body = [&pk0[..], &tail].concat();
        b.push(
            &format!("protobuf.pkmsg-{name}"),
            &format!("a pkmsg protobuf followed by {}", hex::encode(&tail)),
            &["RO-ENC-013"],
            &["BadProtobuf"],
            vec![bad("", pkmsg(outer_body), inv, &malformed), genuine_pk()],
        );
    }
    // MAC layout.
    let signed1 = [&[c::VERSION_BYTE][..], &proto1].concat();
    let full = c::hmac_sha256(&mac1, &[&s.identity(), &s.receiver_identity(), &signed1]);
    let mac_variants: Vec<(&str, &str, Vec<u8>, &[ErrorClass])> = vec![
        (
            "swapped-identities",
            "the MAC over receiver || sender identities",
            s.frame(c::VERSION_BYTE, &proto1, &mac1, true, 8),
            &mac_err,
        ),
        (
            "nine-bytes",
            "a 9-byte MAC (the first 9 HMAC bytes)",
            s.frame(c::VERSION_BYTE, &proto1, &mac1, false, 9),
            &mac_or_malformed,
        ),
        (
            "untruncated",
            "the full 32-byte HMAC",
            s.frame(c::VERSION_BYTE, &proto1, &mac1, false, 32),
            &mac_or_malformed,
        ),
        (
            "last-byte",
            "a MAC differing only in its last byte",
            {
                let mut v = w1.clone();
                let l = v.len() - 1;
                v[l] ^= 0x01;
                v
            },
            &mac_err,
        ),
        (
            "last-two-bytes",
            "a MAC differing only in its last two bytes",
            {
                let mut v = w1.clone();
                let l = v.len();
                v[l - 2] ^= 0x80;
                v[l - 1] ^= 0x80;
                v
            },
            &mac_err,
        ),
        (
            "byte-4",
            "a MAC differing only in byte 4",
            {
                let mut v = w1.clone();
                let l = v.len();
                v[l - 4] ^= 0x10;
                v
            },
            &mac_err,
        ),
        (
            "first-byte",
            "a MAC differing only in its first byte",
            {
                let mut v = w1.clone();
                let l = v.len();
                v[l - 8] ^= 0x01;
                v
            },
            &mac_err,
        ),
        (
            "zero",
            "an all-zero MAC",
            {
                let mut v = w1.clone();
                let l = v.len();
                v[l - 8..].fill(0);
                v
            },
            &mac_err,
        ),
        (
            "last-hmac-bytes",
            "HMAC bytes 24..32 instead of the first 8",
            [&signed1[..], &full[24..]].concat(),
            &mac_err,
        ),
        (
            "without-version",
            "the MAC over the protobuf without the version byte",
            {
                let m = c::hmac_sha256(&mac1, &[&s.identity(), &s.receiver_identity(), &proto1]);
                [&signed1[..], &m[..8]].concat()
            },
            &mac_err,
        ),
        (
            "without-identities",
            "the MAC over version || protobuf only",
            {
                let m = c::hmac_sha256(&mac1, &[&signed1]);
                [&signed1[..], &m[..8]].concat()
            },
            &mac_err,
        ),
        (
            "ciphertext-bit",
            "a ciphertext bit flipped under the original MAC",
            {
                let mut v = w1.clone();
                let l = v.len();
                v[l - 12] ^= 0x04;
                v
            },
            &mac_err,
        ),
        (
            "counter-changed",
            "the counter field changed under the original MAC",
            {
                let mut p = s.proto(1, P[1]);
                p.counter = Some(2);
                let m = &w1[w1.len() - 8..];
                [&[c::VERSION_BYTE][..], &p.encode_to_vec(), m].concat()
            },
            &mac_err,
        ),
    ];
    for (name, what, body, errors) in mac_variants {
        b.push(
            &format!("mac.{name}"),
            &format!("{what}: refused"),
            &["RO-ENC-011"],
            &["BadMacLayout"],
            vec![first(), bad("", msg(body), inv, errors), genuine_w1()],
        );
    }
    b.push(
        "mac.pkmsg-swapped-identities",
        "a pkmsg whose inner MAC was computed over receiver || sender: refused, and no session is kept",
        &["RO-ENC-011", "RO-ENC-013"],
        &["BadMacLayout"],
        vec![
            bad(
                "",
                pkmsg(Sender::prekey_frame(
                    c::VERSION_BYTE,
                    &s.prekey_proto(s.frame(c::VERSION_BYTE, &proto0.encode_to_vec(), &mac0, true, 8)),
                )),
                inv,
                &mac_err,
            ),
            bad("no session was kept", msg(w1.clone()), inv, &[ErrorClass::NoSession]),
            genuine_pk(),
        ],
    );
    // Key encodings inside messages. The DH inputs stay the same 32 bytes, so the MAC stays valid.
    let ratchet_pub = c::public_of(&alice.ratchet);
    let base_pub = c::public_of(&alice.base);
    let identity_pub = c::public_of(&alice.identity);
    let encodings: Vec<(String, Vec<u8>, &str, &str)> = [0x00u8, 0x04, 0x06]
        .iter()
        .map(|t| (format!("type-{t:02x}"), vec![*t], "RO-ID-007", "WrongKeyType"))
        .chain([
            ("raw-32-bytes".to_string(), vec![], "RO-ID-007", "WrongKeyLength"),
            (
                "trailing-byte".to_string(),
                vec![0x05, 0x00],
                "RO-ID-007A",
                "TrailingBytes",
            ),
        ])
        .collect();
    for (name, shape, req, flag) in &encodings {
        let encode = |k: &[u8; 32]| match shape.as_slice() {
            [] => k.to_vec(),
            [t] => with_prefix(k, *t),
            _ => [with_prefix(k, 0x05), vec![0x00]].concat(),
        };
        let mut p = proto0.clone();
        p.ratchet_key = Some(encode(&ratchet_pub));
        let ratchet_case = inner_pk(&s, c::VERSION_BYTE, &p.encode_to_vec(), &mac0);
        let mut o = s.prekey_proto(s.whisper(0, P[0]));
        o.base_key = Some(encode(&base_pub));
        let base_case = Sender::prekey_frame(c::VERSION_BYTE, &o);
        let mut o = s.prekey_proto(s.whisper(0, P[0]));
        o.identity_key = Some(encode(&identity_pub));
        let identity_case = Sender::prekey_frame(c::VERSION_BYTE, &o);
        for (field, body, errors) in [
            ("ratchet-key", ratchet_case, &key_err[..]),
            ("base-key", base_case, &key_err[..]),
            (
                "identity-key",
                identity_case,
                &[ErrorClass::InvalidKey, ErrorClass::BadMac][..],
            ),
        ] {
            b.push(
                &format!("key.{field}-{name}"),
                &format!("the pkmsg's {field} encoded as {name} (inner MAC valid for the same key bytes)"),
                &[req, "RO-ENC-013"],
                &[flag],
                vec![bad("", pkmsg(body), inv, errors), genuine_pk()],
            );
        }
    }
    // Low-order keys: the MAC is made from the all-zero shared secrets the receiver would compute.
    let honest_shared = [
        c::x25519(&alice.identity, &bundle.signed_prekey),
        c::x25519(&alice.base, &bundle.identity),
        c::x25519(&alice.base, &bundle.signed_prekey),
        c::x25519(&alice.base, &bundle.prekey.map(|p| p.1).unwrap_or_default()),
    ];
    let ratchet_shared = c::x25519(&alice.ratchet, &bundle.signed_prekey);
    for (name, point) in low_order_points()? {
        let mut zero_ratchet = Sender::from_shared(
            alice.clone(),
            bundle.clone(),
            Deviation::default(),
            &honest_shared,
            [0; 32],
        );
        zero_ratchet.ratchet_serialized = c::serialize_public(&point).to_vec();
        b.push(
            &format!("low-order.ratchet-key-{name}"),
            "a pkmsg whose ratchet key is a low-order point; its MAC is valid under the all-zero DH output",
            &["RO-ENC-002", "RO-ENC-006"],
            &["LowOrderKey"],
            vec![
                bad("", pkmsg(zero_ratchet.prekey_message(0, P[0])), inv, &key_err),
                genuine_pk(),
            ],
        );
        let shared = [honest_shared[0], [0; 32], [0; 32], [0; 32]];
        let mut zero_base = Sender::from_shared(
            alice.clone(),
            bundle.clone(),
            Deviation::default(),
            &shared,
            ratchet_shared,
        );
        zero_base.base_serialized = c::serialize_public(&point).to_vec();
        b.push(
            &format!("low-order.base-key-{name}"),
            "a pkmsg whose base key is a low-order point; its MAC is valid under the keys the zero DH outputs give",
            &["RO-ENC-002", "RO-ENC-003"],
            &["LowOrderKey"],
            vec![
                bad("", pkmsg(zero_base.prekey_message(0, P[0])), inv, &key_err),
                genuine_pk(),
            ],
        );
    }
    let notes = [
        (
            "LegacyVersion",
            "LEGACY",
            "Message version below 3, with a MAC recomputed over it.",
            "",
        ),
        (
            "UnknownVersion",
            "EDGE_CASE",
            "Message version 5 or higher: every source refuses it when parsing (RO-ENC-010).",
            "",
        ),
        (
            "VersionUnderOldMac",
            "AUTH_BYPASS",
            "The version byte changed after the MAC was computed over 0x33. The MAC covers the byte, so every receiver refuses it, whatever its version check.",
            "A receiver that MACs a constant 0x33 and checks the version loosely accepts a message its sender never sent.",
        ),
        (
            "OuterLowNibble",
            "EDGE_CASE",
            "The outer byte of a pkmsg is covered by no MAC, and libsignal, wacore-libsignal and Go libsignal read only its high nibble (the message version), so 0x32 parses as version 3. Refusing it conforms too; whether WhatsApp checks the low nibble is unknown.",
            "",
        ),
        (
            "FutureVersion",
            "EDGE_CASE",
            "Message version above 3. Version 4 is Signal's PQ framing; sources disagree on refusing it (RO-ENC-010A), hence SHOULD.",
            "",
        ),
        (
            "Truncated",
            "EDGE_CASE",
            "The serialized message is cut short.",
            "Parsers that read past the end.",
        ),
        (
            "MissingField",
            "MISSING_STEP",
            "A field the receiver needs is absent; the MAC is valid.",
            "",
        ),
        (
            "MissingCounter",
            "EDGE_CASE",
            "The counter field is absent. libsignal and wacore refuse it; Go libsignal (whatsmeow) reads 0. Either result conforms.",
            "",
        ),
        (
            "BadProtobuf",
            "EDGE_CASE",
            "Bytes that are not valid protobuf: over-long or truncated varints, lengths past the end, wire type 7, field 0.",
            "Parser crashes.",
        ),
        (
            "BadMacLayout",
            "AUTH_BYPASS",
            "The MAC is the wrong length, over the wrong input or in the wrong order, or compared only in part.",
            "Forgeable or unauthenticated messages.",
        ),
        crate::generate::WRONG_KEY_TYPE_NOTE,
        (
            "WrongKeyLength",
            "EDGE_CASE",
            "Serialized keys are 33 bytes; a raw 32-byte key is refused.",
            "",
        ),
        (
            "TrailingBytes",
            "EDGE_CASE",
            "Bytes after a 33-byte key. Sources disagree on refusing them (RO-ID-007A), hence SHOULD.",
            "",
        ),
        (
            "LowOrderKey",
            "EDGE_CASE",
            "A public key of small order gives an all-zero DH output. RFC 7748 section 6.1 allows the check; this suite requires it (RO-ENC-002). It is not a published Meta rule.",
            "Keys derived from a known secret: anyone can read the session.",
        ),
    ];
    let group = Group {
        comment: "bob (registration 7001, signed prekey 1, one-time prekeys 41 and 42) receives from alice; messages built by the independent sender".into(),
        receiver: bob,
        sender: "alice".into(),
        sender_identity: Bytes(s.identity().to_vec()),
        tests: b.tests,
    };
    render(
        "wire-format.yaml",
        &file(
            Family::WireFormat,
            "WhisperMessage and PreKeyWhisperMessage framing, and malformed messages with valid MACs (RO-ENC-010..013, RO-ID-007).",
            &notes,
            vec![group],
        ),
    )
}
