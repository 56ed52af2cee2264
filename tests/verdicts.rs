//! Verdicts judge behaviour, not wording (issue 11), each rule shown with a bug planted on the reference:
//! a rejection under another class passes the MUST and fails only the fidelity SHOULD; a mandatory operation
//! answering "unsupported" fails; a failing first setup step fails only setup, and blocks the rest.

mod planted;

use interop_conformance::execute::{self, RunRequest};
use interop_conformance::outcome::Outcome;
use interop_conformance::provider::Provider;
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::report::RunReport;
use interop_conformance::scoring::{RequirementVerdict, Verdict};
use planted::{Bug, Planted};
use std::sync::Arc;

fn run(bug: Bug, cases: &[&str]) -> RunReport {
    run_on(Planted::provider(bug), cases)
}

fn run_on(provider: Arc<dyn Provider>, cases: &[&str]) -> RunReport {
    let mut request = RunRequest::embedded(5);
    request.plan.vectors = cases.iter().map(|c| c.to_string()).collect();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(execute::run(&request, provider, false))
        .unwrap()
        .report
}

fn verdict(report: &RunReport, id: &str) -> RequirementVerdict {
    report
        .requirements
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("{id} not in scope"))
        .verdict
}

#[test]
fn a_rejection_with_another_class_passes_the_must_and_fails_only_fidelity() {
    let report = run(
        Bug::ReclassAsInvalidKey,
        &["session.truncated.pkmsg-half", "session.truncated.msg-eight"],
    );
    assert_eq!(verdict(&report, "RO-ENC-012"), RequirementVerdict::Pass);
    assert_eq!(verdict(&report, "RO-ENC-013"), RequirementVerdict::Pass);
    assert_eq!(verdict(&report, "RO-ERR-001"), RequirementVerdict::Fail);
    assert_eq!(
        report.scope_verdict(),
        Verdict::Conformant,
        "a SHOULD never blocks the verdict"
    );
    assert!(report.score < 1.0);
    let case = report
        .cases
        .iter()
        .find(|c| c.id == "session.truncated.pkmsg-half")
        .unwrap();
    assert_eq!(case.charged, ["RO-ERR-001"]);
    assert_eq!(
        case.class_mismatch,
        ["message 1 of 2: rejected as invalid_key; the vector expects invalid_message"]
    );
    let terminal = interop_conformance::report::terminal::render(&report);
    assert!(
        terminal.contains("rejected as invalid_key; the vector expects invalid_message"),
        "{terminal}"
    );
}

#[test]
fn a_mandatory_operation_answering_unsupported_fails() {
    let report = run(Bug::Selective501, &["session.duplicate", "session.duplicate-msg"]);
    assert_eq!(report.scope_verdict(), Verdict::NotConformant);
    assert_eq!(verdict(&report, "RO-ENC-014"), RequirementVerdict::Fail);
    for case in &report.cases {
        assert_eq!(case.outcome, Outcome::Fail, "{}", case.id);
        let observed = case.observed.as_deref().unwrap_or_default();
        assert!(observed.contains("mandatory operation `decrypt`"), "{observed}");
    }
}

#[test]
fn a_failing_setup_step_fails_setup_and_blocks_the_rest() {
    let report = run(
        Bug::FirstDeliveryFails,
        &["session.mac-flipped", "session.duplicate", "session.skipped.reverse"],
    );
    assert_eq!(report.scope_verdict(), Verdict::NotConformant);
    assert_eq!(verdict(&report, "RO-ENC-004"), RequirementVerdict::Fail);
    for id in ["RO-ENC-011", "RO-ENC-014", "RO-ENC-007"] {
        assert_eq!(verdict(&report, id), RequirementVerdict::Blocked, "{id}");
        let r = report.requirements.iter().find(|r| r.id == id).unwrap();
        assert!(
            r.blocked_by.iter().all(|b| b.contains("(by RO-ENC-004)")),
            "{:?}",
            r.blocked_by
        );
    }
    // One bug reads as one bug: one root cause, with what it hid.
    let causes = report.root_causes();
    assert_eq!(causes.len(), 1, "{causes:#?}");
    assert_eq!(causes[0].fails, ["RO-ENC-004"]);
    let terminal = interop_conformance::report::terminal::render(&report);
    assert!(
        terminal.contains("also blocks: RO-ENC-014, RO-ERR-001, RO-ENC-011, RO-ENC-007"),
        "{terminal}"
    );
    let case = report.cases.iter().find(|c| c.id == "session.mac-flipped").unwrap();
    assert_eq!(case.charged, ["RO-ENC-004"]);
    assert!(case.blocked.contains(&"RO-ENC-011".to_string()), "{:?}", case.blocked);
}

