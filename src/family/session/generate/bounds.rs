//! Forward-jump bounds (RO-ENC-015, RO-ENC-015A): `session` vectors whose counters run far ahead of the
//! receiving chain, and the bound on the skipped message keys a receiver keeps.
//!
//! The jump is the message's counter minus the receiving chain's next index. After the first message (counter 0)
//! the next index is 1, so counter 2,001 is a jump of 2,000. Sources disagree on the bound (2,000 in Go
//! libsignal, libsignal-node and wacore-libsignal's peer sessions; 25,000 in Signal's libsignal and
//! whatsapp-rust), and WhatsApp's own limit is unconfirmed: a jump of up to 2,000 must decrypt, one beyond
//! 25,000 must be refused (also 100,000 and a made-up 2^31-1, which only a bound checked before any derivation
//! refuses in time), a jump of 2,001 should be refused (RO-ENC-015C, WA Web's value), and anything between is
//! `acceptable`.
//!
//! Skipped keys: two jumps of 2,000 leave 4,000 skipped keys in one chain. A store bounded at 2,000 (Signal's
//! libsignal; wacore-libsignal prunes back to 2,000 once it holds 2,050) has evicted the oldest, so counter 1
//! no longer decrypts while counter 4,001, the newest skipped key, does. The case leaves slack: any store that
//! keeps fewer than 3,999 keys and evicts oldest first passes (RO-ENC-015A, SHOULD).
//!
//! The MUST that the store is bounded at all (RO-ENC-015): thirteen jumps of 2,000, each within every bound,
//! leave 26,000 skipped keys in one chain; counter 1 must be gone by then. The line the suite draws, 25,000
//! keys, is the largest forward jump any source accepts; no source keeps more than 2,000 keys, and WhatsApp's
//! own store bound is unconfirmed. A single large jump (25,001; 100,000; 2^31-1) must be refused before any
//! key is derived or stored: the `jump-*` cases, whose case timeout is an error, never a pass.
//!
//! Generation stays fast: the sender's chain is moved straight to the wanted counter (`skip_to_counter`) instead
//! of encrypting every message before it; the chain key is a pure function of its predecessor, so the message is
//! the one the sender would have sent in order (checked by a test below).

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::session::Group;
use crate::family::session::generate::{Sender, bad, bundle_of, inner, key_material, ok, test};
use crate::generate::{Generated, file, render};
use crate::provider::{Ciphertext, CiphertextKind, ErrorClass, KeyMaterial};
use crate::reference::ReferenceProvider;
use crate::vector::Expected;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::PrivateKey;

/// The largest jump every source accepts.
const MAX_JUMP: u32 = 2_000;
/// Jumps of [`MAX_JUMP`] in the bounded-store case: 13 x 2,000 = 26,000 skipped keys, beyond 25,000.
const STORE_JUMPS: u32 = 13;

fn text(counter: u32) -> Vec<u8> {
    format!("message {counter}").into_bytes()
}

fn identity_of(keys: &KeyMaterial) -> Result<Bytes, String> {
    let private = PrivateKey::deserialize(&keys.identity_private).map_err(|e| e.to_string())?;
    let public = private.public_key().map_err(|e| e.to_string())?;
    Ok(Bytes(public.serialize().to_vec()))
}

