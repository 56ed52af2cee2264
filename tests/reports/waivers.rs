//! Waivers: loading errors, what they waive, how they score, and that every renderer shows them apart.

use crate::support::{fresh_dir, normalise, run};
use chrono::NaiveDate;
use interop_conformance::outcome::Outcome;
use interop_conformance::plan::{DEFAULT_PROFILE, Plan, PlanOptions};
use interop_conformance::report::{badge, html, markdown, terminal};
use interop_conformance::scoring::{self, RequirementVerdict, Verdict};
use interop_conformance::waiver::Waivers;
use std::path::PathBuf;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).expect("date")
}

fn waiver_file(name: &str, yaml: &str) -> PathBuf {
    let path = fresh_dir(&format!("waivers-{name}")).join("waivers.yaml");
    std::fs::write(&path, yaml).expect("write waivers");
    path
}

fn load(name: &str, yaml: &str, allow_must: bool) -> Result<Waivers, String> {
    Waivers::load(&waiver_file(name, yaml), today(), allow_must).map_err(|e| e.to_string())
}

const BOTH_SIG: &str = "waivers:
  - requirement: RO-SIG-001
    justification: vendor fix scheduled (TICKET-1)
    approver: A. Auditor
    expires: 2026-12-31
  - requirement: RO-SIG-002
    justification: raw-key signatures tolerated until migration <b>done</b>
    approver: A. Auditor
    expires: 2026-06-01
";

#[test]
fn broken_waiver_files_name_file_and_entry() {
    let table = [
        (
            "expired",
            "waivers:\n  - case: x\n    justification: j\n    approver: a\n    expires: 2026-05-31\n",
            "waivers[0].expires`: waiver for case x expired on 2026-05-31",
        ),
        (
            "both",
            "waivers:\n  - case: x\n    requirement: RO-SIG-001\n    justification: j\n    approver: a\n    expires: 2027-01-01\n",
            "waivers[0]`: give exactly one of",
        ),
        (
            "empty-approver",
            "waivers:\n  - case: x\n    justification: j\n    approver: ' '\n    expires: 2027-01-01\n",
            "waivers[0].approver`: `approver` must not be empty",
        ),
        (
            "bad-date",
            "waivers:\n  - case: x\n    justification: j\n    approver: a\n    expires: 31/12/2026\n",
            "waivers[0].expires`: `31/12/2026` is not a date",
        ),
        (
            "misspelt",
            "waivers:\n  - case: x\n    justification: j\n    aprover: a\n    expires: 2027-01-01\n",
            "waivers[0].aprover",
        ),
        (
            "twice",
            "waivers:\n  - case: x\n    justification: j\n    approver: a\n    expires: 2027-01-01\n  - case: x\n    justification: j\n    approver: a\n    expires: 2027-01-01\n",
            "waivers[1]`: a second waiver for case x",
        ),
    ];
    for (name, yaml, want) in table {
        let e = load(name, yaml, false).expect_err(name);
        assert!(e.contains("waivers.yaml") && e.contains(want), "{name}: {e}");
    }
}

#[test]
fn unknown_target_is_an_error() {
    let w = load(
        "unknown",
        "waivers:\n  - requirement: RO-NOPE-1\n    justification: j\n    approver: a\n    expires: 2027-01-01\n",
        false,
    )
    .expect("loads");
    let plan = Plan::build(&PlanOptions {
        profile: DEFAULT_PROFILE.into(),
        ..PlanOptions::default()
    })
    .expect("plan");
    let e = w.check_targets(&plan).expect_err("unknown id").to_string();
    assert!(
        e.contains("waivers[0]") && e.contains("requirement RO-NOPE-1 is not in profile"),
        "{e}"
    );
}

#[test]
fn must_waivers_do_not_make_a_run_conformant() {
    let w = load("must", BOTH_SIG, false).expect("loads");
    let out = run(true, Some(&w));
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::NotConformant);
    assert!(out.waiver_errors.is_empty(), "{:?}", out.waiver_errors);
    assert_eq!(out.exit_code(), 1);
    assert_eq!(r.waiver_notice, None);
    let verdict = |id: &str| r.requirements.iter().find(|q| q.id == id).map(|q| q.verdict);
    assert_eq!(verdict("RO-SIG-001"), Some(RequirementVerdict::Waived));
    assert_eq!(verdict("RO-SIG-002"), Some(RequirementVerdict::Waived));
    assert_eq!((r.summary.cases.fail, r.summary.cases.waived), (0, 23));
    assert_eq!(r.summary.requirements_waived, 2);
    assert_eq!(r.waivers[0].waived.len(), 22);
    assert!(
        r.waivers
            .iter()
            .all(|w| w.must && w.waived.iter().all(|c| c.outcome == Outcome::Fail))
    );
    // Waived is not passed: the score is the same as without waivers.
    assert_eq!(r.score, run(true, None).report.score);
}

