//! Adapter tooling end to end on loopback: `adapter-check` passes on the served reference and fails, naming the
//! check and the fix, on deliberately broken adapters (the reference's router with one fault injected in front);
//! `run --transcript` records each case's exchanges in order, never the bearer token, and puts failing cases'
//! transcripts in report.html; `matrix` writes its three files with cells linking to each run's report.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use interop_conformance::adapter_check::{self, CheckOptions, CheckReport, Status};
use interop_conformance::execute::{self, RunRequest};
use interop_conformance::http::client::{HttpOptions, HttpProvider};
use interop_conformance::http::server::{self, LoopbackServer};
use interop_conformance::matrix::{self, MatrixOptions};
use interop_conformance::reference::{Fault, Faults, ReferenceProvider};
use interop_conformance::scoring::RequirementVerdict;
use std::sync::Arc;
use std::time::Duration;

/// One thing a broken adapter gets wrong.
#[derive(Clone, Copy, Debug)]
enum Breakage {
    DuplicateIds,
    BadEnvelope,
    SmallSeeds,
    Slow,
    BadShape,
    CrashOnBadRequest,
}

async fn break_one(breakage: Breakage, request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).to_string();
    match breakage {
        Breakage::SmallSeeds if path == "/v1/clients" => {
            let seed = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("seed").and_then(|s| s.as_u64()));
            if seed.is_some_and(|s| s > 1 << 53) {
                return (
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"invalid_argument","detail":"seed too big"}"#,
                )
                    .into_response();
            }
        }
        Breakage::CrashOnBadRequest if path == "/v1/encrypt" && text.contains("\"zz\"") => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "Traceback (most recent call last)").into_response();
        }
        Breakage::BadShape if path == "/v1/verify-signature" => {
            return axum::Json(serde_json::json!({ "valid": "yes" })).into_response();
        }
        Breakage::Slow => tokio::time::sleep(Duration::from_millis(60)).await,
        _ => {}
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    match breakage {
        Breakage::DuplicateIds if path == "/v1/clients" && response.status() == StatusCode::OK => {
            axum::Json(serde_json::json!({ "client": "same" })).into_response()
        }
        Breakage::BadEnvelope if response.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            (StatusCode::UNPROCESSABLE_ENTITY, r#"{"message":"no session"}"#).into_response()
        }
        _ => response,
    }
}

async fn serve(breakage: Option<Breakage>, token: Option<&str>) -> LoopbackServer {
    let mut app = server::router(Arc::new(ReferenceProvider::new()), token);
    if let Some(b) = breakage {
        app = app.layer(middleware::from_fn(move |req, next| break_one(b, req, next)));
    }
    LoopbackServer::start(app).await.expect("serve")
}

