//! One named test per vector case, run against the embedded reference: `cargo test -- xeddsa` filters by id,
//! and `cargo nextest run` runs each case in its own process.

use interop_conformance::family::{self, CaseContext};
use interop_conformance::monitor::KeyLog;
use interop_conformance::outcome::Outcome;
use interop_conformance::plan::{self, DEFAULT_PROFILE, Plan, PlanOptions};
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::requirements::Profile;
use interop_conformance::runner::case_seed;
use interop_conformance::vector::Case;
use libtest_mimic::{Arguments, Failed, Trial};
use std::sync::Arc;

/// The run seed for these tests; `CONFORMANCE_SEED=N` replays another.
fn seed() -> u64 {
    std::env::var("CONFORMANCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn main() {
    let args = Arguments::from_args();
    // Every profile's cases (the Phase-1 profile and the groups profile), each case once.
    let mut cases = Vec::new();
    for profile in Profile::available(&plan::data_dir("suites")) {
        let plan = match Plan::build(&PlanOptions {
            profile: profile.clone(),
            ..PlanOptions::default()
        }) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("cannot load the vector corpus of {profile}: {e}");
                std::process::exit(2);
            }
        };
        let flag = if profile == DEFAULT_PROFILE {
            String::new()
        } else {
            format!(" --profile {profile}")
        };
        for case in plan.cases {
            if !cases.iter().any(|(c, _): &(Case, String)| c.meta.id == case.meta.id) {
                cases.push((case, flag.clone()));
            }
        }
    }
    let seed = seed();
    let trials = cases
        .into_iter()
        .map(|(case, flag)| {
            Trial::test(case.meta.id.clone(), move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Failed::from(format!("runtime: {e}")))?;
                let keys = Arc::new(KeyLog::default());
                let (provider, peer) = (ReferenceProvider::new(), ReferenceProvider::harness_peer(keys.clone()));
                let push_jwks = family::push::PushJwks::default();
                let ctx = CaseContext {
                    provider: &provider,
                    peer: &peer,
                    seed: case_seed(seed, &case.meta.id),
                    push_jwks: &push_jwks,
                    monitor: Some(&keys),
                };
                let observation = runtime.block_on(family::run(&case.meta, &case.check, &ctx));
                match observation.outcome {
                    Outcome::Pass => Ok(()),
                    other => Err(Failed::from(format!(
                        "{}: {} [{}]\n  expected: {}\n  observed: {}\n  replay:   conformance run{flag} --vector {} --seed {seed}",
                        other.as_str(),
                        case.meta.id,
                        case.meta.requirements.join(", "),
                        observation.expected,
                        observation.observed,
                        case.meta.id,
                    ))),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
