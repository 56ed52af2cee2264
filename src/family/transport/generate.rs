//! `vectors/transport.yaml`: one case per server behaviour. The cases are declarative (the responder builds
//! its chains at run time, with validity windows around the real clock), so nothing here is an expected value
//! computed by the code under test.

use super::{Carriage, Group, SETUP, Test};
use crate::bytes::Bytes;
use crate::transport::responder::Behaviour;
use crate::vector_format::{Expected, Family, Generated, file, flags, render, reqs};

const NOTES: [(&str, &str, &str, &str); 3] = [
    (
        "CredentialLeak",
        "AUTH_BYPASS",
        "The server does not authenticate itself; any ClientFinish hands it the client's static key and JWT.",
        "An impostor chat server collects Partner credentials.",
    ),
    (
        "HostileServer",
        "EDGE_CASE",
        "The server breaks a framing or transport rule after or during the handshake.",
        "",
    ),
    (
        "SendSide",
        "BASIC",
        "Judges what the client itself puts on the wire.",
        "",
    ),
];

/// Every requirement the complete handshake case judges.
const HANDSHAKE: [&str; 18] = [
    SETUP,
    "RO-TRANSPORT-002",
    "RO-TRANSPORT-003",
    "RO-TRANSPORT-004",
    "RO-TRANSPORT-005",
    "RO-TRANSPORT-006",
    "RO-TRANSPORT-007",
    "RO-TRANSPORT-008",
    "RO-TRANSPORT-009",
    "RO-TRANSPORT-010",
    "RO-TRANSPORT-013",
    "RO-TRANSPORT-014",
    "RO-TRANSPORT-015",
    "RO-TRANSPORT-016",
    "RO-TRANSPORT-017",
    "RO-TRANSPORT-023",
    "RO-TRANSPORT-024",
    "RO-TRANSPORT-025",
];

fn test(id: &str, comment: &str, r: &[&str], f: &[&str], server: Behaviour, expected: Expected) -> Test {
    Test {
        id: format!("transport.{id}"),
        comment: comment.into(),
        requirements: reqs(r),
        flags: flags(f),
        expected,
        server,
        over: vec![Carriage::Tcp],
        routing_info: None,
    }
}

fn honest() -> Vec<Test> {
    let mut handshake = test(
        "handshake",
        "two connections to an honest server, over TCP and over WebSocket: header, ClientHello, fresh ephemerals, a ClientFinish with the \
         enlisted authkey and a JWT that verifies under the Partner's JWKS, then stanzas both ways",
        &HANDSHAKE,
        &["SendSide"],
        Behaviour::Honest,
        Expected::Valid,
    );
    handshake.over = vec![Carriage::Tcp, Carriage::Websocket];
    let mut routed = test(
        "edge-routing",
        "the client is offered routing info 01 02 03: if it sends the pre-intro, it is well formed and not \
         mixed into the prologue (the handshake still completes)",
        &[&HANDSHAKE[..], &["RO-TRANSPORT-020"]].concat(),
        &["SendSide"],
        Behaviour::Honest,
        Expected::Valid,
    );
    routed.routing_info = Some(Bytes(vec![1, 2, 3]));
    vec![
        handshake,
        routed,
        test(
            "reassembly.dribble",
            "the ServerHello arrives one byte per write and both server stanzas in one write",
            &[SETUP, "RO-TRANSPORT-024"],
            &["HostileServer"],
            Behaviour::Dribble,
            Expected::Valid,
        ),
        test(
            "counter.edge",
            "the client's sending counter starts at 2^32-2 and it is asked for three stanzas: the third would \
             reuse a nonce, so it must not be sent",
            &[SETUP, "RO-TRANSPORT-019"],
            &["SendSide"],
            Behaviour::CounterEdge,
            Expected::Invalid,
        ),
        test(
            "frame.tampered",
            "the server's first transport frame has a flipped bit: never delivered",
            &[SETUP, "RO-TRANSPORT-018"],
            &["HostileServer"],
            Behaviour::TamperedFrame,
            Expected::Invalid,
        ),
        test(
            "frame.replayed",
            "the server's first transport frame comes twice: delivered once at most",
            &[SETUP, "RO-TRANSPORT-018"],
            &["HostileServer"],
            Behaviour::ReplayedFrame,
            Expected::Invalid,
        ),
    ]
}

