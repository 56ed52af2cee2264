//! Transport known answers (`transport-known-answers.yaml`): the published Noise values (later-phases.md KAT-T1,
//! KAT-T2, KAT-T3, KAT-T4, L1, L6; reference-offer.md RO-TRANSPORT-005/010/020/025), included verbatim, and
//! chains under the suite's test root, each breaking one rule of RO-TRANSPORT-007. Chains are signed by the
//! suite's transport code; `vectors verify` judges every one with the separate code of `super::verify`.

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::noise_known_answer::{Attribute, Group, KnownAnswer, Step, Test};
use crate::generate::{Generated, file, flags, render, reqs};
use crate::transport::cert::{self, ChainRule, Issue, WHATSAPP_ROOT};
use crate::transport::noise;
use crate::transport_wire::CertDetails;
use crate::vector_format::Expected;
use sha2::{Digest, Sha256};

/// KAT-T2 inputs (whatsapp-rust `wacore/tests/noise_handshake_test.rs`, values its comments say came from Go).
const T2_CLIENT_EPHEMERAL: &str = "b8de0b5ebad3e7879fa659c0d27baa6c3e3f32a10f7c4cb2613cb4182fe83047";
const T2_SERVER_EPHEMERAL: &str = "27692cf5d6a08e51f2d601f2e475378456bda16f96255c5121d081d0aa4a815d";
const T2_STATIC_CT: &str =
    "0addd1ce96c55699824fc20ef2a73928dd8168bc29ef863bdea6dc69002b00054add28f7711e3a7dff984d3f31badaa2";
const T2_PAYLOAD_CT: &str = "c4f948e737857d6bd675fa0a84f38ed784685b784402da53f972388a8aa3398f01be799862907d43cce7a49858023ec66dc909d1eac245f842661360804acf4975801ca0a156f876ba6004cc2f1241f761f753c516cef59fb3c6b95d39ad6d3540caa40b361bfbb7189eaa2d331e086870f2bd846bc6653cf2887387ba25268c9923dec5ecdc5ee37507680ba6906550f9991f6a60b2dc74803c6df8d6df352f206c376b0bb3d7d17dca91e3999f73d6dc6469e59281bc18c22fd1e7d85467b3f17fafc141a62c6fd92d364310d5b32493c9f2c77817aa4d901aef2538858b157d46ea247371a9c2f577171796fa7be059d975dddee115d5aa967602b02a93be36";
/// KAT-T2's decrypted certificate: the real WhatsApp chain of KAT-T3 (L6).
const T3_CHAIN: &str = "0a770a3308c90210031a205854d333d8e13975abd6597bbaddd49d6935ced25c93a44bd3ade508f2bec33020d08f87bf0628d0c99fc406124019cbee71b63bb8048af269f3aa7c13c62a1fd89ac4ef2509d1d78d68267f40393b49a9cc38db05e35a6c5bf3ba6172a4c5325f25f363338cf8f3535a4cd9520512760a32080310001a201c51a9ac303994c6c8d0b92ea1878a533476599cc599fbea35997d9aa90cce62208091aebe0628ffdeb7dc061240270f294648539fed4870e25054dd4e95983aba29189c2ba6c8eeda7055555f753740f5ec192ab64c26c26d6ade6d20b9f774aee37120a6b20395f53c66058507";
/// KAT-T2's decrypted server static key (= the KAT-T3 leaf key).
const T3_STATIC: &str = "5854d333d8e13975abd6597bbaddd49d6935ced25c93a44bd3ade508f2bec330";
/// KAT-T2's expected values, in order.
const T2_STEPS: [(&str, &str); 9] = [
    (
        "h prologue",
        "ffff0c9267310966f1311170c04b38c79504285bf5edf763e5c946492a50a755",
    ),
    (
        "h e_c",
        "86790a969b7100866dfbf74fcfe5a175f8adff7f8c5139f74cd2f14a8fa5f11f",
    ),
    (
        "h e_s",
        "9fd7bf2736e1e5b48b2759fd5806225ccb6822d557579d725459795cdd0885d3",
    ),
    (
        "ck ee",
        "a505e995a2068e7103a582be6f6ba9d6b447a80db4e679209b2f7cc6da633709",
    ),
    ("static", T3_STATIC),
    (
        "h static",
        "8f29e8901b6ffb3cb393795c023d6d219ceb447dbbbae075533010907cbfbc6c",
    ),
    (
        "ck es",
        "5092572187a71abe8044010b9c8419633272b45b2babf4ca316966edc3eb9bde",
    ),
    ("cert", T3_CHAIN),
    (
        "h cert",
        "4a82b448599eb44f85bacedaff0a81820999a87be156b08989c2857b8651d4d2",
    ),
];

