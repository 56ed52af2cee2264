//! Writes `sender-keys.yaml` (known answers, from fixed seeds) and `sender-keys-live.yaml` (send scripts and
//! member schedules, judged at run time).
//!
//! Keys come from seeded RNGs; chains are stepped with HMAC-SHA256 here, message keys and AES-CBC and the XEdDSA
//! signatures come from wacore-libsignal. Every expected value is recomputed by this family's independent
//! receiver ([`super::verify`]) in `conformance vectors verify`; malformed messages are built field by field with
//! this module's own protobuf structs and signed again, so that only the defect under test is wrong.

use super::format::{Action, ActionKind, Group, Operation, Step, Test};
use crate::bytes::Bytes;
use crate::family::Family;
use crate::provider::ErrorClass;
use crate::reference::SenderKeys;
use crate::vector_format::Expected;
use crate::vector_format::{Generated, file, flags, render, reqs};
use crate::wire::{
    SenderKeyDistributionMessage as SkdmFields, SenderKeyMessage as SkmsgFields,
    UpstreamSenderKeyDistributionMessage as UpstreamSkdm, UpstreamSenderKeyMessage as UpstreamSkmsg,
};
use hmac::{Hmac, KeyInit, Mac};
use prost::Message;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::Sha256;
use std::future::Future;
use std::task::{Context, Poll, Waker};
use wacore_libsignal::protocol::{KeyPair, SenderKeyDistributionMessage, SenderKeyRecord, group_encrypt};
use wacore_libsignal::store::sender_key_name::SenderKeyName;

/// Run a future that never waits (the in-memory store answers at once) to its end.
fn at_once<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err("the in-memory sender-key store waited".into()),
    }
}

/// The group every known-answer case uses.
const GROUP: &str = "120363000000000001@g.us";

fn hmac(key: &[u8], byte: u8) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return [0; 32]; // HMAC takes keys of any length; unreachable.
    };
    mac.update(&[byte]);
    mac.finalize().into_bytes().into()
}

/// A sender key played by the generator.
struct Sender {
    name: &'static str,
    id: u32,
    chain_key: [u8; 32],
    signing: KeyPair,
}

impl Sender {
    fn new(name: &'static str, id: u32, rng: &mut StdRng) -> Self {
        let mut chain_key = [0u8; 32];
        rand::RngExt::fill(rng, &mut chain_key);
        Self {
            name,
            id,
            chain_key,
            signing: KeyPair::generate(rng),
        }
    }

    fn chain_key_at(&self, iteration: u32) -> [u8; 32] {
        (0..iteration).fold(self.chain_key, |ck, _| hmac(&ck, 0x02))
    }

    /// The SKDM a member added at `iteration` receives.
    fn skdm(&self, iteration: u32) -> Result<Vec<u8>, String> {
        SenderKeyDistributionMessage::new(
            3,
            self.id,
            iteration,
            self.chain_key_at(iteration),
            self.signing.public_key,
        )
        .map(|m| m.serialized().to_vec())
        .map_err(|e| e.to_string())
    }

    /// A genuine SenderKeyMessage from wacore-libsignal's `group_encrypt`, the chain set to `iteration`.
    fn skmsg(&self, iteration: u32, plaintext: &[u8], rng: &mut StdRng) -> Result<Vec<u8>, String> {
        let mut record = SenderKeyRecord::new_empty();
        record
            .add_sender_key_state(
                3,
                self.id,
                iteration,
                &self.chain_key_at(iteration),
                self.signing.public_key,
                Some(self.signing.private_key.clone()),
            )
            .map_err(|e| e.to_string())?;
        let name = SenderKeyName::new(GROUP.into(), self.name.into());
        let mut records = SenderKeys::default();
        records.0.insert(name.clone(), record);
        let message = at_once(group_encrypt(&mut records, &name, plaintext, rng))?.map_err(|e| e.to_string())?;
        Ok(message.serialized().to_vec())
    }

    /// The ciphertext of a genuine message, for malformed ones built around it.
    fn ciphertext(&self, iteration: u32, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let genuine = self.skmsg(iteration, plaintext, &mut StdRng::seed_from_u64(0))?;
        let body = &genuine[1..genuine.len() - 64];
        SkmsgFields::decode(body)
            .map_err(|e| e.to_string())?
            .ciphertext
            .ok_or_else(|| "no ciphertext".to_string())
    }

