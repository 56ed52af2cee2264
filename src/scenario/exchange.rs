//! The live exchange a scenario drives: the provider under test on one side, the harness's reference peer on
//! the other, a model of what each delivery must do, and a trace of every step.
//!
//! The model tracks, per party, the ratchet key it sends under (a new one after each newly seen remote key,
//! as the Double Ratchet does) and, per remote key, the receiving chain index. From that it decides what a
//! delivery must do: a message on the newest receiving chain within [`MAX_JUMP`] of the chain index must
//! decrypt (RO-ENC-014, RO-ENC-015); a message on an older chain may decrypt or be rejected, because keeping
//! old receiving chains is a SHOULD (RO-ENC-015A: Signal keeps 5, and the catalog sets no minimum). A wrong
//! plaintext always fails.

use super::definition::MAX_JUMP;
use super::strategy::{Fault, Message};
use crate::family::roundtrip::Party;
use crate::monitor::{KeyLog, Monitor};
use crate::outcome::Observation;
use crate::provider::{
    CallError, CallResult, Ciphertext, CiphertextKind, ClientId, CreateClient, ErrorClass, PreKeyBundle, Provider,
};
use std::collections::HashMap;

/// Why an exchange stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The provider broke the property at the last traced step.
    Fail {
        /// The requirement(s) the step checks (blame); empty: all of the scenario's.
        checks: &'static [&'static str],
        /// What the step should have done.
        expected: String,
        /// What it did.
        observed: String,
    },
    /// The step could not be judged (transport error, unsupported operation, harness problem).
    Halt(Box<Observation>),
}

/// One traced step: what was done, and what came of it (the observable part, compared in differential mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The action, in words.
    pub action: String,
    /// Its observable result: `ok`, `pkmsg`, `plaintext ok`, `rejected: bad_mac`, ...
    pub result: String,
}

/// One side of the exchange.
struct Side<'a> {
    api: &'a dyn Provider,
    client: ClientId,
}

/// The model of one party.
#[derive(Default)]
struct Model {
    /// Ratchet key (model id) it sends under; 0 before it can send.
    key: u32,
    /// Newest remote key it decrypted.
    newest_remote: u32,
    /// It decrypted at least one message.
    has_received: bool,
    /// It started the session.
    initiator: bool,
    /// Next counter per own key.
    send_counter: HashMap<u32, u32>,
    /// Receiving chain index per remote key: highest decrypted counter + 1.
    chain_index: HashMap<u32, u32>,
}

/// What a delivery must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Must {
    Decrypt,
    DecryptOrReject,
}

/// A sent message on its way.
#[derive(Clone)]
struct Flight {
    label: usize,
    from: Party,
    ciphertext: Ciphertext,
    plaintext: Vec<u8>,
    key: u32,
    counter: u32,
    due: usize,
    seq: usize,
    fault: Fault,
}

/// A live exchange between the provider and the reference peer.
pub struct Exchange<'a> {
    provider: Side<'a>,
    peer: Side<'a>,
    models: [Model; 2],
    next_key: u32,
    sent: usize,
    in_flight: Vec<Flight>,
    /// Messages the provider decrypted, oldest first (for duplicates and replays).
    decrypted_by_provider: Vec<Flight>,
    /// The trace.
    pub events: Vec<Event>,
    /// Rejections whose class is not the one the model expects: the behaviour holds, so they are notes for the
    /// error-class fidelity SHOULD, not failures.
    pub notes: Vec<String>,
    /// The wire monitor of what the provider sends, when the run monitors.
    monitor: Option<Monitor<'a>>,
    /// A first message has decrypted: session setup is over (for blame).
    established: bool,
}

/// The provider's name for the peer and the peer's for the provider.
pub const PEER: &str = "peer";
/// The peer's name for the provider.
pub const PROVIDER: &str = "provider";

fn idx(p: Party) -> usize {
    match p {
        Party::Peer => 0,
        Party::Provider => 1,
    }
}

/// The other party.
pub fn other(p: Party) -> Party {
    match p {
        Party::Peer => Party::Provider,
        Party::Provider => Party::Peer,
    }
}

