//! `transport`: the provider's client against the suite's chatd ([`crate::transport::responder`]), one server
//! behaviour per case. The client enlists (its `authkey` and JWT), then connects to a loopback responder that
//! is honest or breaks one rule. Every verdict rests on what the responder saw on the wire; the adapter's own
//! account ([`TransportReport`]) is quoted, never trusted: a client that says it refused a bad chain but sent
//! its ClientFinish has handed over its credential.
//!
//! Step blame: a case lists its focus requirements and RO-TRANSPORT-001 ([`SETUP`]), which the steps that only
//! get the handshake going check (a ClientHello arrives, the handshake completes).

pub mod generate;

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::{Observation, Outcome, Steps};
use crate::provider::{
    CallError, ClientId, CreateClient, EnlistmentRequest, TransportConnect, TransportReport, TransportState,
};
use crate::signature::form;
use crate::signature::token::{self, TokenError};
use crate::transport::responder::{self, Behaviour, Config, Pattern, Record, Seen, Stage};
use crate::transport::{binxml, noise, websocket};
use crate::transport_wire::{HandshakeMessage, PRODUCT_INTEROP};
use crate::vector_format::{TestMeta, VectorFile, vector_test};
use prost::Message;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// What the steps that only get the handshake going check: a Noise handshake on the connection.
pub const SETUP: &str = "RO-TRANSPORT-001";

/// How long the client may take per connection (under the default per-call timeout of 5 s); the responder's
/// deadline is a little later.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(4);
/// How long the responder may go on once the client's call returned (to read a late ClientFinish).
const GRACE: Duration = Duration::from_millis(300);

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

/// How a connection reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Carriage {
    /// Plain TCP (`tcp://HOST:PORT`).
    Tcp,
    /// WebSocket binary messages (`ws://HOST:PORT/chat`).
    Websocket,
}

vector_test! {
    /// One server behaviour the client meets.
    pub struct Test {
        /// How the suite's chat server behaves.
        pub server: Behaviour,
        /// One connection each, in order (two check a fresh ephemeral per connection).
        pub over: Vec<Carriage>,
        /// Edge-routing info the client is offered for its pre-intro.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub routing_info: Option<Bytes>,
    }
}

/// Inputs of one case.
#[derive(Debug, Clone)]
pub struct Check {
    /// The behaviour.
    pub server: Behaviour,
    /// Connections, in order.
    pub over: Vec<Carriage>,
    /// Routing info.
    pub routing_info: Option<Bytes>,
}

pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            if !(1..=4).contains(&test.over.len()) {
                let key = format!("groups[{g}].tests[{t}].over");
                return Err((key, "between 1 and 4 connections".into()));
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
                server: t.server,
                over: t.over.clone(),
                routing_info: t.routing_info.clone(),
            };
            (t.meta(), super::Check::Transport(check))
        })
        .collect()
}

/// The stanzas the client is asked to send: `<message type="text" id="42"/>` style headers in binary XML.
pub fn client_stanzas(behaviour: Behaviour) -> Vec<Vec<u8>> {
    let one = |id: &str| {
        let mut s = vec![binxml::LIST_8, 5, 19, 4, 56, 8, binxml::BINARY_8, id.len() as u8];
        s.extend_from_slice(id.as_bytes());
        s
    };
    let n = if behaviour == Behaviour::CounterEdge { 3 } else { 2 };
    (0..n).map(|i| one(&format!("4{i}"))).collect()
}

/// The stanzas the server sends after Split.
fn server_stanzas() -> Vec<Vec<u8>> {
    ["71", "72"]
        .iter()
        .map(|id| {
            let mut s = vec![binxml::LIST_8, 3, 19, 8, binxml::BINARY_8, 2];
            s.extend_from_slice(id.as_bytes());
            s
        })
        .collect()
}

/// What the client's call and the responder's record say about one connection.
struct Connection {
    report: Result<TransportReport, CallError>,
    seen: Seen,
}

impl Connection {
    /// The server stanzas the client says it delivered (its own account: the one thing the wire cannot show).
    fn received(&self) -> Vec<Vec<u8>> {
        match &self.report {
            Ok(r) => r.received.iter().map(|b| b.0.clone()).collect(),
            Err(_) => Vec::new(),
        }
    }

