//! `conformance report keygen | sign | verify`, end to end through the binary.

use crate::support::{bin, fresh_dir, s, text};
use chrono::{DateTime, TimeDelta, Utc};
use interop_conformance::certificate;
use std::path::Path;
use std::process::Output;

fn conformance(args: &[&str]) -> Output {
    bin().args(args).output().expect("run conformance")
}

#[test]
fn sign_then_verify_and_every_tampering_fails() {
    let dir = fresh_dir("certificates");
    let (key, other) = (dir.join("signer"), dir.join("other"));
    let report = dir.join("report.json");
    std::fs::write(&report, "{\"verdict\": \"CONFORMANT\", \"score\": 1.0}\n").expect("write report");

    let out = conformance(&["report", "keygen", "--out", s(&key)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("fingerprint: sha256:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the private key must be readable by its owner only");
    }
    let again = conformance(&["report", "keygen", "--out", s(&key)]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("refusing to overwrite"));
    assert_eq!(
        conformance(&["report", "keygen", "--out", s(&other)]).status.code(),
        Some(0)
    );

    let out = conformance(&["report", "sign", s(&report), "--key", s(&key), "--expires-in", "30"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sig = dir.join("report.json.sig");
    assert!(sig.is_file());

    let pubkey = dir.join("signer.pub");
    let verify = |pubkey: &Path| conformance(&["report", "verify", s(&report), "--pubkey", s(pubkey)]);
    let ok = verify(&pubkey);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(text(&ok).starts_with("OK: "), "{}", text(&ok));

    let wrong = verify(&dir.join("other.pub"));
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(text(&wrong).contains("wrong key"), "{}", text(&wrong));

    let original = std::fs::read(&report).expect("read");
    let mut changed = original.clone();
    changed[14] ^= 0x20;
    std::fs::write(&report, &changed).expect("tamper");
    let tampered = verify(&pubkey);
    assert_eq!(tampered.status.code(), Some(1), "{}", text(&tampered));
    assert!(text(&tampered).contains("changed after signing"), "{}", text(&tampered));
    std::fs::write(&report, &original).expect("restore");

    // An expired certificate: signed a year ago for 30 days (made with the library: the CLI signs "now").
    let signing = certificate::read_signing_key(&key).expect("key");
    let then: DateTime<Utc> = Utc::now() - TimeDelta::days(365);
    let old = certificate::sign(&signing, "report.json", &original, then, then + TimeDelta::days(30));
    std::fs::write(&sig, serde_json::to_string_pretty(&old).expect("json")).expect("write sig");
    let expired = verify(&pubkey);
    assert_eq!(expired.status.code(), Some(1), "{}", text(&expired));
    assert!(text(&expired).contains("expired"), "{}", text(&expired));

    let missing = conformance(&["report", "verify", s(&dir.join("nope.json")), "--pubkey", s(&pubkey)]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
}
