//! Key-schedule known answers: fixed sender and receiver keys, the expected X3DH, ratchet, chain and message
//! keys, and messages built from them by the independent sender ([`crate::verify::sender`]). The reference
//! library decrypting the valid messages (every `cargo test`) is the cross-check of those values; the
//! wrong-derivation negatives carry a valid MAC under the deviated schedule, so only the derivation under test
//! can refuse them.

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::key_schedule::{ChainStep, Group, Schedule, SenderPrivate, Test};
use crate::family::session::Step;
use crate::family::session::generate::key_material;
use crate::generate::{Generated, file, flags, render};
use crate::provider::{Ciphertext, CiphertextKind, ErrorClass, KeyMaterial};
use crate::vector::Expected;
use crate::verify::crypto as c;
use crate::verify::sender::{Bundle, Deviation, Sender, SenderKeys};
use prost::Message;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn arr(b: &Bytes) -> Result<[u8; 32], String> {
    b.as_slice()
        .try_into()
        .map_err(|_| "expected a 32-byte key".to_string())
}

/// The bundle the sender sees, from the receiver's private key material.
pub(crate) fn bundle_of(bob: &KeyMaterial, prekey: Option<u32>, sender_registration_id: u32) -> Result<Bundle, String> {
    let prekey = match prekey {
        Some(id) => {
            let p = bob.prekeys.iter().find(|p| p.id == id).ok_or("unknown prekey id")?;
            Some((id, c::public_of(&arr(&p.private)?)))
        }
        None => None,
    };
    Ok(Bundle {
        sender_registration_id,
        identity: c::public_of(&arr(&bob.identity_private)?),
        signed_prekey_id: bob.signed_prekey_id,
        signed_prekey: c::public_of(&arr(&bob.signed_prekey_private)?),
        prekey,
    })
}

/// Fixed sender keys from a seeded RNG.
pub(crate) fn sender_keys(rng: &mut StdRng) -> SenderKeys {
    SenderKeys {
        identity: rand::RngExt::random(rng),
        base: rand::RngExt::random(rng),
        ratchet: rand::RngExt::random(rng),
    }
}

pub(crate) fn pkmsg(body: Vec<u8>) -> Ciphertext {
    Ciphertext {
        kind: CiphertextKind::Pkmsg,
        body: Bytes(body),
    }
}

pub(crate) fn msg(body: Vec<u8>) -> Ciphertext {
    Ciphertext {
        kind: CiphertextKind::Msg,
        body: Bytes(body),
    }
}

pub(crate) fn ok(comment: &str, ct: Ciphertext, plaintext: &[u8]) -> Step {
    Step {
        comment: comment.into(),
        ciphertext: ct,
        expected: Expected::Valid,
        plaintext: Some(Bytes(plaintext.to_vec())),
        errors: vec![],
        class_required: None,
        requirements: vec![],
    }
}

pub(crate) fn bad(comment: &str, ct: Ciphertext, expected: Expected, errors: &[ErrorClass]) -> Step {
    Step {
        comment: comment.into(),
        ciphertext: ct,
        expected,
        plaintext: None,
        errors: errors.to_vec(),
        class_required: None,
        requirements: vec![],
    }
}

fn schedule(s: &Sender, indices: &[u32]) -> Schedule {
    let b = |k: &[u8]| Bytes(k.to_vec());
    Schedule {
        root_key: b(&s.schedule.root_key),
        chain_key: b(&s.schedule.chain_key),
        ratchet_root_key: b(&s.schedule.ratchet_root_key),
        sending_chain_key: b(&s.schedule.sending_chain_key),
        chain: indices
            .iter()
            .map(|&i| {
                let k = s.keys_at(i);
                ChainStep {
                    index: i,
                    chain_key: b(&s.chain_key_at(i)),
                    cipher_key: b(&k.cipher_key),
                    mac_key: b(&k.mac_key),
                    iv: b(&k.iv),
                }
            })
            .collect(),
    }
}