pub(crate) async fn generate() -> Result<Generated, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0015);
    let bob = key_material(&mut rng, 1501, &[7])?;
    let alice = key_material(&mut rng, 2502, &[])?;
    let provider = ReferenceProvider::new();
    let bundle = bundle_of(&provider, &bob).await?;

    // One sending chain; counters only grow, so they are produced in order.
    let a1 = Sender::new(&provider, &alice, 21, &bundle).await?;
    let mut sent = Vec::new();
    // Counters 2,001 k (k = 1..=13): thirteen jumps of 2,000, 26,000 skipped keys.
    let store_jumps: Vec<u32> = (1..=STORE_JUMPS).map(|k| k * (MAX_JUMP + 1)).collect();
    let mut counters = vec![
        0u32,
        1,
        2_001,
        2_002,
        4_001,
        25_001,
        25_002,
        100_001,
        store_jumps[12] - 1,
    ];
    counters.extend(&store_jumps);
    counters.sort_unstable();
    counters.dedup();
    for counter in counters {
        let ct = a1.send_at(counter, &text(counter)).await?;
        // Later messages travel as the inner WhisperMessage (a `msg`), as after any first pkmsg.
        let ct = if counter == 0 { ct } else { inner(&ct)? };
        sent.push((counter, ct));
    }
    let at = |counter: u32| {
        sent.iter()
            .find(|(c, _)| *c == counter)
            .map(|(_, ct)| ct.clone())
            .ok_or_else(|| format!("counter {counter} was not generated"))
    };
    let first = ok("counter 0: the pkmsg that starts the session", &at(0)?, &text(0));

    // A second session, without a one-time prekey, whose very first message already jumps.
    let mut no_otk = bundle.clone();
    no_otk.prekey = None;
    no_otk.prekey_id = None;
    let a2 = Sender::new(&provider, &alice, 22, &no_otk).await?;
    let first_at_2000 = a2.send_at(2_000, &text(2_000)).await?;

    // The largest counter a message can carry, made up (a sender cannot reach it honestly): only the bound
    // can refuse it before any key is derived, and its MAC is not valid.
    let at_max = {
        use prost::Message;
        let body = at(25_002)?.body.0;
        let split = body.len() - 8;
        let mut proto = crate::wire::WhisperMessage::decode(&body[1..split]).map_err(|e| e.to_string())?;
        proto.counter = Some(i32::MAX as u32);
        let mut out = vec![body[0]];
        out.extend_from_slice(&proto.encode_to_vec());
        out.extend_from_slice(&body[split..]);
        Ciphertext {
            kind: CiphertextKind::Msg,
            body: Bytes(out),
        }
    };
    let too_far = [ErrorClass::TooFarInFuture];
    // An evicted key looks like a used one (Signal's libsignal: DuplicatedMessage) or a malformed message.
    let evicted = [ErrorClass::Duplicate, ErrorClass::InvalidMessage];
    let disagreement = ["JumpBoundDisagreement"];
    let tests = vec![
        test(
            "bounds.jump-2000",
            "after counter 0, counter 2,001: a jump of exactly 2,000, which every source accepts",
            &["RO-ENC-015", "RO-ENC-015A", "RO-ENC-015C"],
            &["ForwardJump"],
            vec![
                first.clone(),
                ok("counter 2,001 (jump 2,000)", &at(2_001)?, &text(2_001)),
                ok("counter 2,002, the next in order", &at(2_002)?, &text(2_002)),
            ],
        ),
        test(
            "bounds.first-message-jump-2000",
            "a session's first pkmsg already carries counter 2,000 (a jump of 2,000 from index 0)",
            &["RO-ENC-015", "RO-ENC-015A"],
            &["ForwardJump"],
            vec![ok("pkmsg at counter 2,000", &first_at_2000, &text(2_000))],
        ),
        test(
            "bounds.jump-2001",
            "a jump of 2,001 after counter 0, the mirror of the accepted 2,000: refused (SHOULD; 25,000-bound \
             stacks accept it and still meet the MUST RO-ENC-015). Nothing follows: whether counter 1 still \
             decrypts then depends on how many skipped keys a stack keeps",
            &["RO-ENC-015C"],
            &disagreement,
            vec![
                first.clone(),
                bad("counter 2,002 (jump 2,001)", at(2_002)?, Expected::Invalid, &too_far),
            ],
        ),
        test(
            "bounds.jump-100000",
            "a jump of 100,000: refused without deriving the keys in between, and the session still works",
            &["RO-ENC-015"],
            &["TooFarInFuture"],
            vec![
                first.clone(),
                bad(
                    "counter 100,001 (jump 100,000)",
                    at(100_001)?,
                    Expected::Invalid,
                    &too_far,
                ),
                ok("counter 1, the next in order", &at(1)?, &text(1)),
            ],
        ),
        test(
            "bounds.jump-max",
            "counter 2^31-1, made up (its MAC is not valid): refused by the bound before any key is derived; a \
             receiver that walks the chain instead does 2^31 steps and times out, which is no pass",
            &["RO-ENC-015"],
            &["TooFarInFuture"],
            vec![
                first.clone(),
                bad("counter 2,147,483,647", at_max, Expected::Invalid, &too_far),
                ok("counter 1, the next in order", &at(1)?, &text(1)),
            ],
        ),
        test(
            "bounds.jump-25000",
            "a jump of 25,000, the largest any source accepts; either answer is conformant",
            &["RO-ENC-015"],
            &disagreement,
            vec![
                first.clone(),
                bad(
                    "counter 25,001 (jump 25,000)",
                    at(25_001)?,
                    Expected::Acceptable,
                    &too_far,
                ),
            ],
        ),
        test(
            "bounds.skipped-key-store",
            "two jumps of 2,000 leave 4,000 skipped keys in one chain: a store bounded at 2,000 has evicted the \
             oldest (counter 1) and still holds the newest (counter 4,001)",
            &["RO-ENC-015A"],
            &["SkippedKeyStore"],
            vec![
                first.clone(),
                ok(
                    "counter 2,001 (jump 2,000; keys 1 to 2,000 kept)",
                    &at(2_001)?,
                    &text(2_001),
                ),
                ok(
                    "counter 4,002 (jump 2,000; keys 2,002 to 4,001 kept, 4,000 in all)",
                    &at(4_002)?,
                    &text(4_002),
                ),
                bad(
                    "counter 1: its key was the oldest and has been evicted",
                    at(1)?,
                    Expected::Invalid,
                    &evicted,
                ),
                ok(
                    "counter 4,001: the newest skipped key is still kept",
                    &at(4_001)?,
                    &text(4_001),
                ),
            ],
        ),
        {
            let mut messages = vec![first.clone()];
            for (k, counter) in store_jumps.iter().enumerate() {
                let held = (k as u32 + 1) * MAX_JUMP;
                messages.push(ok(
                    &format!("counter {counter} (jump 2,000; {held} skipped keys in all if none were evicted)"),
                    &at(*counter)?,
                    &text(*counter),
                ));
            }
            let newest = store_jumps[12] - 1;
            messages.push(bad(
                "counter 1: 26,000 keys were skipped after it; a store bounded at 25,000 or fewer has evicted it",
                at(1)?,
                Expected::Invalid,
                &evicted,
            ));
            messages.push(ok(
                &format!("counter {newest}: the newest skipped key is still kept"),
                &at(newest)?,
                &text(newest),
            ));
            let mut t = test(
                "bounds.skipped-key-store-bounded",
                "thirteen jumps of 2,000, each within every bound, leave 26,000 skipped keys in one chain: the \
                 store is bounded (the suite's line: 25,000 keys, the largest jump any source accepts), so the \
                 oldest (counter 1) is gone, and the newest still decrypts",
                &["RO-ENC-015", "RO-ENC-015A"],
                &["SkippedKeyStore"],
                messages,
            );
            // The jumps must decrypt (RO-ENC-015), the eviction is the bound itself, the newest key kept is the
            // SHOULD's evict-oldest-first.
            let n = t.messages.len();
            for m in &mut t.messages[1..n - 2] {
                m.requirements = vec!["RO-ENC-015".into()];
            }
            t.messages[n - 1].requirements = vec!["RO-ENC-015A".into()];
            t
        },
        test(
            "bounds.jump-25001",
            "a jump of 25,001, beyond every source's bound: refused, and the session still works",
            &["RO-ENC-015", "RO-ENC-015A"],
            &["TooFarInFuture"],
            vec![
                first,
                bad("counter 25,002 (jump 25,001)", at(25_002)?, Expected::Invalid, &too_far),
                ok(
                    "counter 1, the next in order: the refusal left the session as it was",
                    &at(1)?,
                    &text(1),
                ),
            ],
        ),
    ];
    let notes = [
        (
            "ForwardJump",
            "EDGE_CASE",
            "The counter is ahead of the receiving chain; the receiver derives and keeps the skipped keys.",
            "",
        ),
        (
            "JumpBoundDisagreement",
            "EDGE_CASE",
            "Sources disagree on the forward-jump bound: 2,000 (Go libsignal, libsignal-node, wacore-libsignal 0.7 \
             for peers, after WA Web's signalFutureMessagesMax) versus 25,000 (Signal's libsignal, whatsapp-rust). \
             WhatsApp's limit is unconfirmed: a jump of 2,001 SHOULD be refused (RO-ENC-015C, WA Web's value) \
             and one up to 25,000 may decrypt without breaking the MUST.",
            "",
        ),
        (
            "SkippedKeyStore",
            "MISSING_STEP",
            "More skipped keys than the store's bound: the oldest are evicted (Signal's libsignal and \
             wacore-libsignal keep 2,000 per chain; WhatsApp's own bound is unconfirmed).",
            "An unbounded store lets a sender make the receiver derive and keep arbitrarily many keys.",
        ),
        (
            "TooFarInFuture",
            "MISSING_STEP",
            "A jump beyond 25,000, more than any open implementation accepts.",
            "An unbounded jump makes one message cost the receiver arbitrarily many key derivations.",
        ),
    ];
    let group = Group {
        comment: "bob (registration 1501, signed prekey 1, one-time prekey 7) receives from alice".into(),
        receiver: bob,
        sender: "alice".into(),
        sender_identity: identity_of(&alice)?,
        tests,
    };
    render(
        "session-bounds.yaml",
        &file(
            Family::Session,
            "Forward-jump bounds: messages whose counter runs far ahead of the receiving chain.",
            &notes,
            vec![group],
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skipping the chain to counter N gives the same bytes as encrypting N messages and keeping the last.
    #[tokio::test]
    async fn skipping_the_chain_matches_sending_in_order() {
        let mut rng = StdRng::seed_from_u64(9);
        let bob = key_material(&mut rng, 1, &[7]).unwrap();
        let alice = key_material(&mut rng, 2, &[]).unwrap();
        let provider = ReferenceProvider::new();
        let bundle = bundle_of(&provider, &bob).await.unwrap();
        let in_order = Sender::new(&provider, &alice, 5, &bundle).await.unwrap();
        let mut last = None;
        for counter in 0..=40 {
            last = Some(in_order.send_at(counter, &text(40)).await.unwrap());
        }
        let skipping = Sender::new(&provider, &alice, 5, &bundle).await.unwrap();
        let skipped = skipping.send_at(40, &text(40)).await.unwrap();
        assert_eq!(Some(skipped), last);
    }
}