/// A party's name in traces.
pub fn name(p: Party) -> &'static str {
    match p {
        Party::Peer => "peer",
        Party::Provider => "provider",
    }
}

/// The plaintext of message `label`: its name first, so that every message differs, then filler.
pub fn plaintext(label: usize, size: u32) -> Vec<u8> {
    let mut text = format!("m{label}.").into_bytes();
    let mut j = 0u8;
    while text.len() < size as usize {
        text.push(b'a' + j % 26);
        j = j.wrapping_add(1);
    }
    text
}

fn describe<T>(result: &CallResult<T>, ok: impl Fn(&T) -> String) -> String {
    match result {
        Ok(v) => ok(v),
        Err(CallError::Rejected { class, .. }) => format!("rejected: {class}"),
        Err(e) => e.to_string(),
    }
}

fn halt(step: &str, error: &CallError) -> Stop {
    Stop::Halt(Box::new(
        Observation::from_call_error("the step completes", error).at_step(step),
    ))
}

/// What session setup checks: every step until the first message has decrypted.
const SETUP: &[&str] = &[crate::family::session::SETUP];
/// What a tampered copy checks.
const MAC: &[&str] = &["RO-ENC-011"];
/// What a replayed copy checks.
const REPLAY: &[&str] = &["RO-ENC-014"];

/// What a schedule that failed after its session was established has checked before the failing step: session
/// setup, and the wire monitor's rules (they judged every provider message up to it without a finding).
pub(super) fn reached_once_established() -> Vec<String> {
    let mut ids = vec![crate::family::session::SETUP.to_string()];
    ids.extend(crate::monitor::requirements());
    ids
}

/// What a failing schedule expected, at trace step `step`: a wire-monitor finding names its rule and the
/// message's step (`step 13, m5: RO-ENC-006 (dh-ratchet-on-send, wire monitor): ...`), as round-trip findings do;
/// any other failure is the scenario's property broken at that step.
pub(super) fn headline(statement: &str, step: usize, expected: &str) -> String {
    if crate::monitor::names_rule(expected) {
        format!("step {step}, {expected}")
    } else {
        format!("{statement}; at step {step}: {expected}")
    }
}

fn fail(checks: &'static [&'static str], expected: impl Into<String>, observed: impl Into<String>) -> Stop {
    Stop::Fail {
        checks,
        expected: expected.into(),
        observed: observed.into(),
    }
}

impl<'a> Exchange<'a> {
    /// Create one client on each side; `seed` makes both deterministic. With `keys`, the wire monitor judges
    /// every bundle and message the provider sends.
    pub async fn new(
        provider: &'a dyn Provider,
        peer: &'a dyn Provider,
        seed: u64,
        keys: Option<&'a KeyLog>,
    ) -> Result<Self, Stop> {
        let mut events = Vec::new();
        let create = |name: &str, seed| CreateClient {
            name: name.into(),
            seed: Some(seed),
            keys: None,
        };
        let p = provider.create_client(&create(PROVIDER, seed)).await;
        events.push(Event {
            action: "provider creates a client".into(),
            result: describe(&p, |_| "ok".into()),
        });
        let p = match p {
            Ok(c) => c,
            Err(e @ CallError::Rejected { .. }) => return Err(fail(SETUP, "client created", e.to_string())),
            Err(e) => return Err(halt("create_client", &e)),
        };
        let q = peer
            .create_client(&create(PEER, seed ^ 0x5eed))
            .await
            .map_err(|e| halt("harness peer create_client", &e))?;
        Ok(Self {
            provider: Side {
                api: provider,
                client: p,
            },
            peer: Side { api: peer, client: q },
            models: [Model::default(), Model::default()],
            next_key: 0,
            sent: 0,
            in_flight: Vec::new(),
            decrypted_by_provider: Vec::new(),
            events,
            notes: Vec::new(),
            monitor: keys.map(Monitor::new),
            established: false,
        })
    }

