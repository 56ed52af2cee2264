//! `sender_keys`: group messaging with Sender Keys (the groups profile, RO-SIG-004 and RO-GROUP-*), all in this
//! folder:
//! - [`format`]: the YAML shape (a leaf, read by the three others);
//! - this module: the check against a provider (`group_*` calls of the optional `groups` capability);
//! - [`generate`]: the vector generator (fixed seeds; signs with the reference library);
//! - [`verify`]: the suite's own receiver (RustCrypto/dalek, hand-written protobuf), which imports nothing from
//!   the generator or the reference. It recomputes every expected value (`conformance vectors verify`) and judges
//!   what the provider sends at run time.
//!
//! Three kinds of case:
//! - `receive`: fixed SKDMs and SenderKeyMessages delivered in order, each step with the plaintext it must give or
//!   the refusal it must meet, and the requirement it checks;
//! - `send`: a script of `sender_key` (with the group's members now) and `encrypt` calls; the harness parses every
//!   SKDM and skmsg with [`verify`], opens each skmsg with its own receiver, checks that keys are fresh and that a
//!   member's departure rotates the key before the next message, which the departed member's state must not open;
//! - `members`: several members played by the harness's reference peer send to the provider; the schedule
//!   (order, loss, duplicates, one member's rotation) is drawn from the case seed.
//!
//! A provider without the `groups` capability answers `unsupported`: every case here is then unsupported, never
//! pass.

pub mod format;
pub mod generate;
mod schedule;
pub mod verify;

pub use format::{Action, ActionKind, Group, Operation, Step, Test};

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::{Observation, Steps, judge};
use crate::provider::{
    CallError, CallResult, ClientId, CreateClient, GroupDecrypt, GroupEncrypt, GroupProcessSkdm, GroupSenderKey,
    Provider,
};
use crate::vector_format::{Expected, TestMeta, VectorFile};
use std::collections::{BTreeSet, HashMap};
use verify::{Receiver, Skdm};

/// One case's inputs: its group and the test.
#[derive(Debug, Clone)]
pub struct Check {
    /// The group id.
    pub group: String,
    /// The test as written.
    pub test: Test,
}

/// Every case has what its operation needs, and every step names what it checks.
pub(in crate::family) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            let key = format!("groups[{g}].tests[{t}]");
            let missing = match test.operation {
                Operation::Receive if test.steps.is_empty() => Some("steps"),
                Operation::Send if test.script.is_empty() => Some("script"),
                Operation::Members if test.members.is_none_or(|n| n < 2) => Some("members (at least 2)"),
                Operation::Members if test.messages.is_none_or(|n| n < 2) => Some("messages (at least 2)"),
                _ => None,
            };
            if let Some(field) = missing {
                return Err((format!("{key}.{field}"), format!("test `{}` needs `{field}`", test.id)));
            }
            for (s, step) in test.steps.iter().enumerate() {
                let at = format!("{key}.steps[{s}]");
                if step.skdm.is_some() == step.skmsg.is_some() {
                    return Err((
                        at,
                        format!("test `{}`: a step has exactly one of skdm and skmsg", test.id),
                    ));
                }
                if let Some(r) = step.checks.iter().find(|r| !test.requirements.contains(r)) {
                    return Err((
                        format!("{at}.checks"),
                        format!("test `{}`: step checks {r}, which the test does not list", test.id),
                    ));
                }
                if step.checks.is_empty() {
                    return Err((
                        format!("{at}.checks"),
                        format!("test `{}`: a step names no requirement", test.id),
                    ));
                }
            }
        }
    }
    Ok(())
}

pub(in crate::family) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                group: group.group.clone(),
                test: t.clone(),
            };
            (t.meta(), super::Check::SenderKeys(check))
        })
        .collect()
}

/// `?`-friendly [`Steps`] (step blame: a failing step is charged to the requirements it checks, and the case's
/// requirements no step reached are blocked): `check` goes on or ends the case; `stop` ends it with an
/// observation known not to pass.
trait StepsExt {
    fn check(&mut self, label: &str, checks: &[&str], observation: Observation) -> Result<(), Observation>;
    fn stop(&mut self, label: &str, checks: &[&str], observation: Observation) -> Observation;
}

impl StepsExt for Steps {
    fn check(&mut self, label: &str, checks: &[&str], observation: Observation) -> Result<(), Observation> {
        let checks = whole_case_if_untested(checks, &observation);
        self.step(label, checks, observation).map_or(Ok(()), Err)
    }

    fn stop(&mut self, label: &str, checks: &[&str], observation: Observation) -> Observation {
        let checks = whole_case_if_untested(checks, &observation);
        self.step(label, checks, observation.clone()).unwrap_or(observation)
    }
}

