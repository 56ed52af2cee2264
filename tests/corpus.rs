//! The committed corpus, checked without running a provider: every expected value agrees with the
//! independent recomputation (`conformance vectors verify`), `docs/coverage.md` and `docs/error-classes.md` are
//! the current output of `conformance list --coverage` and `--classes`, and no two cases feed a provider the same
//! inputs.

use interop_conformance::listing;
use interop_conformance::plan::{DEFAULT_PROFILE, Plan, PlanOptions};
use interop_conformance::verify;

fn options() -> PlanOptions {
    PlanOptions {
        profile: DEFAULT_PROFILE.into(),
        ..PlanOptions::default()
    }
}

/// The whole corpus, including the harness known answers no profile lists (as `vectors verify` reads it).
#[test]
fn every_vector_agrees_with_the_independent_implementation() {
    let results = verify::verify_every_profile(&options()).expect("the corpus loads");
    let noise = results
        .iter()
        .filter(|r| r.family == Some(interop_conformance::family::Family::NoiseKnownAnswer))
        .map(|r| r.verified)
        .sum::<usize>();
    assert!(noise >= 20, "transport known answers verified: {noise}");
    let verified: usize = results.iter().map(|r| r.verified).sum();
    assert!(verified >= 450, "only {verified} cases verified");
    let disagreements: Vec<_> = results.iter().flat_map(|r| r.disagreements.iter()).collect();
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        verify::render(&results)
    );
}

/// The groups profile's vectors agree with the family's own receiver, and its coverage table is current.
#[test]
fn groups_vectors_agree_and_coverage_is_current() {
    let options = PlanOptions {
        profile: "whatsapp-ro-groups".into(),
        ..PlanOptions::default()
    };
    let results = verify::verify(&options).expect("the groups corpus loads");
    let verified: usize = results.iter().map(|r| r.verified).sum();
    assert!(verified >= 25, "only {verified} group cases verified");
    assert!(
        results.iter().all(|r| r.disagreements.is_empty()),
        "{}",
        verify::render(&results)
    );
    let plan = Plan::build(&options).expect("the groups corpus loads");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/coverage-groups.md");
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == listing::coverage_markdown(&plan),
        "docs/coverage-groups.md is stale; regenerate it with \
         `cargo run -- list --profile whatsapp-ro-groups --coverage > docs/coverage-groups.md`"
    );
}

/// What a case feeds the provider: its test and its group with the case's metadata and expectations removed
/// (id, comment, requirements, flags, expected, errors), at every depth. Values the vector expects as output
/// stay in, so two cases differing only in what they expect are not merged here (`vectors verify` judges those).
fn inputs(group: &serde_json::Value, test: &serde_json::Value) -> String {
    fn strip(v: &serde_json::Value) -> serde_json::Value {
        const META: [&str; 6] = ["id", "comment", "requirements", "flags", "expected", "errors"];
        match v {
            serde_json::Value::Object(m) => m
                .iter()
                .filter(|(k, _)| !META.contains(&k.as_str()) && k.as_str() != "tests")
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
            serde_json::Value::Array(a) => a.iter().map(strip).collect(),
            other => other.clone(),
        }
    }
    serde_json::json!({ "group": strip(group), "test": strip(test) }).to_string()
}

/// Two cases with identical inputs test one thing twice (as `wire.mac.seven-bytes` once repeated
/// `wire.truncated.msg-mac-minus-one` byte for byte) or contradict each other.
#[test]
fn no_two_cases_have_identical_inputs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("vectors/ is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut seen = std::collections::HashMap::<String, String>::new();
    let mut repeats = Vec::new();
    let mut cases = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let file: serde_json::Value = serde_saphyr::from_str(&text).expect("parses");
        for group in file["groups"].as_array().expect("groups") {
            for test in group["tests"].as_array().expect("tests") {
                cases += 1;
                let id = test["id"].as_str().expect("id").to_string();
                if let Some(first) = seen.insert(inputs(group, test), id.clone()) {
                    repeats.push(format!("{first} and {id}"));
                }
            }
        }
    }
    assert!(cases >= 700, "only {cases} cases read");
    assert!(
        repeats.is_empty(),
        "cases with identical inputs:\n{}",
        repeats.join("\n")
    );
}

/// The committed generated document at `path` is `expected`; `command` regenerates it.
fn assert_doc_current(path: &str, expected: &str, command: &str) {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let committed = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        committed == expected,
        "{path} is stale; regenerate it with `{command} > {path}`"
    );
}