/// Pinned clocks of KAT-T3: 2025-05-01, 2026-01-01 and 2025-03-01, 00:00 UTC.
const MAY_2025: u64 = 1_746_057_600;
const JAN_2026: u64 = 1_767_225_600;
const MAR_2025: u64 = 1_740_787_200;

const NOTES: [(&str, &str, &str, &str); 5] = [
    (
        "HarnessCheck",
        "BASIC",
        "Pins the suite's own side of the Noise channel (the code that plays chatd); no provider is involved.",
        "",
    ),
    (
        "PublishedValue",
        "BASIC",
        "Published known answer (later-phases.md §4 or reference-offer.md §2.1), copied verbatim.",
        "",
    ),
    (
        "RealChain",
        "BASIC",
        "The real WhatsApp certificate chain decrypted from KAT-T2, judged at a pinned clock.",
        "",
    ),
    (
        "TestRoot",
        "MODIFIED_PARAMETER",
        "A chain issued under the suite's test root, with one rule of RO-TRANSPORT-007 broken.",
        "A client that accepts it sends its static key and JWT to a server it has not authenticated.",
    ),
    (
        "Caveat",
        "EDGE_CASE",
        "The Reference Offer's example is inconsistent past its header (its XML shows another number and its body \
         length byte does not match); only the header is used.",
        "",
    ),
];

fn b(hex_text: &str) -> Bytes {
    Bytes(hex::decode(hex_text).unwrap_or_default())
}

fn test(id: &str, comment: &str, r: &[&str], f: &[&str], expected: Expected, known_answer: KnownAnswer) -> Test {
    Test {
        id: format!("noise-kat.{id}"),
        comment: comment.into(),
        requirements: reqs(r),
        flags: flags(f),
        expected,
        known_answer,
    }
}

fn initial_hashes() -> Vec<Test> {
    let header = Bytes(noise::CONN_HEADER.to_vec());
    let one = |id: &str, protocol: &str, h0: &str, h1: &str, r: &[&str], comment: &str| {
        test(
            id,
            comment,
            r,
            &["PublishedValue", "HarnessCheck"],
            Expected::Valid,
            KnownAnswer::InitialHash {
                protocol: protocol.into(),
                prologue: header.clone(),
                h0: b(h0),
                h1: b(h1),
            },
        )
    };
    vec![
        one(
            "initial-hash.xx",
            noise::XX,
            "4e6f6973655f58585f32353531395f41455347434d5f53484132353600000000",
            "ffff0c9267310966f1311170c04b38c79504285bf5edf763e5c946492a50a755",
            &["RO-TRANSPORT-002", "RO-TRANSPORT-003"],
            "KAT-T1: the XX name padded to 32 bytes is h0 (not its SHA-256); h1 mixes the WA 06 03 prologue",
        ),
        one(
            "initial-hash.ik",
            noise::IK,
            "4e6f6973655f494b5f32353531395f41455347434d5f53484132353600000000",
            "79eca0f8a583e558e3219b22fb5483c3f82f82ef2d5aa21bb1828021c3780501",
            &["RO-TRANSPORT-002", "RO-TRANSPORT-021"],
            "KAT-T1: IK name padded; h1 after the prologue",
        ),
        one(
            "initial-hash.xx-fallback",
            noise::XX_FALLBACK,
            "0ad4c34614b2e476fdc2a30345bc7feb2714f7796a5e19f0962b30f5bac8c57b",
            "413766ac503c04676506bebddd691cfd5fe1087956a1150b2d235c16bd23512c",
            &["RO-TRANSPORT-002", "RO-TRANSPORT-022"],
            "KAT-T1: the 36-byte XXfallback name is hashed",
        ),
    ]
}

