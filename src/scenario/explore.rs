//! Drawing, judging and shrinking schedules with proptest, and turning the minimal failing schedule into an
//! observation that lists it step by step.
//!
//! proptest's `TestRunner::run` takes a synchronous test, but provider calls are async (and may go over
//! HTTP), so this module drives proptest's value trees itself with the same loop the runner uses: draw up to
//! `cases` schedules from a `TestRunner` seeded with the case seed, and on a failure alternate
//! `simplify`/`complicate` until no simpler schedule fails (at most `MAX_SHRINK_ITERS` evaluations, a count
//! rather than a time limit so that replays shrink identically).

use super::definition::{Property, ScenarioFile};
use super::exchange::{Event, Exchange, Stop};
use super::{special, strategy};
use crate::family::CaseContext;
use crate::monitor::KeyLog;
use crate::outcome::{Observation, Outcome, ScheduleFailure, Steps};
use crate::provider::Provider;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::fmt::Write;
use std::sync::Arc;

/// Shrink evaluations per failing case: enough for schedules to shrink to a few steps.
const MAX_SHRINK_ITERS: u32 = 2048;

/// Inputs of one scenario case.
#[derive(Debug, Clone)]
pub struct Check {
    /// The scenario.
    pub scenario: Arc<ScenarioFile>,
    /// Schedules to draw.
    pub cases: u32,
    /// Also compare every schedule's trace with the reference's.
    pub differential: bool,
    /// Go on after a failing schedule and report every distinct failure (`--thorough`, `explore`): one bug
    /// must not hide another. The case's outcome and blame are still the first failure's.
    pub keep_going: bool,
    /// Draw up to this schedule (1-based) and judge it alone: the replay of one failure (`--schedule N`).
    pub schedule: Option<u32>,
}

/// Distinct failures kept per case: enough to tell bugs apart, bounded however broken the provider is.
pub const MAX_DISTINCT: usize = 16;

/// Watches a draw: may end it early (explore's budget) and hears of every judged schedule (progress).
pub trait Watch: Send + Sync {
    /// Whether to stop before drawing the next schedule.
    fn stop(&self) -> bool {
        false
    }
    /// One schedule was judged; `new_failure` when it failed in a way not seen before.
    fn judged(&self, _new_failure: bool) {}
}

/// The watch of a plain run: never stops early.
struct Unwatched;
impl Watch for Unwatched {}

/// What drawing one scenario's schedules found.
#[derive(Debug, Clone)]
pub struct Drawn {
    /// Schedules judged (drawn but skipped ones, before `--schedule N`, are not counted).
    pub schedules: u32,
    /// Messages the judged schedules sent (first evaluations only, not shrinking).
    pub messages: u64,
    /// The case's observation: the first failure's (with every distinct one when it kept going), a halt, or
    /// the pass.
    pub observation: Observation,
    /// Per distinct failure, the key it was deduplicated by (same order as `observation.failures`).
    pub signatures: Vec<String>,
}

/// A drawn schedule of any property.
#[derive(Debug, Clone)]
enum Schedule {
    Flow(strategy::Flow),
    Prekey(strategy::PrekeyReuse),
    Identity(strategy::IdentityChange),
}

/// A schedule's trace and how it ended.
struct Trial {
    events: Vec<Event>,
    stop: Option<Stop>,
    /// Rejections under another class than the model expects (notes for the fidelity SHOULD).
    notes: Vec<String>,
    /// A first message decrypted: the session setup steps passed (for blame).
    established: bool,
    /// Messages sent.
    sent: usize,
}

async fn trial(
    schedule: &Schedule,
    provider: &dyn Provider,
    peer: &dyn Provider,
    seed: u64,
    keys: Option<&KeyLog>,
) -> Trial {
    let mut ex = match Exchange::new(provider, peer, seed, keys).await {
        Ok(ex) => ex,
        Err(stop) => {
            return Trial {
                events: Vec::new(),
                stop: Some(stop),
                notes: Vec::new(),
                established: false,
                sent: 0,
            };
        }
    };
    let result = match schedule {
        Schedule::Flow(f) => flow(&mut ex, f).await,
        Schedule::Prekey(p) => special::prekey_reuse(&mut ex, p, seed).await,
        Schedule::Identity(i) => special::identity_change(&mut ex, i, seed).await,
    };
    Trial {
        sent: ex.sent(),
        established: ex.established(),
        notes: ex.notes,
        events: ex.events,
        stop: result.err(),
    }
}