    /// `version || body`, signed over `signed` by `signer` (this sender's key unless another is given).
    fn framed(
        &self,
        version: u8,
        body: &[u8],
        cover_version: bool,
        signer: Option<&KeyPair>,
        rng: &mut StdRng,
    ) -> Result<Vec<u8>, String> {
        let mut out = vec![version];
        out.extend_from_slice(body);
        let covered = if cover_version { out.clone() } else { body.to_vec() };
        let key = signer.unwrap_or(&self.signing);
        let signature = key
            .private_key
            .calculate_signature(&covered, rng)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&signature);
        Ok(out)
    }

    fn fields(&self, iteration: u32, plaintext: &[u8]) -> Result<SkmsgFields, String> {
        Ok(SkmsgFields {
            id: Some(self.id),
            iteration: Some(iteration),
            ciphertext: Some(self.ciphertext(iteration, plaintext)?),
        })
    }
}

fn skdm_step(sender: &Sender, skdm: Vec<u8>, checks: &[&str], comment: &str) -> Step {
    Step {
        checks: reqs(checks),
        comment: comment.into(),
        sender: sender.name.into(),
        skdm: Some(Bytes(skdm)),
        skmsg: None,
        expected: Expected::Valid,
        plaintext: None,
        errors: vec![],
    }
}

fn ok_step(sender: &Sender, skmsg: Vec<u8>, plaintext: &[u8], checks: &[&str], comment: &str) -> Step {
    Step {
        checks: reqs(checks),
        comment: comment.into(),
        sender: sender.name.into(),
        skdm: None,
        skmsg: Some(Bytes(skmsg)),
        expected: Expected::Valid,
        plaintext: Some(Bytes(plaintext.to_vec())),
        errors: vec![],
    }
}

fn refused(mut step: Step, expected: Expected, errors: &[ErrorClass]) -> Step {
    step.expected = expected;
    step.plaintext = None;
    step.errors = errors.to_vec();
    step
}

fn bad_skdm(sender: &Sender, skdm: Vec<u8>, checks: &[&str], comment: &str, errors: &[ErrorClass]) -> Step {
    refused(skdm_step(sender, skdm, checks, comment), Expected::Invalid, errors)
}

fn bad_skmsg(sender: &Sender, skmsg: Vec<u8>, checks: &[&str], comment: &str, errors: &[ErrorClass]) -> Step {
    refused(ok_step(sender, skmsg, b"", checks, comment), Expected::Invalid, errors)
}

fn test(id: &str, comment: &str, requirements: &[&str], flag: &[&str], steps: Vec<Step>) -> Test {
    let expected = Expected::summarise(steps.iter().map(|s| s.expected));
    Test {
        id: format!("sender_keys.{id}"),
        comment: comment.into(),
        requirements: reqs(requirements),
        flags: flags(flag),
        expected,
        operation: Operation::Receive,
        steps,
        script: vec![],
        members: None,
        messages: None,
        schedules: None,
    }
}

use ErrorClass as E;

/// A malformed SKDM case: id, what is wrong, the bytes, the classes that name it, its flag.
type BadSkdm = (&'static str, &'static str, Vec<u8>, &'static [ErrorClass], &'static str);