/// A message whose ciphertext is replaced, with a MAC that is valid for it.
fn with_ciphertext(s: &Sender, counter: u32, ciphertext: Vec<u8>) -> Vec<u8> {
    let mut proto = s.proto(counter, b"");
    proto.ciphertext = Some(ciphertext);
    let inner = s.frame(
        c::VERSION_BYTE,
        &proto.encode_to_vec(),
        &s.keys_at(counter).mac_key,
        false,
        8,
    );
    Sender::prekey_frame(c::VERSION_BYTE, &s.prekey_proto(inner))
}

pub(crate) fn generate() -> Result<Generated, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0004);
    let mut groups = Vec::new();
    let texts: [&[u8]; 4] = [
        b"key schedule 0",
        b"key schedule 1",
        b"key schedule 2",
        b"key schedule 5",
    ];
    for g in 0..3u32 {
        let bob = key_material(&mut rng, 5000 + g, &[21, 22])?;
        let alice = sender_keys(&mut rng);
        let mut tests = Vec::new();
        for prekey in [Some(21u32), None] {
            let bundle = bundle_of(&bob, prekey, 6000 + g)?;
            let honest = Sender::new(alice.clone(), bundle.clone(), Deviation::default());
            let sched = schedule(&honest, &[0, 1, 2, 5]);
            let variant = if prekey.is_some() { "with-opk" } else { "without-opk" };
            let dh = if prekey.is_some() { "4-DH" } else { "3-DH" };
            let mut t = |name: &str, comment: String, r: &[&str], f: &[&str], mut messages: Vec<Step>| {
                tests.push(Test {
                    id: format!("schedule.k{g}.{variant}.{name}"),
                    comment,
                    requirements: crate::family::session::generate::blame_steps(r, &mut messages),
                    flags: flags(f),
                    expected: Expected::summarise(messages.iter().map(|s| s.expected)),
                    one_time_prekey_id: prekey,
                    schedule: sched.clone(),
                    messages,
                });
            };
            let genuine = || {
                ok(
                    "the genuine first message",
                    pkmsg(honest.prekey_message(0, texts[0])),
                    texts[0],
                )
            };
            t(
                "known-answer",
                format!("{dh} X3DH, the first ratchet step and chain indices 0, 1, 5 and the skipped 2"),
                &[
                    "RO-ENC-003",
                    "RO-ENC-006",
                    "RO-ENC-007",
                    "RO-ENC-008",
                    "RO-ENC-009",
                    "RO-ENC-011",
                ],
                &[],
                vec![
                    genuine(),
                    ok("index 1 as a msg", msg(honest.whisper(1, texts[1])), texts[1]),
                    ok(
                        "index 5: keys 2-4 are skipped",
                        msg(honest.whisper(5, texts[3])),
                        texts[3],
                    ),
                    ok(
                        "index 2 from the skipped keys",
                        msg(honest.whisper(2, texts[2])),
                        texts[2],
                    ),
                ],
            );
            let deviations: [(&str, &str, &str, Deviation); 4] = [
                (
                    "no-ff-prefix",
                    "the X3DH master secret without its 0xFF x 32 prefix",
                    "RO-ENC-003",
                    Deviation {
                        no_ff_prefix: true,
                        ..Deviation::default()
                    },
                ),
                (
                    "ratchet-info-whispertext",
                    "the ratchet step derived with info \"WhisperText\" instead of \"WhisperRatchet\"",
                    "RO-ENC-006",
                    Deviation {
                        ratchet_info_whisper_text: true,
                        ..Deviation::default()
                    },
                ),
                (
                    "unhashed-seed",
                    "message keys from the chain key itself instead of HMAC(chainKey, 0x01)",
                    "RO-ENC-007",
                    Deviation {
                        unhashed_seed: true,
                        ..Deviation::default()
                    },
                ),
                (
                    "swapped-key-split",
                    "message keys split as mac 32 || cipher 32 || iv 16",
                    "RO-ENC-008",
                    Deviation {
                        swapped_key_split: true,
                        ..Deviation::default()
                    },
                ),
            ];
            for (name, what, req, deviation) in deviations {
                let wrong = Sender::new(alice.clone(), bundle.clone(), deviation);
                t(
                    name,
                    format!("a pkmsg whose keys come from {what}; its MAC is valid under those keys"),
                    &[req],
                    &["WrongDerivation"],
                    vec![
                        bad(
                            what,
                            pkmsg(wrong.prekey_message(0, texts[0])),
                            Expected::Invalid,
                            &[ErrorClass::BadMac],
                        ),
                        genuine(),
                    ],
                );
            }
            let honest_ct = c::aes_cbc_encrypt(&honest.keys_at(0), texts[0]);
            let mut short = honest_ct.clone();
            short.truncate(honest_ct.len() - 3);
            let mut block = [0x41u8; 16];
            block[15] = 0x00;
            let unpadded = c::aes_cbc_encrypt_unpadded(&honest.keys_at(0), &block);
            block[15] = 0x11;
            let overlong = c::aes_cbc_encrypt_unpadded(&honest.keys_at(0), &block);
            block[15] = 0x03;
            block[14] = 0x02;
            let inconsistent = c::aes_cbc_encrypt_unpadded(&honest.keys_at(0), &block);
            let cbc_errors = [ErrorClass::InvalidMessage, ErrorClass::BadMac];
            for (name, what, ct) in [
                (
                    "ciphertext-not-block-multiple",
                    "a ciphertext 3 bytes short of a block multiple",
                    short,
                ),
                (
                    "padding-zero",
                    "a last plaintext byte of 0x00 (invalid PKCS#7)",
                    unpadded,
                ),
                (
                    "padding-too-long",
                    "a last plaintext byte of 0x11 (more than a block)",
                    overlong,
                ),
                (
                    "padding-inconsistent",
                    "padding bytes 02 03 that disagree",
                    inconsistent,
                ),
                ("ciphertext-empty", "an empty ciphertext", Vec::new()),
            ] {
                t(
                    name,
                    format!("{what}, with a valid MAC: refused after the MAC, with no padding oracle"),
                    &["RO-ENC-009"],
                    &["BadCbc"],
                    vec![
                        bad(
                            what,
                            pkmsg(with_ciphertext(&honest, 0, ct)),
                            Expected::Invalid,
                            &cbc_errors,
                        ),
                        genuine(),
                    ],
                );
            }
        }
        groups.push(Group {
            comment: format!("key set {g} (seed 0x5eed0004): bob with one-time prekeys 21 and 22"),
            receiver: bob,
            sender: "alice".into(),
            sender_keys: SenderPrivate {
                identity_private: Bytes(alice.identity.to_vec()),
                base_private: Bytes(alice.base.to_vec()),
                ratchet_private: Bytes(alice.ratchet.to_vec()),
            },
            tests,
        });
    }
    let notes = [
        (
            "WrongDerivation",
            "MODIFIED_PARAMETER",
            "The message was built with one step of the key schedule done wrong; its MAC is valid for those wrong keys.",
            "Accepting it means the receiver derives the same wrong keys: it cannot interoperate with correct peers.",
        ),
        (
            "BadCbc",
            "EDGE_CASE",
            "AES-256-CBC input that is not whole blocks or whose PKCS#7 padding is invalid, under a valid MAC.",
            "A distinguishable error is a padding oracle.",
        ),
    ];
    render(
        "key-schedule.yaml",
        &file(
            Family::KeySchedule,
            "Known answers for X3DH (with and without a one-time prekey), the ratchet step, the chain and message keys, judged by exact decryption (RO-ENC-003, RO-ENC-006..009).",
            &notes,
            groups,
        ),
    )
}
