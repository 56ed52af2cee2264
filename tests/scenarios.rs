//! Acceptance tests of the property-based scenarios: replayable by seed, shrunk to a few steps against planted
//! bugs, reproducible with the printed replay command, differential mode, and located errors in bad files.

mod planted;

use interop_conformance::execute::{self, RunRequest};
use interop_conformance::outcome::Outcome;
use interop_conformance::plan::{Plan, PlanOptions};
use interop_conformance::provider::Provider;
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::runner::CaseResult;
use planted::{Bug, Planted};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn request(seed: u64, vectors: &[&str], differential: bool) -> RunRequest {
    let mut r = RunRequest::embedded(seed);
    r.plan.vectors = vectors.iter().map(|v| v.to_string()).collect();
    r.plan.scenarios.differential = differential;
    r
}

fn run(request: &RunRequest, provider: Arc<dyn Provider>) -> (u64, Vec<CaseResult>) {
    let out = runtime().block_on(execute::run(request, provider, false)).unwrap();
    (out.report.run.seed, out.report.cases)
}

fn one(request: &RunRequest, bug: Bug) -> CaseResult {
    let (_, cases) = run(request, Planted::provider(bug));
    assert_eq!(cases.len(), 1);
    cases.into_iter().next().unwrap()
}

/// Rebuild a request from a printed replay command (`conformance run ... --vector ID --seed N`).
fn from_replay(command: &str) -> RunRequest {
    let words: Vec<&str> = command.split_whitespace().collect();
    let after = |flag: &str| words.iter().position(|w| *w == flag).map(|i| words[i + 1]);
    let seed = after("--seed").unwrap().parse().unwrap();
    let vector = after("--vector").unwrap();
    request(seed, &[vector], words.contains(&"--differential"))
}