fn known_answers() -> Result<Vec<Test>, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_6001);
    let mut tests = Vec::new();
    // KAT-G1: chain key 00..1f (later-phases.md section 4).
    let kat = Sender {
        chain_key: core::array::from_fn(|i| i as u8),
        ..Sender::new("alice", 1, &mut rng)
    };
    let mut steps = vec![skdm_step(
        &kat,
        kat.skdm(0)?,
        &["RO-GROUP-002"],
        "SKDM with KAT-G1's chain key",
    )];
    for i in 0..3 {
        steps.push(ok_step(
            &kat,
            kat.skmsg(i, b"hi", &mut rng)?,
            b"hi",
            &["RO-GROUP-003"],
            &format!("\"hi\" at iteration {i}"),
        ));
    }
    tests.push(test(
        "kat-g1",
        "KAT-G1: chain key 00..1f; the ciphertexts of \"hi\" at iterations 0-2 are the published values",
        &["RO-GROUP-002", "RO-GROUP-003"],
        &["KnownAnswer"],
        steps,
    ));

    let alice = Sender::new("alice", 0x2a3b_4c5d, &mut rng);
    let skdm0 = alice.skdm(0)?;
    let setup = || skdm_step(&alice, skdm0.clone(), &["RO-GROUP-002"], "SKDM at iteration 0");
    let text = |i: u32| format!("group message {i}").into_bytes();

    // Out of order within the window.
    let mut steps = vec![setup()];
    for i in [3u32, 0, 4, 1, 5, 2] {
        steps.push(ok_step(
            &alice,
            alice.skmsg(i, &text(i), &mut rng)?,
            &text(i),
            &["RO-GROUP-003"],
            &format!("iteration {i}"),
        ));
    }
    tests.push(test(
        "out-of-order",
        "six messages delivered as 3, 0, 4, 1, 5, 2: every one decrypts",
        &["RO-GROUP-002", "RO-GROUP-003"],
        &[],
        steps,
    ));

    // RO-SIG-004.
    let bob = Sender::new("bob", 0x0b0b_0b0b, &mut rng);
    let genuine = alice.skmsg(0, &text(0), &mut rng)?;
    let mut flipped = genuine.clone();
    let at = flipped.len() - 64 - 5;
    flipped[at] ^= 0x01;
    let other_key = alice.framed(
        0x33,
        &alice.fields(0, &text(0))?.encode_to_vec(),
        true,
        Some(&bob.signing),
        &mut rng,
    )?;
    let mut sig_bit = genuine.clone();
    let last = sig_bit.len() - 10;
    sig_bit[last] ^= 0x40;
    for (id, comment, bytes) in [
        (
            "signature.flipped-ciphertext",
            "one ciphertext bit flipped: the signature no longer verifies",
            flipped,
        ),
        (
            "signature.other-member-key",
            "a well-formed message signed with another member's signing key",
            other_key,
        ),
        ("signature.flipped-signature", "one signature bit flipped", sig_bit),
    ] {
        tests.push(test(
            id,
            &format!("{comment}; refused, no plaintext released"),
            &["RO-SIG-004", "RO-GROUP-002"],
            &["Signature"],
            vec![
                setup(),
                bad_skmsg(&alice, bytes, &["RO-SIG-004"], comment, &[E::BadSignature]),
            ],
        ));
    }

    // RO-GROUP-004: versions and framing, each re-signed so that only the defect is wrong.
    let body = alice.fields(0, &text(0))?.encode_to_vec();
    for (version, expected, flag) in [
        (0x23u8, Expected::Invalid, "WrongVersion"),
        (0x43, Expected::Invalid, "WrongVersion"),
        (0x34, Expected::Acceptable, "VersionLowNibble"),
    ] {
        let bytes = alice.framed(version, &body, true, None, &mut rng)?;
        let step = refused(
            ok_step(
                &alice,
                bytes,
                b"",
                &["RO-GROUP-004"],
                &format!("version byte {version:#04x}, signed"),
            ),
            expected,
            &[E::InvalidVersion],
        );
        tests.push(test(
            &format!("format.version-{version:02x}"),
            &format!("version byte {version:#04x} (signature valid over it)"),
            &["RO-GROUP-004", "RO-GROUP-002"],
            &[flag],
            vec![setup(), step],
        ));
    }
    let mut truncated = genuine.clone();
    truncated.pop();
    let no_ciphertext = SkmsgFields {
        ciphertext: None,
        ..alice.fields(0, &text(0))?
    };
    for (id, comment, bytes) in [
        (
            "format.truncated-signature",
            "the last signature byte cut off",
            truncated,
        ),
        (
            "format.no-ciphertext",
            "a signed protobuf without its ciphertext field",
            alice.framed(0x33, &no_ciphertext.encode_to_vec(), true, None, &mut rng)?,
        ),
        ("format.too-short", "ten bytes", genuine[..10].to_vec()),
    ] {
        tests.push(test(
            id,
            &format!("{comment}: refused"),
            &["RO-GROUP-004", "RO-GROUP-002"],
            &["Malformed"],
            vec![
                setup(),
                bad_skmsg(
                    &alice,
                    bytes,
                    &["RO-GROUP-004"],
                    comment,
                    &[E::InvalidMessage, E::BadSignature],
                ),
            ],
        ));
    }

    // RO-GROUP-019: upstream Signal's fields.
    let uuid = [0x5au8; 16];
    let upstream = UpstreamSkmsg {
        distribution_uuid: Some(uuid.to_vec()),
        chain_id: Some(alice.id),
        iteration: Some(0),
        ciphertext: Some(alice.ciphertext(0, &text(0))?),
    };
    tests.push(test(
        "wire.upstream-skmsg",
        "an upstream-Signal SenderKeyMessage {distribution_uuid, chain_id, iteration, ciphertext}, validly signed: refused, not misread",
        &["RO-GROUP-019", "RO-GROUP-002"],
        &["UpstreamFormat"],
        vec![setup(), bad_skmsg(&alice, alice.framed(0x33, &upstream.encode_to_vec(), true, None, &mut rng)?, &["RO-GROUP-019"], "upstream fields", &[E::InvalidMessage])],
    ));
    let upstream_skdm = UpstreamSkdm {
        distribution_uuid: Some(uuid.to_vec()),
        chain_id: Some(alice.id),
        iteration: Some(0),
        chain_key: Some(alice.chain_key.to_vec()),
        signing_key: Some(alice.signing.public_key.serialize().to_vec()),
    };
    let mut upstream_skdm_bytes = vec![0x33];
    upstream_skdm_bytes.extend(upstream_skdm.encode_to_vec());
    tests.push(test(
        "wire.upstream-skdm",
        "an upstream-Signal SKDM {distribution_uuid, chain_id, iteration, chain_key, signing_key}: refused",
        &["RO-GROUP-019"],
        &["UpstreamFormat"],
        vec![bad_skdm(
            &alice,
            upstream_skdm_bytes,
            &["RO-GROUP-019"],
            "upstream fields",
            &[E::InvalidMessage],
        )],
    ));

    // RO-GROUP-002: SKDM negatives, then proof that nothing was installed.
    let skdm_fields = SkdmFields {
        id: Some(alice.id),
        iteration: Some(0),
        chain_key: Some(alice.chain_key.to_vec()),
        signing_key: Some(alice.signing.public_key.serialize().to_vec()),
    };
    let framed_skdm = |f: SkdmFields, version: u8| {
        let mut out = vec![version];
        out.extend(f.encode_to_vec());
        out
    };
    let mut type_06 = skdm_fields.clone();
    if let Some(k) = &mut type_06.signing_key {
        k[0] = 0x06;
    }
    let mut raw_key = skdm_fields.clone();
    if let Some(k) = &mut raw_key.signing_key {
        k.remove(0);
    }
    let mut short_chain = skdm_fields.clone();
    if let Some(k) = &mut short_chain.chain_key {
        k.pop();
    }
    let whole = framed_skdm(skdm_fields.clone(), 0x33);
    let skdm_cases: [BadSkdm; 5] = [
        (
            "skdm.signing-key-type-06",
            "signingKey with type byte 0x06",
            framed_skdm(type_06, 0x33),
            &[E::InvalidKey, E::InvalidMessage],
            "WrongKeyType",
        ),
        (
            "skdm.signing-key-raw-32",
            "signingKey as 32 raw bytes, without 0x05",
            framed_skdm(raw_key, 0x33),
            &[E::InvalidKey, E::InvalidMessage],
            "WrongKeyType",
        ),
        (
            "skdm.chain-key-31",
            "a 31-byte chainKey",
            framed_skdm(short_chain, 0x33),
            &[E::InvalidMessage, E::InvalidKey],
            "Malformed",
        ),
        (
            "skdm.truncated",
            "the SKDM cut after 40 bytes",
            whole[..40].to_vec(),
            &[E::InvalidMessage, E::InvalidKey],
            "Malformed",
        ),
        (
            "skdm.version-23",
            "version byte 0x23",
            framed_skdm(skdm_fields.clone(), 0x23),
            &[E::InvalidVersion],
            "WrongVersion",
        ),
    ];
    for (id, comment, bytes, errors, flag) in skdm_cases {
        tests.push(test(
            id,
            &format!("{comment}: refused, and a message under that key then finds no state"),
            &["RO-GROUP-002"],
            &[flag],
            vec![
                bad_skdm(&alice, bytes, &["RO-GROUP-002"], comment, errors),
                bad_skmsg(
                    &alice,
                    genuine.clone(),
                    &["RO-GROUP-002"],
                    "a genuine message under the refused key",
                    &[E::NoSession],
                ),
            ],
        ));
    }

    // RO-GROUP-011: signature first, failures change nothing.
    let forged = alice.framed(
        0x33,
        &alice.fields(5, b"forged")?.encode_to_vec(),
        true,
        Some(&bob.signing),
        &mut rng,
    )?;
    let mut steps = vec![
        setup(),
        ok_step(&alice, genuine.clone(), &text(0), &["RO-GROUP-003"], "iteration 0"),
    ];
    steps.push(bad_skmsg(
        &alice,
        forged,
        &["RO-GROUP-011"],
        "a forgery at iteration 5, signed with another key",
        &[E::BadSignature],
    ));
    for i in 1..=5 {
        steps.push(ok_step(
            &alice,
            alice.skmsg(i, &text(i), &mut rng)?,
            &text(i),
            &["RO-GROUP-011"],
            &format!("genuine iteration {i}"),
        ));
    }
    tests.push(test(
        "verify-first.forgery-leaves-state",
        "after a refused forgery at iteration 5, the genuine messages 1-5 still decrypt (no chain advance on failure)",
        &["RO-GROUP-011", "RO-GROUP-002", "RO-GROUP-003"],
        &["VerifyFirst"],
        steps,
    ));
    let body_only = alice.framed(0x33, &alice.fields(0, &text(0))?.encode_to_vec(), false, None, &mut rng)?;
    tests.push(test(
        "verify-first.signature-without-version",
        "a signature over the protobuf without the version byte",
        &["RO-GROUP-011", "RO-GROUP-002"],
        &["Signature"],
        vec![
            setup(),
            bad_skmsg(
                &alice,
                body_only,
                &["RO-GROUP-011"],
                "signature over the protobuf only",
                &[E::BadSignature],
            ),
        ],
    ));
    let second = Sender::new("alice", alice.id + 1, &mut rng);
    let rewritten = SkmsgFields {
        id: Some(second.id),
        ..alice.fields(0, &text(0))?
    };
    let mut rewritten_bytes = vec![0x33];
    rewritten_bytes.extend(rewritten.encode_to_vec());
    rewritten_bytes.extend_from_slice(&genuine[genuine.len() - 64..]);
    tests.push(test(
        "verify-first.id-rewritten",
        "a genuine message whose key id is rewritten to another stored state of the same sender: refused; the genuine one then decrypts",
        &["RO-GROUP-011", "RO-GROUP-002", "RO-GROUP-003"],
        &["VerifyFirst"],
        vec![
            setup(),
            skdm_step(&second, second.skdm(0)?, &["RO-GROUP-002"], "a second key from the same sender"),
            bad_skmsg(&alice, rewritten_bytes, &["RO-GROUP-011"], "id rewritten", &[E::BadSignature]),
            ok_step(&alice, genuine.clone(), &text(0), &["RO-GROUP-011"], "the genuine message"),
        ],
    ));

    // RO-GROUP-005: duplicates and eviction.
    let m1 = alice.skmsg(1, &text(1), &mut rng)?;
    let m2 = alice.skmsg(2, &text(2), &mut rng)?;
    tests.push(test(
        "duplicates.replay",
        "a replayed message is refused and changes nothing; the next ones still decrypt, a skipped one too",
        &["RO-GROUP-005", "RO-GROUP-002", "RO-GROUP-003"],
        &["Duplicate"],
        vec![
            setup(),
            ok_step(&alice, genuine.clone(), &text(0), &["RO-GROUP-003"], "iteration 0"),
            bad_skmsg(
                &alice,
                genuine.clone(),
                &["RO-GROUP-005"],
                "iteration 0 again",
                &[E::Duplicate],
            ),
            ok_step(&alice, m2.clone(), &text(2), &["RO-GROUP-005"], "iteration 2"),
            bad_skmsg(
                &alice,
                m2.clone(),
                &["RO-GROUP-005"],
                "iteration 2 again",
                &[E::Duplicate],
            ),
            ok_step(&alice, m1, &text(1), &["RO-GROUP-005"], "iteration 1, skipped before"),
        ],
    ));
    let keys: Vec<Sender> = (0..6).map(|k| Sender::new("alice", 100 + k, &mut rng)).collect();
    let mut steps: Vec<Step> = keys
        .iter()
        .enumerate()
        .map(|(k, s)| {
            Ok(skdm_step(
                s,
                s.skdm(0)?,
                &["RO-GROUP-002"],
                &format!("SKDM {} of 6", k + 1),
            ))
        })
        .collect::<Result<_, String>>()?;
    steps.push(refused(
        ok_step(
            &keys[0],
            keys[0].skmsg(0, &text(0), &mut rng)?,
            b"",
            &["RO-GROUP-005"],
            "a message under the first (evicted) key",
        ),
        Expected::Invalid,
        &[E::NoSession],
    ));
    steps.push(ok_step(
        &keys[1],
        keys[1].skmsg(0, &text(0), &mut rng)?,
        &text(0),
        &["RO-GROUP-005"],
        "the second key is kept",
    ));
    steps.push(ok_step(
        &keys[5],
        keys[5].skmsg(0, &text(0), &mut rng)?,
        &text(0),
        &["RO-GROUP-005"],
        "the sixth key is kept",
    ));
    tests.push(test(
        "states.evict-sixth",
        "six SKDMs from one sender: the oldest state goes (at most 5 per group and sender)",
        &["RO-GROUP-005", "RO-GROUP-002"],
        &["StateLimit"],
        steps,
    ));

    // RO-GROUP-013 / 013A: the iteration window.
    let from10 = alice.skdm(10)?;
    let window: [(&str, &str, u32, u32, Expected, &str, &str); 5] = [
        (
            "window.jump-2000",
            "a jump of 2,000 from iteration 0",
            0,
            2_000,
            Expected::Valid,
            "RO-GROUP-013",
            "Window",
        ),
        (
            "window.jump-2000-from-10",
            "a jump of 2,000 from iteration 10",
            10,
            2_010,
            Expected::Valid,
            "RO-GROUP-013",
            "Window",
        ),
        (
            "window.jump-2001",
            "a jump of 2,001: beyond WA Web's bound",
            0,
            2_001,
            Expected::Invalid,
            "RO-GROUP-013A",
            "WindowShould",
        ),
        (
            "window.jump-25000",
            "a jump of 25,000: beyond WA Web's bound, at upstream Signal's",
            0,
            25_000,
            Expected::Invalid,
            "RO-GROUP-013A",
            "WindowShould",
        ),
        (
            "window.jump-25001",
            "a jump of 25,001: beyond every source's bound",
            0,
            25_001,
            Expected::Invalid,
            "RO-GROUP-013",
            "Window",
        ),
    ];
    for (id, comment, start, iteration, expected, requirement, flag) in window {
        let first = if start == 0 {
            setup()
        } else {
            skdm_step(&alice, from10.clone(), &["RO-GROUP-002"], "SKDM at iteration 10")
        };
        let jumped = ok_step(
            &alice,
            alice.skmsg(iteration, &text(iteration), &mut rng)?,
            &text(iteration),
            &[requirement],
            comment,
        );
        let mut steps = vec![first];
        if expected == Expected::Valid {
            steps.push(jumped);
        } else {
            steps.push(refused(jumped, expected, &[E::TooFarInFuture]));
            steps.push(ok_step(
                &alice,
                alice.skmsg(start + 1, &text(start + 1), &mut rng)?,
                &text(start + 1),
                &[requirement],
                "the next message after the refused jump",
            ));
        }
        tests.push(test(id, comment, &[requirement, "RO-GROUP-002"], &[flag], steps));
    }

    // A member added later: its SKDM starts at the sender's current iteration.
    let from5 = alice.skdm(5)?;
    tests.push(test(
        "late-joiner",
        "a member whose SKDM starts at iteration 5 cannot read iteration 3 and reads iteration 5",
        &["RO-GROUP-002"],
        &["LateJoiner"],
        vec![
            skdm_step(&alice, from5, &["RO-GROUP-002"], "SKDM at iteration 5"),
            bad_skmsg(
                &alice,
                alice.skmsg(3, &text(3), &mut rng)?,
                &["RO-GROUP-002"],
                "iteration 3, sent before the member joined",
                &[E::Duplicate, E::NoSession, E::InvalidMessage],
            ),
            ok_step(
                &alice,
                alice.skmsg(5, &text(5), &mut rng)?,
                &text(5),
                &["RO-GROUP-002"],
                "iteration 5",
            ),
        ],
    ));
    Ok(tests)
}