fn transcripts() -> Vec<Test> {
    let steps = |n: usize| {
        T2_STEPS[..n]
            .iter()
            .map(|(name, v)| Step {
                name: name.to_string(),
                value: b(v),
            })
            .collect::<Vec<_>>()
    };
    let ka = |static_ct: Bytes, payload_ct: Bytes, n: usize| KnownAnswer::XxTranscript {
        client_ephemeral_private: b(T2_CLIENT_EPHEMERAL),
        server_ephemeral: b(T2_SERVER_EPHEMERAL),
        server_static_ciphertext: static_ct,
        server_payload_ciphertext: payload_ct,
        steps: steps(n),
    };
    let flip = |hex_text: &str, at: usize| {
        let mut v = b(hex_text);
        v.0[at] ^= 0x01;
        v
    };
    let r = ["RO-TRANSPORT-005", "RO-TRANSPORT-006", "RO-TRANSPORT-014"];
    vec![
        test(
            "xx-transcript.go-capture",
            "KAT-T2: every h and ck of the client's XX side through decrypting the certificate",
            &r,
            &["PublishedValue", "HarnessCheck"],
            Expected::Valid,
            ka(b(T2_STATIC_CT), b(T2_PAYLOAD_CT), T2_STEPS.len()),
        ),
        test(
            "xx-transcript.static-tag-flipped",
            "KAT-T2 with one bit of the encrypted static's GCM tag flipped: DecryptAndHash must fail",
            &r,
            &["HarnessCheck"],
            Expected::Invalid,
            ka(flip(T2_STATIC_CT, 47), b(T2_PAYLOAD_CT), 4),
        ),
        test(
            "xx-transcript.payload-byte-flipped",
            "KAT-T2 with one bit of the encrypted certificate flipped: DecryptAndHash must fail",
            &r,
            &["HarnessCheck"],
            Expected::Invalid,
            ka(b(T2_STATIC_CT), flip(T2_PAYLOAD_CT, 0), 7),
        ),
    ]
}

fn chain_case(
    id: &str,
    comment: &str,
    f: &[&str],
    root: Bytes,
    chain: Vec<u8>,
    stat: Bytes,
    (now, rule): (u64, Option<ChainRule>),
) -> Test {
    test(
        id,
        comment,
        &["RO-TRANSPORT-007", "RO-TRANSPORT-015"],
        f,
        if rule.is_some() {
            Expected::Invalid
        } else {
            Expected::Valid
        },
        KnownAnswer::CertChain {
            root_key: root,
            chain: Bytes(chain),
            server_static: stat,
            now,
            broken_rule: rule,
        },
    )
}

