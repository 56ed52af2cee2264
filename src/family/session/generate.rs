//! Session known answers: fixed receiver keys (`bob`, imported into the provider) and fixed ciphertexts from
//! `alice`, produced by the reference library from seeded RNGs. Positive steps expect exact plaintexts; negative
//! steps mutate a ciphertext or replay one, and the next untampered step shows the session survived.

pub mod bounds;
pub mod wire;

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::session::{Group, SETUP, Step, Test};
use crate::generate::{Generated, file, flags, render, reqs, with_fidelity};
use crate::provider::{
    Ciphertext, CiphertextKind, ClientId, CreateClient, ErrorClass, KeyMaterial, OneTimePrekey, PreKeyBundle, Provider,
};
use crate::reference::ReferenceProvider;
use crate::vector::Expected;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::{KeyPair, PreKeySignalMessage};

/// Fixed key material for a party, generated from a seeded RNG.
pub(crate) fn key_material(rng: &mut StdRng, registration_id: u32, prekey_ids: &[u32]) -> Result<KeyMaterial, String> {
    let identity = KeyPair::generate(rng);
    let signed = KeyPair::generate(rng);
    let signature = identity
        .private_key
        .calculate_signature(&signed.public_key.serialize(), rng)
        .map_err(|e| format!("signing failed: {e}"))?;
    let prekeys = prekey_ids
        .iter()
        .map(|id| OneTimePrekey {
            id: *id,
            private: Bytes(KeyPair::generate(rng).private_key.serialize().to_vec()),
        })
        .collect();
    Ok(KeyMaterial {
        registration_id,
        identity_private: Bytes(identity.private_key.serialize().to_vec()),
        signed_prekey_id: 1,
        signed_prekey_private: Bytes(signed.private_key.serialize().to_vec()),
        signed_prekey_signature: Bytes(signature.to_vec()),
        prekeys,
    })
}

/// A party the generator drives through the reference provider.
pub(crate) struct Sender<'a> {
    provider: &'a ReferenceProvider,
    client: ClientId,
}