async fn flow(ex: &mut Exchange<'_>, f: &strategy::Flow) -> Result<(), Stop> {
    ex.start(f.initiator, f.one_time_prekey).await?;
    ex.run(&f.messages).await?;
    if f.replay_at_end {
        ex.replay_all_after_round_trip().await?;
    }
    Ok(())
}

/// How one schedule was judged.
enum Judged {
    /// It held; differential mode may have noted rejections whose class differs from the reference's.
    Pass(Vec<String>),
    Fail(Failure),
    Halt(Box<Observation>),
}

/// Judge one schedule; also the number of messages it sent.
async fn judge(schedule: &Schedule, check: &Check, ctx: &CaseContext<'_>) -> (Judged, u64) {
    let mut t = trial(schedule, ctx.provider, ctx.peer, ctx.seed, ctx.monitor).await;
    let sent = t.sent as u64;
    (judge_trial(&mut t, schedule, check, ctx).await, sent)
}

async fn judge_trial(t: &mut Trial, schedule: &Schedule, check: &Check, ctx: &CaseContext<'_>) -> Judged {
    match t.stop.take() {
        Some(Stop::Halt(o)) => return Judged::Halt(o),
        Some(Stop::Fail {
            checks,
            expected,
            observed,
        }) => {
            return Judged::Fail(Failure {
                checks,
                established: t.established,
                events: std::mem::take(&mut t.events),
                expected,
                observed,
            });
        }
        None => {}
    }
    if !check.differential {
        return Judged::Pass(std::mem::take(&mut t.notes));
    }
    // The reference plays the provider's part too, with the same schedule and seeds. Behaviour is compared
    // (accepted or rejected, and the plaintext); a rejection class that differs is only a note.
    let r = trial(schedule, ctx.peer, ctx.peer, ctx.seed, ctx.monitor).await;
    if let Some(Stop::Halt(o)) = r.stop {
        return Judged::Halt(o);
    }
    let n = t.events.len().max(r.events.len());
    let result = |events: &[Event], i: usize| events.get(i).map(|e| e.result.clone());
    let behaviour = |r: Option<String>| {
        r.map(|r| {
            if r.starts_with("rejected: ") {
                "rejected".into()
            } else {
                r
            }
        })
    };
    let Some(i) = (0..n).find(|&i| behaviour(result(&t.events, i)) != behaviour(result(&r.events, i))) else {
        let differences: Vec<String> = (0..n)
            .filter_map(|i| match (result(&t.events, i), result(&r.events, i)) {
                (Some(mine), Some(theirs)) if mine != theirs => Some(format!(
                    "step {}: {}: rejected as {}; the reference rejects as {}",
                    i + 1,
                    t.events[i].action,
                    mine.trim_start_matches("rejected: "),
                    theirs.trim_start_matches("rejected: ")
                )),
                _ => None,
            })
            .collect();
        let mut notes = std::mem::take(&mut t.notes);
        notes.extend(differences);
        return Judged::Pass(notes);
    };
    let what = |r: Option<String>| r.unwrap_or_else(|| "(no such step)".to_string());
    let (mine, theirs) = (what(result(&t.events, i)), what(result(&r.events, i)));
    let mut events = std::mem::take(&mut t.events);
    events.truncate(i + 1);
    Judged::Fail(Failure {
        checks: &[],
        established: false,
        events,
        expected: format!("as the reference: {theirs}"),
        observed: format!("{mine} (differential mode: first difference from the reference)"),
    })
}

/// Run one scenario case: draw, judge, shrink, report.
pub async fn run(check: &Check, ctx: &CaseContext<'_>) -> Observation {
    draw(check, ctx, &Unwatched).await.observation
}

/// Draw and judge a scenario case's schedules under `watch`, shrinking each new failure.
pub async fn draw(check: &Check, ctx: &CaseContext<'_>, watch: &dyn Watch) -> Drawn {
    let p = &check.scenario.parameters;
    match check.scenario.property {
        Property::ExactlyOnce => explore(strategy::flow(p), Schedule::Flow, check, ctx, watch).await,
        Property::PrekeySingleUse => explore(strategy::prekey_reuse(p), Schedule::Prekey, check, ctx, watch).await,
        Property::IdentityChange => explore(strategy::identity_change(p), Schedule::Identity, check, ctx, watch).await,
    }
}

