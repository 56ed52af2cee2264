//! Test of docs/ci/: each file parses as YAML, has the shape the README promises (matrix over shards without
//! fail-fast, one artifact per shard, a merge job that downloads them by pattern and writes the step summary;
//! an Indexed Job that maps JOB_COMPLETION_INDEX to `--shard`; a nightly `explore` campaign), and every `conformance` command in it parses
//! with this version's command line. No YAML linter is installed for it (none from the registries installs
//! cleanly in .ci/run without network access at test time); the files are parsed with serde-saphyr instead.

use crate::Cli;
use clap::Parser;
use serde_json::Value;
use std::path::Path;

fn load(path: &str) -> Vec<Value> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_multiple::<Value>(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

/// Replace CI expressions and shell variables with sample values of the right kind.
fn substitute(script: &str) -> String {
    let mut out = script.to_string();
    while let Some(start) = out.find("${{") {
        let end = out[start..].find("}}").map(|e| start + e + 2).expect("closed ${{ }}");
        let value = match out[start + 3..end - 2].trim() {
            "matrix.shard" => "1",
            "github.run_id" => "123456789",
            other => panic!("unknown expression ${{{{ {other} }}}}"),
        };
        out.replace_range(start..end, value);
    }
    while let Some(start) = out.find("$((") {
        let end = out[start..].find("))").map(|e| start + e + 2).expect("closed $(( ))");
        out.replace_range(start..end, "1");
    }
    for (name, value) in [
        ("$CONFORMANCE_TARGET", "http://127.0.0.1:8787"),
        ("$CONFORMANCE_SEED", "20261203"),
    ] {
        out = out.replace(name, value);
    }
    out
}

/// Shell words, with quotes removed (enough for the commands in docs/ci).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quote, mut any) = (String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    words
}

/// Every `conformance ...` command of a shell script: `;`, `&`, newlines and `&&` end a command.
fn commands(script: &str) -> Vec<Vec<String>> {
    substitute(script)
        .split(['\n', ';', '&'])
        .map(words)
        .filter(|w| {
            w.first()
                .is_some_and(|p| p == "conformance" || p.ends_with("/conformance"))
        })
        .collect()
}

fn check(argv: &[String], file: &str) {
    let mut argv = argv.to_vec();
    argv[0] = "conformance".into();
    if let Err(e) = Cli::try_parse_from(&argv) {
        panic!("{file}: `{}` is not a valid command: {e}", argv.join(" "));
    }
}

#[test]
fn github_actions_workflow_shards_merges_and_uses_valid_commands() {
    let file = "docs/ci/github-actions.yml";
    let doc = &load(file)[0];
    let shard = &doc["jobs"]["shard"];
    assert_eq!(
        shard["strategy"]["fail-fast"],
        Value::Bool(false),
        "a failing shard must not cancel the others"
    );
    let matrix: Vec<u64> = shard["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("matrix.shard")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let n = matrix.len() as u64;
    assert_eq!(matrix, (1..=n).collect::<Vec<_>>(), "the matrix lists shards 1..N");
    let merge = &doc["jobs"]["merge"];
    assert_eq!(merge["needs"], "shard");
    assert_eq!(
        merge["if"], "always()",
        "the merge runs (and reports) even when a shard failed"
    );
    let steps = |job: &Value| job["steps"].as_array().cloned().unwrap_or_default();
    let uses = |job: &Value, action: &str| {
        steps(job)
            .into_iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .unwrap_or_else(|| panic!("no {action} step"))
    };
    let upload = uses(shard, "actions/upload-artifact");
    assert!(
        upload["with"]["name"]
            .as_str()
            .unwrap_or("")
            .contains("${{ matrix.shard }}"),
        "one artifact per shard"
    );
    assert_eq!(
        uses(merge, "actions/download-artifact")["with"]["pattern"],
        "conformance-shard-*"
    );
    let scripts = |job: &Value| -> Vec<String> {
        steps(job)
            .iter()
            .filter_map(|s| s["run"].as_str().map(String::from))
            .collect()
    };
    assert!(
        scripts(merge)
            .iter()
            .any(|s| s.contains("summary.md") && s.contains("GITHUB_STEP_SUMMARY"))
    );
    let mut found = Vec::new();
    for script in scripts(shard).iter().chain(&scripts(merge)) {
        for argv in commands(script) {
            check(&argv, file);
            found.push(argv.join(" "));
        }
    }
    let joined = found.join("\n");
    assert!(joined.contains(&format!("--shard 1/{n}")), "{joined}");
    assert!(joined.contains("report merge"), "{joined}");
    assert!(joined.contains("serve-reference"), "{joined}");
}

#[test]
fn github_explore_workflow_runs_a_budgeted_campaign_with_valid_commands() {
    let file = "docs/ci/github-explore.yml";
    let doc = &load(file)[0];
    let steps = doc["jobs"]["explore"]["steps"].as_array().cloned().unwrap_or_default();
    let mut found = Vec::new();
    for script in steps.iter().filter_map(|s| s["run"].as_str()) {
        for argv in commands(script) {
            check(&argv, file);
            found.push(argv.join(" "));
        }
    }
    let joined = found.join("\n");
    assert!(
        joined.contains("explore --target http://127.0.0.1:8787 --budget 30m"),
        "{joined}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s["run"].as_str().is_some_and(|r| r.contains("GITHUB_STEP_SUMMARY"))),
        "the summary reaches the step summary"
    );
}

#[test]
fn kubernetes_indexed_job_maps_the_index_to_shards_and_uses_valid_commands() {
    let shards_file = "docs/ci/kubernetes/shards-job.yaml";
    let job = &load(shards_file)[0];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let n = job["spec"]["completions"].as_u64().expect("completions");
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let script = container["args"][0].as_str().expect("a shell script in args");
    assert!(script.contains("--shard $((JOB_COMPLETION_INDEX + 1))/"), "{script}");
    let argv = commands(script);
    assert_eq!(argv.len(), 1, "{script}");
    check(&argv[0], shards_file);
    assert!(argv[0].join(" ").contains(&format!("--shard 1/{n}")));

    let merge_file = "docs/ci/kubernetes/merge-job.yaml";
    let merge = &load(merge_file)[0];
    let command: Vec<String> = merge["spec"]["template"]["spec"]["containers"][0]["command"]
        .as_array()
        .expect("command")
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    check(&command, merge_file);
    let dirs = command.iter().filter(|w| w.starts_with("/reports/shard-")).count() as u64;
    assert_eq!(dirs, n, "the merge names every shard");
}

#[test]
fn a_broken_command_is_noticed() {
    let argv = commands("./target/release/conformance run --shard ${{ matrix.shard }}/4 --no-such-flag");
    assert_eq!(argv.len(), 1);
    assert!(Cli::try_parse_from(&argv[0]).is_err());
    assert_eq!(words("a \"b c\" '' d"), vec!["a", "b c", "", "d"]);
}