async fn check(url: &str, token: Option<&str>) -> CheckReport {
    let options = CheckOptions {
        target: url.into(),
        token: token.map(str::to_string),
        timeout: Duration::from_secs(10),
    };
    adapter_check::check(&options).await.expect("the check runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_reference_passes_every_check() {
    let served = serve(None, Some("t0k")).await;
    let report = check(&served.url(), Some("t0k")).await;
    let text = report.render(&served.url());
    assert_eq!(report.exit_code(), 0, "{text}");
    assert_eq!(report.count(Status::Warn), 0, "{text}");
    assert_eq!(report.count(Status::Skip), 0, "{text}");
    assert!(report.count(Status::Pass) >= 18, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_adapter_fails_its_check_with_a_fix() {
    for (breakage, check_name, fix_words) in [
        (Breakage::DuplicateIds, "client ids", "unique"),
        (Breakage::BadEnvelope, "rejection envelope", "422 {\"error\""),
        (Breakage::SmallSeeds, "64-bit seeds", "u64"),
        (Breakage::Slow, "latency", "TCP_NODELAY"),
        (Breakage::BadShape, "op verify_signature", "JSON shape"),
        (Breakage::CrashOnBadRequest, "bad request", "400"),
    ] {
        let served = serve(Some(breakage), None).await;
        let report = check(&served.url(), None).await;
        let text = report.render(&served.url());
        let finding = report
            .find(check_name)
            .unwrap_or_else(|| panic!("{breakage:?}: no {check_name}\n{text}"));
        assert_eq!(finding.status, Status::Fail, "{breakage:?}\n{text}");
        assert!(
            finding.fix.as_deref().is_some_and(|f| f.contains(fix_words)),
            "{breakage:?}: {finding:?}"
        );
        assert_eq!(report.exit_code(), 1, "{breakage:?}");
        assert!(text.contains(&format!("FAIL {check_name}")), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_that_ignores_the_token_fails_the_bearer_check() {
    let served = serve(None, None).await;
    let report = check(&served.url(), Some("expected-token")).await;
    let finding = report.find("bearer token").expect("bearer finding");
    assert_eq!(finding.status, Status::Fail, "{finding:?}");
    assert!(finding.detail.contains("without a token: HTTP 200"), "{finding:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let options = CheckOptions {
        target: format!("http://127.0.0.1:{port}"),
        token: None,
        timeout: Duration::from_secs(5),
    };
    let error = adapter_check::check(&options).await.expect_err("unreachable");
    assert_eq!(error.exit_code(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcripts_record_exchanges_in_order_and_never_the_token() {
    let token = "transcript-s3cret-token";
    let faults = Faults([Fault::SkipMacCheck].into_iter().collect());
    let app = server::router(Arc::new(ReferenceProvider::with_faults(faults)), Some(token));
    let served = LoopbackServer::start(app).await.expect("serve");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transcript-test");
    let _ = std::fs::remove_dir_all(&dir);
    let mut request = RunRequest::embedded(7);
    request.plan.vectors = vec!["session.mac-flipped".into(), "xeddsa.key0.key-bit-1".into()];
    request.out_dir = Some(dir.clone());
    request.transcript = true;
    request.target_args = format!("--target {}", served.url());
    let mut options = HttpOptions::new(served.url());
    options.token = Some(token.into());
    let provider = Arc::new(HttpProvider::new(&options).expect("client"));
    let output = execute::run(&request, provider, true).await.expect("run");
    let failing = output
        .report
        .cases
        .iter()
        .find(|c| c.id == "session.mac-flipped")
        .expect("case");
    assert_eq!(failing.outcome, interop_conformance::outcome::Outcome::Fail);
    let transcript = failing.transcript.as_ref().expect("transcript kept");
    let paths: Vec<&str> = transcript.exchanges.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(paths.first(), Some(&"/v1/clients"), "{paths:?}");
    assert!(paths[1..].iter().all(|p| *p == "/v1/decrypt"), "{paths:?}");
    let jsonl = std::fs::read_to_string(dir.join("transcript.jsonl")).expect("transcript.jsonl");
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let mac_lines: Vec<&serde_json::Value> = lines.iter().filter(|l| l["case"] == "session.mac-flipped").collect();
    assert_eq!(mac_lines.len(), transcript.exchanges.len());
    for (n, line) in mac_lines.iter().enumerate() {
        assert_eq!(line["seq"], n);
    }
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        html.contains("class=\"transcript\""),
        "report.html carries the failing case's transcript"
    );
    for file in [
        "transcript.jsonl",
        "report.html",
        "report.json",
        "junit.xml",
        "summary.md",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect(file);
        assert!(!text.contains(token), "{file} leaks the bearer token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_puts_implementations_side_by_side() {
    let faulty = Faults([Fault::SkipMacCheck].into_iter().collect());
    let served = server::spawn_loopback(Arc::new(ReferenceProvider::with_faults(faulty)), None)
        .await
        .expect("serve");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("matrix-test");
    let _ = std::fs::remove_dir_all(&dir);
    let mut plan = RunRequest::embedded(7).plan;
    plan.only = vec!["RO-ENC-011".into(), "RO-SIG-001".into()];
    let mut notes = matrix::Notes::new();
    notes.entry("skip-mac".into()).or_default().insert(
        "RO-ENC-011".into(),
        vec!["the planted fault skip-mac-check (src/reference/faults.rs)".into()],
    );
    let options = MatrixOptions {
        notes,
        ..MatrixOptions::reference_and("skip-mac", served.url(), plan, 7, dir.clone())
    };
    let m = matrix::run(&options).await.expect("matrix");
    let row = m.requirements.iter().find(|r| r.id == "RO-ENC-011").expect("row");
    assert_eq!(row.cells[0].verdict, Some(RequirementVerdict::Pass));
    assert_eq!(row.cells[1].verdict, Some(RequirementVerdict::Fail));
    assert!(!row.cells[1].failing.is_empty() && row.cells[1].notes.len() == 1);
    assert!(m.unexplained().is_empty(), "{:?}", m.unexplained());
    let html = std::fs::read_to_string(dir.join("matrix.html")).expect("matrix.html");
    assert!(html.contains("href=\"skip-mac/report.html#req-RO-ENC-011\""));
    assert!(dir.join("skip-mac/report.html").is_file() && dir.join("skip-mac/transcript.jsonl").is_file());
    let md = std::fs::read_to_string(dir.join("matrix.md")).expect("matrix.md");
    assert!(matrix::render::differences(&md, &matrix::render::markdown(&m)).is_empty());
    let json: matrix::MatrixReport =
        serde_json::from_str(&std::fs::read_to_string(dir.join("matrix.json")).expect("json")).expect("parse");
    assert_eq!(json, m);
}
