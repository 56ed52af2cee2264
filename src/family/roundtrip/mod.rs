//! `session_roundtrip`: a live 1:1 exchange between the provider and the harness's reference peer.
//!
//! The initiator fetches the other side's bundle (with or without its one-time prekey) and starts the session;
//! then the listed messages flow in order, and each must decrypt exactly to its plaintext on the other side.
//! The provider's first message after receiving one must be a `msg` (RO-ENC-004).
//!
//! State limits (RO-ENC-015B) need old state: a message may be held back under a label and delivered after the
//! exchange (`late`), by which time the receiver may have dropped the chain or the session it belongs to; and a
//! sender may start a new session mid-exchange (`new_session`), which archives the receiver's current one.

pub mod generate;

use super::CaseContext;
use super::session::SETUP;
use crate::bytes::Bytes;
use crate::monitor::{Finding, Monitor};
use crate::outcome::{Observation, Steps, judge};
use crate::provider::{CallError, Ciphertext, CiphertextKind, ClientId, CreateClient, ErrorClass, Provider};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

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
        /// Held messages, delivered after the exchange in this order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub late: Vec<Late>,
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
    /// Before this message, the sender starts a new session from the other side's bundle without its one-time
    /// prekey (as after a reinstall); the receiver archives its current session.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_session: bool,
    /// Encrypt now, but hold the message back under this label for `late` to deliver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
}

/// The late delivery of one held message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Late {
    /// Why it is delivered now, and what the receiver should still hold.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The label the message was held under.
    pub hold: String,
    /// valid: decrypts to its plaintext; invalid: rejected (the state it needed is gone); acceptable: either.
    pub expected: Expected,
    /// Accepted rejection classes (any, when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorClass>,
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
    /// Late deliveries.
    pub late: Vec<Late>,
}

pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            let key = format!("groups[{g}].tests[{t}]");
            let summary = Expected::summarise(test.late.iter().map(|l| l.expected));
            if test.expected != summary {
                return Err((
                    format!("{key}.expected"),
                    format!("test `{}`: its late deliveries make it `{}`", test.id, summary.as_str()),
                ));
            }
            let mut held = std::collections::BTreeSet::new();
            for (m, message) in test.exchange.iter().enumerate() {
                if let Some(label) = &message.hold
                    && !held.insert(label.as_str())
                {
                    return Err((
                        format!("{key}.exchange[{m}].hold"),
                        format!("label `{label}` is held twice"),
                    ));
                }
            }
            for (l, late) in test.late.iter().enumerate() {
                if !held.remove(late.hold.as_str()) {
                    return Err((
                        format!("{key}.late[{l}].hold"),
                        format!("no message is held as `{}` (or it is delivered twice)", late.hold),
                    ));
                }
            }
            if let Some(label) = held.first() {
                return Err((
                    format!("{key}.late"),
                    format!("held message `{label}` is never delivered"),
                ));
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
                late: t.late.clone(),
            };
            // The wire monitor judges what the provider sends in every exchange, each rule under its own requirement.
            let mut meta = t.meta();
            for id in crate::monitor::requirements() {
                if !meta.requirements.contains(&id) {
                    meta.requirements.push(id);
                }
            }
            (meta, super::Check::Roundtrip(check))
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

/// The requirement late deliveries check (state limits).
const LIMITS: &str = "RO-ENC-015B";

/// Turn a call error at a step into the case's end, blamed on what the step checks; a rejection by the
/// harness peer blames the provider's output.
fn failed(steps: &mut Steps, step: &str, checks: &[&str], expected: &str, error: &CallError) -> Observation {
    let o = Observation::from_call_error(expected, error);
    steps.step(step, checks, o).unwrap_or_default()
}

