//! Round-trip exchanges: no fixed bytes, only who sends what, in which order; and the state limits a receiver
//! keeps (RO-ENC-015B), checked by delivering held messages late.

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::roundtrip::{Group, Late, Message, Party, Test};
use crate::generate::{Generated, file, render, reqs};
use crate::vector::Expected;

fn send(from: Party, text: &str) -> Message {
    Message {
        from,
        plaintext: Bytes(text.as_bytes().to_vec()),
        new_session: false,
        hold: None,
    }
}

fn exchange(pattern: &[(Party, &str)]) -> Vec<Message> {
    pattern.iter().map(|(from, text)| send(*from, text)).collect()
}

/// Receiver chains kept per session and sessions kept archived: Signal's libsignal and wacore-libsignal (5 and 40;
/// WhatsApp's own limits are unconfirmed).
pub const RECEIVER_CHAINS: usize = 5;
/// See [`RECEIVER_CHAINS`].
pub const ARCHIVED_SESSIONS: usize = 40;

fn late(hold: &str, comment: &str, expected: Expected) -> Late {
    Late {
        comment: comment.into(),
        hold: hold.into(),
        expected,
        errors: vec![],
    }
}

/// `hold` a message from the peer under `label`.
fn held(label: &str) -> Message {
    Message {
        hold: Some(label.into()),
        ..send(Party::Peer, &format!("held {label}"))
    }
}

/// The provider receives from `RECEIVER_CHAINS + 1` peer ratchet keys, holding one message of the first two
/// chains back: the first chain's is refused (that chain was dropped), the second's still decrypts.
fn receiver_chains() -> Test {
    use Party::{Peer, Provider};
    let mut exchange = vec![send(Provider, "hi")];
    for chain in 1..=RECEIVER_CHAINS + 1 {
        if chain > 1 {
            exchange.push(send(Provider, &format!("reply {chain}")));
        }
        // The peer's first message after the provider's is on a new ratchet key: a new receiver chain there.
        exchange.push(send(Peer, &format!("chain {chain}")));
        if chain <= 2 {
            exchange.push(held(&format!("chain-{chain}")));
        }
    }
    Test {
        id: "roundtrip.limits.receiver-chains".into(),
        comment: format!(
            "the provider receives on {} peer ratchet keys; a receiver keeping {RECEIVER_CHAINS} chains has \
             dropped the first and still holds the second",
            RECEIVER_CHAINS + 1
        ),
        requirements: reqs(&["RO-ENC-015B"]),
        flags: vec!["ReceiverChainLimit".into()],
        expected: Expected::Invalid,
        initiator: Provider,
        one_time_prekey: false,
        exchange,
        late: vec![
            late("chain-1", "the oldest chain was dropped: refused", Expected::Invalid),
            late(
                "chain-2",
                "the second chain is among the newest five: decrypts",
                Expected::Valid,
            ),
        ],
    }
}

/// The peer starts `ARCHIVED_SESSIONS + 1` new sessions after the first, holding one `msg` of the first two
/// sessions back: the provider has dropped the first session and still holds the second.
fn archived_sessions() -> Test {
    use Party::{Peer, Provider};
    let mut exchange = Vec::new();
    for session in 1..=ARCHIVED_SESSIONS + 2 {
        let mut first = send(Peer, &format!("session {session}"));
        first.new_session = session > 1;
        exchange.push(first);
        if session <= 2 {
            // After a reply the peer sends a `msg`, which names its session only by ratchet key: a pkmsg held
            // back could rebuild a dropped session from the signed prekey.
            exchange.push(send(Provider, &format!("reply {session}")));
            exchange.push(held(&format!("session-{session}")));
        }
    }
    Test {
        id: "roundtrip.limits.archived-sessions".into(),
        comment: format!(
            "the peer starts {} new sessions after the first; a receiver archiving {ARCHIVED_SESSIONS} sessions \
             has dropped the first and still holds the second",
            ARCHIVED_SESSIONS + 1
        ),
        requirements: reqs(&["RO-ENC-015B"]),
        flags: vec!["ArchivedSessionLimit".into()],
        expected: Expected::Invalid,
        initiator: Peer,
        one_time_prekey: false,
        exchange,
        late: vec![
            late(
                "session-1",
                "the oldest session was dropped: refused",
                Expected::Invalid,
            ),
            late(
                "session-2",
                "the second session is still archived: decrypts",
                Expected::Valid,
            ),
        ],
    }
}