/// The real chain at the three pinned clocks, and mutations that need no signing key.
fn real_chains() -> Vec<Test> {
    let root = b(WHATSAPP_ROOT);
    let chain = b(T3_CHAIN).0;
    let stat = b(T3_STATIC);
    let f = ["RealChain", "PublishedValue", "HarnessCheck"];
    // Offsets in the serialized chain: the leaf signature starts at byte 0x39; the intermediate (length byte
    // 0x7a) holds its details from byte 0x7d (key bytes from 0x83) and its signature's length byte at 0xb0.
    let mut inter_bit = chain.clone();
    inter_bit[0x7d + 10] ^= 0x01;
    let mut leaf_sig = chain.clone();
    leaf_sig[0x39 + 10] ^= 0x01;
    let mut short = chain.clone();
    short.pop();
    short[0xb0] = 63;
    short[0x7a] -= 1;
    vec![
        chain_case(
            "chain.real.may-2025",
            "KAT-T3 at 2025-05-01Z: both signatures (XEdDSA), serials, leaf key = static, both windows hold",
            &f,
            root.clone(),
            chain.clone(),
            stat.clone(),
            (MAY_2025, None),
        ),
        chain_case(
            "chain.real.jan-2026",
            "KAT-T3 at 2026-01-01Z: the leaf expired 2025-07-28T21:00Z",
            &f,
            root.clone(),
            chain.clone(),
            stat.clone(),
            (JAN_2026, Some(ChainRule::Validity)),
        ),
        chain_case(
            "chain.real.mar-2025",
            "KAT-T3 at 2025-03-01Z: the leaf is valid only from 2025-03-24T21:00Z",
            &f,
            root.clone(),
            chain.clone(),
            stat.clone(),
            (MAR_2025, Some(ChainRule::Validity)),
        ),
        chain_case(
            "chain.real.intermediate-bit-flipped",
            "KAT-T3 with one bit of the intermediate details flipped",
            &f,
            root.clone(),
            inter_bit,
            stat.clone(),
            (MAY_2025, Some(ChainRule::IntermediateSignature)),
        ),
        chain_case(
            "chain.real.leaf-signature-bit-flipped",
            "KAT-T3 with one bit of the leaf signature flipped",
            &f,
            root.clone(),
            leaf_sig,
            stat.clone(),
            (MAY_2025, Some(ChainRule::LeafSignature)),
        ),
        chain_case(
            "chain.real.intermediate-signature-63-bytes",
            "KAT-T3 with the intermediate signature cut to 63 bytes",
            &f,
            root.clone(),
            short,
            stat.clone(),
            (MAY_2025, Some(ChainRule::IntermediateSignature)),
        ),
        chain_case(
            "chain.real.other-static",
            "KAT-T3 presented with another server static key: leaf.key != static",
            &f,
            root,
            chain,
            Bytes(vec![0x42; 32]),
            (MAY_2025, Some(ChainRule::LeafKey)),
        ),
    ]
}

/// A private key from a label (fixed, so the file regenerates byte for byte).
fn key(label: &str) -> [u8; 32] {
    Sha256::digest(format!("interop-conformance transport {label}").as_bytes()).into()
}

fn z(label: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&key(&format!("{label} z1")));
    out[32..].copy_from_slice(&key(&format!("{label} z2")));
    out
}