/// A wire-monitor finding ends the case as a failure of the rule's own requirement.
fn monitored(steps: &mut Steps, finding: &Finding) -> Observation {
    steps
        .step(&finding.step, finding.rule.checks(), finding.observation())
        .unwrap_or_default()
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let mut steps = Steps::new(&meta.requirements);
    let s = &mut steps;
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
        Err(e) => return failed(s, "create_client", &[SETUP], "client created", &e),
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
    let mut monitor = ctx.monitor.map(Monitor::new);
    if check.initiator == Party::Provider
        && let Some(m) = monitor.as_mut()
    {
        // The monitor needs what the provider published (identity, registration id) to judge its pkmsgs.
        match provider.provider.prekey_bundle(&provider.client).await {
            Ok(b) => m.provider_bundle(PROVIDER_NAME, &b, "provider prekey_bundle (for the wire monitor)"),
            Err(e) => return failed(s, "provider prekey_bundle", &[SETUP], "bundle published", &e),
        }
    }
    let mut bundle = match responder.provider.prekey_bundle(&responder.client).await {
        Ok(b) => b,
        Err(e) => {
            return failed(
                s,
                &format!("{} prekey_bundle", responder.name),
                &[SETUP],
                "bundle published",
                &e,
            );
        }
    };
    if let Some(m) = monitor.as_mut()
        && check.initiator == Party::Peer
    {
        m.provider_bundle(PROVIDER_NAME, &bundle, "provider prekey_bundle");
    }
    if !check.one_time_prekey {
        bundle.prekey = None;
        bundle.prekey_id = None;
    }
    if let Some(m) = monitor.as_mut() {
        match check.initiator {
            Party::Provider => m.provider_starts(&bundle),
            Party::Peer => m.peer_starts(&bundle),
        }
    }
    if let Err(e) = initiator
        .provider
        .process_bundle(&initiator.client, responder.name, &bundle)
        .await
    {
        return failed(
            s,
            &format!("{} process_bundle", initiator.name),
            &[SETUP],
            "bundle accepted",
            &e,
        );
    }
    if let Some(f) = monitor.as_mut().and_then(Monitor::take_finding) {
        return monitored(s, &f);
    }
    let mut provider_has_received = false;
    let mut held: Vec<(&str, Party, &Message, Ciphertext)> = Vec::new();
    for (i, message) in check.exchange.iter().enumerate() {
        let (from, to) = match message.from {
            Party::Provider => (&provider, &peer),
            Party::Peer => (&peer, &provider),
        };
        let step = format!("message {} ({} -> {})", i + 1, from.name, to.name);
        // The first message creates the session at its receiver: session setup. Later ones check the case.
        let checks: &[&str] = if i == 0 { &[SETUP] } else { &[] };
        if message.new_session {
            let mut fresh = match to.provider.prekey_bundle(&to.client).await {
                Ok(b) => b,
                Err(e) => {
                    return failed(
                        s,
                        &format!("{step}: {} prekey_bundle", to.name),
                        &[],
                        "bundle published",
                        &e,
                    );
                }
            };
            if let (Party::Peer, Some(m)) = (message.from, monitor.as_mut()) {
                m.provider_bundle(PROVIDER_NAME, &fresh, &format!("{step}: provider prekey_bundle"));
            }
            fresh.prekey = None;
            fresh.prekey_id = None;
            if let Some(m) = monitor.as_mut() {
                match message.from {
                    Party::Provider => m.provider_starts(&fresh),
                    Party::Peer => m.peer_starts(&fresh),
                }
                if let Some(f) = m.take_finding() {
                    return monitored(s, &f);
                }
            }
            if let Err(e) = from.provider.process_bundle(&from.client, from.other, &fresh).await {
                return failed(s, &format!("{step}: new session"), &[], "bundle accepted", &e);
            }
            if message.from == Party::Provider {
                provider_has_received = false;
            }
        }
        let ciphertext = match from
            .provider
            .encrypt(&from.client, from.other, &message.plaintext)
            .await
        {
            Ok(c) => c,
            Err(e) => return failed(s, &step, checks, "encrypt succeeds", &e),
        };
        if message.from == Party::Provider
            && let Some(m) = monitor.as_mut()
        {
            m.provider_sent(&ciphertext, &message.plaintext, &step);
            if let Some(f) = m.take_finding() {
                return monitored(s, &f);
            }
        }
        if message.from == Party::Provider && provider_has_received && ciphertext.kind != CiphertextKind::Msg {
            let o = Observation::fail("msg once a message was received", format!("{:?}", ciphertext.kind));
            return s.step(&step, &[SETUP], o).unwrap_or_default();
        }
        if let Some(label) = &message.hold {
            held.push((label, message.from, message, ciphertext));
            continue;
        }
        let want = format!("plaintext {}", message.plaintext);
        let o = match to.provider.decrypt(&to.client, to.other, &ciphertext).await {
            Ok(p) if p == message.plaintext.0 => Observation::pass(want, "decrypted"),
            Ok(p) => Observation::fail(want, format!("plaintext {}", hex::encode(p))),
            Err(e) => Observation::from_call_error(want, &e),
        };
        if let Some(failed) = s.step(&step, checks, o) {
            return failed;
        }
        if message.from == Party::Peer {
            provider_has_received = true;
            if let Some(m) = monitor.as_mut() {
                m.provider_received(&ciphertext);
            }
        }
    }
    for late in &check.late {
        let Some((_, sender, message, ciphertext)) = held.iter().find(|(label, ..)| *label == late.hold) else {
            let o = Observation::fail(format!("held message `{}`", late.hold), "no such message");
            return s.step("late", &[LIMITS], o).unwrap_or_default();
        };
        let to = match sender {
            Party::Provider => &peer,
            Party::Peer => &provider,
        };
        let result = to.provider.decrypt(&to.client, to.other, ciphertext).await;
        if let (Party::Peer, Ok(_), Some(m)) = (sender, &result, monitor.as_mut()) {
            m.provider_received(ciphertext);
        }
        let observation = judge(
            late.expected,
            &format!("plaintext {}", message.plaintext),
            &late.errors,
            &result,
            |p: &Vec<u8>| format!("plaintext {}", hex::encode(p)),
            |p| *p == message.plaintext.0,
        );
        if let Some(failed) = s.step(
            &format!("late delivery of `{}` to {}", late.hold, to.name),
            &[LIMITS],
            observation,
        ) {
            return failed;
        }
    }
    let judged = monitor
        .as_ref()
        .map(|m| format!("; {}", m.summary()))
        .unwrap_or_default();
    if !check.late.is_empty() {
        return steps.pass(
            format!(
                "{} messages decrypt; {} late deliveries as expected",
                check.exchange.len() - held.len(),
                held.len()
            ),
            format!("{} late deliveries as expected{judged}", check.late.len()),
        );
    }
    steps.pass(
        format!("{} messages decrypt exactly once", check.exchange.len()),
        format!("{} messages decrypted{judged}", check.exchange.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Family, parse};
    use std::path::Path;

    const HEADER: &str = "schema_version: 1\nfamily: session_roundtrip\ndescription: d\ngroups:\n- tests:\n  - id: t\n    requirements: [RO-ENC-015B]\n";

    fn error(body: &str) -> String {
        match parse(
            Family::SessionRoundtrip,
            Path::new("t.yaml"),
            &format!("{HEADER}{body}"),
        ) {
            Ok(_) => panic!("accepted:\n{body}"),
            Err(e) => e.to_string(),
        }
    }

    const EXCHANGE: &str = "    initiator: peer\n    one_time_prekey: false\n    exchange:\n    - {from: peer, plaintext: '00'}\n    - {from: peer, plaintext: '01', hold: a}\n";

    #[test]
    fn held_messages_must_be_delivered_exactly_once() {
        let never = error(&format!("    expected: valid\n{EXCHANGE}"));
        assert!(never.contains("held message `a` is never delivered"), "{never}");
        let unknown = error(&format!(
            "    expected: valid\n{EXCHANGE}    late:\n    - {{hold: a, expected: valid}}\n    - {{hold: b, expected: valid}}\n"
        ));
        assert!(unknown.contains("late[1].hold") && unknown.contains("`b`"), "{unknown}");
    }

    #[test]
    fn the_test_expectation_summarises_the_late_deliveries() {
        let e = error(&format!(
            "    expected: valid\n{EXCHANGE}    late:\n    - {{hold: a, expected: invalid}}\n"
        ));
        assert!(e.contains("expected") && e.contains("`invalid`"), "{e}");
        let ok = format!("{HEADER}    expected: invalid\n{EXCHANGE}    late:\n    - {{hold: a, expected: invalid}}\n");
        assert!(parse(Family::SessionRoundtrip, Path::new("t.yaml"), &ok).is_ok());
    }
}
