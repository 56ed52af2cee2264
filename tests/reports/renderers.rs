//! Snapshots of the HTML, Markdown and badge renderings of a run with failures (times and digests redacted),
//! and the properties a reader relies on.

use crate::support::{normalise, run};
use interop_conformance::report::{badge, html, markdown};

#[test]
fn failing_run_renders() {
    let report = normalise(run(true, None).report);
    let page = html::render(&report);
    // Self-contained: no script, no external asset.
    for banned in ["<script", "src=", "<link", "http://", "https://", "@import", "url("] {
        assert!(!page.contains(banned), "report.html contains {banned:?}");
    }
    let order = [
        "id=\"verdict\"",
        "id=\"score\"",
        "id=\"matrix\"",
        "id=\"failures\"",
        "id=\"run\"",
    ];
    let at: Vec<usize> = order.iter().map(|s| page.find(s).unwrap_or(usize::MAX)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "sections missing or out of order: {at:?}"
    );
    // Every failing case of a failing requirement is shown with its replay command.
    for c in report.cases.iter().filter(|c| c.outcome.as_str() == "fail") {
        assert!(
            page.contains(&format!("<pre>{}</pre>", c.replay)),
            "{} has no replay",
            c.id
        );
    }
    insta::assert_snapshot!("failing_run.html", page);

    let md = markdown::render(&report);
    assert!(md.starts_with("## ❌ NOT_CONFORMANT &middot; score 87.0%"), "{md}");
    assert!(
        md.contains("- case `xeddsa.key0.msg1.flip-r` (fail) and 21 more"),
        "{md}"
    );
    insta::assert_snapshot!("failing_run.md", md);

    insta::assert_json_snapshot!("failing_run.badge", badge::badge(&report));
}