/// Chains under the test root: a good one, then one rule broken at a time.
fn test_root_chains() -> Result<Vec<Test>, String> {
    let (root, inter, leaf) = (key("test root"), key("test intermediate"), key("test leaf"));
    let root_pub = Bytes(noise::public_key(&root).to_vec());
    let stat = Bytes(noise::public_key(&leaf).to_vec());
    let now = MAY_2025;
    let inter_details = CertDetails {
        serial: Some(7),
        issuer_serial: Some(0),
        key: Some(noise::public_key(&inter).to_vec()),
        not_before: Some(now - 86_400),
        not_after: Some(now + 365 * 86_400),
    };
    let leaf_details = CertDetails {
        serial: Some(4242),
        issuer_serial: Some(7),
        key: Some(stat.0.clone()),
        not_before: Some(now - 3_600),
        not_after: Some(now + 30 * 86_400),
    };
    let build = |i: CertDetails, l: CertDetails, leaf_signer: &[u8; 32]| {
        cert::chain_bytes(
            cert::certificate(&Issue {
                details: l,
                issuer: leaf_signer,
                z: z("leaf"),
            }),
            cert::certificate(&Issue {
                details: i,
                issuer: &root,
                z: z("intermediate"),
            }),
        )
    };
    let f = ["TestRoot", "HarnessCheck"];
    let case = |id: &str, comment: &str, chain: Vec<u8>, rule: Option<ChainRule>| {
        let flags: &[&str] = if rule.is_some() { &f } else { &f[1..] };
        chain_case(
            &format!("chain.test-root.{id}"),
            comment,
            flags,
            root_pub.clone(),
            chain,
            stat.clone(),
            (now, rule),
        )
    };
    let ed25519_intermediate = {
        use ed25519_dalek::Signer;
        let details = prost::Message::encode_to_vec(&inter_details);
        let signature = ed25519_dalek::SigningKey::from_bytes(&root).sign(&details);
        crate::transport_wire::NoiseCertificate {
            details: Some(details),
            signature: Some(signature.to_bytes().to_vec()),
        }
    };
    let leaf_cert = cert::certificate(&Issue {
        details: leaf_details.clone(),
        issuer: &inter,
        z: z("leaf"),
    });
    let good = build(inter_details.clone(), leaf_details.clone(), &inter);
    let tests = vec![
        case(
            "good",
            "a chain issued under the test root the client was told to trust: accepted",
            good,
            None,
        ),
        case(
            "intermediate-issuer-serial-1",
            "intermediate issuerSerial = 1 (re-signed, so only the serial rule breaks)",
            build(
                CertDetails {
                    issuer_serial: Some(1),
                    ..inter_details.clone()
                },
                leaf_details.clone(),
                &inter,
            ),
            Some(ChainRule::IntermediateIssuerSerial),
        ),
        case(
            "leaf-signed-by-root",
            "the leaf is signed by the root instead of the intermediate key",
            build(inter_details.clone(), leaf_details.clone(), &root),
            Some(ChainRule::LeafSignature),
        ),
        case(
            "leaf-issuer-serial-mismatch",
            "leaf issuerSerial 8 against intermediate serial 7 (re-signed)",
            build(
                inter_details.clone(),
                CertDetails {
                    issuer_serial: Some(8),
                    ..leaf_details.clone()
                },
                &inter,
            ),
            Some(ChainRule::LeafIssuerSerial),
        ),
        case(
            "leaf-key-not-static",
            "the leaf certifies another key than the server static (re-signed)",
            build(
                inter_details.clone(),
                CertDetails {
                    key: Some(vec![0x24; 32]),
                    ..leaf_details.clone()
                },
                &inter,
            ),
            Some(ChainRule::LeafKey),
        ),
        case(
            "intermediate-expired",
            "the intermediate expired one second before the clock",
            build(
                CertDetails {
                    not_after: Some(now - 1),
                    ..inter_details.clone()
                },
                leaf_details.clone(),
                &inter,
            ),
            Some(ChainRule::Validity),
        ),
        case(
            "leaf-not-yet-valid",
            "the leaf becomes valid one second after the clock",
            build(
                inter_details.clone(),
                CertDetails {
                    not_before: Some(now + 1),
                    ..leaf_details.clone()
                },
                &inter,
            ),
            Some(ChainRule::Validity),
        ),
        case(
            "intermediate-ed25519-signature",
            "the intermediate is signed with plain Ed25519 by the root's seed instead of XEdDSA",
            cert::chain_bytes(leaf_cert, ed25519_intermediate),
            Some(ChainRule::IntermediateSignature),
        ),
    ];
    for t in &tests {
        let KnownAnswer::CertChain {
            root_key,
            chain,
            server_static,
            now,
            broken_rule,
        } = &t.known_answer
        else {
            continue;
        };
        let got = cert::check_chain(root_key, chain, server_static, *now)
            .err()
            .map(|f| f.rule);
        if got != *broken_rule {
            return Err(format!(
                "{}: the transport code says {got:?}, the recipe {broken_rule:?}",
                t.id
            ));
        }
    }
    Ok(tests)
}