const IK_CASES: [&str; 5] = [
    "transport.ik.resume",
    "transport.ik.fallback",
    "transport.ik.fallback-bad-chain",
    "transport.ik.unverified-cache",
    "transport.ik.after-fallback",
];

#[test]
fn a_client_without_ik_is_not_bound_by_the_ik_requirements() {
    let report = run(Bug::NoIkResume, &IK_CASES);
    // RO-TRANSPORT-022 is a MUST only for IK clients: not applicable here, and not held against the verdict.
    assert_eq!(verdict(&report, "RO-TRANSPORT-021"), RequirementVerdict::NotApplicable);
    assert_eq!(verdict(&report, "RO-TRANSPORT-022"), RequirementVerdict::NotApplicable);
    // Connection 1 (XX) of each case still judges the handshake setup, and the refused chain of
    // ik.unverified-cache its own rule.
    assert_eq!(verdict(&report, "RO-TRANSPORT-001"), RequirementVerdict::Pass);
    assert_eq!(verdict(&report, "RO-TRANSPORT-007"), RequirementVerdict::Pass);
    assert_eq!(verdict(&report, "RO-TRANSPORT-022A"), RequirementVerdict::NotApplicable);
    assert_eq!(report.summary.requirements_not_applicable, 3);
    assert_eq!(report.scope_verdict(), Verdict::Conformant);
    assert_eq!(report.score, 1.0, "not applicable is never counted as passed");
    for case in &report.cases {
        assert_eq!(case.outcome, Outcome::Unsupported, "{}", case.id);
        assert!(
            !case.charged.iter().any(|r| r == "RO-TRANSPORT-001"),
            "{:?}",
            case.charged
        );
    }
    let terminal = interop_conformance::report::terminal::render(&report);
    assert!(terminal.contains("3 not applicable"), "{terminal}");
    assert!(
        terminal.contains("not_applicable"),
        "the requirement rows say it: {terminal}"
    );
}

#[test]
fn a_client_declaring_ik_must_show_it_on_the_wire() {
    let report = run(Bug::ClaimsIkResume, &IK_CASES);
    assert_eq!(verdict(&report, "RO-TRANSPORT-021"), RequirementVerdict::Fail);
    assert_eq!(verdict(&report, "RO-TRANSPORT-022"), RequirementVerdict::Fail);
    assert_eq!(report.scope_verdict(), Verdict::NotConformant);
    for case in &report.cases {
        let observed = case.observed.as_deref().unwrap_or_default();
        if case.id == "transport.ik.unverified-cache" {
            // Connecting with XX after a refused chain is right for every client.
            assert_eq!(case.outcome, Outcome::Pass, "{observed}");
        } else {
            assert!(
                observed.contains("although the adapter declares transport_ik"),
                "{observed}"
            );
        }
    }
}

#[test]
fn the_reference_resumes_with_ik_and_completes_the_fallback() {
    let report = run_on(Arc::new(ReferenceProvider::new()), &IK_CASES);
    assert_eq!(verdict(&report, "RO-TRANSPORT-021"), RequirementVerdict::Pass);
    assert_eq!(verdict(&report, "RO-TRANSPORT-022"), RequirementVerdict::Pass);
    assert_eq!(verdict(&report, "RO-TRANSPORT-022A"), RequirementVerdict::Pass);
    assert_eq!(report.summary.requirements_not_applicable, 0);
}
