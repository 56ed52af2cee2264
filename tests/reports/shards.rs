//! Partial runs and shards: a shard or a filtered run never reads as CONFORMANT, four merged shards give the
//! outcomes of one run, merge refuses missing, duplicated and foreign shards, and diff refuses other scopes.

use crate::support::{bin, fresh_dir, s, text};
use interop_conformance::execute::{self, RunOutput, RunRequest};
use interop_conformance::provider::Provider;
use interop_conformance::reference::{Fault, Faults, ReferenceProvider};
use interop_conformance::report::merge::{self, MergeData, MergeError};
use interop_conformance::report::{RunReport, badge, diff, html, markdown, terminal};
use interop_conformance::scope::Shard;
use interop_conformance::scoring::Verdict;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SEED: u64 = 11;

/// The whole default profile against the reference with a planted MAC bug (so that some cases fail).
fn run(shard: Option<Shard>, out: Option<&Path>, seed: u64) -> RunOutput {
    let mut request = RunRequest::embedded(seed);
    request.plan.shard = shard;
    request.concurrency = 4;
    request.out_dir = out.map(Path::to_path_buf);
    let provider: Arc<dyn Provider> = Arc::new(ReferenceProvider::with_faults(Faults::only(Fault::SkipMacCheck)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(execute::run(&request, provider, out.is_some()))
        .expect("run")
}

fn shards(dir: &Path, count: u32, seed: u64) -> Vec<PathBuf> {
    (1..=count)
        .map(|index| {
            let out = dir.join(format!("shard-{index}"));
            let output = run(Some(Shard { index, count }), Some(&out), seed);
            assert_eq!(output.report.verdict, Verdict::Partial, "a shard is partial");
            out
        })
        .collect()
}

fn outcomes(report: &RunReport) -> Vec<(String, String, Option<String>)> {
    report
        .cases
        .iter()
        .map(|c| (c.id.clone(), c.outcome.as_str().to_string(), c.observed.clone()))
        .collect()
}

fn merge_err(dirs: &[PathBuf]) -> String {
    match merge::merge(dirs, &MergeData::default()) {
        Ok(_) => panic!("merge must refuse {dirs:?}"),
        Err(MergeError(message)) => message,
    }
}

#[test]
fn four_shards_merge_into_the_single_run_and_bad_sets_are_refused() {
    let dir = fresh_dir("shards");
    let single = run(None, None, SEED).report;
    assert_eq!(single.verdict, Verdict::NotConformant, "the planted bug fails the run");
    let parts = shards(&dir, 4, SEED);
    let merged = merge::merge(&parts, &MergeData::default()).expect("four shards merge");
    assert_eq!(
        outcomes(&merged),
        outcomes(&single),
        "same cases, order, outcomes and observations"
    );
    assert_eq!(merged.verdict, single.verdict);
    assert_eq!(merged.score, single.score);
    assert_eq!(merged.summary, single.summary);
    let verdicts = |r: &RunReport| {
        r.requirements
            .iter()
            .map(|q| (q.id.clone(), q.verdict))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&merged), verdicts(&single));
    assert!(merged.run.scope.complete && merged.run.scope.shard.is_none());
    assert!(!merged.run.command.contains("--shard"), "{}", merged.run.command);

    // Missing, duplicated, and from another run (seed): each refused, naming what is wrong.
    let e = merge_err(&parts[..3]);
    assert!(e.contains("missing shard(s): 4/4"), "{e}");
    let e = merge_err(&[parts[0].clone(), parts[0].clone(), parts[2].clone(), parts[3].clone()]);
    assert!(e.contains("shard 1/4 is given twice"), "{e}");
    let other = run(
        Some(Shard { index: 2, count: 4 }),
        Some(&dir.join("other-seed")),
        SEED + 1,
    );
    assert_eq!(other.report.run.seed, SEED + 1);
    let e = merge_err(&[
        parts[0].clone(),
        dir.join("other-seed"),
        parts[2].clone(),
        parts[3].clone(),
    ]);
    assert!(e.contains("different runs: seed"), "{e}");

    // The CLI: merge exits by the merged verdict (1 here), 2 on a missing shard.
    let out = dir.join("merged");
    let mut args = vec!["report", "merge"];
    args.extend(parts.iter().map(|p| s(p)));
    args.extend(["--out", s(&out)]);
    let o = bin().args(&args).output().expect("merge");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(out.join("report.json").is_file() && out.join("badge.json").is_file());
    let o = bin()
        .args([
            "report",
            "merge",
            s(&parts[0]),
            s(&parts[1]),
            "--out",
            s(&dir.join("m2")),
        ])
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("missing shard(s): 3/4, 4/4"), "{}", text(&o));
}

