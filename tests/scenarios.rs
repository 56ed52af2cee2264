//! Acceptance tests of the property-based scenarios: replayable by seed, shrunk to a few steps against planted
//! bugs, reproducible with the printed replay command, differential mode, and located errors in bad files.

mod planted;

use interop_conformance::campaign::{self, ExploreRequest, Limit};
use interop_conformance::execute::{self, RunRequest};
use interop_conformance::http::{client, server};
use interop_conformance::outcome::Outcome;
use interop_conformance::plan::{Plan, PlanOptions};
use interop_conformance::provider::Provider;
use interop_conformance::reference::{Fault, Faults, ReferenceProvider};
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

/// The accepted duplicate is RO-ENC-014's failure; the session setup before it passed and is not blocked.
#[test]
fn an_accepted_duplicate_blames_replay_and_leaves_setup_checked() {
    let case = one(&request(7, &["scenario.duplicates"], false), Bug::AcceptDuplicates);
    assert_eq!(case.charged, ["RO-ENC-014"], "{case:?}");
    assert!(!case.blocked.contains(&"RO-ENC-004".to_string()), "{case:?}");
}

/// A duplicate refused under another class meets RO-ENC-014; the class counts toward RO-ERR-001 alone.
#[test]
fn a_duplicate_refused_under_another_class_fails_only_fidelity() {
    let case = one(&request(7, &["scenario.duplicates"], false), Bug::ReclassAsInvalidKey);
    assert_eq!(case.outcome, Outcome::Fail, "{case:?}");
    assert_eq!(case.charged, ["RO-ERR-001"], "{case:?}");
    let note = case.class_mismatch.first().expect("a class note");
    assert!(
        note.contains("rejected as invalid_key; the model expects duplicate"),
        "{note}"
    );
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
/// A silently accepted identity change is charged to RO-ID-008 alone: the session setup before it worked.
#[test]
fn an_accepted_identity_change_is_charged_to_the_identity_requirement_only() {
    use interop_conformance::reference::{Fault, Faults};
    let provider: Arc<dyn Provider> = Arc::new(ReferenceProvider::with_faults(Faults::only(
        Fault::AcceptIdentityChange,
    )));
    let (_, cases) = run(&request(1, &["scenario.identity-change"], false), provider);
    let case = &cases[0];
    assert_eq!(case.outcome, Outcome::Fail, "{case:?}");
    assert_eq!(case.charged, ["RO-ID-008"], "{case:?}");
}

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

// Campaigns: explore, --thorough going on after failures, --repeat.

fn faulty(faults: &[Fault]) -> Arc<dyn Provider> {
    Arc::new(ReferenceProvider::with_faults(Faults(faults.iter().copied().collect())))
}

/// A bounded campaign: fixed seed and schedule count, no clock; it ends at its first failure.
fn explore(provider: Arc<dyn Provider>, target_args: String) -> campaign::ExploreOutput {
    let request = ExploreRequest {
        plan: PlanOptions {
            profile: interop_conformance::plan::DEFAULT_PROFILE.into(),
            ..PlanOptions::default()
        },
        seed: 1,
        limit: Limit::Schedules(3000),
        out_dir: None,
        target_args,
        case_timeout: std::time::Duration::from_secs(60),
        progress: false,
        until_found: true,
    };
    runtime()
        .block_on(campaign::explore(&request, provider, false))
        .expect("explore runs")
}

/// The one distinct failure a campaign found: its case id and replay command.
fn found(output: &campaign::ExploreOutput) -> (String, String) {
    let failing: Vec<&CaseResult> = output
        .run
        .report
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .collect();
    assert_eq!(failing.len(), 1, "{:#?}", output.run.report.cases);
    let case = failing[0];
    assert_eq!(case.charged, ["RO-ENC-011"], "{case:#?}");
    assert_eq!(case.failures.len(), 1);
    (case.id.clone(), case.failures[0].replay.clone())
}

/// The request a printed `--schedule` replay command stands for.
fn schedule_replay(command: &str) -> RunRequest {
    let words: Vec<&str> = command.split_whitespace().collect();
    let after = |flag: &str| words.iter().position(|w| *w == flag).map(|i| words[i + 1]);
    let mut r = request(
        after("--seed").unwrap().parse().unwrap(),
        &[after("--vector").unwrap()],
        false,
    );
    r.plan.scenarios.schedule = Some(after("--schedule").unwrap().parse().unwrap());
    r
}

/// The planted rare-schedule fault: the default run (seed 1, as CI's selftest) misses it; a campaign finds it.
#[test]
fn explore_finds_the_rare_fault_the_default_run_misses_and_its_replay_reproduces_it() {
    let rare = [Fault::VersionMaskTypo];
    let default = runtime()
        .block_on(execute::run(&RunRequest::embedded(1), faulty(&rare), false))
        .expect("run");
    assert_eq!(
        default.report.verdict_label(),
        "CONFORMANT",
        "the default run caught it"
    );

    let output = explore(faulty(&rare), "--fault version-mask-typo".into());
    let (id, replay) = found(&output);
    assert_eq!(id, "scenario.tamper");
    assert!(
        replay.starts_with("conformance run --fault version-mask-typo --seed ") && replay.contains(" --schedule "),
        "{replay}"
    );
    assert_eq!(
        output.replay,
        format!(
            "conformance explore --fault version-mask-typo --seed 1 --schedules {}",
            output.campaign.schedules
        )
    );

    let (_, cases) = run(&schedule_replay(&replay), faulty(&rare));
    assert_eq!(cases[0].outcome, Outcome::Fail);
    assert_eq!(cases[0].charged, ["RO-ENC-011"]);
    assert!(
        cases[0]
            .observed
            .as_deref()
            .unwrap_or_default()
            .contains("(judged alone) failed")
    );
    // The correct reference holds on the same schedule.
    assert_eq!(run(&schedule_replay(&replay), faulty(&[])).1[0].outcome, Outcome::Pass);
}

#[test]
fn explore_finds_the_rare_fault_over_http_and_the_replay_reproduces_it() {
    let rt = runtime();
    let served = rt
        .block_on(server::spawn_loopback(faulty(&[Fault::VersionMaskTypo]), None))
        .expect("serve");
    let http = || -> Arc<dyn Provider> {
        Arc::new(client::HttpProvider::new(&client::HttpOptions::new(served.url())).expect("client"))
    };
    let output = explore(http(), format!("--target {}", served.url()));
    let (id, replay) = found(&output);
    assert_eq!(id, "scenario.tamper");
    assert!(
        replay.starts_with(&format!("conformance run --target {} --seed ", served.url())),
        "{replay}"
    );
    let (_, cases) = run(&schedule_replay(&replay), http());
    assert_eq!(
        (cases[0].outcome, cases[0].charged.clone()),
        (Outcome::Fail, vec!["RO-ENC-011".to_string()])
    );
}

/// The terminal, HTML, Markdown and JUnit renderings of a report.
fn renderings(report: &interop_conformance::report::RunReport) -> Vec<String> {
    use interop_conformance::report::{html, junit, markdown, terminal};
    vec![
        terminal::render(report),
        html::render(report),
        markdown::render(report),
        junit::render(report).expect("junit"),
    ]
}

/// One failure must not hide another: with --thorough a case goes on and reports each distinct failure once,
/// each with the replay of its own schedule; the case's outcome and blame stay the first failure's.
#[test]
fn thorough_reports_two_distinct_planted_bugs_each_with_its_replay() {
    let bugs = [Fault::RegistrationIdDrift, Fault::VersionMaskTypo];
    let mut r = request(2, &["scenario.tamper"], false);
    r.plan.scenarios.thorough = true;
    let output = runtime().block_on(execute::run(&r, faulty(&bugs), false)).expect("run");
    let case = &output.report.cases[0];
    assert_eq!(case.outcome, Outcome::Fail);
    assert_eq!(case.failures.len(), 2, "{:#?}", case.failures);
    for text in renderings(&output.report) {
        for f in &case.failures {
            assert!(text.contains(&f.replay), "{text}");
        }
    }
    let (drift, mask) = (&case.failures[0], &case.failures[1]);
    assert!(drift.observed.contains("registrationId"), "{drift:#?}");
    assert!(drift.occurrences > 100, "the drift fails most schedules: {drift:#?}");
    assert_eq!(mask.charged, ["RO-ENC-011"]);
    assert!(mask.schedule > 1, "the rare failure comes later: {mask:#?}");
    for (f, word) in [(drift, "registrationId"), (mask, "with bit")] {
        let (_, replayed) = run(&schedule_replay(&f.replay), faulty(&bugs));
        assert_eq!(replayed[0].outcome, Outcome::Fail);
        assert!(
            replayed[0].observed.as_deref().unwrap_or_default().contains(word),
            "{replayed:#?}"
        );
    }
    // Without --thorough the case stops at its first failure and lists none.
    let (_, first_only) = run(&request(2, &["scenario.tamper"], false), faulty(&bugs));
    assert!(first_only[0].failures.is_empty());
}

#[test]
fn repeat_flags_a_flaky_provider_and_not_the_clean_reference() {
    let mut r = request(3, &["session.in-order"], false);
    r.repeat = 3;
    let output = runtime()
        .block_on(execute::run(&r, Planted::provider(Bug::FlakyClients), false))
        .expect("run");
    for text in renderings(&output.report) {
        assert!(
            text.contains("session.in-order") && text.contains("pass, fail, pass"),
            "{text}"
        );
    }
    let cases = output.report.cases;
    assert_eq!(cases[0].unstable, [Outcome::Pass, Outcome::Fail, Outcome::Pass]);
    assert_eq!(
        cases[0].outcome,
        Outcome::Fail,
        "an unstable case keeps its failing result"
    );
    assert!(cases[0].replay.contains("--repeat 3"), "{}", cases[0].replay);

    let mut clean = RunRequest::embedded(3);
    clean.repeat = 2;
    clean.concurrency = 4;
    let output = runtime()
        .block_on(execute::run(&clean, Arc::new(ReferenceProvider::new()), false))
        .expect("run");
    let unstable: Vec<&str> = output.report.unstable_cases().map(|c| c.id.as_str()).collect();
    assert!(unstable.is_empty(), "{unstable:?}");
    assert_eq!(output.report.run.repeat, Some(2));
    assert_eq!(output.report.verdict_label(), "CONFORMANT");
}