const NOTES: [(&str, &str, &str, &str); 15] = [
    (
        "KnownAnswer",
        "BASIC",
        "Published known answer (later-phases.md KAT-G1).",
        "",
    ),
    (
        "Signature",
        "AUTH_BYPASS",
        "A SenderKeyMessage whose XEdDSA signature does not verify under the state's signing key.",
        "Any member, or anyone, can inject group messages in another member's name.",
    ),
    (
        "WrongVersion",
        "MODIFIED_PARAMETER",
        "A version byte whose high nibble is not 3, validly signed over it.",
        "",
    ),
    (
        "VersionLowNibble",
        "LEGACY",
        "Version byte 0x34: the high nibble is 3; upstream-style parsers read only that nibble and Baileys reads none, so either outcome is acceptable.",
        "",
    ),
    ("Malformed", "MODIFIED_PARAMETER", "Truncated or missing fields.", ""),
    (
        "UpstreamFormat",
        "MODIFIED_PARAMETER",
        "Upstream Signal's sender-key fields (distribution_uuid, chain_id) where WhatsApp has id; field 1 is bytes where a varint is expected.",
        "A parser that misreads it installs or decrypts under garbage ids.",
    ),
    (
        "WrongKeyType",
        "MODIFIED_PARAMETER",
        "Serialized Curve25519 keys start with the type byte 0x05.",
        "",
    ),
    (
        "VerifyFirst",
        "MISSING_STEP",
        "The signature is verified before any key is derived; a failed message leaves the state unchanged.",
        "A forger can burn message keys and make genuine messages undecryptable.",
    ),
    (
        "Duplicate",
        "EDGE_CASE",
        "A message whose iteration was already decrypted.",
        "",
    ),
    (
        "StateLimit",
        "EDGE_CASE",
        "At most 5 sender-key states per (group, sender).",
        "",
    ),
    (
        "Window",
        "EDGE_CASE",
        "A forward jump within 2,000 (must decrypt) or beyond 25,000 (must be refused).",
        "",
    ),
    (
        "WindowShould",
        "EDGE_CASE",
        "A forward jump beyond WA Web's 2,000 and at most 25,000: SHOULD be refused (RO-GROUP-013A); the native apps' value is unconfirmed.",
        "A receiver deriving tens of thousands of keys per message can be made to burn CPU.",
    ),
    (
        "LateJoiner",
        "EDGE_CASE",
        "An SKDM carries the sender's current iteration: a member added later cannot read earlier messages.",
        "",
    ),
    (
        "Rekey",
        "MISSING_STEP",
        "After a member leaves, the sender rotates its key before its next message.",
        "The member who left keeps reading the group.",
    ),
    (
        "Live",
        "BASIC",
        "Judged at run time by the suite's own receiver (no expected bytes).",
        "",
    ),
];

