//! The command line as a CI job sees it: exit codes, report files, failure output, replay, input errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn conformance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh folder under the target directory (kept out of the source tree).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[test]
fn default_run_is_conformant_and_writes_reports() {
    let out = scratch("default");
    let o = conformance(&["run", "--seed", "7", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("verdict: CONFORMANT"), "{}", stdout(&o));
    assert!(stderr(&o).contains("seed 7"), "the seed is printed: {}", stderr(&o));
    assert!(
        !stderr(&o).contains("cases/s"),
        "no progress when stdout is not a terminal: {}",
        stderr(&o)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "CONFORMANT");
    assert_eq!(json["run"]["seed"], 7);
    assert!(
        std::fs::read_to_string(out.join("junit.xml"))
            .unwrap()
            .contains("<testsuites")
    );
}

#[test]
fn a_failure_shows_expected_observed_requirement_and_a_replay_that_works() {
    let out = scratch("failing");
    let o = conformance(&[
        "run",
        "--vectors",
        "tests/data/failing",
        "--only",
        "RO-SIG-002",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "NOT_CONFORMANT exits 1: {text}{}", stderr(&o));
    assert!(text.contains("FAIL fixture.wrong-expectation  [RO-SIG-002]"), "{text}");
    assert!(text.contains("expected: rejected"), "{text}");
    assert!(text.contains("observed: signature verifies"), "{text}");
    let replay = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay:   conformance "))
        .expect("a replay line")
        .to_string();
    assert!(
        replay.contains("--vector fixture.wrong-expectation") && replay.contains("--seed 3"),
        "{replay}"
    );
    let replay_out = scratch("replay");
    let mut args: Vec<&str> = replay.split_whitespace().collect();
    args.extend(["--out", replay_out.to_str().unwrap()]);
    let again = conformance(&args);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(replay_out.join("report.json")).unwrap()).unwrap();
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "the replay runs just that case");
    assert_eq!(cases[0]["outcome"], "fail");
}

#[test]
fn passing_fixture_with_filter_is_conformant() {
    let out = scratch("passing");
    let o = conformance(&[
        "run",
        "--vectors",
        "tests/data/passing",
        "--only",
        "RO-SIG-002",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("partial run (--only RO-SIG-002)"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("verdict: PARTIAL (CONFORMANT within scope)"),
        "{}",
        stdout(&o)
    );
}

fn broken_vector(name: &str, yaml: &str) -> Output {
    let dir = scratch(name);
    std::fs::write(dir.join("broken.yaml"), yaml).unwrap();
    conformance(&[
        "run",
        "--vectors",
        dir.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ])
}

const HEADER: &str =
    "schema_version: 1\nfamily: xeddsa_verify\ndescription: broken\ngroups:\n  - public_key: '0500'\n    tests:\n";

#[test]
fn misspelt_key_is_one_located_error_with_exit_2() {
    let yaml = format!(
        "{HEADER}      - id: a\n        requirements: [RO-SIG-001]\n        expected: valid\n        mesage: '00'\n        signature: '00'\n"
    );
    let o = broken_vector("misspelt", &yaml);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("broken.yaml:10:9: at `groups[0].tests[0].mesage`: unknown field `mesage`"),
        "{err}"
    );
    assert_eq!(err.lines().filter(|l| l.contains("error")).count(), 1, "{err}");
}

#[test]
fn bad_hex_is_located() {
    let yaml = format!(
        "{HEADER}      - id: a\n        requirements: [RO-SIG-001]\n        expected: valid\n        message: 'xyz'\n        signature: '00'\n"
    );
    let o = broken_vector("hex", &yaml);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("broken.yaml:10:18:") && err.contains("groups[0].tests[0].message") && err.contains("invalid hex"),
        "{err}"
    );
}

#[test]
fn wrong_indent_is_located() {
    let yaml = format!("{HEADER}      - id: a\n        requirements: [RO-SIG-001]\n       expected: valid\n");
    let o = broken_vector("indent", &yaml);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("broken.yaml:9:8:"), "{err}");
}