    fn side(&self, p: Party) -> &Side<'a> {
        match p {
            Party::Peer => &self.peer,
            Party::Provider => &self.provider,
        }
    }

    /// Messages sent so far (bursts of lost messages aside).
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// A first message has decrypted: the session setup steps passed.
    pub fn established(&self) -> bool {
        self.established
    }

    /// What a failing step checks by default: session setup until a first message decrypted, then all.
    fn stage(&self) -> &'static [&'static str] {
        if self.established { &[] } else { SETUP }
    }

    fn fresh_key(&mut self) -> u32 {
        self.next_key += 1;
        self.next_key
    }

    fn trace(&mut self, action: impl Into<String>, result: impl Into<String>) {
        self.events.push(Event {
            action: action.into(),
            result: result.into(),
        });
    }

    /// The initiator fetches the responder's bundle (dropping its one-time prekey unless `one_time_prekey`)
    /// and starts the session.
    pub async fn start(&mut self, initiator: Party, one_time_prekey: bool) -> Result<(), Stop> {
        if initiator == Party::Provider && self.monitor.is_some() {
            // The monitor needs what the provider published (identity, registration id) to judge its pkmsgs.
            self.fetch_bundle(Party::Provider).await?;
        }
        let mut bundle = self.fetch_bundle(other(initiator)).await?;
        if !one_time_prekey {
            bundle.prekey = None;
            bundle.prekey_id = None;
        }
        self.start_from(initiator, &bundle).await
    }

    /// `of` publishes its current prekey bundle.
    pub async fn fetch_bundle(&mut self, of: Party) -> Result<PreKeyBundle, Stop> {
        let bundle = self.side(of).api.prekey_bundle(&self.side(of).client).await;
        let shown = describe(&bundle, |b| match b.prekey_id {
            Some(id) => format!("ok, one-time prekey {id}"),
            None => "ok, no one-time prekey".into(),
        });
        self.trace(format!("{} publishes its prekey bundle", name(of)), shown);
        match (bundle, of) {
            (Ok(b), Party::Provider) => {
                if let Some(m) = self.monitor.as_mut() {
                    m.provider_bundle(PROVIDER, &b, &format!("{} publishes its prekey bundle", name(of)));
                }
                self.monitored()?;
                Ok(b)
            }
            (Ok(b), _) => Ok(b),
            (Err(e @ CallError::Rejected { .. }), Party::Provider) => {
                Err(fail(self.stage(), "bundle published", e.to_string()))
            }
            (Err(e), _) => Err(halt("prekey_bundle", &e)),
        }
    }

    /// The initiator starts a (new) session from `bundle`; the model starts over with it.
    pub async fn start_from(&mut self, initiator: Party, bundle: &PreKeyBundle) -> Result<(), Stop> {
        if let Some(m) = self.monitor.as_mut() {
            match initiator {
                Party::Provider => m.provider_starts(bundle),
                Party::Peer => m.peer_starts(bundle),
            }
        }
        let with = if bundle.prekey.is_some() { "with" } else { "without" };
        self.process(initiator, other(initiator), bundle, &format!("{with} one-time prekey"))
            .await?;
        let key = self.fresh_key();
        self.models = [Model::default(), Model::default()];
        let m = &mut self.models[idx(initiator)];
        (m.key, m.initiator) = (key, true);
        self.in_flight.clear();
        self.decrypted_by_provider.clear();
        Ok(())
    }

    /// `who` processes a bundle published by `of`; it must be accepted.
    async fn process(&mut self, who: Party, of: Party, bundle: &PreKeyBundle, note: &str) -> Result<(), Stop> {
        let side = self.side(who);
        let result = side.api.process_bundle(&side.client, name(of), bundle).await;
        self.trace(
            format!("{} starts a session from {}'s bundle ({note})", name(who), name(of)),
            describe(&result, |_| "ok".into()),
        );
        match (result, who) {
            (Ok(()), _) => Ok(()),
            (Err(e @ CallError::Rejected { .. }), Party::Provider) => {
                Err(fail(self.stage(), "bundle accepted", e.to_string()))
            }
            (Err(e), _) => Err(halt("process_bundle", &e)),
        }
    }

    /// Whether `p` has a session to send on.
    pub fn can_send(&self, p: Party) -> bool {
        self.models[idx(p)].key != 0
    }

    async fn encrypt(&mut self, from: Party, text: &[u8], label: &str) -> Result<Ciphertext, Stop> {
        let side = self.side(from);
        let result = side.api.encrypt(&side.client, name(other(from)), text).await;
        let kind = |c: &Ciphertext| match c.kind {
            CiphertextKind::Pkmsg => "pkmsg".to_string(),
            CiphertextKind::Msg => "msg".to_string(),
        };
        let action = format!("{label}: {} encrypts {} bytes", name(from), text.len());
        self.trace(action, describe(&result, kind));
        let ciphertext = match (result, from) {
            (Ok(c), _) => c,
            (Err(e @ CallError::Rejected { .. }), Party::Provider) => {
                return Err(fail(self.stage(), "encrypt succeeds", e.to_string()));
            }
            (Err(e), _) => return Err(halt("encrypt", &e)),
        };
        if from == Party::Provider
            && let Some(m) = self.monitor.as_mut()
        {
            m.provider_sent(&ciphertext, text, label);
            self.monitored()?;
        }
        let model = &self.models[idx(from)];
        let want = if model.initiator && !model.has_received {
            CiphertextKind::Pkmsg
        } else {
            CiphertextKind::Msg
        };
        if from == Party::Provider && ciphertext.kind != want {
            let name = |k| if k == CiphertextKind::Pkmsg { "pkmsg" } else { "msg" };
            return Err(fail(
                SETUP,
                format!(
                    "{} (RO-ENC-004: pkmsg until the first message is received, msg after)",
                    name(want)
                ),
                name(ciphertext.kind),
            ));
        }
        Ok(ciphertext)
    }

    /// Send one scheduled message (with its jump first). A sender without a session yet skips it.
    pub async fn send(&mut self, message: &Message) -> Result<(), Stop> {
        let from = message.from;
        if !self.can_send(from) {
            return Ok(());
        }
        let key = self.models[idx(from)].key;
        if message.jump > 0 {
            let burst = format!("burst of {} lost messages", message.jump);
            for _ in 0..message.jump {
                let side = self.side(from);
                let result = side.api.encrypt(&side.client, name(other(from)), b"lost").await;
                if let (Ok(c), Party::Provider, Some(m)) = (&result, from, self.monitor.as_mut()) {
                    m.provider_sent(c, b"lost", &burst);
                    self.monitored()?;
                }
                if let Err(e) = result {
                    self.trace(
                        format!("{burst}: {} encrypts", name(from)),
                        describe::<()>(&Err(e.clone()), |_| String::new()),
                    );
                    return Err(match (e, from) {
                        (e @ CallError::Rejected { .. }, Party::Provider) => {
                            fail(self.stage(), "encrypt succeeds", e.to_string())
                        }
                        (e, _) => halt("encrypt", &e),
                    });
                }
            }
            *self.models[idx(from)].send_counter.entry(key).or_default() += message.jump;
            self.trace(format!("{} encrypts a {burst} (a counter jump)", name(from)), "ok");
        }
        self.sent += 1;
        let label = self.sent;
        let text = plaintext(label, message.size);
        let ciphertext = self.encrypt(from, &text, &format!("m{label}")).await?;
        let counter = self.models[idx(from)].send_counter.entry(key).or_default();
        let flight = Flight {
            label,
            from,
            ciphertext,
            plaintext: text,
            key,
            counter: *counter,
            due: label + message.delay as usize,
            seq: label,
            fault: message.fault,
        };
        *counter += 1;
        self.in_flight.push(flight);
        Ok(())
    }

    /// Deliver every message whose time has come (all of them when `drain`), earliest due first.
    pub async fn deliver_due(&mut self, drain: bool) -> Result<(), Stop> {
        loop {
            let now = self.sent;
            let next = self
                .in_flight
                .iter()
                .enumerate()
                .filter(|(_, f)| drain || f.due <= now)
                .min_by_key(|(_, f)| (f.due, f.seq))
                .map(|(i, _)| i);
            let Some(i) = next else { return Ok(()) };
            let flight = self.in_flight.remove(i);
            self.deliver(flight).await?;
        }
    }

    fn expectation(&self, to: Party, key: u32, counter: u32) -> Must {
        let model = &self.models[idx(to)];
        let within = |distance: u32| {
            if distance <= MAX_JUMP {
                Must::Decrypt
            } else {
                Must::DecryptOrReject
            }
        };
        if key > model.newest_remote {
            within(counter)
        } else if key == model.newest_remote {
            let index = model.chain_index.get(&key).copied().unwrap_or(0);
            within(counter.abs_diff(index))
        } else {
            Must::DecryptOrReject
        }
    }

    async fn decrypt(&mut self, to: Party, ciphertext: &Ciphertext) -> CallResult<Vec<u8>> {
        let side = self.side(to);
        let result = side.api.decrypt(&side.client, name(other(to)), ciphertext).await;
        if let (Party::Provider, Ok(_), Some(m)) = (to, &result, self.monitor.as_mut()) {
            m.provider_received(ciphertext);
        }
        result
    }

    /// Stop at the wire monitor's first new finding.
    fn monitored(&mut self) -> Result<(), Stop> {
        match self.monitor.as_mut().and_then(Monitor::take_finding) {
            Some(f) => {
                let o = f.observation().at_step(&f.step);
                Err(fail(f.rule.checks(), o.expected, o.observed))
            }
            None => Ok(()),
        }
    }

    /// The wire monitor's summary, when it ran.
    pub fn monitor_summary(&self) -> Option<String> {
        self.monitor.as_ref().map(Monitor::summary)
    }

    async fn deliver(&mut self, flight: Flight) -> Result<(), Stop> {
        let to = other(flight.from);
        let m = format!("m{}", flight.label);
        if flight.fault == Fault::Lost {
            self.trace(format!("{m} is lost"), "-");
            return Ok(());
        }
        if let (Party::Provider, Fault::Tamper { bit }) = (to, flight.fault)
            && flight.ciphertext.kind == CiphertextKind::Msg
        {
            self.tampered(&flight, bit).await?;
        }
        let must = self.expectation(to, flight.key, flight.counter);
        let result = self.decrypt(to, &flight.ciphertext).await;
        let shown = describe(&result, |p| {
            if *p == flight.plaintext {
                "plaintext ok".into()
            } else {
                format!("plaintext {}", hex::encode(p))
            }
        });
        let why = if must == Must::Decrypt {
            ""
        } else {
            " (older chain or beyond the bounds: may be rejected)"
        };
        self.trace(format!("{m} delivered to {}{why}", name(to)), shown.clone());
        let expected = format!("{m} decrypts to {}", hex::encode(&flight.plaintext));
        match result {
            Ok(p) if p == flight.plaintext => self.decrypted(to, flight.clone()),
            Ok(_) => return Err(fail(self.stage(), expected, shown)),
            Err(CallError::Rejected { .. }) if must == Must::DecryptOrReject => {}
            Err(e @ CallError::Rejected { .. }) if to == Party::Peer => {
                return Err(fail(
                    self.stage(),
                    expected,
                    format!("the reference peer rejects the provider's {m}: {e}"),
                ));
            }
            Err(e @ CallError::Rejected { .. }) => return Err(fail(self.stage(), expected, e.to_string())),
            Err(e) => return Err(halt(&m, &e)),
        }
        if let (Party::Provider, Fault::Duplicate { back }) = (to, flight.fault) {
            let n = self.decrypted_by_provider.len();
            let again = self.decrypted_by_provider[n - 1 - (back as usize % n)].clone();
            self.replay(&again, "delivered again (duplicate)").await?;
        }
        Ok(())
    }

    fn decrypted(&mut self, to: Party, flight: Flight) {
        let fresh = self.fresh_key();
        self.established = true;
        let model = &mut self.models[idx(to)];
        model.has_received = true;
        if flight.key > model.newest_remote {
            model.newest_remote = flight.key;
            model.key = fresh;
        }
        let index = model.chain_index.entry(flight.key).or_default();
        *index = (*index).max(flight.counter + 1);
        if to == Party::Provider {
            self.decrypted_by_provider.push(flight);
        }
    }

    async fn tampered(&mut self, flight: &Flight, bit: u16) -> Result<(), Stop> {
        let mut copy = flight.ciphertext.clone();
        let bits = copy.body.0.len() * 8;
        let at = bit as usize % bits.max(1);
        if let Some(byte) = copy.body.0.get_mut(at / 8) {
            *byte ^= 1 << (at % 8);
        }
        let result = self.decrypt(Party::Provider, &copy).await;
        let shown = describe(&result, |p| format!("plaintext {}", hex::encode(p)));
        self.trace(
            format!("m{} with bit {at} flipped delivered to provider", flight.label),
            shown.clone(),
        );
        match result {
            Err(CallError::Rejected { .. }) => Ok(()),
            Ok(_) => Err(fail(MAC, "the tampered copy is rejected (RO-ENC-011)", shown)),
            Err(e) => Err(halt("decrypt", &e)),
        }
    }

    /// Deliver an already decrypted message to the provider again; it must be rejected (RO-ENC-014). Any class
    /// meets that; `duplicate` is expected when it is on the newest receiving chain within the bounds (the
    /// receiver can tell), and another class there is a note for the fidelity SHOULD.
    async fn replay(&mut self, flight: &Flight, what: &str) -> Result<(), Stop> {
        let model = &self.models[idx(Party::Provider)];
        let index = model.chain_index.get(&flight.key).copied().unwrap_or(0);
        let knows = flight.key == model.newest_remote && index - flight.counter <= MAX_JUMP;
        let result = self.decrypt(Party::Provider, &flight.ciphertext).await;
        let shown = describe(&result, |p| format!("plaintext {}", hex::encode(p)));
        self.trace(format!("m{} {what}", flight.label), shown.clone());
        match result {
            Err(CallError::Rejected { class, .. }) => {
                if knows && class != ErrorClass::Duplicate {
                    let step = self.events.len();
                    self.notes.push(format!(
                        "step {step}: m{} {what}: rejected as {class}; the model expects duplicate",
                        flight.label
                    ));
                }
                Ok(())
            }
            Ok(_) if knows => Err(fail(REPLAY, "rejected: duplicate (RO-ENC-014)", shown)),
            Ok(_) => Err(fail(REPLAY, "rejected (RO-ENC-014)", shown)),
            Err(e) => Err(halt("decrypt", &e)),
        }
    }

    /// A ratchet round trip (peer, provider, peer), then every ciphertext the provider decrypted, again.
    pub async fn replay_all_after_round_trip(&mut self) -> Result<(), Stop> {
        for from in [Party::Peer, Party::Provider, Party::Peer] {
            let plain = Message {
                from,
                size: 0,
                delay: 0,
                fault: Fault::None,
                jump: 0,
            };
            self.send(&plain).await?;
            self.deliver_due(true).await?;
        }
        for flight in self.decrypted_by_provider.clone() {
            self.replay(&flight, "replayed after a ratchet round trip").await?;
        }
        Ok(())
    }

    /// Send and deliver `messages` in order, with their faults (the plain ones have none).
    pub async fn run(&mut self, messages: &[Message]) -> Result<(), Stop> {
        for message in messages {
            self.send(message).await?;
            self.deliver_due(false).await?;
        }
        self.deliver_due(true).await
    }

    /// The provider side, for property-specific steps.
    pub fn provider(&self) -> (&'a dyn Provider, &ClientId) {
        (self.provider.api, &self.provider.client)
    }

    /// The peer side, for property-specific steps.
    pub fn peer(&self) -> (&'a dyn Provider, &ClientId) {
        (self.peer.api, &self.peer.client)
    }

    /// Record a property-specific step.
    pub fn record(&mut self, action: impl Into<String>, result: impl Into<String>) {
        self.trace(action, result);
    }
}
