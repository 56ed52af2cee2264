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
use crate::outcome::{Observation, Outcome, Steps};
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
            };
        }
    };
    let result = match schedule {
        Schedule::Flow(f) => flow(&mut ex, f).await,
        Schedule::Prekey(p) => special::prekey_reuse(&mut ex, p, seed).await,
        Schedule::Identity(i) => special::identity_change(&mut ex, i, seed).await,
    };
    Trial {
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
    Fail {
        checks: &'static [&'static str],
        /// Session setup passed before the failing step.
        established: bool,
        events: Vec<Event>,
        expected: String,
        observed: String,
    },
    Halt(Box<Observation>),
}

async fn judge(schedule: &Schedule, check: &Check, ctx: &CaseContext<'_>) -> Judged {
    let mut t = trial(schedule, ctx.provider, ctx.peer, ctx.seed, ctx.monitor).await;
    match t.stop.take() {
        Some(Stop::Halt(o)) => return Judged::Halt(o),
        Some(Stop::Fail {
            checks,
            expected,
            observed,
        }) => {
            return Judged::Fail {
                checks,
                established: t.established,
                events: t.events,
                expected,
                observed,
            };
        }
        None => {}
    }
    if !check.differential {
        return Judged::Pass(t.notes);
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
        let mut notes = t.notes;
        notes.extend(differences);
        return Judged::Pass(notes);
    };
    let what = |r: Option<String>| r.unwrap_or_else(|| "(no such step)".to_string());
    let (mine, theirs) = (what(result(&t.events, i)), what(result(&r.events, i)));
    let mut events = t.events;
    events.truncate(i + 1);
    Judged::Fail {
        checks: &[],
        established: false,
        events,
        expected: format!("as the reference: {theirs}"),
        observed: format!("{mine} (differential mode: first difference from the reference)"),
    }
}

/// Run one scenario case: draw, judge, shrink, report.
pub async fn run(check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let p = &check.scenario.parameters;
    match check.scenario.property {
        Property::ExactlyOnce => explore(strategy::flow(p), Schedule::Flow, check, ctx).await,
        Property::PrekeySingleUse => explore(strategy::prekey_reuse(p), Schedule::Prekey, check, ctx).await,
        Property::IdentityChange => explore(strategy::identity_change(p), Schedule::Identity, check, ctx).await,
    }
}

async fn explore<S>(
    strategy: S,
    wrap: impl Fn(S::Value) -> Schedule,
    check: &Check,
    ctx: &CaseContext<'_>,
) -> Observation
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
    let mut steps = Steps::new(&check.scenario.requirements);
    let mut notes: Vec<String> = Vec::new();
    for case in 1..=check.cases {
        let mut tree = match strategy.new_tree(&mut runner) {
            Ok(t) => t,
            Err(reason) => return harness_error(&format!("cannot draw a schedule: {reason}")),
        };
        let (checks, established, events, expected, observed) = match judge(&wrap(tree.current()), check, ctx).await {
            Judged::Pass(n) => {
                if notes.is_empty() {
                    notes = n.into_iter().map(|n| format!("schedule {case}, {n}")).collect();
                }
                continue;
            }
            Judged::Halt(o) => return *o,
            Judged::Fail {
                checks,
                established,
                events,
                expected,
                observed,
            } => (checks, established, events, expected, observed),
        };
        let mut last = (checks, established, events, expected, observed);
        let mut shrinks = 0;
        let mut iterations = 0;
        if tree.simplify() {
            while iterations < MAX_SHRINK_ITERS {
                iterations += 1;
                match judge(&wrap(tree.current()), check, ctx).await {
                    Judged::Fail {
                        checks,
                        established,
                        events,
                        expected,
                        observed,
                    } => {
                        last = (checks, established, events, expected, observed);
                        shrinks += 1;
                        if !tree.simplify() {
                            break;
                        }
                    }
                    Judged::Pass(_) | Judged::Halt(_) => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        let (checks, established, events, expected, observed) = last;
        // Setup that passed before the failing step was checked, not blocked; so were the wire monitor's rules on
        // every provider message before it (a finding of theirs would have been the failing step).
        let setup = crate::family::session::SETUP;
        if established && check.scenario.requirements.iter().any(|r| r == setup) {
            let _ = steps.step(
                "",
                &super::exchange::reached_once_established(),
                Observation::pass("session setup", "a first message decrypted"),
            );
        }
        let o = Observation::fail(
            super::exchange::headline(&statement, events.len(), &expected),
            render(&events, &observed, case, check.cases, shrinks),
        );
        return steps.step("", checks, o).unwrap_or_default();
    }
    Observation {
        class_mismatch: notes,
        ..steps.pass(
            statement,
            format!("{} schedules held (proptest seed {})", check.cases, ctx.seed),
        )
    }
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

fn render(events: &[Event], observed: &str, case: u32, cases: u32, shrinks: u32) -> String {
    let mut out = format!(
        "{observed}\nschedule {case} of {cases} failed; shrunk ({shrinks} simplifications) to {} steps:",
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