#[test]
fn coverage_doc_is_current() {
    let plan = Plan::build(&options()).expect("the corpus loads");
    let expected = listing::coverage_markdown(&plan);
    assert_doc_current("docs/coverage.md", &expected, "cargo run -- list --coverage");
}

#[test]
fn error_classes_doc_is_current() {
    let plan = Plan::build(&options()).expect("the corpus loads");
    let expected = listing::classes_markdown(&plan);
    assert_doc_current("docs/error-classes.md", &expected, "cargo run -- list --classes");
}

/// Every requirement of the profile has a case that must pass and one that must be refused, except those whose
/// requirement is only about refusing (SHOULD-level rejections) or only about accepting.
#[test]
fn every_profile_requirement_has_positive_and_negative_cases() {
    use interop_conformance::family::Family;
    use interop_conformance::vector::Expected;
    let plan = Plan::build(&options()).expect("the corpus loads");
    // RO-ID-005B..H: each is one way a push token is wrong; accepting the correct token is RO-ID-005A.
    // RO-ENC-015B: each case is `invalid` (dropped state must refuse) and also holds a must-decrypt step for the
    // state that is still kept.
    let reject_only = [
        "RO-ENC-015B",
        "RO-ID-007A",
        "RO-ENC-010A",
        "RO-ID-005B",
        "RO-ID-005C",
        "RO-ID-005D",
        "RO-ID-005E",
        "RO-ID-005F",
        "RO-ID-005G",
        "RO-ID-005H",
        // RO-ERR-001 judges the class of a rejection; it has nothing to accept.
        "RO-ERR-001",
        // A ServerHello that also sets clientFinish, tampered or replayed server frames, a nonce that would be
        // reused: each case is a thing the client must refuse.
        "RO-TRANSPORT-013A",
        "RO-TRANSPORT-018",
        "RO-TRANSPORT-019",
    ];
    // RO-ID-009: a security code is displayed, not accepted or refused; its cases are known answers and
    // symmetry/key-binding claims.
    // RO-ID-005A: "accepts a correct push token"; each way of being wrong is its own requirement (005B..005H).
    // RO-MEDIA-003: the provider's own uploads are judged; there is nothing to refuse.
    // RO-ID-010, RO-ID-010A: judged by the wire monitor on what the provider sends; there is nothing to refuse.
    let accept_only = [
        "RO-ENC-001",
        "RO-ID-009",
        "RO-ID-005A",
        "RO-MEDIA-003",
        "RO-ID-010",
        "RO-ID-010A",
        // Transport send side: judged on what the client itself puts on the wire during an honest handshake
        // (header, transcript, keys, payload, frames); the hostile servers are judged under 001/004/007/013/015/
        // 023/024.
        "RO-TRANSPORT-002",
        "RO-TRANSPORT-003",
        "RO-TRANSPORT-005",
        "RO-TRANSPORT-006",
        "RO-TRANSPORT-008",
        "RO-TRANSPORT-009",
        "RO-TRANSPORT-010",
        "RO-TRANSPORT-014",
        "RO-TRANSPORT-016",
        "RO-TRANSPORT-017",
        "RO-TRANSPORT-020",
        "RO-TRANSPORT-025",
        // The Partner's servers answer over HTTP/1.1 and HTTP/2: a property of what they serve, nothing to refuse.
        "RO-TRANSPORT-011",
        // XX after an IK rejection: judged on the ClientHello the client itself sends on its next connection.
        "RO-TRANSPORT-022A",
    ];
    for req in plan.profile.requirements() {
        let count = |e: Expected| {
            plan.cases
                .iter()
                .filter(|c| c.meta.expected == e && c.meta.requirements.contains(&req.id))
                .count()
        };
        if !reject_only.contains(&req.id.as_str()) {
            assert!(count(Expected::Valid) > 0, "{} has no must-pass case", req.id);
        }
        // Families that judge what the provider itself produces (its enlistment request, its side of a live
        // exchange) have nothing to refuse.
        let judges_output_only = plan
            .cases
            .iter()
            .filter(|c| c.meta.requirements.contains(&req.id))
            .all(|c| matches!(c.family, Family::Enlistment | Family::SessionRoundtrip));
        if !accept_only.contains(&req.id.as_str()) && !judges_output_only {
            assert!(count(Expected::Invalid) > 0, "{} has no must-reject case", req.id);
        }
    }
}