/// A failing schedule, as judged.
struct Failure {
    checks: &'static [&'static str],
    established: bool,
    events: Vec<Event>,
    expected: String,
    observed: String,
}

impl Failure {
    /// The key failures are deduplicated by: the requirements the failing step checks, the step and the
    /// observation (its first clause: the decoded fields that follow differ with every message), with numbers
    /// and hex normalised away: the same bug at another message or on other bytes is one failure.
    fn signature(&self) -> String {
        let step = self.events.last().map(|e| e.action.as_str()).unwrap_or_default();
        let clause = |text: &str| {
            let line = text.lines().next().unwrap_or_default();
            normalise(line.split(';').next().unwrap_or_default())
        };
        [
            self.checks.join(","),
            normalise(step),
            clause(&self.expected),
            clause(&self.observed),
        ]
        .join(" | ")
    }
}

/// Runs of digits, and of hex holding a digit, become `#`.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

async fn explore<S>(
    strategy: S,
    wrap: impl Fn(S::Value) -> Schedule,
    check: &Check,
    ctx: &CaseContext<'_>,
    watch: &dyn Watch,
) -> Drawn
where
    S: Strategy,
    S::Tree: Send,
{
    let config = Config {
        cases: check.cases,
        rng_seed: RngSeed::Fixed(ctx.seed),
        failure_persistence: None,
        max_shrink_iters: MAX_SHRINK_ITERS,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let statement = statement(check);
    let mut notes: Vec<String> = Vec::new();
    let mut drawn = Drawn {
        schedules: 0,
        messages: 0,
        observation: Observation::default(),
        signatures: Vec::new(),
    };
    let mut found: Vec<Observation> = Vec::new();
    let last = check.schedule.unwrap_or(check.cases);
    for case in 1..=last {
        if watch.stop() {
            break;
        }
        // Drawing does not depend on judging: schedule N is the same whether or not earlier ones were judged
        // or shrunk, which is what makes `--schedule N` a replay.
        let mut tree = match strategy.new_tree(&mut runner) {
            Ok(t) => t,
            Err(reason) => return drawn.ending(harness_error(&format!("cannot draw a schedule: {reason}"))),
        };
        if check.schedule.is_some_and(|only| case < only) {
            continue;
        }
        drawn.schedules += 1;
        let (judged, sent) = judge(&wrap(tree.current()), check, ctx).await;
        drawn.messages += sent;
        let failure = match judged {
            Judged::Pass(n) => {
                if notes.is_empty() {
                    notes = n.into_iter().map(|n| format!("schedule {case}, {n}")).collect();
                }
                watch.judged(false);
                continue;
            }
            Judged::Halt(o) => return drawn.ending(*o),
            Judged::Fail(f) => f,
        };
        let signature = failure.signature();
        if let Some(i) = drawn.signatures.iter().position(|s| *s == signature) {
            if let Some(f) = found[i].failures.first_mut() {
                f.occurrences += 1;
            }
            watch.judged(false);
            continue;
        }
        // Shrink. When going on, a simpler schedule must fail the same way, so that one bug does not shrink
        // into another; a single-failure run keeps proptest's rule (any failure is simpler).
        let same = |f: &Failure| !check.keep_going || f.signature() == signature;
        let mut last = failure;
        let mut shrinks = 0;
        let mut iterations = 0;
        if tree.simplify() {
            while iterations < MAX_SHRINK_ITERS {
                iterations += 1;
                match judge(&wrap(tree.current()), check, ctx).await.0 {
                    Judged::Fail(f) if same(&f) => {
                        last = f;
                        shrinks += 1;
                        if !tree.simplify() {
                            break;
                        }
                    }
                    _ => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        let o = failed(check, &statement, last, case, shrinks);
        let mut record = o.clone();
        record.failures = vec![ScheduleFailure {
            schedule: case,
            occurrences: 1,
            charged: o.charged.clone(),
            expected: o.expected.clone(),
            observed: o.observed.clone(),
            replay: String::new(),
        }];
        found.push(record);
        drawn.signatures.push(signature);
        watch.judged(true);
        if !check.keep_going || found.len() >= MAX_DISTINCT {
            break;
        }
    }
    let mut found = found.into_iter();
    let Some(mut first) = found.next() else {
        let held = match check.schedule {
            Some(k) => format!("schedule {k} held (proptest seed {})", ctx.seed),
            None => format!("{} schedules held (proptest seed {})", drawn.schedules, ctx.seed),
        };
        let steps = Steps::new(&check.scenario.requirements);
        let pass = Observation {
            class_mismatch: notes,
            ..steps.pass(statement, held)
        };
        return drawn.ending(pass);
    };
    // A single schedule (`--schedule N`) is its own replay: no list.
    if check.keep_going && check.schedule.is_none() {
        let rest: Vec<ScheduleFailure> = found.flat_map(|o| o.failures).collect();
        first.failures.extend(rest);
    } else {
        first.failures.clear();
    }
    drawn.ending(first)
}

impl Drawn {
    fn ending(mut self, observation: Observation) -> Self {
        self.observation = observation;
        self
    }
}

/// The case observation of a (shrunk) failing schedule, blamed on its failing step.
fn failed(check: &Check, statement: &str, f: Failure, case: u32, shrinks: u32) -> Observation {
    let mut steps = Steps::new(&check.scenario.requirements);
    // Setup that passed before the failing step was checked, not blocked; so were the wire monitor's rules on
    // every provider message before it (a finding of theirs would have been the failing step).
    let setup = crate::family::session::SETUP;
    if f.established && check.scenario.requirements.iter().any(|r| r == setup) {
        let _ = steps.step(
            "",
            &super::exchange::reached_once_established(),
            Observation::pass("session setup", "a first message decrypted"),
        );
    }
    let which = match check.schedule {
        Some(k) => format!("schedule {k} (judged alone) failed"),
        None => format!("schedule {case} of {} failed", check.cases),
    };
    let o = Observation::fail(
        super::exchange::headline(statement, f.events.len(), &f.expected),
        render(&f.events, &f.observed, &which, shrinks),
    );
    steps.step("", f.checks, o).unwrap_or_default()
}

fn statement(check: &Check) -> String {
    let what = match check.scenario.property {
        Property::ExactlyOnce => {
            "every delivery within the bounds decrypts exactly once to its plaintext; \
            duplicates and tampered copies are rejected without disturbing the session"
        }
        Property::PrekeySingleUse => "a consumed one-time prekey cannot start a second session",
        Property::IdentityChange => "an identity change is reported as untrusted_identity",
    };
    if check.differential {
        format!("{what}; and every step behaves as the reference's")
    } else {
        what.to_string()
    }
}

fn render(events: &[Event], observed: &str, which: &str, shrinks: u32) -> String {
    let mut out = format!(
        "{observed}\n{which}; shrunk ({shrinks} simplifications) to {} steps:",
        events.len()
    );
    for (i, e) in events.iter().enumerate() {
        let mark = if i + 1 == events.len() { "  <- fails here" } else { "" };
        let _ = write!(out, "\n  {:>2}. {} -> {}{mark}", i + 1, e.action, e.result);
    }
    out
}

fn harness_error(message: &str) -> Observation {
    Observation::with(Outcome::Error, "a schedule is drawn", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_ignore_numbers_hex_and_decoded_fields() {
        let failure = |step: &str, observed: &str| Failure {
            checks: &["RO-ENC-011"],
            established: true,
            events: vec![Event {
                action: step.into(),
                result: String::new(),
            }],
            expected: "the tampered copy is rejected (RO-ENC-011)".into(),
            observed: observed.into(),
        };
        let a = failure("m3 with bit 2 flipped delivered to provider", "plaintext 6d332e");
        let b = failure(
            "m12 with bit 403 flipped delivered to provider",
            "plaintext 6d31322e6162",
        );
        assert_eq!(a.signature(), b.signature());
        let c = failure(
            "m1: provider encrypts 3 bytes",
            "m1: Some(8279); the message: pkmsg {preKeyId 1}",
        );
        let d = failure(
            "m1: provider encrypts 9 bytes",
            "m1: Some(66); the message: pkmsg {preKeyId absent}",
        );
        assert_eq!(c.signature(), d.signature());
        assert_ne!(a.signature(), c.signature());
        assert_ne!(
            a.signature(),
            failure("m3 with bit 2 flipped delivered to provider", "rejected: bad_mac").signature()
        );
    }
}