fn frames_and_encodings() -> Vec<Test> {
    let pv = ["PublishedValue", "HarnessCheck"];
    let eph: Vec<u8> = (0u8..32).collect();
    vec![
        test(
            "first-frame.ephemeral-0-to-31",
            "KAT-T4: header, 3-byte length 0x24, HandshakeMessage{clientHello{ephemeral 00..1f}}",
            &["RO-TRANSPORT-003", "RO-TRANSPORT-004", "RO-TRANSPORT-013"],
            &pv,
            Expected::Valid,
            KnownAnswer::FirstFrame {
                ephemeral: Bytes(eph.clone()),
                routing_info: None,
                frame: b("5741060300002412220a20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
            },
        ),
        test(
            "first-frame.edge-routing",
            "RO-TRANSPORT-020: routing info 01 02 03 gives 45440001 000003 010203 before the header",
            &["RO-TRANSPORT-020"],
            &pv,
            Expected::Valid,
            KnownAnswer::FirstFrame {
                ephemeral: Bytes(eph),
                routing_info: Some(b("010203")),
                frame: b("4544000100000301020357410603\
                          00002412220a20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
            },
        ),
        test(
            "nonce.counter-1",
            "RO-TRANSPORT-005: counter 1 gives 8 zero bytes then 00000001",
            &["RO-TRANSPORT-005"],
            &pv,
            Expected::Valid,
            KnownAnswer::Nonce {
                counter: 1,
                nonce: b("000000000000000000000001"),
            },
        ),
        test(
            "nonce.counter-max",
            "the last nonce before the counter would wrap (RO-TRANSPORT-019): 00x8 ffffffff",
            &["RO-TRANSPORT-005", "RO-TRANSPORT-019"],
            &["HarnessCheck"],
            Expected::Valid,
            KnownAnswer::Nonce {
                counter: u32::MAX,
                nonce: b("0000000000000000ffffffff"),
            },
        ),
        test(
            "client-payload.interop",
            "RO-TRANSPORT-009/025: product INTEROP is field 20 varint 2 (a0 01 02); interopData is field 38 \
             (b2 02) with accountID 1 and token 2",
            &["RO-TRANSPORT-009", "RO-TRANSPORT-025"],
            &pv,
            Expected::Valid,
            KnownAnswer::ClientPayload {
                product: 2,
                account_id: 1,
                token: "eyJ.x.y".into(),
                encoding: b("a00102b2020b0801120765794a2e782e79"),
            },
        ),
        test(
            "client-payload.interop-msgr",
            "INTEROP_MSGR (3) is a0 01 03 (Messenger's use of it is inferred)",
            &["RO-TRANSPORT-025"],
            &pv,
            Expected::Valid,
            KnownAnswer::ClientPayload {
                product: 3,
                account_id: 300,
                token: "t".into(),
                encoding: b("a00103b2020608ac02120174"),
            },
        ),
        test(
            "binary-xml.ro-example-header",
            "RO-TS 2.1.2 example header: LIST_8 of 12, `message`, to = JID_PAIR(NIBBLE_8 14155551001, \
             s.whatsapp.net)",
            &["RO-TRANSPORT-010"],
            &["PublishedValue", "Caveat", "HarnessCheck"],
            Expected::Valid,
            KnownAnswer::BinaryXmlHeader {
                bytes: b("f80c1311faff86141555510 01f03".replace(' ', "").as_str()),
                list_size: 12,
                tag: "message".into(),
                attributes: vec![Attribute {
                    name: "to".into(),
                    value: "14155551001@s.whatsapp.net".into(),
                }],
            },
        ),
    ]
}

pub(crate) fn generate() -> Result<Generated, String> {
    let groups = vec![
        Group {
            comment: "KAT-T1: initial hashes of the three handshake names with the WA 06 03 prologue".into(),
            tests: initial_hashes(),
        },
        Group {
            comment: "KAT-T2: the XX transcript of a live capture, and two tampered copies".into(),
            tests: transcripts(),
        },
        Group {
            comment: "KAT-T3: the real WhatsApp chain at pinned clocks, and mutations needing no key".into(),
            tests: real_chains(),
        },
        Group {
            comment: "chains under the suite's test root, one rule of RO-TRANSPORT-007 broken each".into(),
            tests: test_root_chains()?,
        },
        Group {
            comment: "KAT-T4 first frames, nonces, the interop ClientPayload and the binary-XML header".into(),
            tests: frames_and_encodings(),
        },
    ];
    let f = file(
        Family::NoiseKnownAnswer,
        "Known answers for the suite's own side of WhatsApp's Noise channel to chatd (later-phases.md §1.4, \
         KAT-T1..T4)",
        &NOTES,
        groups,
    );
    render("transport-known-answers.yaml", &f)
}
