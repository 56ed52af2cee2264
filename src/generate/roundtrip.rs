//! Round-trip exchanges: no fixed bytes, only who sends what, in which order.

use super::{Generated, file, render, reqs};
use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::roundtrip::{Group, Message, Party, Test};
use crate::vector::Expected;

fn exchange(pattern: &[(Party, &str)]) -> Vec<Message> {
    pattern
        .iter()
        .map(|(from, text)| Message {
            from: *from,
            plaintext: Bytes(text.as_bytes().to_vec()),
        })
        .collect()
}

pub(super) fn generate() -> Result<Generated, String> {
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
    };
    let tests = vec![
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
