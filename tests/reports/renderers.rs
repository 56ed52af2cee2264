//! Snapshots of the HTML, Markdown and badge renderings of a run with failures (times and digests redacted).

use crate::support::{normalise, run};
use interop_conformance::report::{badge, html, markdown};

#[test]
fn failing_run_renders() {
    let report = normalise(run(true, None).report);
    for r in &report.requirements {
        eprintln!("{} {} {:?}", r.id, r.verdict.as_str(), r.counts);
    }
    for c in report.cases.iter().filter(|c| c.outcome.as_str() != "pass") {
        eprintln!("{} {:?} {}", c.id, c.requirements, c.outcome.as_str());
    }
    insta::assert_snapshot!("failing_run.html", html::render(&report));
    insta::assert_snapshot!("failing_run.md", markdown::render(&report));
    insta::assert_json_snapshot!("failing_run.badge", badge::badge(&report));
}