/// `session-limits.yaml`.
pub(crate) fn generate_limits() -> Result<Generated, String> {
    let notes = [
        (
            "ReceiverChainLimit",
            "EDGE_CASE",
            "A session keeps receiving chains for the last 5 sender ratchet keys (Signal's libsignal and \
             wacore-libsignal); older chains are dropped. WhatsApp's own limit is unconfirmed.",
            "Unbounded chains let a peer grow the receiver's session state without limit.",
        ),
        (
            "ArchivedSessionLimit",
            "EDGE_CASE",
            "A record keeps the 40 most recent archived sessions besides the current one (Signal's libsignal and \
             wacore-libsignal); older ones are dropped. WhatsApp's own limit is unconfirmed.",
            "Unbounded archives let a peer grow the receiver's stored state without limit.",
        ),
    ];
    render(
        "session-limits.yaml",
        &file(
            Family::SessionRoundtrip,
            "Session state limits: messages held back until the chain or session they need has been dropped.",
            &notes,
            vec![Group {
                comment: "held messages delivered late".into(),
                tests: vec![receiver_chains(), archived_sessions()],
            }],
        ),
    )
}

pub(crate) fn generate() -> Result<Generated, String> {
    use Party::{Peer, Provider};
    let t = |id: &str, comment: &str, initiator: Party, one_time_prekey: bool, pattern: &[(Party, &str)]| Test {
        id: format!("roundtrip.{id}"),
        comment: comment.into(),
        requirements: reqs(&["RO-ENC-001", "RO-ENC-003", "RO-ENC-004"]),
        flags: vec![],
        expected: Expected::Valid,
        initiator,
        one_time_prekey,
        exchange: exchange(pattern),
        late: vec![],
    };
    let mut tests = vec![
        t(
            "peer-initiates",
            "the harness starts a session from the provider's bundle; replies flow both ways",
            Peer,
            true,
            &[
                (Peer, "hi"),
                (Provider, "hello"),
                (Peer, "how are you"),
                (Provider, "fine"),
                (Provider, "and you?"),
                (Peer, "good"),
            ],
        ),
        t(
            "peer-initiates-3dh",
            "as above without the one-time prekey",
            Peer,
            false,
            &[(Peer, "hi"), (Provider, "hello"), (Peer, "bye")],
        ),
        t(
            "provider-initiates",
            "the provider starts a session from the harness's bundle",
            Provider,
            true,
            &[
                (Provider, "hi"),
                (Peer, "hello"),
                (Provider, "ratchet"),
                (Peer, "again"),
            ],
        ),
        t(
            "provider-initiates-3dh",
            "as above without the one-time prekey",
            Provider,
            false,
            &[(Provider, "hi"), (Peer, "hello")],
        ),
        t(
            "burst",
            "several messages before any reply, then a burst back",
            Peer,
            true,
            &[
                (Peer, "1"),
                (Peer, "2"),
                (Peer, "3"),
                (Provider, "a"),
                (Provider, "b"),
                (Peer, "4"),
            ],
        ),
    ];
    // The provider starts a second session (as after losing its state): a fresh base key, pkmsgs again until
    // the peer replies on the new session, previousCounter from zero (RO-ENC-003, RO-ENC-004).
    let mut again = t(
        "provider-new-session",
        "the provider starts a second session from the harness's bundle mid-exchange",
        Provider,
        true,
        &[
            (Provider, "hi"),
            (Peer, "hello"),
            (Provider, "new session"),
            (Provider, "still new"),
            (Peer, "got it"),
            (Provider, "back to msg"),
        ],
    );
    again.exchange[2].new_session = true;
    tests.push(again);
    render(
        "session-roundtrip.yaml",
        &file(
            Family::SessionRoundtrip,
            "Live 1:1 exchanges between the provider and the harness's reference peer.",
            &[],
            vec![Group {
                comment: "text exchanges".into(),
                tests,
            }],
        ),
    )
}