/// An unsupported operation or an error leaves the whole case untested (every requirement unsupported or in
/// error, none blocked), as a single-step case would: only a behaviour is charged to one step's requirements.
fn whole_case_if_untested<'a>(checks: &'a [&'a str], observation: &Observation) -> &'a [&'a str] {
    use crate::outcome::Outcome;
    if matches!(observation.outcome, Outcome::Unsupported | Outcome::Error) {
        &[]
    } else {
        checks
    }
}

/// A check the harness makes itself (no call): pass, or fail with expected and observed.
fn holds(ok: bool, expected: impl Into<String>, observed: impl Into<String>) -> Observation {
    if ok {
        Observation::pass(expected, observed)
    } else {
        Observation::fail(expected, observed)
    }
}

async fn new_client(provider: &dyn Provider, name: &str, seed: u64) -> CallResult<ClientId> {
    provider
        .create_client(&CreateClient {
            name: name.into(),
            seed: Some(seed),
            keys: None,
        })
        .await
}

/// Run one case.
pub async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let result = match check.test.operation {
        Operation::Receive => receive(meta, check, ctx).await,
        Operation::Send => send(meta, check, ctx).await,
        Operation::Members => return members(meta, check, ctx).await,
        Operation::Pairwise => pairwise(meta, check, ctx).await,
    };
    match result {
        Ok(steps) => steps.pass(
            format!("{}: every step as the vector says", meta.id),
            "every step as expected",
        ),
        Err(observation) => observation,
    }
}

/// The provider's client for the case; its name is what senders address.
const PROVIDER: &str = "provider";