#[test]
fn unknown_requirement_and_duplicate_ids_are_input_errors() {
    let yaml = format!(
        "{HEADER}      - id: a\n        requirements: [RO-NOPE-001]\n        expected: valid\n        message: '00'\n        signature: '00'\n"
    );
    let o = broken_vector("unknown-req", &yaml);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("broken.yaml:8:24:") && stderr(&o).contains("unknown requirement id `RO-NOPE-001`"),
        "{}",
        stderr(&o)
    );

    let case = "      - id: a\n        requirements: [RO-SIG-001]\n        expected: valid\n        message: '00'\n        signature: '00'\n";
    let o = broken_vector("duplicate", &format!("{HEADER}{case}{case}"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("broken.yaml:12:") && stderr(&o).contains("duplicate test id `a`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = conformance(&["run", "--only", "RO-NOT-A-REQUIREMENT"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--only RO-NOT-A-REQUIREMENT"), "{}", stderr(&o));
    let o = conformance(&["run", "--vector", "no.such.case"]);
    assert_eq!(o.status.code(), Some(2));
    let o = conformance(&["run", "--profile", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no profile named `nope`"), "{}", stderr(&o));
    let o = conformance(&["run", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `--tls-ca`: a file that is missing or holds no CA certificate exits 2 naming it, before any connection.
#[test]
fn a_bad_tls_ca_file_exits_2_naming_it() {
    let dir = scratch("tls-ca");
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    let missing = dir.join("missing.pem");
    for file in [&junk, &missing] {
        let file = file.to_str().expect("utf-8 path");
        let o = conformance(&["run", "--target", "https://127.0.0.1:9", "--tls-ca", file]);
        assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
        assert!(stderr(&o).contains(&format!("--tls-ca {file}: ")), "{}", stderr(&o));
    }
    let o = conformance(&["run", "--tls-ca", "ca.pem"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--target"), "{}", stderr(&o));
}

#[test]
fn list_prints_profiles_requirements_and_ids() {
    let o = conformance(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("whatsapp-ro-2024 (selected)"), "{text}");
    assert!(text.contains("RO-SIG-001"), "{text}");
    assert!(text.contains("xeddsa.ro-example.over-serialized-key"), "{text}");
    assert!(text.contains("not testable from here"), "{text}");
    assert!(text.contains("RO-TRANSPORT-012"), "{text}");
}

#[test]
fn explore_writes_a_report_and_prints_seed_rate_and_a_clock_free_replay() {
    let out = scratch("explore");
    let o = conformance(&[
        "explore",
        "--schedules",
        "40",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("explore: seed 3: 40 schedules in "), "{text}");
    assert!(text.contains("schedules/s"), "{text}");
    assert!(
        text.contains("replay:  conformance explore --seed 3 --schedules 40"),
        "{text}"
    );
    assert!(
        !stderr(&o).contains("schedules/s"),
        "no progress when stdout is not a terminal"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["campaign"]["schedules"], 40);
    assert_eq!(json["verdict"], "PARTIAL", "a campaign is never a certification");
    for file in ["junit.xml", "report.html", "summary.md", "badge.json"] {
        assert!(out.join(file).exists(), "{file}");
    }
}

#[test]
fn absurd_campaign_and_repeat_options_exit_2_naming_the_option() {
    for (args, names) in [
        (&["explore", "--budget", "10x"][..], "--budget"),
        (&["explore", "--budget", "99999d"][..], "--budget"),
        (&["explore", "--budget", "ten"][..], "--budget"),
        (&["explore", "--schedules", "0"][..], "--schedules"),
        (&["explore"][..], "--budget"),
        (&["run", "--repeat", "0"][..], "--repeat"),
        (&["run", "--repeat", "1000000"][..], "--repeat"),
        (&["run", "--schedule", "3"][..], "--vector"),
        (
            &["run", "--vector", "session.in-order", "--schedule", "3"][..],
            "--schedule",
        ),
    ] {
        let o = conformance(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}{}", stdout(&o), stderr(&o));
        assert!(stderr(&o).contains(names), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn matrix_prints_no_progress_when_stdout_is_not_a_terminal() {
    // On a terminal one line counts every implementation's cases (checked by hand with `script -qc`); a pipe,
    // as here, gets nothing extra.
    let out = scratch("matrix-progress");
    let o = conformance(&["matrix", "--seed", "7", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(!stderr(&o).contains("cases/s"), "{}", stderr(&o));
    assert!(out.join("matrix.json").is_file());
}