    fn said(&self) -> String {
        match &self.report {
            Ok(r) => {
                let class = r.class.map(|c| format!(" ({c})")).unwrap_or_default();
                format!("{:?}{class}: {}", r.state, r.detail).to_lowercase()
            }
            Err(e) => e.to_string(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn connect(
    ctx: &CaseContext<'_>,
    check: &Check,
    behaviour: Behaviour,
    client: &ClientId,
    identifier: &str,
    seed: u64,
    carriage: Carriage,
    root: [u8; 32],
) -> Result<Connection, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let stanzas = client_stanzas(behaviour);
    let counter_start = (behaviour == Behaviour::CounterEdge).then_some(u32::MAX - 1);
    let deadline = Instant::now() + CLIENT_TIMEOUT + Duration::from_secs(1);
    let config = Config {
        behaviour,
        root,
        seed,
        now: token::now().max(0) as u64,
        client_stanzas: stanzas.len(),
        server_stanzas: if behaviour == Behaviour::CounterEdge {
            Vec::new()
        } else {
            server_stanzas()
        },
        client_counter_start: counter_start.unwrap_or(0),
        deadline,
    };
    let record = Record::default();
    let shared = record.clone();
    let mut server = tokio::spawn(async move {
        let Ok(Ok((stream, _))) = tokio::time::timeout_at(deadline, listener.accept()).await else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let carrier: Box<dyn responder::Carrier> = match carriage {
            Carriage::Tcp => Box::new(stream),
            Carriage::Websocket => match websocket::accept(stream, deadline).await {
                Ok(pipe) => Box::new(pipe),
                Err(e) => {
                    shared.lock().unwrap_or_else(|e| e.into_inner()).end = e;
                    return;
                }
            },
        };
        responder::serve(carrier, config, shared).await;
    });
    let request = TransportConnect {
        client: client.clone(),
        identifier: identifier.to_string(),
        url: match carriage {
            Carriage::Tcp => format!("tcp://{address}"),
            Carriage::Websocket => format!("ws://{address}/chat"),
        },
        root_key: Bytes(noise::public_key(&root).to_vec()),
        stanzas: stanzas.into_iter().map(Bytes).collect(),
        counter_start,
        routing_info: check.routing_info.clone(),
        timeout_ms: CLIENT_TIMEOUT.as_millis() as u64,
    };
    let report = ctx.provider.transport_connect(&request).await;
    if tokio::time::timeout(GRACE, &mut server).await.is_err() {
        server.abort();
    }
    let seen = record.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(Connection { report, seen })
}

/// The test root's private key for connection `n`: fixed, so that reports replay. Each connection of a case
/// that does not resume trusts a root (and meets a server) of its own, so that a client that would resume with
/// IK connects with XX there, as the case judges; the resume cases keep root 0.
fn test_root(n: usize) -> [u8; 32] {
    use sha2::Digest;
    let mut digest = sha2::Sha256::new().chain_update(b"interop-conformance transport test root");
    if n > 0 {
        digest.update((n as u64).to_be_bytes());
    }
    digest.finalize().into()
}

fn fail(expected: impl Into<String>, observed: impl Into<String>) -> Observation {
    Observation::fail(expected, observed)
}

fn pass(expected: &str, observed: impl Into<String>) -> Observation {
    Observation::pass(expected, observed)
}

fn judge(ok: Result<String, String>, expected: &str) -> Observation {
    match ok {
        Ok(o) => pass(expected, o),
        Err(o) => fail(expected, o),
    }
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let expected = describe(check.server);
    let identifier = "transport421";
    let client = match ctx
        .provider
        .create_client(&CreateClient {
            name: "noise".into(),
            seed: Some(ctx.seed),
            keys: None,
        })
        .await
    {
        Ok(c) => c,
        Err(e) => return Observation::from_call_error(expected, &e).at_step("create_client"),
    };
    let enlistment = match ctx
        .provider
        .enlistment_request(&EnlistmentRequest {
            client: client.clone(),
            identifier: identifier.into(),
        })
        .await
    {
        Ok(e) => e,
        Err(e) => return Observation::from_call_error(expected, &e).at_step("enlistment_request"),
    };
    let inspection = form::inspect(&enlistment.form);
    let authkey = inspection.value("authkey").map(<[u8]>::to_vec);
    let mut steps = Steps::new(&meta.requirements);
    let mut ephemerals = Vec::new();
    let connections = check.over.len();
    for (n, carriage) in check.over.iter().enumerate() {
        let seed = ctx.seed.wrapping_add(n as u64);
        // A resume case first meets an honest server, whose static key and chain the client may cache.
        let resuming = check.server.resumes() && n > 0;
        let behaviour = if check.server.resumes() && n == 0 {
            check.server.first_connection()
        } else {
            check.server
        };
        let root = test_root(if check.server.resumes() { 0 } else { n });
        let connection = match connect(ctx, check, behaviour, &client, identifier, seed, *carriage, root).await {
            Ok(c) => c,
            Err(e) => return Observation::with(Outcome::Error, expected, e),
        };
        if let Err(e) = &connection.report
            && !matches!(e, CallError::Rejected { .. })
        {
            return Observation::from_call_error(expected, e).at_step("transport_connect");
        }
        let label = |s: &str| {
            if connections > 1 {
                format!("connection {} of {connections} ({carriage:?}): {s}", n + 1)
            } else {
                s.to_string()
            }
        };
        let hello = hello_steps(&connection, &mut ephemerals);
        let walked = if resuming && check.server == Behaviour::IkAfterFallback && n >= 2 {
            after_fallback_steps(&connection)
        } else if resuming {
            let declared = ctx.provider.declares("transport_ik");
            // The second connection of ik.after-fallback is the fallback of ik.fallback.
            let judged_as = if check.server == Behaviour::IkAfterFallback {
                Behaviour::IkRejected
            } else {
                check.server
            };
            match resume_steps(
                judged_as,
                &connection,
                authkey.as_deref(),
                declared,
                &enlistment.jwks_url,
                identifier,
                ctx,
            )
            .await
            {
                Ok(walk) => walk,
                // Charged to the IK requirements only: connection 1's XX steps stand.
                Err(not_applicable) => vec![(
                    "IK resume",
                    &["RO-TRANSPORT-021", "RO-TRANSPORT-022", "RO-TRANSPORT-022A"][..],
                    not_applicable,
                )],
            }
        } else if behaviour.unauthenticated() {
            // A resume case's refused first chain is a RO-TRANSPORT-007 matter, not the resume's.
            let checks: &'static [&'static str] = if check.server.resumes() {
                &["RO-TRANSPORT-007"]
            } else {
                &[]
            };
            hostile_steps(behaviour, &connection, checks)
        } else {
            honest_steps(
                check.server,
                &connection,
                authkey.as_deref(),
                &enlistment.jwks_url,
                identifier,
                ctx,
            )
            .await
        };
        for (name, checks, observation) in hello.into_iter().chain(walked) {
            // A step judging a requirement the case does not list is left to the case that lists it, so one
            // broken rule (a WA 06 02 header, say) does not hide the others (errata).
            if !checks.is_empty() && !checks.iter().any(|c| meta.requirements.iter().any(|r| r == c)) {
                continue;
            }
            if let Some(o) = steps.step(&label(name), &focus_of(checks, &meta.requirements), observation) {
                return o;
            }
        }
    }
    steps.pass(expected, "as expected, on the wire")
}

/// Steps as (label, requirements checked, observation); no requirement named means the case's focus: its
/// requirements other than [`SETUP`].
type Walk = Vec<(&'static str, &'static [&'static str], Observation)>;

fn focus_of(checks: &[&str], requirements: &[String]) -> Vec<String> {
    if checks.is_empty() {
        requirements.iter().filter(|r| *r != SETUP).cloned().collect()
    } else {
        checks.iter().map(|c| c.to_string()).collect()
    }
}

/// Pre-intro, header and ClientHello: what every case needs before the server's behaviour matters.
fn hello_steps(c: &Connection, ephemerals: &mut Vec<[u8; 32]>) -> Walk {
    let mut out: Walk = Vec::new();
    let seen = &c.seen;
    let Some(header) = seen.header else {
        let why = seen.problem.clone().map(|(_, p)| p).unwrap_or_else(|| seen.end.clone());
        out.push((
            "connection header",
            &[SETUP],
            fail(
                "a connection starting with the header 57410603",
                format!("no header arrived ({why}); the client said {}", c.said()),
            ),
        ));
        return out;
    };
    out.push((
        "connection header",
        &["RO-TRANSPORT-003"],
        if header == noise::CONN_HEADER {
            pass("header 57410603", "57410603")
        } else {
            fail("header 57410603 (token dictionary v3)", hex::encode(header))
        },
    ));
    if let Some(info) = &seen.routing_info {
        out.push((
            "edge-routing pre-intro",
            &["RO-TRANSPORT-020"],
            pass(
                "45440001 || u24 len || routing info",
                format!("{} bytes of routing info", info.len()),
            ),
        ));
    }
    let hello = match (&seen.hello, &seen.problem) {
        (Some(h), Some((Stage::Hello, p))) => Err(format!("{p} (first frame {})", excerpt(h))),
        (Some(h), _) => Ok(h.clone()),
        (None, problem) => Err(problem.clone().map(|(_, p)| p).unwrap_or_else(|| seen.end.clone())),
    };
    let hello = match hello {
        Ok(h) => h,
        Err(why) => {
            out.push((
                "ClientHello",
                &[SETUP, "RO-TRANSPORT-013"],
                fail("one frame: HandshakeMessage{clientHello{ephemeral: 32 bytes}}", why),
            ));
            return out;
        }
    };
    out.push((
        "ClientHello",
        &[SETUP, "RO-TRANSPORT-013"],
        pass("HandshakeMessage{clientHello}", "HandshakeMessage{clientHello}"),
    ));
    if let Some(e) = seen.ephemeral {
        let fresh = !ephemerals.contains(&e);
        out.push((
            "fresh ephemeral",
            &[SETUP],
            if fresh {
                pass("a new ephemeral key on every connection", hex::encode(e))
            } else {
                fail(
                    "a new ephemeral key on every connection",
                    format!("ephemeral {} used again", hex::encode(e)),
                )
            },
        ));
        ephemerals.push(e);
    }
    // RO-TRANSPORT-023 (SHOULD): judged last among the hello steps so a SHOULD failure blocks little.
    let pq = HandshakeMessage::decode(hello.as_slice())
        .ok()
        .and_then(|m| m.client_hello)
        .map(|h| {
            h.use_extended.is_some()
                || h.extended_ciphertext.is_some()
                || h.padded_bytes.is_some()
                || h.send_server_hello_padded_bytes.is_some()
                || h.simulate_xxkem_fs.is_some()
                || h.pq_mode.is_some()
                || h.extended_ephemeral.is_some()
        })
        .unwrap_or(false);
    out.push((
        "no post-quantum fields",
        &["RO-TRANSPORT-023"],
        if pq {
            fail(
                "clientHello fields 4-10 unset",
                "a post-quantum or padding field is set",
            )
        } else {
            pass("clientHello fields 4-10 unset", "unset")
        },
    ));
    out
}

/// The server never authenticated itself: the one observable rule is that no ClientFinish arrived. `checks`:
/// the requirements judged (none: the case's focus).
fn hostile_steps(behaviour: Behaviour, c: &Connection, checks: &'static [&'static str]) -> Walk {
    let expected = "no frame after the ServerHello: the handshake aborted before ClientFinish";
    let Some(finish) = &c.seen.finish else {
        return vec![(
            "no ClientFinish to an unauthenticated server",
            checks,
            pass(
                expected,
                format!("nothing after the ServerHello; the client said {}", c.said()),
            ),
        )];
    };
    let what = match c.seen.client_static {
        Some(s) => format!(
            "its static key {} and its JWT{}",
            hex::encode(s),
            c.seen
                .payload
                .as_ref()
                .map(|p| format!(" (ClientPayload of {} bytes)", p.len()))
                .unwrap_or_default()
        ),
        None => format!("a {}-byte ClientFinish (its static key and JWT)", finish.len()),
    };
    let claim = match &c.report {
        Ok(r) if r.state != TransportState::Connected => {
            format!(" The adapter claims it {}, but the wire says otherwise.", c.said())
        }
        _ => String::new(),
    };
    vec![(
        "no ClientFinish to an unauthenticated server",
        checks,
        fail(
            expected,
            format!(
                "the client handed its credential ({what}) to an unauthenticated server: {}.{claim}",
                unauthenticated_because(behaviour)
            ),
        ),
    )]
}

fn unauthenticated_because(b: Behaviour) -> &'static str {
    match b {
        Behaviour::ChainIntermediateSignature => "its intermediate certificate is not signed by the trusted root",
        Behaviour::ChainIntermediateIssuerSerial => "its intermediate's issuerSerial is 1, not 0",
        Behaviour::ChainLeafSignature => "its leaf certificate is not signed by the intermediate",
        Behaviour::ChainLeafIssuerSerial => "its leaf's issuerSerial is not the intermediate's serial",
        Behaviour::ChainLeafKey => "its leaf certifies another key than the server static key",
        Behaviour::ChainExpired => "its leaf certificate expired an hour ago",
        Behaviour::ChainNotYetValid => "its leaf certificate is valid only from an hour from now",
        Behaviour::ChainShortSignature => "its intermediate signature is 63 bytes",
        Behaviour::ChainEd25519Root => "its intermediate is signed with plain Ed25519, not XEdDSA",
        Behaviour::HelloShortEphemeral => "its ServerHello ephemeral is 31 bytes",
        Behaviour::HelloMissingStatic => "its ServerHello has no static key",
        Behaviour::HelloWithClientFinish => "its ServerHello also sets clientFinish",
        Behaviour::DemandPostQuantum => "it demands a post-quantum mode (extendedStatic) the client does not implement",
        Behaviour::OversizedFrame => "its ServerHello frame announced 16 MiB and never arrived whole",
        Behaviour::TruncatedFrame => "its ServerHello frame was cut off",
        Behaviour::IkFallbackBadChain => {
            "after rejecting the client's IK, its XXfallback chain has a leaf not signed by the intermediate"
        }
        _ => "it did not authenticate itself",
    }
}

async fn honest_steps(
    behaviour: Behaviour,
    c: &Connection,
    authkey: Option<&[u8]>,
    jwks_url: &str,
    identifier: &str,
    ctx: &CaseContext<'_>,
) -> Walk {
    let mut out: Walk = Vec::new();
    let seen = &c.seen;
    let focus: &'static [&'static str] = match behaviour {
        Behaviour::Honest => &[
            "RO-TRANSPORT-002",
            "RO-TRANSPORT-005",
            "RO-TRANSPORT-006",
            "RO-TRANSPORT-007",
            "RO-TRANSPORT-014",
            "RO-TRANSPORT-015",
        ],
        Behaviour::Dribble => &["RO-TRANSPORT-024"],
        _ => &[SETUP],
    };
    let Some(finish) = &seen.finish else {
        out.push((
            "ClientFinish after a correct ServerHello",
            focus,
            fail(
                "a ClientFinish after a ServerHello with a chain under the trusted root",
                format!("none arrived ({}); the client said {}", seen.end, c.said()),
            ),
        ));
        return out;
    };
    out.push((
        "ClientFinish after a correct ServerHello",
        focus,
        pass("a ClientFinish", format!("{} bytes", finish.len())),
    ));
    let finish_problem = match &seen.problem {
        Some((Stage::Finish, p)) => Some(p.clone()),
        _ => None,
    };
    // The static key opens (transcript and keys right) and is the enlisted authkey.
    let opened_static = match (seen.client_static, &finish_problem) {
        (Some(s), _) => Ok(s),
        (None, Some(p)) => Err(p.clone()),
        (None, None) => Err(seen.end.clone()),
    };
    let static_checks: &'static [&'static str] = if behaviour == Behaviour::Honest {
        &["RO-TRANSPORT-005", "RO-TRANSPORT-014", "RO-TRANSPORT-016"]
    } else {
        &[SETUP]
    };
    let s_c = match opened_static {
        Ok(s) => s,
        Err(why) => {
            out.push((
                "ClientFinish.static opens",
                static_checks,
                fail("EncryptAndHash(s_c) under the es key with AAD = h", why),
            ));
            return out;
        }
    };
    out.push(("ClientFinish.static opens", static_checks, pass("opens", "opens")));
    out.push((
        "static key = enlisted authkey",
        if behaviour == Behaviour::Honest {
            &["RO-TRANSPORT-008"]
        } else {
            &[SETUP]
        },
        authkey_observation(authkey, &s_c),
    ));
    let Some(payload) = &seen.payload else {
        out.push((
            "ClientFinish.payload opens after the se MixKey",
            if behaviour == Behaviour::Honest {
                &["RO-TRANSPORT-016"]
            } else {
                &[SETUP]
            },
            fail("opens", finish_problem.unwrap_or_else(|| seen.end.clone())),
        ));
        return out;
    };
    if behaviour == Behaviour::Honest {
        out.push((
            "ClientFinish.payload opens after the se MixKey",
            &["RO-TRANSPORT-016"],
            pass("opens", "opens"),
        ));
        out.extend(
            login_steps(
                payload,
                &["RO-TRANSPORT-025"],
                &["RO-TRANSPORT-009"],
                jwks_url,
                identifier,
                ctx,
            )
            .await,
        );
    }
    // After Split: the client's frames open in order with counters from 0 and empty AAD.
    let asked = client_stanzas(behaviour);
    let transport_problem = match &seen.problem {
        Some((Stage::Transport, p)) => Some(p.clone()),
        _ => None,
    };
    if behaviour == Behaviour::CounterEdge {
        out.push((
            "no frame once the 32-bit counter is used up",
            &["RO-TRANSPORT-019"],
            if seen.after_exhaustion > 0 {
                fail(
                    "two frames (counters 2^32-2 and 2^32-1), then nothing: the third send fails closed",
                    transport_problem.unwrap_or_default(),
                )
            } else if seen.stanzas.len() == 2 {
                pass(
                    "two frames, then nothing",
                    format!("two frames; the client said {}", c.said()),
                )
            } else {
                fail(
                    "two frames opening with counters 2^32-2 and 2^32-1",
                    format!(
                        "{} opened; {}",
                        seen.stanzas.len(),
                        transport_problem.unwrap_or_else(|| seen.end.clone())
                    ),
                )
            },
        ));
        return out;
    }
    let transport_checks: &'static [&'static str] = if behaviour == Behaviour::Honest {
        &["RO-TRANSPORT-005", "RO-TRANSPORT-017"]
    } else {
        &[SETUP]
    };
    out.push((
        "client transport frames",
        transport_checks,
        frames_observation(seen, &asked),
    ));
    if behaviour == Behaviour::Honest {
        out.push((
            "stanzas in binary XML",
            &["RO-TRANSPORT-010"],
            judge(
                seen.stanzas
                    .iter()
                    .map(|s| binxml::decode_header(s).map(|h| h.tag))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|tags| format!("tags {tags:?}")),
                "binary-XML stanzas (dictionary v3) as asked",
            ),
        ));
        let frames = responder::frames_of(&seen.stream);
        out.push((
            "whole frames, nothing but handshake messages before Split",
            &["RO-TRANSPORT-004", SETUP],
            match &frames {
                Some(f) if f.len() == 2 + asked.len() => pass(
                    "ClientHello, ClientFinish, then transport frames",
                    format!("{} frames", f.len()),
                ),
                Some(f) => fail(format!("{} frames", 2 + asked.len()), format!("{} frames", f.len())),
                None => fail("whole frames", "the stream ends inside a frame"),
            },
        ));
        if let Some(frames) = frames {
            out.push((
                "re-chunked at every byte boundary, the same frames",
                &["RO-TRANSPORT-024"],
                match responder::rechunk_mismatch(&seen.stream, &frames) {
                    None => pass(
                        "identical frames at every split",
                        format!("{} split points", seen.stream.len() + 1),
                    ),
                    Some(k) => fail("identical frames at every split", format!("split at byte {k} differs")),
                },
            ));
        }
    }
    // What the client delivered of the server's frames (its own account: the one thing the wire cannot show).
    let received = c.received();
    let deliverable = &seen.deliverable;
    let (label, checks, observation): (&'static str, &'static [&'static str], Observation) = match behaviour {
        Behaviour::TamperedFrame | Behaviour::ReplayedFrame => {
            let mut rest = deliverable.iter();
            let in_order = received.iter().all(|r| rest.any(|d| d == r));
            (
                "no tampered or replayed frame delivered",
                &["RO-TRANSPORT-018"],
                if in_order {
                    pass(
                        "only authentic frames, each once, in order",
                        format!("{} delivered", received.len()),
                    )
                } else {
                    fail(
                        "only authentic frames, each once, in order",
                        format!(
                            "delivered {} frame(s) beyond the authentic ones: {}",
                            received.len(),
                            received.iter().map(hex::encode).collect::<Vec<_>>().join(", ")
                        ),
                    )
                },
            )
        }
        _ => {
            let (label, checks): (&'static str, &'static [&'static str]) = if behaviour == Behaviour::Dribble {
                (
                    "server frames reassembled from one-byte and merged writes",
                    &["RO-TRANSPORT-024"],
                )
            } else {
                (
                    "the server's first transport frames open from counter 0",
                    &["RO-TRANSPORT-017"],
                )
            };
            (label, checks, delivered_observation(c))
        }
    };
    out.push((label, checks, observation));
    out
}

/// The connection after the first in a resume case (RO-TRANSPORT-021/022): the client holds the server static
/// it verified on connection 1. `Err` is the case's verdict when IK does not apply: the client does not declare
/// `transport_ik` and connected with XX, so neither IK resume (MAY) nor XXfallback (MUST only for IK clients)
/// is owed.
async fn resume_steps(
    behaviour: Behaviour,
    c: &Connection,
    authkey: Option<&[u8]>,
    declared: bool,
    jwks_url: &str,
    identifier: &str,
    ctx: &CaseContext<'_>,
) -> Result<Walk, Observation> {
    const RESUME: &[&str] = &["RO-TRANSPORT-021"];
    const FALLBACK: &[&str] = &["RO-TRANSPORT-022"];
    let seen = &c.seen;
    let mut out: Walk = Vec::new();
    let pattern = match seen.pattern {
        // Nothing usable arrived: the hello steps judged why.
        None => return Ok(out),
        Some(p) => p,
    };
    let checks = if matches!(behaviour, Behaviour::IkResume | Behaviour::IkUnverifiedCache) {
        RESUME
    } else {
        FALLBACK
    };
    if behaviour == Behaviour::IkUnverifiedCache && (pattern != Pattern::Xx || declared) {
        let expected = "an XX ClientHello: the only server static seen came with a chain the client refused";
        // An IK ClientHello carries the static key and JWT, sealed to the cached key: to a server whose chain the
        // client refused, that is the credential leak of RO-TRANSPORT-007 as much as a ClientFinish would be.
        const REFUSED_CACHE: &[&str] = &["RO-TRANSPORT-007", "RO-TRANSPORT-021"];
        out.push((
            "no IK resume from a server static whose chain was refused",
            REFUSED_CACHE,
            if pattern == Pattern::Xx {
                pass(expected, "XX")
            } else {
                let what = match seen.client_static {
                    Some(s) => format!("its static key {} and its JWT", hex::encode(s)),
                    None => "its static key and JWT".into(),
                };
                fail(
                    expected,
                    format!(
                        "an IK ClientHello sealed to the server static of connection 1, whose chain it refused: the \
                         client handed its credential ({what}) to an unauthenticated server, from a key it cached \
                         without verifying"
                    ),
                )
            },
        ));
        return Ok(out);
    }
    if pattern == Pattern::Xx {
        if !declared {
            return Err(Observation::with(
                Outcome::Unsupported,
                describe(behaviour),
                "the client connected with XX again and does not declare transport_ik: IK resume (RO-TRANSPORT-021, \
                 MAY) and XXfallback (RO-TRANSPORT-022, a MUST only for clients that implement IK) do not apply",
            ));
        }
        // A declared capability the wire does not show: the resume (or the fallback it leads to) is owed.
        out.push((
            "IK resume with the server static verified on connection 1",
            checks,
            fail(
                "an IK ClientHello (ephemeral, static, payload) to the server static of connection 1, whose chain \
                 is still valid",
                "an XX ClientHello (ephemeral only), although the adapter declares transport_ik",
            ),
        ));
        return Ok(out);
    }
    let finish_problem = match &seen.problem {
        Some((Stage::Finish, p)) => Some(p.clone()),
        _ => None,
    };
    match (behaviour, pattern) {
        (Behaviour::IkResume, Pattern::Ik) => out.push((
            "IK ClientHello opens under the cached server static",
            RESUME,
            match (&seen.client_static, &seen.payload) {
                (Some(_), Some(_)) => pass(
                    "static opens after es, payload after ss (IK name, prologue, server static, e_c)",
                    "both open",
                ),
                _ => fail(
                    "static opens after es, payload after ss",
                    finish_problem.clone().unwrap_or_else(|| seen.end.clone()),
                ),
            },
        )),
        (Behaviour::IkResume, _) => {
            out.push((
                "IK ClientHello opens under the cached server static",
                RESUME,
                fail(
                    "an IK ClientHello that opens under the server static of connection 1 (unchanged)",
                    "its static does not open: the transcript (IK name, prologue, server static, e_c) or the es key \
                     differs; the server had to answer with XXfallback",
                ),
            ));
            return Ok(out);
        }
        (_, Pattern::Ik) => {
            out.push((
                "IK rejected: the server answers with XXfallback",
                FALLBACK,
                fail(
                    "an IK ClientHello the rotated server cannot open",
                    "it opened: the client did not use the server static it had cached",
                ),
            ));
            return Ok(out);
        }
        (_, _) => {
            out.push((
                "no second ClientHello or new ephemeral after the IK rejection",
                FALLBACK,
                match &seen.second_hello {
                    None => pass("the IK ephemeral kept, no second ClientHello", "none"),
                    Some(e) => fail(
                        "the IK ephemeral kept, no second ClientHello",
                        format!("a second ClientHello with ephemeral {}", hex::encode(e)),
                    ),
                },
            ));
            if behaviour == Behaviour::IkFallbackBadChain {
                out.extend(hostile_steps(behaviour, c, &[]));
                return Ok(out);
            }
            out.push((
                "XXfallback ClientFinish opens",
                FALLBACK,
                match (&seen.finish, &seen.client_static, &seen.payload) {
                    (Some(_), Some(_), Some(_)) => pass(
                        "static and payload open under the hashed XXfallback name with the IK ephemeral",
                        "both open",
                    ),
                    (None, _, _) => fail(
                        "a ClientFinish completing the XXfallback",
                        format!("none arrived ({}); the client said {}", seen.end, c.said()),
                    ),
                    _ => fail(
                        "static and payload open under the hashed XXfallback name with the IK ephemeral",
                        finish_problem.clone().unwrap_or_else(|| seen.end.clone()),
                    ),
                },
            ));
        }
    }
    let (Some(s_c), Some(payload)) = (seen.client_static, &seen.payload) else {
        return Ok(out);
    };
    out.push((
        "static key = enlisted authkey",
        checks,
        authkey_observation(authkey, &s_c),
    ));
    out.extend(login_steps(payload, checks, checks, jwks_url, identifier, ctx).await);
    let asked = client_stanzas(behaviour);
    out.push((
        "client transport frames after the resumed handshake",
        checks,
        frames_observation(seen, &asked),
    ));
    out.push((
        "server stanzas delivered after the resumed handshake",
        checks,
        delivered_observation(c),
    ));
    Ok(out)
}

/// The client's static key against the enlisted `authkey`.
fn authkey_observation(authkey: Option<&[u8]>, s_c: &[u8; 32]) -> Observation {
    match authkey {
        Some(a) if a == s_c => pass("the enlisted authkey", hex::encode(s_c)),
        Some(a) => fail(
            format!("the enlisted authkey {}", hex::encode(a)),
            format!("static key {}", hex::encode(s_c)),
        ),
        None => fail(
            "the enlisted authkey",
            "the enlistment request carried no usable authkey",
        ),
    }
}

/// The client's transport frames: the asked stanzas, each in one frame, opening in order.
fn frames_observation(seen: &Seen, asked: &[Vec<u8>]) -> Observation {
    let expected = format!("{} stanzas, each in one frame, counters from 0, empty AAD", asked.len());
    if seen.stanzas == asked {
        return pass(&expected, format!("{} frames opened", asked.len()));
    }
    let why = match &seen.problem {
        Some((Stage::Transport, p)) => p.clone(),
        _ => format!("ended: {}", seen.end),
    };
    fail(expected, format!("{} opened; {why}", seen.stanzas.len()))
}

/// The server's stanzas the client says it delivered, against those a careful client delivers.
fn delivered_observation(c: &Connection) -> Observation {
    let received = c.received();
    let expected = "both server stanzas delivered";
    if received == c.seen.deliverable {
        pass(expected, "both delivered")
    } else {
        fail(
            expected,
            format!("{} delivered; the client said {}", received.len(), c.said()),
        )
    }
}

/// The third connection of ik.after-fallback: after the server rejected its IK, the client should not try IK
/// again (RO-TRANSPORT-022A, SHOULD), even with the static it verified during the fallback.
fn after_fallback_steps(c: &Connection) -> Walk {
    let expected = "an XX ClientHello: one IK rejection ends resuming (whatsapp-rust IK_FAILURE_THRESHOLD = 1)";
    let observation = match c.seen.pattern {
        Some(Pattern::Xx) => pass(expected, "XX"),
        Some(_) => fail(expected, "an IK ClientHello again, right after the server rejected one"),
        None => fail(expected, format!("no ClientHello ({})", c.seen.end)),
    };
    vec![("XX after an IK rejection", &["RO-TRANSPORT-022A"], observation)]
}

/// The login in a ClientPayload: product INTEROP with a token, and that token verifying under the Partner's
/// JWKS for the enlisted identifier.
async fn login_steps(
    payload: &[u8],
    product_checks: &'static [&'static str],
    jwt_checks: &'static [&'static str],
    jwks_url: &str,
    identifier: &str,
    ctx: &CaseContext<'_>,
) -> Walk {
    let mut out: Walk = Vec::new();
    let decoded = responder::client_payload(payload);
    out.push((
        "ClientPayload product INTEROP with interopData.token",
        product_checks,
        judge(
            decoded.clone().and_then(
                |p| match (p.product, p.interop_data.as_ref().and_then(|d| d.token.as_ref())) {
                    (Some(PRODUCT_INTEROP), Some(t)) if !t.is_empty() => {
                        Ok(format!("product 2, token of {} bytes", t.len()))
                    }
                    (product, token) => Err(format!(
                        "product {product:?}, token {}",
                        token
                            .map(|t| format!("of {} bytes", t.len()))
                            .unwrap_or_else(|| "missing".into())
                    )),
                },
            ),
            "product = INTEROP (2), interopData.token set",
        ),
    ));
    let jwt = decoded
        .ok()
        .and_then(|p| p.interop_data)
        .and_then(|d| d.token)
        .map(|t| String::from_utf8_lossy(&t).into_owned());
    let expected = "the JWT verifies under the Partner's JWKS and names the enlisted identifier";
    let observation = match jwt {
        None => fail(expected, "no token"),
        Some(jwt) => match token::verify_partner_token(&ctx.provider.allowed_hosts(), jwks_url, &jwt).await {
            Err(TokenError::Invalid(e)) => fail(expected, e),
            Err(TokenError::NotAllowed(e) | TokenError::Harness(e)) => Observation::with(Outcome::Error, expected, e),
            Ok(v) => match token::identifier_claim(&v.claims, identifier) {
                Some(claim) => pass(expected, format!("verified; claim {claim} = {identifier:?}")),
                None => fail(expected, format!("verified, but no claim names {identifier:?}")),
            },
        },
    };
    out.push(("the JWT in the ClientPayload", jwt_checks, observation));
    out
}

fn excerpt(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(48)];
    format!("{}{}", hex::encode(shown), if bytes.len() > 48 { "..." } else { "" })
}

fn describe(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Honest => "a complete XX handshake with the enlisted authkey and JWT, then stanzas both ways",
        Behaviour::Dribble => "the handshake completes and both server stanzas arrive though written byte by byte",
        Behaviour::CounterEdge => "two frames at counters 2^32-2 and 2^32-1, then the client stops sending",
        Behaviour::TamperedFrame | Behaviour::ReplayedFrame => "tampered or replayed server frames never delivered",
        Behaviour::IkResume => "the second connection resumes with IK and completes with the enlisted authkey and JWT",
        Behaviour::IkRejected => {
            "the second connection's IK is rejected and the client completes XXfallback on the same ephemeral"
        }
        Behaviour::IkFallbackBadChain => "the IK is rejected with a bad fallback chain: no ClientFinish follows",
        Behaviour::IkUnverifiedCache => "the chain of connection 1 is refused, and connection 2 uses XX, not IK",
        Behaviour::IkAfterFallback => {
            "the IK of connection 2 is rejected and completed as XXfallback; connection 3 uses XX"
        }
        _ => "the handshake aborts before ClientFinish",
    }
}