fn hostile() -> Vec<Test> {
    let chain = [SETUP, "RO-TRANSPORT-007"];
    let signed = [SETUP, "RO-TRANSPORT-007", "RO-TRANSPORT-015"];
    let leak = ["CredentialLeak"];
    let cases: [(&str, &str, &[&str], Behaviour); 15] = [
        (
            "chain.intermediate-signature",
            "the intermediate is signed by another key than the trusted root",
            &signed,
            Behaviour::ChainIntermediateSignature,
        ),
        (
            "chain.intermediate-issuer-serial",
            "intermediate issuerSerial 1, re-signed so only that rule breaks",
            &chain,
            Behaviour::ChainIntermediateIssuerSerial,
        ),
        (
            "chain.leaf-signature",
            "the leaf is signed by the root instead of the intermediate",
            &signed,
            Behaviour::ChainLeafSignature,
        ),
        (
            "chain.leaf-issuer-serial",
            "leaf issuerSerial 4 against intermediate serial 3, re-signed",
            &chain,
            Behaviour::ChainLeafIssuerSerial,
        ),
        (
            "chain.leaf-key",
            "the leaf certifies another key than the server static, re-signed",
            &chain,
            Behaviour::ChainLeafKey,
        ),
        (
            "chain.expired",
            "the leaf expired an hour before the real clock",
            &chain,
            Behaviour::ChainExpired,
        ),
        (
            "chain.not-yet-valid",
            "the leaf is valid from an hour after the real clock",
            &chain,
            Behaviour::ChainNotYetValid,
        ),
        (
            "chain.short-signature",
            "a 63-byte intermediate signature",
            &signed,
            Behaviour::ChainShortSignature,
        ),
        (
            "chain.ed25519-root",
            "the intermediate is signed with plain Ed25519 by the root's seed instead of XEdDSA",
            &signed,
            Behaviour::ChainEd25519Root,
        ),
        (
            "hello.short-ephemeral",
            "a ServerHello whose ephemeral is 31 bytes",
            &[SETUP, "RO-TRANSPORT-013"],
            Behaviour::HelloShortEphemeral,
        ),
        (
            "hello.missing-static",
            "an XX ServerHello without static",
            &[SETUP, "RO-TRANSPORT-013"],
            Behaviour::HelloMissingStatic,
        ),
        (
            "hello.with-client-finish",
            "a ServerHello that also sets clientFinish (SHOULD be refused)",
            &[SETUP, "RO-TRANSPORT-013A"],
            Behaviour::HelloWithClientFinish,
        ),
        (
            "hello.post-quantum",
            "a ServerHello carrying extendedStatic: a post-quantum mode the client did not ask for",
            &[SETUP, "RO-TRANSPORT-023"],
            Behaviour::DemandPostQuantum,
        ),
        (
            "frame.oversized",
            "the ServerHello frame announces 0xFFFFFF bytes and the connection closes before them",
            &[SETUP, "RO-TRANSPORT-004"],
            Behaviour::OversizedFrame,
        ),
        (
            "frame.truncated",
            "the ServerHello frame is cut in half and the connection closes",
            &[SETUP, "RO-TRANSPORT-024"],
            Behaviour::TruncatedFrame,
        ),
    ];
    cases
        .into_iter()
        .map(|(id, comment, r, b)| test(id, comment, r, &leak, b, Expected::Invalid))
        .collect()
}

/// Two connections: the first to an honest server (the client may cache its static key and chain), the second
/// meeting the behaviour.
fn resumes() -> Vec<Test> {
    let cases = [
        test(
            "ik.resume",
            "connection 2 resumes with IK from the server static verified on connection 1 (chain still valid): \
             its static and JWT open under es/ss, the ServerHello without static is accepted, stanzas both ways. \
             Not applicable to a client that does not declare transport_ik and connects with XX",
            &[SETUP, "RO-TRANSPORT-021"],
            &["SendSide"],
            Behaviour::IkResume,
            Expected::Valid,
        ),
        test(
            "ik.fallback",
            "the server's static key changed after connection 1: the client's IK does not open, the server answers \
             with an XXfallback ServerHello (new static, new chain), and the client completes it on the same \
             ephemeral with a ClientFinish under the hashed XXfallback name",
            &[SETUP, "RO-TRANSPORT-022"],
            &["SendSide"],
            Behaviour::IkRejected,
            Expected::Valid,
        ),
        test(
            "ik.fallback-bad-chain",
            "as ik.fallback, but the fallback chain's leaf is signed by the root instead of the intermediate: \
             no ClientFinish, no second ClientHello",
            &[SETUP, "RO-TRANSPORT-022"],
            &["CredentialLeak"],
            Behaviour::IkFallbackBadChain,
            Expected::Invalid,
        ),
        test(
            "ik.unverified-cache",
            "connection 1 presents a chain whose leaf is signed by the root (refused: no ClientFinish); connection \
             2 is honest with the same server static: a client that cached that unverified key would resume with \
             IK, so it must use XX. Not applicable to a client that does not declare transport_ik and uses XX",
            &[SETUP, "RO-TRANSPORT-007", "RO-TRANSPORT-021"],
            &["CredentialLeak"],
            Behaviour::IkUnverifiedCache,
            Expected::Invalid,
        ),
    ];
    let mut cases: Vec<Test> = cases
        .into_iter()
        .map(|mut t| {
            t.over = vec![Carriage::Tcp, Carriage::Tcp];
            t
        })
        .collect();
    let mut after = test(
        "ik.after-fallback",
        "as ik.fallback, then a third connection to the same server: one IK rejection should end resuming, so \
         the client uses XX (SHOULD). Not applicable to a client that does not declare transport_ik and uses XX",
        &[SETUP, "RO-TRANSPORT-022", "RO-TRANSPORT-022A"],
        &["SendSide"],
        Behaviour::IkAfterFallback,
        Expected::Valid,
    );
    after.over = vec![Carriage::Tcp; 3];
    cases.push(after);
    cases
}

pub(crate) fn generate() -> Result<Generated, String> {
    let f = file(
        Family::Transport,
        "The provider's client against the suite's chat server (later-phases.md §1.4): an honest handshake judged \
         on the wire, and one hostile server behaviour per case",
        &NOTES,
        vec![
            Group {
                comment: "honest servers: what the client sends, and what it delivers".into(),
                tests: honest(),
            },
            Group {
                comment: "unauthenticated or malformed servers: no ClientFinish may reach them".into(),
                tests: hostile(),
            },
            Group {
                comment: "resuming clients: IK from a cached server static, XXfallback when the server rejects it \
                          (only for clients that declare transport_ik)"
                    .into(),
                tests: resumes(),
            },
        ],
    );
    render("transport.yaml", &f)
}