/// Steps listed in a failing scenario's observation.
fn steps(observed: &str) -> usize {
    observed
        .lines()
        .filter(|l| {
            l.trim_start()
                .split('.')
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .count()
}

#[test]
fn seed_7_twice_gives_identical_outcomes() {
    let outcomes = |cases: &[CaseResult]| -> Vec<(String, Outcome, Option<String>)> {
        cases
            .iter()
            .map(|c| (c.id.clone(), c.outcome, c.observed.clone()))
            .collect()
    };
    let (seed_a, a) = run(&request(7, &[], false), Arc::new(ReferenceProvider::new()));
    let (seed_b, b) = run(&request(7, &[], false), Arc::new(ReferenceProvider::new()));
    assert_eq!((seed_a, seed_b), (7, 7));
    assert_eq!(outcomes(&a), outcomes(&b));
    let scenarios: Vec<_> = a.iter().filter(|c| c.id.starts_with("scenario.")).collect();
    assert!(scenarios.len() >= 7, "every scenario is a case: {}", scenarios.len());
    assert!(scenarios.iter().all(|c| c.outcome == Outcome::Pass), "{scenarios:#?}");
}

#[test]
fn accepted_duplicate_shrinks_to_a_few_steps_and_replays() {
    let case = one(&request(7, &["scenario.duplicates"], false), Bug::AcceptDuplicates);
    assert_eq!(case.outcome, Outcome::Fail);
    let observed = case.observed.clone().unwrap();
    assert!(observed.contains("<- fails here"), "{observed}");
    assert!(observed.contains("duplicate"), "{observed}");
    // Setup (client, bundle, session) plus one message, its delivery and its redelivery.
    assert!(steps(&observed) <= 7, "not shrunk:\n{observed}");
    assert!(
        case.expected.as_deref().unwrap().contains("rejected: duplicate"),
        "{case:?}"
    );
    assert_eq!(case.replay, "conformance run --seed 7 --vector scenario.duplicates");
    let again = one(&from_replay(&case.replay), Bug::AcceptDuplicates);
    assert_eq!((again.outcome, again.observed), (Outcome::Fail, Some(observed)));
}

#[test]
fn skipped_mac_check_fails_the_tamper_scenario_with_a_short_schedule() {
    for seed in [7, 8] {
        let case = one(&request(seed, &["scenario.tamper"], false), Bug::SkipMacCheck);
        let observed = case.observed.clone().unwrap_or_default();
        assert_eq!(case.outcome, Outcome::Fail, "{observed}");
        assert!(observed.contains("flipped"), "{observed}");
        // Setup, then the shortest way to a `msg` from the peer (only those are tampered): three messages.
        assert!(steps(&observed) <= 9, "not shrunk:\n{observed}");
        assert_eq!(
            one(&from_replay(&case.replay), Bug::SkipMacCheck).observed,
            Some(observed)
        );
    }
}

#[test]
fn the_reference_passes_every_scenario_under_differential_mode() {
    let (_, cases) = run(&request(11, &[], true), Arc::new(ReferenceProvider::new()));
    for c in cases.iter().filter(|c| c.id.starts_with("scenario.")) {
        assert_eq!(c.outcome, Outcome::Pass, "{c:#?}");
    }
}

#[test]
fn differential_mode_compares_behaviour_and_notes_classes() {
    // Any rejection class passes the tamper property; differential mode compares behaviour too, and a class that
    // differs from the reference's counts only toward the error-class fidelity SHOULD.
    let plain = one(&request(7, &["scenario.tamper"], false), Bug::RenameBadMac);
    assert_eq!(plain.outcome, Outcome::Pass, "{plain:?}");
    let diff = one(&request(7, &["scenario.tamper"], true), Bug::RenameBadMac);
    assert_eq!(diff.outcome, Outcome::Fail, "{diff:?}");
    assert_eq!(diff.charged, ["RO-ERR-001"], "{diff:?}");
    let note = diff.class_mismatch.first().expect("a class note");
    assert!(
        note.contains("rejected as invalid_message; the reference rejects as bad_mac"),
        "{note}"
    );
    assert!(diff.replay.contains("--differential"), "{}", diff.replay);
}

/// A copy of the shipped profile with one scenario file replaced.
fn suites_with(scenario: &str) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/whatsapp-ro-2024");
    let root = std::env::temp_dir().join(format!("scenario-test-{}-{}", std::process::id(), scenario.len()));
    let dir = root.join("whatsapp-ro-2024");
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    for f in ["profile.yaml", "requirements.yaml"] {
        std::fs::copy(shipped.join(f), dir.join(f)).unwrap();
    }
    for entry in std::fs::read_dir(shipped.join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("scenarios").join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.join("scenarios/tamper.yaml"), scenario).unwrap();
    root
}

fn plan_error(scenario: &str) -> String {
    let options = PlanOptions {
        suites_dir: Some(suites_with(scenario)),
        profile: "whatsapp-ro-2024".into(),
        ..PlanOptions::default()
    };
    Plan::build(&options).expect_err("the plan must be refused").to_string()
}

const HEAD: &str = "schema_version: 1\nid: scenario.tamper\nrequirements: [RO-ENC-011]\nproperty: exactly_once\n\
cases: {default: 1, thorough: 1}\nparameters:\n";

#[test]
fn a_misspelt_parameter_names_file_line_column_and_key() {
    let e = plan_error(&format!("{HEAD}  messages: {{min: 1, max: 2}}\n  reorder_windw: 3\n"));
    assert!(e.contains("scenarios/tamper.yaml:8:3"), "{e}");
    assert!(e.contains("parameters.reorder_windw"), "{e}");
}

#[test]
fn an_impossible_probability_names_its_key_and_line() {
    let e = plan_error(&format!("{HEAD}  loss: 1.5\n"));
    assert!(e.contains("scenarios/tamper.yaml:7:3"), "{e}");
    assert!(e.contains("parameters.loss") && e.contains("1.5"), "{e}");
}