impl Sender<'_> {
    pub(crate) async fn new<'a>(
        provider: &'a ReferenceProvider,
        keys: &KeyMaterial,
        seed: u64,
        bundle: &PreKeyBundle,
    ) -> Result<Sender<'a>, String> {
        let create = CreateClient {
            name: "alice".into(),
            seed: Some(seed),
            keys: Some(keys.clone()),
        };
        let client = provider.create_client(&create).await.map_err(|e| e.to_string())?;
        provider
            .process_bundle(&client, "bob", bundle)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Sender { provider, client })
    }

    /// Send the message that carries `counter` (every counter before it is skipped, never sent).
    pub(crate) async fn send_at(&self, counter: u32, plaintext: &[u8]) -> Result<Ciphertext, String> {
        self.provider
            .skip_to_counter(&self.client, "bob", counter)
            .await
            .map_err(|e| e.to_string())?;
        self.send(plaintext).await
    }

    pub(crate) async fn send(&self, plaintext: &[u8]) -> Result<Ciphertext, String> {
        self.provider
            .encrypt(&self.client, "bob", plaintext)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The bundle `bob` publishes, from his key material.
pub(crate) async fn bundle_of(provider: &ReferenceProvider, keys: &KeyMaterial) -> Result<PreKeyBundle, String> {
    let create = CreateClient {
        name: "bob".into(),
        seed: Some(0),
        keys: Some(keys.clone()),
    };
    let bob = provider.create_client(&create).await.map_err(|e| e.to_string())?;
    provider.prekey_bundle(&bob).await.map_err(|e| e.to_string())
}

pub(crate) fn ok(comment: &str, ct: &Ciphertext, plaintext: &[u8]) -> Step {
    Step {
        comment: comment.into(),
        ciphertext: ct.clone(),
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

/// Name what each delivery checks (see [`crate::outcome`], blame): in a test of several deliveries whose first
/// must decrypt, that first delivery sets up the session and checks [`SETUP`]; every later one checks the
/// test's own requirements `r`. Returns the test's requirements, [`SETUP`] added where a step checks it, and
/// the error-class fidelity SHOULD where a step lists rejection classes.
pub(crate) fn blame_steps(r: &[&str], messages: &mut [Step]) -> Vec<String> {
    let sensitive = messages
        .iter()
        .any(|m| !m.errors.is_empty() && m.class_required.is_none());
    let mut all = with_fidelity(reqs(r), sensitive);
    if messages.len() > 1 && messages[0].expected == Expected::Valid {
        messages[0].requirements = reqs(&[SETUP]);
        if !r.contains(&SETUP) {
            all.push(SETUP.to_string());
            messages[1..].iter_mut().for_each(|m| m.requirements = reqs(r));
        }
    }
    all
}

pub(crate) fn test(id: &str, comment: &str, r: &[&str], f: &[&str], mut messages: Vec<Step>) -> Test {
    Test {
        id: format!("session.{id}"),
        comment: comment.into(),
        requirements: blame_steps(r, &mut messages),
        flags: flags(f),
        expected: Expected::summarise(messages.iter().map(|s| s.expected)),
        messages,
    }
}

/// The inner WhisperMessage of a pkmsg, delivered as a `msg`.
pub(crate) fn inner(ct: &Ciphertext) -> Result<Ciphertext, String> {
    let m = PreKeySignalMessage::try_from(ct.body.as_slice()).map_err(|e| e.to_string())?;
    Ok(Ciphertext {
        kind: CiphertextKind::Msg,
        body: Bytes(m.message().serialized().to_vec()),
    })
}

fn mutate(ct: &Ciphertext, f: impl FnOnce(&mut Vec<u8>)) -> Ciphertext {
    let mut body = ct.body.0.clone();
    f(&mut body);
    Ciphertext {
        kind: ct.kind,
        body: Bytes(body),
    }
}

pub(crate) async fn generate() -> Result<Generated, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let bob = key_material(&mut rng, 1001, &[7, 8])?;
    let alice = key_material(&mut rng, 2002, &[])?;
    let mallory = key_material(&mut rng, 3003, &[])?;
    let provider = ReferenceProvider::new();
    let bundle = bundle_of(&provider, &bob).await?;
    let sender_identity = {
        let create = CreateClient {
            name: "alice".into(),
            seed: Some(0),
            keys: Some(alice.clone()),
        };
        let c = provider.create_client(&create).await.map_err(|e| e.to_string())?;
        provider
            .prekey_bundle(&c)
            .await
            .map_err(|e| e.to_string())?
            .identity_key
    };

    let a1 = Sender::new(&provider, &alice, 11, &bundle).await?;
    let texts: [&[u8]; 4] = [b"hello bob", b"second message", b"", &[0x42; 300]];
    let mut pk = Vec::new();
    for t in texts {
        pk.push(a1.send(t).await?);
    }
    // A second session from the same sender that reuses one-time prekey 7 (new base key).
    let a2 = Sender::new(&provider, &alice, 12, &bundle).await?;
    let reuse = a2.send(b"reuse of prekey 7").await?;
    // Sessions built from bundles that name ids bob does not have.
    let mut unknown_spk = bundle.clone();
    unknown_spk.signed_prekey_id = 99;
    let a3 = Sender::new(&provider, &alice, 13, &unknown_spk).await?;
    let unknown_signed = a3.send(b"unknown signed prekey").await?;
    let mut unknown_otk = bundle.clone();
    unknown_otk.prekey_id = Some(99);
    let a4 = Sender::new(&provider, &alice, 14, &unknown_otk).await?;
    let unknown_one_time = a4.send(b"unknown one-time prekey").await?;
    let mut no_otk = bundle.clone();
    no_otk.prekey = None;
    no_otk.prekey_id = None;
    let a5 = Sender::new(&provider, &alice, 15, &no_otk).await?;
    let three_dh = a5.send(b"no one-time prekey").await?;
    // Another identity claiming alice's address.
    let m1 = Sender::new(&provider, &mallory, 16, &no_otk).await?;
    let impostor = m1.send(b"identity changed").await?;

    // A longer chain for out-of-order and skipped-key cases: eight messages on one session.
    let a7 = Sender::new(&provider, &alice, 17, &no_otk).await?;
    let long_texts: Vec<Vec<u8>> = (0..8).map(|i| format!("chain message {i}").into_bytes()).collect();
    let mut long = Vec::new();
    for t in &long_texts {
        long.push(a7.send(t).await?);
    }
    let (t0, t1, t2, t3) = (texts[0], texts[1], texts[2], texts[3]);
    let inner1 = inner(&pk[1])?;
    let mac_errors = [ErrorClass::BadMac];
    let version = [ErrorClass::InvalidVersion];
    let malformed = [ErrorClass::InvalidMessage];
    let mut tests = vec![
        test(
            "in-order",
            "four pkmsgs delivered in order (X3DH as responder, then the chain); all name one-time prekey 7, which the first consumes: the later ones continue that session",
            &["RO-ENC-001", "RO-ENC-004", "RO-ENC-005", "RO-ENC-013"],
            &[],
            vec![
                ok("", &pk[0], t0),
                ok("", &pk[1], t1),
                ok("empty plaintext", &pk[2], t2),
                ok("300-byte plaintext", &pk[3], t3),
            ],
        ),
        test(
            "out-of-order",
            "delivered 3, 1, 2: skipped keys are kept and each message decrypts once",
            &["RO-ENC-014"],
            &[],
            vec![ok("", &pk[2], t2), ok("", &pk[0], t0), ok("", &pk[1], t1)],
        ),
        test(
            "without-one-time-prekey",
            "a session started without a one-time prekey (3-DH)",
            &["RO-ENC-001", "RO-ENC-013"],
            &[],
            vec![ok("", &three_dh, b"no one-time prekey")],
        ),
        test(
            "inner-message-as-msg",
            "after the first pkmsg, the inner WhisperMessage of the second decrypts as a msg",
            &["RO-ENC-012", "RO-ENC-004"],
            &[],
            vec![ok("", &pk[0], t0), ok("", &inner1, t1)],
        ),
        test(
            "duplicate",
            "the first message delivered twice: the replay is refused and the next message still decrypts",
            &["RO-ENC-014"],
            &["Replay"],
            vec![
                ok("", &pk[0], t0),
                bad("replay", pk[0].clone(), Expected::Invalid, &[ErrorClass::Duplicate]),
                ok("", &pk[1], t1),
            ],
        ),
        test(
            "duplicate-msg",
            "a msg delivered twice",
            &["RO-ENC-014"],
            &["Replay"],
            vec![
                ok("", &pk[0], t0),
                ok("", &inner1, t1),
                bad("replay", inner1.clone(), Expected::Invalid, &[ErrorClass::Duplicate]),
            ],
        ),
        test(
            "mac-flipped",
            "the last MAC bit of a msg flipped, then the untampered msg",
            &["RO-ENC-011"],
            &["ModifiedMac"],
            vec![
                ok("", &pk[0], t0),
                bad(
                    "MAC bit flipped",
                    mutate(&inner1, |b| {
                        let n = b.len() - 1;
                        b[n] ^= 0x01
                    }),
                    Expected::Invalid,
                    &mac_errors,
                ),
                ok("", &inner1, t1),
            ],
        ),
        test(
            "ciphertext-flipped",
            "a bit of the AES ciphertext flipped inside a msg (the MAC no longer matches)",
            &["RO-ENC-011"],
            &["ModifiedCiphertext"],
            vec![
                ok("", &pk[0], t0),
                bad(
                    "ciphertext bit flipped",
                    mutate(&inner1, |b| {
                        let n = b.len() - 9;
                        b[n] ^= 0x80
                    }),
                    Expected::Invalid,
                    &mac_errors,
                ),
                ok("", &inner1, t1),
            ],
        ),
        test(
            "pkmsg-mac-flipped",
            "the first pkmsg with its inner MAC tampered: refused, and no session is kept; the genuine one then works",
            &["RO-ENC-011", "RO-ENC-013"],
            &["ModifiedMac"],
            vec![
                bad(
                    "inner MAC flipped",
                    tamper_inner_mac(&pk[0])?,
                    Expected::Invalid,
                    &mac_errors,
                ),
                ok("", &pk[0], t0),
            ],
        ),
        test(
            "one-time-prekey-reuse",
            "a second session that reuses the consumed one-time prekey 7",
            &["RO-ENC-005"],
            &["PrekeyReuse"],
            vec![
                ok("", &pk[0], t0),
                bad(
                    "second session on prekey 7",
                    reuse,
                    Expected::Invalid,
                    &[ErrorClass::InvalidPrekey],
                ),
            ],
        ),
        test(
            "unknown-signed-prekey",
            "a pkmsg naming signed prekey 99, which bob does not have",
            &["RO-ENC-013"],
            &["UnknownKeyId"],
            vec![bad(
                "",
                unknown_signed,
                Expected::Invalid,
                &[ErrorClass::InvalidSignedPrekey],
            )],
        ),
        test(
            "unknown-one-time-prekey",
            "a pkmsg naming one-time prekey 99, which bob does not have",
            &["RO-ENC-005", "RO-ENC-013"],
            &["UnknownKeyId"],
            vec![bad(
                "",
                unknown_one_time,
                Expected::Invalid,
                &[ErrorClass::InvalidPrekey],
            )],
        ),
        test(
            "identity-change",
            "a pkmsg from alice's address under a different identity key",
            &["RO-ID-008"],
            &["IdentityChange"],
            vec![
                ok("", &pk[0], t0),
                Step {
                    class_required: Some(
                        "RO-ID-008 asks that an identity change be reported; untrusted_identity is that report, \
                         and a refusal under another class hides it"
                            .into(),
                    ),
                    ..bad(
                        "new identity",
                        impostor.clone(),
                        Expected::Invalid,
                        &[ErrorClass::UntrustedIdentity],
                    )
                },
            ],
        ),
        test(
            "identity-poisoning",
            "a first pkmsg for alice's address carrying mallory's identity key, its inner MAC broken: refused, and what is trusted for alice stays unset, so alice's genuine first pkmsg then decrypts",
            &["RO-ENC-011", "RO-ID-008"],
            &["IdentityPoisoning"],
            vec![
                bad(
                    "mallory's identity, inner MAC flipped",
                    tamper_inner_mac(&impostor)?,
                    Expected::Invalid,
                    &mac_errors,
                ),
                ok("alice's genuine first pkmsg", &pk[0], t0),
            ],
        ),
    ];
    let lk = |i: usize| -> Result<Step, String> {
        let ct = if i == 0 { long[0].clone() } else { inner(&long[i])? };
        Ok(ok(&format!("chain index {i}"), &ct, &long_texts[i]))
    };
    let ld = |i: usize| -> Result<Step, String> {
        let ct = if i == 0 { long[0].clone() } else { inner(&long[i])? };
        Ok(bad(
            &format!("chain index {i} again"),
            ct,
            Expected::Invalid,
            &[ErrorClass::Duplicate],
        ))
    };
    for (name, comment, order) in [
        (
            "skipped.reverse",
            "indices 0, then 7 down to 1: every skipped key is kept and used once",
            vec![
                (0usize, true),
                (7, true),
                (6, true),
                (5, true),
                (4, true),
                (3, true),
                (2, true),
                (1, true),
            ],
        ),
        (
            "skipped.interleaved",
            "indices 0, 5, 1, 4, 2, 3",
            vec![(0, true), (5, true), (1, true), (4, true), (2, true), (3, true)],
        ),
        (
            "skipped.in-order-long",
            "indices 0 to 7 in order",
            (0..8).map(|i| (i, true)).collect(),
        ),
        (
            "skipped.duplicate-of-skipped",
            "index 1 delivered after 3, then again: a used skipped key is deleted",
            vec![(0, true), (3, true), (1, true), (1, false), (2, true)],
        ),
        (
            "skipped.duplicate-after-gap",
            "index 7 delivered twice after a gap; the skipped 4 still decrypts",
            vec![(0, true), (7, true), (7, false), (4, true)],
        ),
        (
            "skipped.duplicate-first",
            "the first message replayed after the chain moved on",
            vec![(0, true), (1, true), (2, true), (0, false), (3, true)],
        ),
    ] {
        let mut steps = Vec::new();
        for (i, good) in order {
            steps.push(if good { lk(i)? } else { ld(i)? });
        }
        let r: &[&str] = if name.contains("duplicate") {
            &["RO-ENC-014"]
        } else {
            &["RO-ENC-007", "RO-ENC-014"]
        };
        let f: &[&str] = if name.contains("duplicate") { &["Replay"] } else { &[] };
        tests.push(test(name, comment, r, f, steps));
    }
    tests.push(test(
        "skipped.late-first-pkmsg",
        "the session is created by the pkmsg of index 3; the pkmsgs of 0, 1 and 2 then decrypt from skipped keys",
        &["RO-ENC-004", "RO-ENC-014"],
        &[],
        vec![
            ok("", &long[3], &long_texts[3]),
            ok("", &long[0], &long_texts[0]),
            ok("", &long[1], &long_texts[1]),
            ok("", &long[2], &long_texts[2]),
        ],
    ));
    tests.push(test(
        "same-identity-new-session",
        "alice, already known, starts a second session (new base key, no one-time prekey) under the same identity key: accepted",
        &["RO-ID-008", "RO-ENC-003"],
        &[],
        vec![ok("", &pk[0], t0), ok("", &three_dh, b"no one-time prekey")],
    ));
    tests.push(test(
        "no-session.msg-first",
        "a msg for an address with no session",
        &["RO-ENC-004"],
        &[],
        vec![
            bad("", inner(&long[1])?, Expected::Invalid, &[ErrorClass::NoSession]),
            ok("the pkmsg then creates the session", &long[0], &long_texts[0]),
            lk(1)?,
        ],
    ));
    tests.push(test(
        "pkmsg-mac-flipped-no-session-kept",
        "a pkmsg with a tampered inner MAC is refused and leaves no session: a msg on that session then fails",
        &["RO-ENC-011", "RO-ENC-013"],
        &["ModifiedMac"],
        vec![
            bad(
                "inner MAC flipped",
                tamper_inner_mac(&long[0])?,
                Expected::Invalid,
                &mac_errors,
            ),
            bad(
                "no session was kept",
                inner(&long[1])?,
                Expected::Invalid,
                &[ErrorClass::NoSession],
            ),
            lk(0)?,
            lk(1)?,
        ],
    ));
    for (name, byte) in [
        ("legacy-23", 0x23u8),
        ("legacy-13", 0x13),
        ("legacy-03", 0x03),
        ("legacy-22", 0x22),
    ] {
        tests.push(test(
            &format!("version.{name}"),
            &format!("version byte {byte:#04x}: message version < 3"),
            &["RO-ENC-010"],
            &["LegacyVersion"],
            vec![
                bad("", mutate(&pk[0], |b| b[0] = byte), Expected::Invalid, &version),
                ok("the genuine message", &pk[0], t0),
            ],
        ));
    }
    tests.push(test(
        "version.future-43",
        "version byte 0x43 (Signal's v4): WhatsApp-compatible stacks speak only v3; sources disagree",
        &["RO-ENC-010A"],
        &["FutureVersion"],
        vec![
            bad(
                "",
                mutate(&pk[0], |b| b[0] = 0x43),
                Expected::Invalid,
                &[ErrorClass::InvalidVersion, ErrorClass::InvalidMessage],
            ),
            ok("the genuine message", &pk[0], t0),
        ],
    ));
    tests.push(test(
        "version.msg-legacy-23",
        "a msg with version byte 0x23, its MAC still the one computed over 0x33: refused by the version check or the MAC",
        &["RO-ENC-010"],
        &["LegacyVersion"],
        vec![
            ok("", &pk[0], t0),
            bad(
                "",
                mutate(&inner1, |b| b[0] = 0x23),
                Expected::Invalid,
                &[ErrorClass::InvalidVersion, ErrorClass::BadMac],
            ),
            ok("", &inner1, t1),
        ],
    ));
    let full = pk[0].body.len();
    for (name, keep) in [
        ("empty", 0usize),
        ("version-only", 1),
        ("half", full / 2),
        ("minus-one", full - 1),
    ] {
        tests.push(test(
            &format!("truncated.pkmsg-{name}"),
            &format!("the first pkmsg cut to {keep} of {full} bytes"),
            &["RO-ENC-012", "RO-ENC-013"],
            &["Truncated"],
            vec![
                bad("", mutate(&pk[0], |b| b.truncate(keep)), Expected::Invalid, &malformed),
                ok("the genuine message", &pk[0], t0),
            ],
        ));
    }
    let inner_len = inner1.body.len();
    for (name, keep) in [("version-only", 1usize), ("eight", 8), ("minus-one", inner_len - 1)] {
        tests.push(test(
            &format!("truncated.msg-{name}"),
            &format!("a msg cut to {keep} of {inner_len} bytes"),
            &["RO-ENC-012"],
            &["Truncated"],
            vec![
                ok("", &pk[0], t0),
                bad(
                    "",
                    mutate(&inner1, |b| b.truncate(keep)),
                    Expected::Invalid,
                    &[ErrorClass::InvalidMessage, ErrorClass::BadMac],
                ),
                ok("", &inner1, t1),
            ],
        ));
    }
    let notes = [
        (
            "Replay",
            "BASIC",
            "A message delivered again after it decrypted.",
            "Accepting it breaks replay protection and forward secrecy.",
        ),
        (
            "ModifiedMac",
            "AUTH_BYPASS",
            "The 8-byte truncated HMAC does not match.",
            "Accepting it means messages are not authenticated.",
        ),
        (
            "ModifiedCiphertext",
            "AUTH_BYPASS",
            "A ciphertext bit changed; the MAC covers it.",
            "",
        ),
        (
            "PrekeyReuse",
            "MISSING_STEP",
            "A consumed one-time prekey must be deleted (the reference library leaves this to the caller).",
            "A second session keyed with the same prekey weakens forward secrecy.",
        ),
        (
            "UnknownKeyId",
            "EDGE_CASE",
            "The message names a prekey id the receiver does not hold.",
            "",
        ),
        (
            "IdentityChange",
            "AUTH_BYPASS",
            "A known address presents a different identity key.",
            "Silently accepting it hides a possible MITM.",
        ),
        (
            "IdentityPoisoning",
            "AUTH_BYPASS",
            "A message that fails authentication carries another identity key for the sender's address; only an authenticated message may set what is trusted for an address.",
            "A forger who cannot produce a valid MAC still pins its key, and the genuine sender is then refused as untrusted.",
        ),
        ("LegacyVersion", "LEGACY", "Message version below 3.", ""),
        (
            "FutureVersion",
            "EDGE_CASE",
            "Message version 4 (Signal's PQ framing); WhatsApp's behaviour is unknown, hence SHOULD.",
            "",
        ),
        (
            "Truncated",
            "EDGE_CASE",
            "The serialized message is cut short.",
            "Parsers that read past the end.",
        ),
    ];
    let group = Group {
        comment: "bob (registration 1001, signed prekey 1, one-time prekeys 7 and 8) receives from alice".into(),
        receiver: bob,
        sender: "alice".into(),
        sender_identity,
        tests,
    };
    render(
        "session.yaml",
        &file(
            Family::Session,
            "Known-answer decryption of fixed pkmsg/msg ciphertexts with imported receiver keys.",
            &notes,
            vec![group],
        ),
    )
}

/// A pkmsg whose inner message has its last MAC byte flipped: re-frame the outer protobuf by hand.
fn tamper_inner_mac(ct: &Ciphertext) -> Result<Ciphertext, String> {
    let outer = ct.body.as_slice();
    let m = PreKeySignalMessage::try_from(outer).map_err(|e| e.to_string())?;
    let inner = m.message().serialized();
    let at = outer
        .windows(inner.len())
        .position(|w| w == inner)
        .ok_or("inner message not found in pkmsg")?;
    let mut body = outer.to_vec();
    body[at + inner.len() - 1] ^= 0x01;
    Ok(Ciphertext {
        kind: ct.kind,
        body: Bytes(body),
    })
}