async fn receive(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Result<Steps, Observation> {
    let mut steps = Steps::new(&meta.requirements);
    let client = match new_client(ctx.provider, PROVIDER, ctx.seed).await {
        Ok(c) => c,
        Err(e) => return Err(steps.stop("create client", &[], Observation::from_call_error("a client", &e))),
    };
    let total = check.test.steps.len();
    for (i, step) in check.test.steps.iter().enumerate() {
        let what = if step.comment.is_empty() {
            if step.skdm.is_some() { "SKDM" } else { "skmsg" }
        } else {
            step.comment.as_str()
        };
        let label = format!("step {} of {total} ({what})", i + 1);
        let observation = match (&step.skdm, &step.skmsg) {
            (Some(skdm), _) => {
                let request = GroupProcessSkdm {
                    client: client.clone(),
                    group: check.group.clone(),
                    sender: step.sender.clone(),
                    skdm: skdm.clone(),
                    carrier: None,
                };
                let result = ctx.provider.group_process_skdm(&request).await;
                judge(
                    step.expected,
                    "installed",
                    &step.errors,
                    &result,
                    |_| "installed".into(),
                    |_| true,
                )
            }
            (None, Some(skmsg)) => {
                let request = GroupDecrypt {
                    client: client.clone(),
                    group: check.group.clone(),
                    sender: step.sender.clone(),
                    skmsg: skmsg.clone(),
                };
                let result = ctx.provider.group_decrypt(&request).await;
                let want = step.plaintext.clone().unwrap_or_default();
                judge(
                    step.expected,
                    &format!("plaintext {}", want.to_hex()),
                    &step.errors,
                    &result,
                    |p| format!("plaintext {}", hex::encode(p)),
                    |p| *p == want.0,
                )
            }
            (None, None) => Observation::fail("a step with skdm or skmsg", "neither"),
        };
        let checks: Vec<&str> = step.checks.iter().map(String::as_str).collect();
        steps.check(&label, &checks, observation)?;
    }
    Ok(steps)
}

/// What the harness knows about the provider's sender key in one group.
#[derive(Default)]
struct Sending {
    /// Members that received the current key.
    holders: BTreeSet<String>,
    /// The current key, as its SKDM said.
    current: Option<Skdm>,
    /// Whether a member left since the last SKDM's key was first distributed (the next message must use a new key).
    rotated: bool,
    /// The smallest iteration the next message may carry.
    next_iteration: u32,
    /// The group's members' receiver (every member holds the same states).
    receiver: Receiver,
    /// Members that left, with the receiver state they kept.
    departed: Vec<(String, Receiver)>,
}

/// Requirement ids the send checks charge.
mod req {
    pub const SKDM: &str = "RO-GROUP-002";
    pub const KEYS: &str = "RO-GROUP-003";
    pub const SKMSG: &str = "RO-GROUP-004";
    pub const REKEY: &str = "RO-GROUP-006";
    pub const JOIN: &str = "RO-GROUP-015";
    pub const CARRIED: &str = "RO-GROUP-009";
    pub const GENERATION: &str = "RO-GROUP-008";
    pub const SIGNATURE: &str = "RO-SIG-004";
    pub const WIRE: &str = "RO-GROUP-019";
}

/// Whether bytes that are not a WhatsApp sender-key message read as upstream Signal's format (field 1 a 16-byte
/// distribution UUID), which blames RO-GROUP-019 rather than the format requirement.
fn upstream_format(bytes: &[u8]) -> bool {
    let body = bytes.get(1..).unwrap_or_default();
    let skmsg_body = &body[..body.len().saturating_sub(verify::SIGNATURE_LEN)];
    [body, skmsg_body].iter().any(|b| {
        <crate::wire::UpstreamSenderKeyMessage as prost::Message>::decode(*b)
            .is_ok_and(|u| u.distribution_uuid.is_some_and(|d| d.len() == 16))
    })
}

async fn send(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Result<Steps, Observation> {
    let mut steps = Steps::new(&meta.requirements);
    let client = match new_client(ctx.provider, PROVIDER, ctx.seed).await {
        Ok(c) => c,
        Err(e) => return Err(steps.stop("create client", &[], Observation::from_call_error("a client", &e))),
    };
    let mut groups: HashMap<String, Sending> = HashMap::new();
    // Every key the provider distributed in this case: (group, skdm).
    let mut keys: Vec<(String, Skdm)> = Vec::new();
    let total = check.test.script.len();
    for (i, action) in check.test.script.iter().enumerate() {
        let group = action.group.clone().unwrap_or_else(|| check.group.clone());
        let st = groups.entry(group.clone()).or_default();
        match action.action {
            ActionKind::SenderKey => {
                let label = format!(
                    "step {} of {total} (sender key for {group}, members [{}])",
                    i + 1,
                    action.members.join(", ")
                );
                let request = GroupSenderKey {
                    client: client.clone(),
                    group: group.clone(),
                    members: action.members.clone(),
                };
                let bytes = call(
                    &mut steps,
                    &label,
                    req::SKDM,
                    ctx.provider.group_sender_key(&request).await,
                )?;
                let skdm = match verify::parse_skdm(&bytes) {
                    Ok(s) => s,
                    Err(r) => {
                        let blame = if upstream_format(&bytes) { req::WIRE } else { req::SKDM };
                        let o = Observation::fail("a WhatsApp SKDM", format!("{r}: {}", hex::encode(&bytes)));
                        return Err(steps.stop(&label, &[blame], o));
                    }
                };
                let members: BTreeSet<String> = action.members.iter().cloned().collect();
                let left: Vec<String> = st.holders.difference(&members).cloned().collect();
                let fresh = match &st.current {
                    None => {
                        let o = holds(
                            skdm.iteration == 0,
                            "a new sender key starts at iteration 0",
                            format!("iteration {}", skdm.iteration),
                        );
                        steps.check(&label, &[req::GENERATION], o)?;
                        true
                    }
                    Some(old) if !left.is_empty() => {
                        // The old chain, advanced to the new SKDM's iteration: equal means the key was kept.
                        let ahead = skdm.iteration.checked_sub(old.iteration).filter(|n| *n <= 100_000);
                        let chain_kept =
                            ahead.is_some_and(|n| verify::chain_key_after(&old.chain_key, n) == skdm.chain_key);
                        let signing_kept = skdm.signing_key == old.signing_key;
                        let o = holds(
                            !chain_kept && !signing_kept,
                            format!("a new chain key and signing key after {} left", left.join(", ")),
                            format!(
                                "chain {}, signing key {}",
                                if chain_kept {
                                    "kept (the old chain, advanced)"
                                } else {
                                    "new"
                                },
                                if signing_kept { "kept" } else { "new" }
                            ),
                        );
                        steps.check(&label, &[req::REKEY], o)?;
                        let o = holds(
                            keys.iter().all(|(_, k)| k.id != skdm.id),
                            "a rotated key draws a new key id",
                            format!("key id {} again", skdm.id),
                        );
                        steps.check(&label, &[req::GENERATION], o)?;
                        for who in &left {
                            st.departed.push((who.clone(), st.receiver.clone()));
                        }
                        st.holders.clear();
                        st.rotated = true;
                        st.next_iteration = 0;
                        true
                    }
                    Some(old) => {
                        // A member who did not hold the key gets it now: a late joiner (RO-GROUP-015).
                        let joined: Vec<&String> = members.difference(&st.holders).collect();
                        let blame = if joined.is_empty() { req::SKDM } else { req::JOIN };
                        let ahead = st.next_iteration.saturating_sub(old.iteration);
                        let chain_key = verify::chain_key_after(&old.chain_key, ahead);
                        let o = holds(
                            skdm.id == old.id
                                && skdm.signing_key == old.signing_key
                                && skdm.iteration == st.next_iteration
                                && skdm.chain_key == chain_key,
                            format!(
                                "{}the current key: id {}, iteration {}, chain key {}",
                                if joined.is_empty() {
                                    String::new()
                                } else {
                                    format!(
                                        "for {} joining, no rotation and ",
                                        joined.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
                                    )
                                },
                                old.id,
                                st.next_iteration,
                                hex::encode(chain_key)
                            ),
                            format!(
                                "id {}, iteration {}, chain key {}{}",
                                skdm.id,
                                skdm.iteration,
                                hex::encode(skdm.chain_key),
                                if skdm.signing_key == old.signing_key {
                                    ""
                                } else {
                                    ", another signing key"
                                }
                            ),
                        );
                        steps.check(&label, &[blame], o)?;
                        false
                    }
                };
                if fresh {
                    let reused = keys
                        .iter()
                        .find(|(_, k)| k.chain_key == skdm.chain_key || k.signing_key == skdm.signing_key);
                    let o = holds(
                        reused.is_none(),
                        "a fresh chain key and signing key, used by no other sender key",
                        reused.map_or(String::new(), |(g, k)| format!("the same as key {} of {g}", k.id)),
                    );
                    steps.check(&label, &[req::GENERATION], o)?;
                    st.receiver = Receiver::default();
                    keys.push((group.clone(), skdm.clone()));
                }
                if let Err(r) = st.receiver.install(&group, PROVIDER, &bytes) {
                    return Err(steps.stop(&label, &[req::SKDM], Observation::fail("installable", r.to_string())));
                }
                steps.check(
                    &label,
                    &[req::SKDM, req::WIRE],
                    Observation::pass("a WhatsApp SKDM", "installed"),
                )?;
                st.holders.extend(members);
                st.current = Some(skdm);
            }
            ActionKind::Encrypt => {
                let plaintext = action.plaintext.clone().unwrap_or_default();
                let label = format!("step {} of {total} (encrypt {} to {group})", i + 1, plaintext.to_hex());
                let request = GroupEncrypt {
                    client: client.clone(),
                    group: group.clone(),
                    plaintext: plaintext.clone(),
                };
                let bytes = call(
                    &mut steps,
                    &label,
                    req::SKMSG,
                    ctx.provider.group_encrypt(&request).await,
                )?;
                encrypted(&mut steps, &label, &group, st, &bytes, &plaintext)?;
            }
        }
    }
    Ok(steps)
}

/// A call that must succeed; its failure is charged to `blame`.
fn call<T>(steps: &mut Steps, label: &str, blame: &str, result: CallResult<T>) -> Result<T, Observation> {
    result.map_err(|e| {
        let o = Observation::from_call_error("an answer", &e);
        steps.stop(label, &[blame], o)
    })
}

/// Judge one skmsg the provider sent: format, key, signature, iteration, plaintext, and that no departed member
/// opens it.
fn encrypted(
    steps: &mut Steps,
    label: &str,
    group: &str,
    st: &mut Sending,
    bytes: &[u8],
    plaintext: &Bytes,
) -> Result<(), Observation> {
    let fail = |steps: &mut Steps, blame: &str, expected: String, observed: String| {
        steps.stop(label, &[blame], Observation::fail(expected, observed))
    };
    let m = match verify::parse_skmsg(bytes) {
        Ok(m) => m,
        Err(r) => {
            let blame = if upstream_format(bytes) { req::WIRE } else { req::SKMSG };
            return Err(fail(
                steps,
                blame,
                "a WhatsApp SenderKeyMessage".into(),
                format!("{r}: {}", hex::encode(bytes)),
            ));
        }
    };
    let Some(current) = st.current.clone() else {
        return Err(fail(
            steps,
            req::SKDM,
            "a sender key first".into(),
            "no SKDM yet".into(),
        ));
    };
    if m.id != current.id {
        let blame = if st.rotated { req::REKEY } else { req::SKDM };
        return Err(fail(
            steps,
            blame,
            format!("the key id of the last SKDM, {}", current.id),
            format!("key id {}", m.id),
        ));
    }
    if let Err(r) = crate::verify::crypto::xeddsa_verify(&current.signing_key, &m.signed, &m.signature) {
        let over_body =
            crate::verify::crypto::xeddsa_verify(&current.signing_key, &m.signed[1..], &m.signature).is_ok();
        let observed = if over_body {
            "a signature over the protobuf without the version byte".to_string()
        } else {
            r.to_string()
        };
        return Err(fail(
            steps,
            req::SIGNATURE,
            "an XEdDSA signature over 0x33 || protobuf".into(),
            observed,
        ));
    }
    if m.iteration < st.next_iteration {
        return Err(fail(
            steps,
            req::KEYS,
            format!("an iteration from {} on (never one already used)", st.next_iteration),
            format!("iteration {}", m.iteration),
        ));
    }
    match st.receiver.decrypt(group, PROVIDER, bytes) {
        Ok(p) if p == plaintext.0 => {}
        other => {
            let observed = match other {
                Ok(p) => format!("plaintext {}", hex::encode(p)),
                Err(r) => r.to_string(),
            };
            return Err(fail(
                steps,
                req::KEYS,
                format!("the suite's receiver opens it: plaintext {}", plaintext.to_hex()),
                observed,
            ));
        }
    }
    // Every check above passed: format, wire fields, key id, signature, iteration and message keys.
    steps.check(
        label,
        &[req::SKMSG, req::WIRE, req::SIGNATURE, req::KEYS],
        Observation::pass("a well-formed skmsg", "opened"),
    )?;
    st.next_iteration = m.iteration + 1;
    st.rotated = false;
    for (who, receiver) in &st.departed {
        if let Ok(p) = receiver.clone().decrypt(group, PROVIDER, bytes) {
            return Err(fail(
                steps,
                req::REKEY,
                format!("{who}, who left, cannot open it"),
                format!("{who}'s stored key opens it: {}", hex::encode(p)),
            ));
        }
    }
    Ok(())
}

/// A failure of the harness's own peer: an error of the run, never the provider's failure.
fn harness_error(what: &str, e: CallError) -> Observation {
    let mut o = Observation::from_call_error("the harness's peer", &e).at_step(what);
    o.outcome = crate::outcome::Outcome::Error;
    o
}

/// The member (the harness's peer) sends `text` pairwise; the provider must open it (the carriage requirement).
async fn member_to_provider(
    ctx: &CaseContext<'_>,
    steps: &mut Steps,
    (peer, member): (&ClientId, &str),
    client: &ClientId,
    text: &[u8],
    step: &str,
) -> Result<(), Observation> {
    let message = ctx
        .peer
        .encrypt(peer, PROVIDER, text)
        .await
        .map_err(|e| harness_error("peer encrypt", e))?;
    let opened = ctx.provider.decrypt(client, member, &message).await;
    let expected = format!("plaintext {}", hex::encode(text));
    let o = judge(
        Expected::Valid,
        &expected,
        &[],
        &opened,
        |p| format!("plaintext {}", hex::encode(p)),
        |p| p == text,
    );
    steps.check(step, &[req::CARRIED], o)?;
    Ok(())
}

/// A member played by the harness sends its SKDM to the provider inside a pairwise Signal message (`msg` on an
/// established session, the provider having answered once): first with the message's MAC broken, which must install nothing (the member's next
/// group message is refused), then genuine, which installs the key (the group message decrypts). RO-GROUP-009:
/// an SKDM has no signature of its own; only the pairwise session that carries it authenticates it.
async fn pairwise(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Result<Steps, Observation> {
    const MEMBER: &str = "alice";
    let mut steps = Steps::new(&meta.requirements);
    let group = &check.group;
    let client = match new_client(ctx.provider, PROVIDER, ctx.seed).await {
        Ok(c) => c,
        Err(e) => return Err(steps.stop("create client", &[], Observation::from_call_error("a client", &e))),
    };
    let peer = new_client(ctx.peer, MEMBER, ctx.seed ^ 1)
        .await
        .map_err(|e| harness_error("peer client", e))?;
    // The pairwise session: the member starts it from the provider's bundle; the provider decrypts a first
    // message (setup, charged to the carriage requirement: without a session no SKDM can be carried).
    let bundle = call(
        &mut steps,
        "the provider's bundle",
        req::CARRIED,
        ctx.provider.prekey_bundle(&client).await,
    )?;
    ctx.peer
        .process_bundle(&peer, PROVIDER, &bundle)
        .await
        .map_err(|e| harness_error("peer session", e))?;
    member_to_provider(
        ctx,
        &mut steps,
        (&peer, MEMBER),
        &client,
        b"hello",
        "a first pairwise message",
    )
    .await?;
    // The provider answers, so that the member's next messages are plain `msg`s whose last 8 bytes are the MAC.
    let reply = call(
        &mut steps,
        "the provider's answer",
        req::CARRIED,
        ctx.provider.encrypt(&client, MEMBER, b"hi").await,
    )?;
    let o = match ctx.peer.decrypt(&peer, PROVIDER, &reply).await {
        Ok(p) if p == b"hi" => Observation::pass("plaintext 6869", "plaintext 6869"),
        Ok(p) => Observation::fail("plaintext 6869", format!("plaintext {}", hex::encode(p))),
        Err(e) => Observation::fail("plaintext 6869", e.to_string()),
    };
    steps.check("the provider's answer, opened by the member", &[req::CARRIED], o)?;
    // One more message on the member's new sending chain, so that the carrier is not the first on its chain.
    member_to_provider(
        ctx,
        &mut steps,
        (&peer, MEMBER),
        &client,
        b"again",
        "a pairwise message on the member's new chain",
    )
    .await?;
    let request = GroupSenderKey {
        client: peer.clone(),
        group: group.clone(),
        members: vec![PROVIDER.into()],
    };
    let skdm = ctx
        .peer
        .group_sender_key(&request)
        .await
        .map_err(|e| harness_error("peer sender key", e))?;
    let carrier = ctx
        .peer
        .encrypt(&peer, PROVIDER, &skdm)
        .await
        .map_err(|e| harness_error("peer encrypt", e))?;
    let request = GroupEncrypt {
        client: peer.clone(),
        group: group.clone(),
        plaintext: b"group message".to_vec().into(),
    };
    let skmsg = ctx
        .peer
        .group_encrypt(&request)
        .await
        .map_err(|e| harness_error("peer group encrypt", e))?;
    if carrier.kind != crate::provider::CiphertextKind::Msg {
        return Err(harness_error(
            "peer encrypt",
            CallError::rejected(
                crate::provider::ErrorClass::Internal,
                "the member's carrier is not a msg",
            ),
        ));
    }
    let mut forged = carrier.clone();
    if let Some(mac) = forged.body.0.last_mut() {
        *mac ^= 0x01;
    }
    let install = |carrier| GroupProcessSkdm {
        client: client.clone(),
        group: group.clone(),
        sender: MEMBER.into(),
        skdm: Bytes::default(),
        carrier: Some(carrier),
    };
    let decrypt = GroupDecrypt {
        client: client.clone(),
        group: group.clone(),
        sender: MEMBER.into(),
        skmsg: skmsg.clone().into(),
    };
    let want = b"group message".to_vec();
    let result = ctx.provider.group_process_skdm(&install(forged)).await;
    let o = judge(
        Expected::Invalid,
        "installed",
        &[],
        &result,
        |_| "installed".into(),
        |_| true,
    );
    steps.check("an SKDM in a pairwise message whose MAC is broken", &[req::CARRIED], o)?;
    let result = ctx.provider.group_decrypt(&decrypt).await;
    let o = judge(
        Expected::Invalid,
        "plaintext",
        &[],
        &result,
        |p| format!("plaintext {}", hex::encode(p)),
        |_| true,
    );
    steps.check("the member's group message, no key installed", &[req::CARRIED], o)?;
    let result = ctx.provider.group_process_skdm(&install(carrier)).await;
    let o = judge(
        Expected::Valid,
        "installed",
        &[],
        &result,
        |_| "installed".into(),
        |_| true,
    );
    steps.check("the SKDM in the genuine pairwise message", &[req::CARRIED], o)?;
    let result = ctx.provider.group_decrypt(&decrypt).await;
    let o = judge(
        Expected::Valid,
        &format!("plaintext {}", hex::encode(&want)),
        &[],
        &result,
        |p| format!("plaintext {}", hex::encode(p)),
        |p| *p == want,
    );
    steps.check("the member's group message", &[req::CARRIED, req::KEYS], o)?;
    Ok(steps)
}

/// Schedules a `members` case draws when it does not say.
const SCHEDULES: u32 = 6;
/// Shrink evaluations per failing `members` case: a count rather than a time, so that a replay shrinks the same.
const MAX_SHRINK_ITERS: u32 = 256;

/// One message a harness member sent.
struct Sent {
    sender: String,
    /// Which of the sender's keys (0, or 1 after its rotation).
    key: usize,
    iteration: u32,
    skmsg: Vec<u8>,
    plaintext: Vec<u8>,
}

/// How one schedule went.
enum Trial {
    Held,
    Failed {
        /// The requirement of the failing delivery.
        checks: &'static str,
        /// The deliveries up to the failing one, as `what -> result`.
        events: Vec<String>,
        expected: String,
        observed: String,
    },
    Halt(Observation),
}

/// Members played by the harness's reference peer send to the provider; the delivery schedule (order, loss,
/// duplicates, a jump near the bound) is drawn with proptest from the case seed and shrunk when it fails.
async fn members(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    let n = check.test.members.unwrap_or(2) as usize;
    let per = check.test.messages.unwrap_or(2) as usize;
    let cases = check.test.schedules.unwrap_or(SCHEDULES);
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(ctx.seed),
        failure_persistence: None,
        max_shrink_iters: MAX_SHRINK_ITERS,
        ..Config::default()
    });
    let strategy = schedule::schedules(n * per);
    let statement = "every member's message decrypts once to its plaintext, in any order and after a jump of up to \
                     2,000; duplicates and jumps beyond 2,000 are refused without disturbing the state";
    let mut steps = Steps::new(&meta.requirements);
    let mut cache: HashMap<u32, Traffic> = HashMap::new();
    // Requirements whose deliveries passed in some schedule: checked, so not blocked by a later failure.
    let mut reached: BTreeSet<&'static str> = BTreeSet::new();
    for case in 1..=cases {
        let mut tree = match strategy.new_tree(&mut runner) {
            Ok(t) => t,
            Err(reason) => {
                return Observation::with(
                    crate::outcome::Outcome::Error,
                    "a schedule is drawn",
                    format!("cannot draw a schedule: {reason}"),
                );
            }
        };
        let mut last = match run_trial(&tree.current(), &mut cache, &mut reached, n, per, check, ctx).await {
            Trial::Held => continue,
            Trial::Halt(o) => return o,
            failed => failed,
        };
        let (mut shrinks, mut iterations) = (0, 0);
        if tree.simplify() {
            while iterations < MAX_SHRINK_ITERS {
                iterations += 1;
                match run_trial(&tree.current(), &mut cache, &mut reached, n, per, check, ctx).await {
                    failed @ Trial::Failed { .. } => {
                        last = failed;
                        shrinks += 1;
                        if !tree.simplify() {
                            break;
                        }
                    }
                    Trial::Held | Trial::Halt(_) => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        let Trial::Failed {
            checks,
            events,
            expected,
            observed,
        } = last
        else {
            return Observation::default();
        };
        for r in &reached {
            let _ = steps.step("", &[*r], Observation::pass("checked", "passed in a schedule"));
        }
        let mut listing = format!(
            "{observed}\nschedule {case} of {cases} failed; shrunk ({shrinks} simplifications) to {} deliveries:",
            events.len()
        );
        for (i, e) in events.iter().enumerate() {
            let mark = if i + 1 == events.len() { "  <- fails here" } else { "" };
            listing.push_str(&format!("\n  {:>2}. {e}{mark}", i + 1));
        }
        let o = Observation::fail(format!("{statement}; at the last delivery: {expected}"), listing);
        return steps.step("", &[checks], o).unwrap_or_default();
    }
    steps.pass(
        statement,
        format!("{cases} schedules held (proptest seed {})", ctx.seed),
    )
}

/// [`trial`] with the traffic of the schedule's jump, computed on first use.
async fn run_trial(
    schedule: &schedule::Schedule,
    cache: &mut HashMap<u32, Traffic>,
    reached: &mut BTreeSet<&'static str>,
    n: usize,
    per: usize,
    check: &Check,
    ctx: &CaseContext<'_>,
) -> Trial {
    let t = match cache.entry(schedule.jump) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => match traffic(schedule.jump, n, per, check, ctx).await {
            Ok(t) => v.insert(t),
            Err(o) => return Trial::Halt(o),
        },
    };
    trial(schedule, t, reached, check, ctx).await
}

/// An answer that is no behaviour to shrink (an unsupported operation, a transport error) ends the case as it is.
fn not_a_verdict(o: &Observation, label: &str) -> Option<Trial> {
    matches!(
        o.outcome,
        crate::outcome::Outcome::Unsupported | crate::outcome::Outcome::Error
    )
    .then(|| Trial::Halt(o.clone().at_step(label)))
}

/// What the harness's members send in a `members` case with a given jump: their SKDMs and their messages in
/// sending order (round-robin). Computed once per jump value and reused by every schedule, so shrinking replays
/// only the deliveries.
struct Traffic {
    skdms: Vec<(String, Vec<u8>)>,
    order: Vec<Sent>,
}

async fn traffic(
    jump: u32,
    n: usize,
    per: usize,
    check: &Check,
    ctx: &CaseContext<'_>,
) -> Result<Traffic, Observation> {
    let group = &check.group;
    let names: Vec<String> = (0..n).map(|i| format!("member{i}")).collect();
    let mut skdms: Vec<(String, Vec<u8>)> = Vec::new();
    let mut sent: Vec<std::collections::VecDeque<Sent>> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let peer = new_client(ctx.peer, name, ctx.seed ^ (i as u64 + 1))
            .await
            .map_err(|e| harness_error("peer client", e))?;
        // The first member's list starts with one more member, who leaves halfway: it rotates (RO-GROUP-006), so
        // the provider holds two of its states and messages under both keys are in flight.
        let mut others: Vec<String> = names.iter().filter(|m| *m != name).cloned().collect();
        others.push(PROVIDER.into());
        if i == 0 {
            others.push("leaver".into());
        }
        let mut own = std::collections::VecDeque::new();
        let (mut key, mut iteration) = (0, 0u32);
        for k in 0..per {
            let rotate = i == 0 && k == per / 2;
            if rotate {
                others.retain(|m| m != "leaver");
                key += 1;
                iteration = 0;
            }
            if k == 0 || rotate {
                let request = GroupSenderKey {
                    client: peer.clone(),
                    group: group.clone(),
                    members: others.clone(),
                };
                let skdm = ctx
                    .peer
                    .group_sender_key(&request)
                    .await
                    .map_err(|e| harness_error("peer sender key", e))?;
                skdms.push((name.clone(), skdm));
            }
            // The second member jumps before its middle message: it encrypts and loses `jump` messages.
            let lost = if i == 1 && k == per / 2 { jump } else { 0 };
            for j in 0..=lost {
                let plaintext = format!("{name} message {k}").into_bytes();
                let request = GroupEncrypt {
                    client: peer.clone(),
                    group: group.clone(),
                    plaintext: plaintext.clone().into(),
                };
                let skmsg = ctx
                    .peer
                    .group_encrypt(&request)
                    .await
                    .map_err(|e| harness_error("peer encrypt", e))?;
                if j == lost {
                    own.push_back(Sent {
                        sender: name.clone(),
                        key,
                        iteration,
                        skmsg,
                        plaintext,
                    });
                }
                iteration += 1;
            }
        }
        sent.push(own);
    }
    let mut order = Vec::new();
    for _ in 0..per {
        order.extend(sent.iter_mut().filter_map(std::collections::VecDeque::pop_front));
    }
    Ok(Traffic { skdms, order })
}

/// One schedule: a fresh provider client, every member's SKDMs, then the deliveries, each judged by the
/// receiver model.
async fn trial(
    schedule: &schedule::Schedule,
    traffic: &Traffic,
    reached: &mut BTreeSet<&'static str>,
    check: &Check,
    ctx: &CaseContext<'_>,
) -> Trial {
    let group = &check.group;
    let client = match new_client(ctx.provider, PROVIDER, ctx.seed).await {
        Ok(c) => c,
        Err(e) => return Trial::Halt(Observation::from_call_error("a client", &e).at_step("create client")),
    };
    let skdms = &traffic.skdms;
    for (k, (sender, skdm)) in skdms.iter().enumerate() {
        let request = GroupProcessSkdm {
            client: client.clone(),
            group: group.clone(),
            sender: sender.clone(),
            skdm: skdm.clone().into(),
            carrier: None,
        };
        let result = ctx.provider.group_process_skdm(&request).await;
        let o = judge(
            Expected::Valid,
            "installed",
            &[],
            &result,
            |_| "installed".into(),
            |_| true,
        );
        if let Some(halt) = not_a_verdict(&o, &format!("SKDM {} of {} from {sender}", k + 1, skdms.len())) {
            return halt;
        }
        if o.outcome != crate::outcome::Outcome::Pass {
            return Trial::Failed {
                checks: req::SKDM,
                events: vec![format!(
                    "SKDM {} of {} from {sender} -> {}",
                    k + 1,
                    skdms.len(),
                    o.observed
                )],
                expected: o.expected,
                observed: o.observed,
            };
        }
    }
    reached.insert(req::SKDM);
    let order = &traffic.order;
    let mut model = schedule::Model::default();
    let mut events = Vec::new();
    for m in schedule.deliveries() {
        let message = &order[m];
        let want = schedule::Expectation::describe(&message.plaintext);
        let e = model.deliver(&message.sender, message.key, message.iteration);
        let request = GroupDecrypt {
            client: client.clone(),
            group: group.clone(),
            sender: message.sender.clone(),
            skmsg: message.skmsg.clone().into(),
        };
        let result = ctx.provider.group_decrypt(&request).await;
        let mut o = judge(
            e.expected,
            &want,
            &[],
            &result,
            |p| schedule::Expectation::describe(p),
            |p| *p == message.plaintext,
        );
        if let (Expected::Acceptable, Ok(p)) = (e.expected, &result)
            && *p != message.plaintext
        {
            o = Observation::fail(o.expected, o.observed);
        }
        events.push(format!(
            "{}'s message {} (key {}, iteration {}): {} -> {}",
            message.sender,
            m,
            message.key + 1,
            message.iteration,
            e.why,
            o.observed
        ));
        if let Some(halt) = not_a_verdict(&o, &format!("{}'s message {m}", message.sender)) {
            return halt;
        }
        if o.outcome != crate::outcome::Outcome::Pass {
            return Trial::Failed {
                checks: e.checks,
                events,
                expected: o.expected,
                observed: o.observed,
            };
        }
        reached.insert(e.checks);
    }
    Trial::Held
}

#[cfg(test)]
mod tests {
    use super::super::{CaseContext, Family, parse, push::PushJwks, run};
    use crate::outcome::{Observation, Outcome};
    use crate::reference::{Fault, Faults, ReferenceProvider};
    use std::path::Path;

    /// Run every case of a committed group file against the reference with `faults` (the harness's peer stays
    /// clean); the id and observation of each case that did not pass.
    pub(super) fn failures(name: &str, faults: &[Fault]) -> Vec<(String, Observation)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parsed = parse(Family::SenderKeys, &path, &text).unwrap_or_else(|e| panic!("{e}"));
        let provider = ReferenceProvider::with_faults(Faults(faults.iter().copied().collect()));
        let peer = ReferenceProvider::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let push_jwks = PushJwks::default();
        let ctx = CaseContext {
            provider: &provider,
            peer: &peer,
            seed: 1,
            push_jwks: &push_jwks,
            monitor: None,
        };
        parsed
            .tests
            .iter()
            .map(|(_, meta, check)| (meta.id.clone(), runtime.block_on(run(meta, check, &ctx))))
            .filter(|(_, o)| o.outcome != Outcome::Pass)
            .collect()
    }

    /// Step blame: a group fault fails its cases through the requirement of the failing step alone.
    #[test]
    fn a_group_failure_is_charged_to_its_step() {
        for (file, fault) in [
            ("sender-keys-live.yaml", Fault::GroupRotateKeepsId),
            ("sender-keys-live.yaml", Fault::GroupUpstreamFormat),
            ("sender-keys.yaml", Fault::GroupAdvanceBeforeVerify),
            ("sender-keys.yaml", Fault::GroupEvictNewestState),
            ("sender-keys-live.yaml", Fault::GroupSkdmFromStart),
            ("sender-keys-live.yaml", Fault::GroupSkdmUnauthenticated),
        ] {
            let failed = failures(file, &[fault]);
            assert!(!failed.is_empty(), "{fault:?} caught");
            for (id, o) in &failed {
                assert_eq!(o.charged, vec![fault.breaks().to_string()], "{fault:?} {id}: {o:?}");
                assert!(!o.blocked.iter().any(|r| r == fault.breaks()), "{fault:?} {id}: {o:?}");
            }
        }
    }

    /// The `members` schedules catch a receiver bug and shrink it to a few deliveries, blamed on its requirement.
    #[test]
    fn a_failing_members_schedule_is_shrunk_and_blamed() {
        for (fault, requirement) in [
            (Fault::GroupAcceptDuplicate, "RO-GROUP-005"),
            (Fault::GroupUpstreamJumpBound, "RO-GROUP-013A"),
        ] {
            let failed = failures("sender-keys-live.yaml", &[fault]);
            let Some((_, o)) = failed.iter().find(|(id, _)| id == "sender_keys.receive.members") else {
                panic!("{fault:?} not caught by the members case: {failed:?}");
            };
            assert_eq!(o.charged, vec![requirement.to_string()], "{o:?}");
            assert!(o.observed.contains("shrunk"), "{}", o.observed);
            let deliveries = o.observed.lines().filter(|l| l.contains(" -> ")).count();
            assert!((1..=4).contains(&deliveries), "shrunk to {deliveries}:\n{}", o.observed);
        }
    }

    #[test]
    fn the_reference_passes_every_group_case() {
        for file in ["sender-keys.yaml", "sender-keys-live.yaml"] {
            let failed: Vec<String> = failures(file, &[])
                .into_iter()
                .map(|(id, o)| format!("{id}: {o:?}"))
                .collect();
            assert!(failed.is_empty(), "{failed:#?}");
        }
    }
}