#[test]
fn allowed_must_waivers_say_so_first_everywhere() {
    let w = load("allowed", BOTH_SIG, true).expect("loads");
    let out = run(true, Some(&w));
    let r = normalise(out.report.clone());
    assert_eq!(r.verdict, Verdict::Conformant);
    assert_eq!(out.exit_code(), 0);
    let notice = r.waiver_notice.clone().expect("notice");
    assert!(notice.starts_with("MUST WAIVERS ALLOWED") && notice.contains("RO-SIG-001, RO-SIG-002"));
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    assert_eq!(json["waiver_notice"], notice.as_str());
    assert_eq!(terminal::render(&r).lines().next(), Some(notice.as_str()));
    assert_eq!(
        markdown::render(&r).lines().next(),
        Some(format!("> **{notice}**").as_str())
    );
    let page = html::render(&r);
    let body = &page[page.find("<body>").expect("body") + 6..];
    assert!(
        body.trim_start()
            .starts_with(&format!("<div class=\"notice\" id=\"notice\">{notice}</div>"))
    );
    assert_eq!(badge::badge(&r).color, "orange");
    // Shown apart, with the justification escaped.
    assert!(page.contains("<section id=\"waivers\">\n<h2>Waived (2)</h2>"));
    assert!(page.contains("migration &lt;b&gt;done&lt;/b&gt;"));
    assert!(markdown::render(&r).contains("### Waived (2)"));
    assert!(terminal::render(&r).contains("WAIVED (2 waiver(s); waived is not pass)"));
    insta::assert_snapshot!("allowed_must_waivers.md", markdown::render(&r));
}

#[test]
fn unused_waivers_are_errors_after_the_run() {
    let w = load("unused", BOTH_SIG, false).expect("loads");
    let out = run(false, Some(&w));
    assert_eq!(out.exit_code(), 2);
    let errors: Vec<String> = out.waiver_errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("waivers.yaml: at `waivers[0]`: waiver for requirement RO-SIG-001 waived nothing"));
}

#[test]
fn a_requirement_waiver_waives_only_its_requirement() {
    // A case checking two requirements fails; only one of them is waived.
    let plan = Plan::build(&PlanOptions {
        profile: DEFAULT_PROFILE.into(),
        ..PlanOptions::default()
    })
    .expect("plan");
    let mut results = run(false, None).report.cases;
    let id = "xeddsa.ro-example.over-serialized-key";
    let case = results.iter_mut().find(|c| c.id == id).expect("case");
    assert_eq!(case.requirements, ["RO-SIG-001", "RO-SIG-002"]);
    case.outcome = Outcome::Fail;
    let w = load(
        "partial",
        "waivers:\n  - requirement: RO-SIG-002\n    justification: j\n    approver: a\n    expires: 2027-01-01\n",
        true,
    )
    .expect("loads");
    let applied = w.apply(&plan, &mut results);
    assert!(applied.unused.is_empty());
    let case = results.iter().find(|c| c.id == id).expect("case");
    assert_eq!(
        case.outcome,
        Outcome::Fail,
        "RO-SIG-001 is not waived, so the case still fails"
    );
    let s = scoring::score_with(&plan.profile, &plan.scope, &results, &applied.policy);
    let verdict = |id: &str| s.requirements.iter().find(|q| q.id == id).map(|q| q.verdict);
    assert_eq!(verdict("RO-SIG-001"), Some(RequirementVerdict::Fail));
    assert_eq!(verdict("RO-SIG-002"), Some(RequirementVerdict::Waived));
    assert_eq!(s.verdict, Verdict::NotConformant);
    assert_eq!(s.waived_must, ["RO-SIG-002"]);
}

#[test]
fn a_case_waiver_leaves_the_requirement_failing() {
    let w = load(
        "case",
        "waivers:\n  - case: xeddsa.ro-example.over-raw-key\n    justification: j\n    approver: a\n    expires: 2027-01-01\n",
        false,
    )
    .expect("loads");
    let r = run(true, Some(&w)).report;
    let case = r
        .cases
        .iter()
        .find(|c| c.id == "xeddsa.ro-example.over-raw-key")
        .expect("case");
    assert_eq!(case.outcome, Outcome::Waived);
    let sig2 = r.requirements.iter().find(|q| q.id == "RO-SIG-002").expect("req");
    assert_eq!(sig2.verdict, RequirementVerdict::Waived);
    let sig1 = r.requirements.iter().find(|q| q.id == "RO-SIG-001").expect("req");
    assert_eq!(sig1.verdict, RequirementVerdict::Fail);
    let xml = interop_conformance::report::junit::render(&r).expect("junit");
    assert!(xml.contains("waived: j (approved by a, expires 2027-01-01)"), "{xml}");
}
