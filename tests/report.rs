//! The report as data: the JSON shape is snapshot-tested (times, durations and digests redacted) and the JUnit
//! rendering is parsed back and compared with the report it came from.

use interop_conformance::execute::{self, RunRequest};
use interop_conformance::outcome::Outcome;
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::report::{RunReport, junit};
use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
use std::path::PathBuf;
use std::sync::Arc;

fn fixture_report() -> RunReport {
    let mut request = RunRequest::embedded(7);
    // Relative, so that the replay commands in the snapshot do not name this machine's folders.
    request.plan.vectors_dir = Some(PathBuf::from("tests/data/failing"));
    request.plan.only = vec!["RO-SIG-002".into()];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(execute::run(&request, Arc::new(ReferenceProvider::new()), false))
        .expect("the fixture runs")
        .report
}

#[test]
fn json_report_shape() {
    let report = fixture_report();
    insta::assert_json_snapshot!("report_failing_fixture", report, {
        ".run.started_at" => "[time]",
        ".run.finished_at" => "[time]",
        ".run.vectors[].sha256" => "[sha256]",
        ".run.vectors[].path" => "[path]",
        ".run.scope.plan_digest" => "[plan_digest]",
        ".cases[].duration_ms" => "[ms]",
        ".run.tool_version" => "[version]",
        ".run.implementation" => "[implementation]",
    });
}

#[test]
fn json_round_trips() {
    let report = fixture_report();
    let back: RunReport = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(back, report);
}

#[test]
fn junit_parses_back_to_the_same_cases() {
    let report = fixture_report();
    let xml = junit::render(&report).unwrap();
    let parsed = Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let cases: Vec<_> = parsed.test_suites.iter().flat_map(|s| s.test_cases.iter()).collect();
    assert_eq!(cases.len(), report.cases.len());
    for case in &report.cases {
        let tc = cases
            .iter()
            .find(|c| c.name.as_str() == case.id)
            .unwrap_or_else(|| panic!("case {} in JUnit", case.id));
        assert_eq!(
            tc.classname.as_ref().map(|c| c.as_str()),
            case.requirements.first().map(String::as_str)
        );
        match (&tc.status, case.outcome) {
            (TestCaseStatus::Success { .. }, Outcome::Pass) => {}
            (
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Failure,
                    message,
                    ..
                },
                Outcome::Fail,
            ) => {
                let message = message.as_ref().map(|m| m.as_str().to_string()).unwrap_or_default();
                assert!(message.contains(case.observed.as_deref().unwrap()), "{message}");
            }
            (status, outcome) => panic!("{}: JUnit {status:?} for outcome {outcome:?}", case.id),
        }
    }
    assert!(
        report.cases.iter().any(|c| c.outcome == Outcome::Fail),
        "the fixture has a failure"
    );
}