/// `sender-keys.yaml`.
pub fn generate() -> Result<Generated, String> {
    let groups = vec![Group {
        comment: "known answers: the provider receives".into(),
        group: GROUP.into(),
        tests: known_answers()?,
    }];
    render(
        "sender-keys.yaml",
        &file(
            Family::SenderKeys,
            "Sender Keys, provider as receiver: SKDM and SenderKeyMessage formats, message keys (KAT-G1), signature \
             first, duplicates, states, the iteration window, upstream Signal's format.",
            &NOTES,
            groups,
        ),
    )
}

fn key(members: &[&str]) -> Action {
    Action {
        action: ActionKind::SenderKey,
        group: None,
        members: members.iter().map(|m| m.to_string()).collect(),
        plaintext: None,
    }
}

fn encrypt(text: &str) -> Action {
    Action {
        action: ActionKind::Encrypt,
        group: None,
        members: vec![],
        plaintext: Some(Bytes(text.as_bytes().to_vec())),
    }
}

fn live(
    id: &str,
    comment: &str,
    requirements: &[&str],
    flag: &[&str],
    operation: Operation,
    script: Vec<Action>,
) -> Test {
    Test {
        id: format!("sender_keys.{id}"),
        comment: comment.into(),
        requirements: reqs(requirements),
        flags: flags(flag),
        expected: Expected::Valid,
        operation,
        steps: vec![],
        script,
        members: None,
        messages: None,
        schedules: None,
    }
}

