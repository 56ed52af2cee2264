//! `noise_known_answer`: known answers for the suite's own side of WhatsApp's Noise channel
//! ([`crate::transport`]): initial hashes (KAT-T1), the XX transcript (KAT-T2), the real certificate chain at
//! pinned clocks and chains mutated one rule at a time (KAT-T3, RO-TRANSPORT-007), the first frame (KAT-T4),
//! nonces, the interop `ClientPayload` and the binary-XML header of the Reference Offer's example.
//!
//! These cases involve no provider: they pin the code that plays chatd to published data, and `vectors verify`
//! re-derives each with the separate code of [`verify`]. No profile lists the file (a profile lists
//! only what it tests of a provider); `cargo test` runs it (`tests::corpus_agrees_with_the_transport_code`).

pub mod generate;
pub mod verify;

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::Observation;
use crate::transport::cert::{self, ChainRule};
use crate::transport::{binxml, noise};
use crate::transport_wire::{ClientHello, ClientPayload, HandshakeMessage, InteropData};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};
use prost::Message;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

/// One named intermediate value of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Which value: `h` after prologue, e_c, e_s, static, cert; `ck` after ee, es; `static` and `cert`
    /// plaintexts.
    pub name: String,
    /// Its bytes.
    pub value: Bytes,
}

/// One attribute of a stanza header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// What is computed, with its inputs and expected outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KnownAnswer {
    /// `h0` of a protocol name and `h1 = SHA-256(h0 || prologue)`.
    InitialHash {
        /// Noise protocol name.
        protocol: String,
        /// Prologue bytes.
        prologue: Bytes,
        /// Expected `h0` (= `ck0`).
        h0: Bytes,
        /// Expected `h1`.
        h1: Bytes,
    },
    /// The client's side of an XX handshake through the ServerHello (KAT-T2).
    XxTranscript {
        /// Client ephemeral private key.
        client_ephemeral_private: Bytes,
        /// Server ephemeral public key.
        server_ephemeral: Bytes,
        /// `serverHello.static`.
        server_static_ciphertext: Bytes,
        /// `serverHello.payload`.
        server_payload_ciphertext: Bytes,
        /// Expected values in order (for `invalid`: those before the step that must fail).
        steps: Vec<Step>,
    },
    /// A `CertChain` judged against a root key, the server static key and a clock.
    CertChain {
        /// Root public key (Montgomery).
        root_key: Bytes,
        /// Serialized `CertChain`.
        chain: Bytes,
        /// The decrypted server static key.
        server_static: Bytes,
        /// The clock, Unix seconds.
        now: u64,
        /// For `invalid`: the first rule of RO-TRANSPORT-007 it breaks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        broken_rule: Option<ChainRule>,
    },
    /// The first client frame of an XX handshake.
    FirstFrame {
        /// Client ephemeral public key.
        ephemeral: Bytes,
        /// Edge-routing info, when the pre-intro is sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        routing_info: Option<Bytes>,
        /// Expected bytes on the wire.
        frame: Bytes,
    },
    /// The AES-GCM nonce for a counter.
    Nonce {
        /// Counter.
        counter: u32,
        /// Expected 12 bytes.
        nonce: Bytes,
    },
    /// The interop `ClientPayload`.
    ClientPayload {
        /// `product`.
        product: i32,
        /// `interopData.accountID`.
        account_id: u64,
        /// `interopData.token`.
        token: String,
        /// Expected protobuf bytes.
        encoding: Bytes,
    },
    /// The header of a binary-XML stanza.
    BinaryXmlHeader {
        /// The bytes (a prefix of a stanza).
        bytes: Bytes,
        /// Expected list size.
        list_size: u32,
        /// Expected tag.
        tag: String,
        /// Expected attributes, in order.
        attributes: Vec<Attribute>,
    },
}

vector_test! {
    /// One known answer.
    pub struct Test {
        /// What is computed.
        pub known_answer: KnownAnswer,
    }
}

/// Inputs and expectation of one case.
pub type Check = KnownAnswer;

pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            let key = format!("groups[{g}].tests[{t}]");
            let invalid_ok = matches!(
                test.known_answer,
                KnownAnswer::XxTranscript { .. } | KnownAnswer::CertChain { .. }
            );
            let rule = matches!(
                test.known_answer,
                KnownAnswer::CertChain {
                    broken_rule: Some(_),
                    ..
                }
            );
            let bad = match test.expected {
                Expected::Valid => rule,
                Expected::Invalid => {
                    !invalid_ok || (matches!(test.known_answer, KnownAnswer::CertChain { .. }) && !rule)
                }
                Expected::Acceptable => true,
            };
            if bad {
                return Err((
                    key,
                    format!(
                        "test `{}`: only transcripts and chains may be invalid, an invalid chain names its \
                         `broken_rule`, a valid one none, and nothing is acceptable",
                        test.id
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| (t.meta(), super::Check::NoiseKnownAnswer(t.known_answer.clone())))
        .collect()
}

pub(super) async fn run(meta: &TestMeta, check: &Check, _ctx: &CaseContext<'_>) -> Observation {
    judge(meta.expected, check)
}

fn key32(b: &Bytes) -> [u8; 32] {
    let mut k = [0u8; 32];
    if b.len() == 32 {
        k.copy_from_slice(b);
    }
    k
}

/// The transport code's answer, as named values.
fn compute(check: &Check) -> Result<Vec<(String, String)>, String> {
    fn hex(b: impl AsRef<[u8]>) -> String {
        hex::encode(b)
    }
    match check {
        KnownAnswer::InitialHash { protocol, prologue, .. } => {
            let s = noise::SymmetricState::new(protocol, prologue);
            Ok(vec![
                ("h0".into(), hex(noise::initial_hash(protocol))),
                ("h1".into(), hex(s.h)),
            ])
        }
        KnownAnswer::XxTranscript {
            client_ephemeral_private,
            server_ephemeral,
            server_static_ciphertext,
            server_payload_ciphertext,
            ..
        } => {
            let mut out = Vec::new();
            let e = key32(client_ephemeral_private);
            let es = key32(server_ephemeral);
            let mut s = noise::SymmetricState::new(noise::XX, &noise::CONN_HEADER);
            out.push(("h prologue".into(), hex(s.h)));
            s.mix_hash(&noise::public_key(&e));
            out.push(("h e_c".into(), hex(s.h)));
            s.mix_hash(&es);
            out.push(("h e_s".into(), hex(s.h)));
            s.mix_key(&noise::dh(&e, &es));
            out.push(("ck ee".into(), hex(s.ck)));
            let stat = s
                .decrypt_and_hash(server_static_ciphertext)
                .map_err(|e| format!("static: {e}"))?;
            out.push(("static".into(), hex(&stat)));
            out.push(("h static".into(), hex(s.h)));
            s.mix_key(&noise::dh(&e, &key32(&Bytes(stat))));
            out.push(("ck es".into(), hex(s.ck)));
            let cert = s
                .decrypt_and_hash(server_payload_ciphertext)
                .map_err(|e| format!("cert: {e}"))?;
            out.push(("cert".into(), hex(&cert)));
            out.push(("h cert".into(), hex(s.h)));
            Ok(out)
        }
        KnownAnswer::CertChain {
            root_key,
            chain,
            server_static,
            now,
            ..
        } => cert::check_chain(root_key, chain, server_static, *now)
            .map(|()| vec![("chain".into(), "accepted".into())])
            .map_err(|f| format!("{:?}: {}", f.rule, f.detail)),
        KnownAnswer::FirstFrame {
            ephemeral,
            routing_info,
            ..
        } => {
            let hello = HandshakeMessage {
                client_hello: Some(ClientHello {
                    ephemeral: Some(ephemeral.0.clone()),
                    ..ClientHello::default()
                }),
                ..HandshakeMessage::default()
            };
            let frame = noise::first_frame(routing_info.as_ref().map(|b| b.as_slice()), &hello.encode_to_vec())
                .map_err(|e| e.to_string())?;
            Ok(vec![("frame".into(), hex(frame))])
        }
        KnownAnswer::Nonce { counter, .. } => Ok(vec![("nonce".into(), hex(noise::nonce(*counter)))]),
        KnownAnswer::ClientPayload {
            product,
            account_id,
            token,
            ..
        } => {
            let payload = ClientPayload {
                product: Some(*product),
                interop_data: Some(InteropData {
                    account_id: Some(*account_id),
                    token: Some(token.as_bytes().to_vec()),
                    enable_read_receipts: None,
                }),
                ..ClientPayload::default()
            };
            Ok(vec![("encoding".into(), hex(payload.encode_to_vec()))])
        }
        KnownAnswer::BinaryXmlHeader { bytes, .. } => {
            let h = binxml::decode_header(bytes)?;
            let mut out = vec![("list_size".into(), h.list_size.to_string()), ("tag".into(), h.tag)];
            out.extend(h.attributes);
            Ok(out)
        }
    }
}

/// The values a case expects, named as [`compute`] names them.
pub fn expected_values(check: &Check) -> Vec<(String, String)> {
    match check {
        KnownAnswer::InitialHash { h0, h1, .. } => vec![("h0".into(), h0.to_hex()), ("h1".into(), h1.to_hex())],
        KnownAnswer::XxTranscript { steps, .. } => steps.iter().map(|s| (s.name.clone(), s.value.to_hex())).collect(),
        KnownAnswer::CertChain { broken_rule, .. } => match broken_rule {
            None => vec![("chain".into(), "accepted".into())],
            Some(_) => Vec::new(),
        },
        KnownAnswer::FirstFrame { frame, .. } => vec![("frame".into(), frame.to_hex())],
        KnownAnswer::Nonce { nonce, .. } => vec![("nonce".into(), nonce.to_hex())],
        KnownAnswer::ClientPayload { encoding, .. } => vec![("encoding".into(), encoding.to_hex())],
        KnownAnswer::BinaryXmlHeader {
            list_size,
            tag,
            attributes,
            ..
        } => {
            let mut out = vec![("list_size".into(), list_size.to_string()), ("tag".into(), tag.clone())];
            out.extend(attributes.iter().map(|a| (a.name.clone(), a.value.clone())));
            out
        }
    }
}

/// The transport code's verdict on one case against the vector.
pub fn judge(expected: Expected, check: &Check) -> Observation {
    let want = expected_values(check);
    let render = |v: &[(String, String)]| v.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
    match (expected, compute(check)) {
        (Expected::Valid, Ok(got)) if got == want => Observation::pass(render(&want), render(&got)),
        (Expected::Invalid, Err(why)) => {
            let rule_ok = match check {
                KnownAnswer::CertChain {
                    broken_rule: Some(rule),
                    ..
                } => why.starts_with(&format!("{rule:?}:")),
                _ => true,
            };
            let expected_text = format!("rejected after {}", render(&want));
            if rule_ok {
                Observation::pass(expected_text, why)
            } else {
                Observation::fail(expected_text, why)
            }
        }
        (_, Ok(got)) => Observation::fail(render(&want), render(&got)),
        (_, Err(why)) => Observation::fail(render(&want), why),
    }
}

#[cfg(test)]
mod tests {
    use crate::family::Check;
    use crate::outcome::Outcome;
    use crate::plan::data_dir;
    use crate::requirements::Profile;

    /// Every case of `vectors/transport-known-answers.yaml` is answered by the transport code as its vector says.
    #[test]
    fn corpus_agrees_with_the_transport_code() {
        let profile = Profile::load(&data_dir("suites"), crate::plan::DEFAULT_PROFILE).expect("profile");
        let file = crate::vector::load_file(&data_dir("vectors").join("transport-known-answers.yaml"), &profile)
            .expect("transport-known-answers.yaml loads");
        assert!(file.cases.len() >= 20, "the corpus has its cases");
        for case in &file.cases {
            let Check::NoiseKnownAnswer(check) = &case.check else {
                panic!("{}: wrong family", case.meta.id);
            };
            let o = super::judge(case.meta.expected, check);
            assert_eq!(o.outcome, Outcome::Pass, "{}: {o:?}", case.meta.id);
        }
    }
}