#[test]
fn a_partial_run_never_reads_as_conformant() {
    let dir = fresh_dir("partial");
    let mut request = RunRequest::embedded(3);
    request.plan.only = vec!["RO-ENC-011".into()];
    request.out_dir = Some(dir.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let output = runtime
        .block_on(execute::run(&request, Arc::new(ReferenceProvider::new()), true))
        .expect("run");
    let report = &output.report;
    assert_eq!(report.verdict, Verdict::Partial);
    assert_eq!(
        report.scope_verdict(),
        Verdict::Conformant,
        "everything in scope passed"
    );
    assert_eq!(output.exit_code(), 0, "exit by the verdict within scope");
    assert!(!report.run.scope.complete);
    let label = "PARTIAL (CONFORMANT within scope)";
    let t = terminal::render(report);
    assert!(
        t.contains(&format!("verdict: {label}")) && !t.contains("verdict: CONFORMANT"),
        "{t}"
    );
    assert!(t.contains("not a certification"), "{t}");
    let md = markdown::render(report);
    assert!(md.starts_with(&format!("## 🟡 {label}")), "{md}");
    let page = html::render(report);
    assert!(page.contains(&format!("<h1>{label}</h1>")) && page.contains("id=\"partial\""));
    let b = badge::badge(report);
    assert!(b.message.starts_with(label) && b.color != "brightgreen", "{b:?}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(json["verdict"], "PARTIAL");
    assert_eq!(json["scope_verdict"], "CONFORMANT");
    assert_eq!(json["run"]["scope"]["complete"], false);

    // The certificate's commands say it too.
    let key = dir.join("key");
    assert!(
        bin()
            .args(["report", "keygen", "--out", s(&key)])
            .output()
            .expect("keygen")
            .status
            .success()
    );
    let o = bin()
        .args(["report", "sign", s(&dir.join("report.json")), "--key", s(&key)])
        .output()
        .expect("sign");
    assert!(text(&o).contains(&format!("verdict: {label}")), "{}", text(&o));
    assert!(
        text(&o).contains("not for conformance to the whole profile"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_diff_across_scopes_is_refused() {
    let dir = fresh_dir("diff-scope");
    let whole = run(None, None, SEED).report;
    let shard = run(Some(Shard { index: 1, count: 2 }), None, SEED).report;
    let why = diff::comparable(&whole, &shard).expect_err("other scope");
    assert!(why.contains("different scopes"), "{why}");
    assert!(diff::comparable(&whole, &whole).is_ok());
    let mut other_profile = whole.clone();
    other_profile.run.profile_version = "0.0.0".into();
    assert!(
        diff::comparable(&whole, &other_profile)
            .expect_err("version")
            .contains("different profiles")
    );
    let (a, b) = (dir.join("whole.json"), dir.join("shard.json"));
    std::fs::write(&a, whole.to_json()).expect("write");
    std::fs::write(&b, shard.to_json()).expect("write");
    let o = bin().args(["report", "diff", s(&a), s(&b)]).output().expect("diff");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot compare these reports"), "{}", text(&o));
}
