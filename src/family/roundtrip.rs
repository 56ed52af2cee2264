//! `session_roundtrip`: a live 1:1 exchange between the provider and the harness's reference peer.
//!
//! The initiator fetches the other side's bundle (with or without its one-time prekey) and starts the session;
//! then the listed messages flow in order, and each must decrypt exactly to its plaintext on the other side.
//! The provider's first message after receiving one must be a `msg` (RO-ENC-004).

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::Observation;
use crate::provider::{CallError, CiphertextKind, ClientId, CreateClient, Provider};
use crate::vector::{Expected, TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tests sharing a theme.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The theme.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The tests.
    pub tests: Vec<Test>,
}

/// One side of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The harness's reference peer.
    Peer,
    /// The implementation under test.
    Provider,
}

vector_test! {
    /// One exchange.
    pub struct Test {
        /// Who fetches the other's bundle and sends first.
        pub initiator: Party,
        /// Whether the initiator uses the responder's one-time prekey (4-DH) or not (3-DH).
        pub one_time_prekey: bool,
        /// The messages, in delivery order.
        pub exchange: Vec<Message>,
    }
}

/// One message of the exchange.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Who sends it.
    pub from: Party,
    /// What it says.
    pub plaintext: Bytes,
}

/// Inputs of one exchange.
#[derive(Debug, Clone)]
pub struct Check {
    /// Initiator.
    pub initiator: Party,
    /// Use the one-time prekey.
    pub one_time_prekey: bool,
    /// Messages.
    pub exchange: Vec<Message>,
}

pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            let key = format!("groups[{g}].tests[{t}]");
            if test.expected != Expected::Valid {
                return Err((format!("{key}.expected"), "a round trip is always `valid`".into()));
            }
            match test.exchange.first() {
                None => return Err((format!("{key}.exchange"), format!("test `{}` sends nothing", test.id))),
                Some(m) if m.from != test.initiator => {
                    return Err((
                        format!("{key}.exchange[0].from"),
                        format!("test `{}`: the initiator sends first", test.id),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                initiator: t.initiator,
                one_time_prekey: t.one_time_prekey,
                exchange: t.exchange.clone(),
            };
            (t.meta(), super::Check::Roundtrip(check))
        })
        .collect()
}

const PROVIDER_NAME: &str = "provider";
const PEER_NAME: &str = "peer";

struct Side<'a> {
    provider: &'a dyn Provider,
    client: ClientId,
    name: &'static str,
    other: &'static str,
}

/// Turn a call error into an observation; a rejection by the harness peer blames the provider's output.
fn failed(step: &str, expected: &str, error: &CallError) -> Observation {
    Observation::from_call_error(expected, error).at_step(step)
}

pub(super) async fn run(_meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let provider_client = CreateClient {
        name: PROVIDER_NAME.into(),
        seed: Some(ctx.seed),
        keys: None,
    };
    let peer_client = CreateClient {
        name: PEER_NAME.into(),
        seed: Some(ctx.seed ^ 0x5eed),
        keys: None,
    };
    let provider = match ctx.provider.create_client(&provider_client).await {
        Ok(c) => Side {
            provider: ctx.provider,
            client: c,
            name: PROVIDER_NAME,
            other: PEER_NAME,
        },
        Err(e) => return failed("create_client", "client created", &e),
    };
    let peer = match ctx.peer.create_client(&peer_client).await {
        Ok(c) => Side {
            provider: ctx.peer,
            client: c,
            name: PEER_NAME,
            other: PROVIDER_NAME,
        },
        Err(e) => return Observation::from_call_error("harness peer created", &e).at_step("harness"),
    };
    let (initiator, responder) = match check.initiator {
        Party::Provider => (&provider, &peer),
        Party::Peer => (&peer, &provider),
    };
    let mut bundle = match responder.provider.prekey_bundle(&responder.client).await {
        Ok(b) => b,
        Err(e) => return failed(&format!("{} prekey_bundle", responder.name), "bundle published", &e),
    };
    if !check.one_time_prekey {
        bundle.prekey = None;
        bundle.prekey_id = None;
    }
    if let Err(e) = initiator
        .provider
        .process_bundle(&initiator.client, responder.name, &bundle)
        .await
    {
        return failed(&format!("{} process_bundle", initiator.name), "bundle accepted", &e);
    }
    let mut provider_has_received = false;
    for (i, message) in check.exchange.iter().enumerate() {
        let (from, to) = match message.from {
            Party::Provider => (&provider, &peer),
            Party::Peer => (&peer, &provider),
        };
        let step = format!("message {} ({} -> {})", i + 1, from.name, to.name);
        let ciphertext = match from
            .provider
            .encrypt(&from.client, from.other, &message.plaintext)
            .await
        {
            Ok(c) => c,
            Err(e) => return failed(&step, "encrypt succeeds", &e),
        };
        if message.from == Party::Provider && provider_has_received && ciphertext.kind != CiphertextKind::Msg {
            return Observation::fail("msg once a message was received", format!("{:?}", ciphertext.kind))
                .at_step(&step);
        }
        match to.provider.decrypt(&to.client, to.other, &ciphertext).await {
            Ok(p) if p == message.plaintext.0 => {}
            Ok(p) => {
                return Observation::fail(
                    format!("plaintext {}", message.plaintext),
                    format!("plaintext {}", hex::encode(p)),
                )
                .at_step(&step);
            }
            Err(e) => return failed(&step, &format!("plaintext {}", message.plaintext), &e),
        }
        if message.from == Party::Peer {
            provider_has_received = true;
        }
    }
    Observation::pass(
        format!("{} messages decrypt exactly once", check.exchange.len()),
        format!("{} messages decrypted", check.exchange.len()),
    )
}