/// `sender-keys-live.yaml`.
pub fn generate_live() -> Result<Generated, String> {
    let sending = [
        "RO-GROUP-002",
        "RO-GROUP-003",
        "RO-GROUP-004",
        "RO-GROUP-008",
        "RO-SIG-004",
        "RO-GROUP-019",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        sending.iter().copied().chain(extra.iter().copied()).collect()
    };
    let in_group = |mut a: Action, g: &str| {
        a.group = Some(g.into());
        a
    };
    let mut tests = vec![
        live(
            "send.format",
            "the provider's SKDM and three skmsgs: WhatsApp's fields, 0x33, signed over version || protobuf, iteration 0 first, opened by the suite's own receiver",
            &sending,
            &["Live"],
            Operation::Send,
            vec![key(&["bob", "carol"]), encrypt("one"), encrypt("two"), encrypt("three")],
        ),
        live(
            "send.member-leaves",
            "carol leaves: the next SKDM is a new key (new id, chain and signing key) and carol's stored key opens none of the later messages",
            &with(&["RO-GROUP-006"]),
            &["Live", "Rekey"],
            Operation::Send,
            vec![
                key(&["bob", "carol"]),
                encrypt("before"),
                key(&["bob"]),
                encrypt("after one"),
                encrypt("after two"),
            ],
        ),
        live(
            "send.late-joiner",
            "dave joins after two messages: he receives the current key at the current iteration (no rotation) and cannot read what came before",
            &with(&["RO-GROUP-015"]),
            &["Live", "LateJoiner"],
            Operation::Send,
            vec![
                key(&["bob"]),
                encrypt("one"),
                encrypt("two"),
                key(&["bob", "dave"]),
                encrypt("three"),
            ],
        ),
        live(
            "send.two-groups",
            "two groups: two sender keys with different chain keys, signing keys and ids",
            &sending,
            &["Live"],
            Operation::Send,
            vec![
                key(&["bob"]),
                in_group(key(&["bob"]), "120363000000000002@g.us"),
                encrypt("first group"),
                in_group(encrypt("second group"), "120363000000000002@g.us"),
            ],
        ),
    ];
    let mut members = live(
        "receive.members",
        "three members played by the harness send to the provider; proptest draws the delivery order, losses, duplicates and the second member's jump (at 2,000 or just around it) from the case seed and shrinks a failing schedule; the first member rotates halfway (a fourth member left), so two of its keys are in flight",
        &[
            "RO-GROUP-002",
            "RO-GROUP-003",
            "RO-GROUP-005",
            "RO-GROUP-013",
            "RO-GROUP-013A",
        ],
        &["Live", "Duplicate"],
        Operation::Members,
        vec![],
    );
    members.members = Some(3);
    members.messages = Some(6);
    members.schedules = Some(6);
    tests.push(members);
    tests.push(live(
        "receive.pairwise-carrier",
        "alice's SKDM comes inside a pairwise Signal message: with its MAC broken it installs nothing (her group message is refused); genuine, it installs her key (the group message decrypts)",
        &["RO-GROUP-009", "RO-GROUP-003"],
        &["Live"],
        Operation::Pairwise,
        vec![],
    ));
    render(
        "sender-keys-live.yaml",
        &file(
            Family::SenderKeys,
            "Sender Keys, live: the provider sends (every SKDM and skmsg checked and opened by the suite's own \
             receiver; rotation when a member leaves) and receives from several members with reordering, loss and \
             duplicates.",
            &NOTES,
            vec![Group {
                comment: "live exchanges".into(),
                group: GROUP.into(),
                tests,
            }],
        ),
    )
}
