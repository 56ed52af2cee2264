//! The run's report files, `--waivers` errors and `report diff` exit codes, through the binary.

use crate::support::{bin, fresh_dir, run, s, text};
use std::path::Path;

#[test]
fn a_run_writes_every_report_file() {
    let dir = fresh_dir("run-files");
    let out = bin()
        .args(["run", "--seed", "3", "--quiet", "--out", s(&dir)])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for name in ["report.json", "junit.xml", "report.html", "summary.md", "badge.json"] {
        let len = std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 50, "{name} missing or empty");
    }
    let badge: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("badge.json")).expect("badge")).expect("json");
    assert_eq!(badge["schemaVersion"], 1);
    assert_eq!(badge["message"], "CONFORMANT 100.0%");
    assert_eq!(badge["color"], "brightgreen");
    let summary = std::fs::read_to_string(dir.join("summary.md")).expect("summary");
    assert!(summary.starts_with("## ✅ CONFORMANT"), "{summary}");
}

#[test]
fn waiver_file_errors_exit_2_naming_file_and_entry() {
    let dir = fresh_dir("cli-waivers");
    let expired = dir.join("expired.yaml");
    std::fs::write(
        &expired,
        "waivers:\n  - requirement: RO-SIG-001\n    justification: j\n    approver: a\n    expires: 2000-01-01\n",
    )
    .expect("write");
    let out = bin()
        .args(["run", "--quiet", "--waivers", s(&expired)])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "{}: at `waivers[0].expires`: waiver for requirement RO-SIG-001 expired",
            s(&expired)
        )),
        "{}",
        text(&out)
    );

    // The reference passes everything, so a waiver has nothing to waive: an error, after the report is written.
    let unused = dir.join("unused.yaml");
    std::fs::write(
        &unused,
        "waivers:\n  - case: session.mac-flipped\n    justification: j\n    approver: a\n    expires: 2099-01-01\n",
    )
    .expect("write");
    let out_dir = dir.join("out");
    let out = bin()
        .args(["run", "--quiet", "--waivers", s(&unused), "--out", s(&out_dir)])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("waivers[0]`: waiver for case session.mac-flipped waived nothing"),
        "{}",
        text(&out)
    );
    assert!(out_dir.join("report.json").is_file());

    let out = bin().args(["run", "--allow-must-waivers"]).output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "--allow-must-waivers needs --waivers: {}",
        text(&out)
    );
}

#[test]
fn diff_exit_codes_gate_on_regressions() {
    let dir = fresh_dir("diff");
    let (good, bad) = (dir.join("good.json"), dir.join("bad.json"));
    std::fs::write(&good, run(false, None).report.to_json()).expect("write");
    std::fs::write(&bad, run(true, None).report.to_json()).expect("write");
    let diff = |a: &Path, b: &Path| bin().args(["report", "diff", s(a), s(b)]).output().expect("diff");

    let worse = diff(&good, &bad);
    assert_eq!(worse.status.code(), Some(1), "{}", text(&worse));
    let t = text(&worse);
    assert!(t.contains("verdict: CONFORMANT -> NOT_CONFORMANT"), "{t}");
    assert!(t.contains("REGRESSED (25)"), "2 requirements + 23 cases: {t}");
    assert!(
        t.contains("requirement RO-SIG-002") && t.contains("pass -> fail"),
        "{t}"
    );
    assert!(t.contains("FIXED (0)") && t.contains("result: regression"), "{t}");

    let json = bin()
        .args(["report", "diff", s(&good), s(&bad), "--format", "json"])
        .output()
        .expect("diff --format json");
    assert_eq!(json.status.code(), Some(1), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("diff JSON parses");
    assert_eq!(v["regression"], true);
    assert_eq!(v["verdict"]["new"], "NOT_CONFORMANT");
    assert_eq!(v["counts"]["regressed"], 25);
    assert!(
        v["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["kind"] == "requirement"
                && e["id"] == "RO-SIG-002"
                && e["old"] == "pass"
                && e["new"] == "fail"
                && e["change"] == "regressed"),
        "{v}"
    );

    let better = diff(&bad, &good);
    assert_eq!(better.status.code(), Some(0), "{}", text(&better));
    assert!(text(&better).contains("FIXED (25)"), "{}", text(&better));

    let same = diff(&good, &good);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    assert!(
        text(&same).contains("REGRESSED (0)\n\nFIXED (0)\n\nCHANGED (0)"),
        "{}",
        text(&same)
    );

    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"schema_version\": 1").expect("write");
    let unreadable = diff(&good, &broken);
    assert_eq!(unreadable.status.code(), Some(2), "{}", text(&unreadable));
    assert!(
        text(&unreadable).contains("broken.json: not a conformance report.json"),
        "{}",
        text(&unreadable)
    );
    assert_eq!(diff(&good, &dir.join("missing.json")).status.code(), Some(2));
}
