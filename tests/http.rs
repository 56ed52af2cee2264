//! The HTTP target end to end: the reference served on a loopback port gives, case by case, what the
//! in-process run gives; hostile endpoints end every case as `error` within the deadlines and still leave
//! complete reports; the exit codes of the binary hold.

use interop_conformance::execute::{self, RunOutput, RunRequest, ToolError};
use interop_conformance::exit;
use interop_conformance::http::client::{HttpOptions, HttpProvider};
use interop_conformance::http::server;
use interop_conformance::outcome::Outcome;
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::scoring::Verdict;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SEED: u64 = 7;

fn http(url: &str, configure: impl FnOnce(&mut HttpOptions)) -> Arc<HttpProvider> {
    let mut options = HttpOptions::new(url);
    configure(&mut options);
    Arc::new(HttpProvider::new(&options).expect("client"))
}

fn over_http(url: &str) -> RunRequest {
    RunRequest {
        target_args: format!("--target {url}"),
        monitor: true,
        concurrency: 4,
        ..RunRequest::embedded(SEED)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_profile_over_http_matches_the_in_process_run() {
    same_outcomes_in_process_and_over_http("whatsapp-ro-2024").await;
}

/// The groups profile (Sender Keys, capability `groups`) through the adapter API gives the in-process outcomes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_groups_profile_over_http_matches_the_in_process_run() {
    same_outcomes_in_process_and_over_http("whatsapp-ro-groups").await;
}

/// Runs `profile` against the embedded reference in process and served over loopback HTTP: both CONFORMANT, every
/// case with the same outcome, expected and observed text, and the same requirement table.
async fn same_outcomes_in_process_and_over_http(profile: &str) {
    let mut in_process = RunRequest::embedded(SEED);
    in_process.plan.profile = profile.into();
    let local = execute::run(&in_process, Arc::new(ReferenceProvider::new()), false)
        .await
        .expect("in-process run");
    let served = server::spawn_loopback(Arc::new(ReferenceProvider::new()), None)
        .await
        .expect("serve");
    let mut request = over_http(&served.url());
    request.plan.profile = profile.into();
    let remote = execute::run(&request, http(&served.url(), |_| {}), false)
        .await
        .expect("run over HTTP");
    assert_eq!(local.report.run.profile, profile);

    assert_eq!(local.report.verdict, Verdict::Conformant);
    assert_eq!(remote.report.verdict, Verdict::Conformant);
    assert_eq!(remote.report.run.target, served.url());
    assert_eq!(local.report.cases.len(), remote.report.cases.len());
    assert!(!local.report.cases.is_empty());
    for (l, r) in local.report.cases.iter().zip(&remote.report.cases) {
        assert_eq!(l.id, r.id);
        assert_eq!(
            (l.outcome, &l.expected, &l.observed),
            (r.outcome, &r.expected, &r.observed),
            "case {}",
            l.id
        );
        let profile_arg = if profile == "whatsapp-ro-2024" {
            String::new()
        } else {
            format!("--profile {profile} ")
        };
        assert!(
            r.replay.starts_with(&format!(
                "conformance run {profile_arg}--target {} --seed {SEED}",
                served.url()
            )),
            "{}",
            r.replay
        );
    }
    let table = |o: &RunOutput| {
        o.report
            .requirements
            .iter()
            .map(|r| (r.id.clone(), r.verdict, r.counts))
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&local), table(&remote));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_is_required_sent_and_never_written() {
    let token = "tok-3f9a1c-never-in-reports";
    let served = server::spawn_loopback(Arc::new(ReferenceProvider::new()), Some(token))
        .await
        .expect("serve");
    let out = tempfile::tempdir().expect("tempdir");
    let mut request = over_http(&served.url());
    request.plan.only = vec!["RO-SIG-001".into()];
    request.out_dir = Some(out.path().to_path_buf());

    let without = execute::run(&request, http(&served.url(), |_| {}), true).await;
    match without {
        Err(e @ ToolError::Unreachable(_)) => {
            assert_eq!(e.exit_code(), exit::UNREACHABLE);
            assert!(e.to_string().contains("HTTP 401"), "{e}");
        }
        other => panic!("a run without the token must not start: {other:?}"),
    }

    let with = execute::run(&request, http(&served.url(), |o| o.token = Some(token.into())), true)
        .await
        .expect("run with token");
    assert_eq!(with.report.verdict, Verdict::Partial);
    assert_eq!(with.report.scope_verdict(), Verdict::Conformant);
    for file in ["report.json", "junit.xml"] {
        let text = std::fs::read_to_string(out.path().join(file)).expect(file);
        assert!(!text.contains(token), "{file} contains the token");
    }
}

/// Ways an adapter can misbehave after answering `capabilities` correctly.
#[derive(Debug, Clone, Copy)]
enum Hostile {
    Hang,
    Drip,
    Huge,
    InvalidJson,
    WrongTypes,
    Status500,
    CloseMidBody,
}

impl Hostile {
    /// What the case's `observed` must say.
    fn reason(self) -> &'static str {
        match self {
            Self::Hang | Self::Drip => "no complete response within",
            Self::Huge => "larger than the",
            Self::InvalidJson | Self::WrongTypes => "malformed response",
            Self::Status500 => "HTTP 500",
            Self::CloseMidBody => "broken off",
        }
    }
}

const CAPABILITIES: &str = r#"{"implementation":"hostile","api_version":"v1","profiles":["whatsapp-ro-2024"],"operations":["import_keys","verify_signature","media","security_code","enlistment","push"]}"#;

/// Read one request head and body (enough for the client's small requests); returns the path.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if data.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    head.split_whitespace().nth(1).map(str::to_string)
}

fn response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn misbehave(mut stream: TcpStream, mode: Hostile) {
    let Some(path) = read_request(&mut stream).await else {
        return;
    };
    let ok = |body: &str| response("200 OK", body);
    let _ = match (path.as_str(), mode) {
        ("/v1/capabilities", _) => stream.write_all(ok(CAPABILITIES).as_bytes()).await,
        ("/v1/reset", _) => stream.write_all(ok("{}").as_bytes()).await,
        (_, Hostile::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        (_, Hostile::Drip) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_ok() {
                for _ in 0..100_000 {
                    if stream.write_all(b" ").await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Ok(())
        }
        (_, Hostile::Huge) => {
            // Chunked, so no length is announced and the cap must be met while streaming: 10 MB of spaces.
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
            let mut result = stream.write_all(head.as_bytes()).await;
            for _ in 0..160 {
                if result.is_err() {
                    break;
                }
                result = stream.write_all(chunk.as_bytes()).await;
            }
            result
        }
        (_, Hostile::InvalidJson) => stream.write_all(ok(r#"{"client": "#).as_bytes()).await,
        (_, Hostile::WrongTypes) => {
            let body = r#"{"client": 42, "valid": "yes", "kind": 7, "plaintext": false, "registration_id": "x"}"#;
            stream.write_all(ok(body).as_bytes()).await
        }
        (_, Hostile::Status500) => {
            let text = response("500 Internal Server Error", "Internal Server Error");
            stream.write_all(text.as_bytes()).await
        }
        (_, Hostile::CloseMidBody) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(br#"{"client": "abc"#).await;
            stream.shutdown().await
        }
    };
}

/// The hostile server runs on its own thread and runtime, so that the harness's work (plan loading is
/// synchronous) cannot starve it and turn "misbehaves after capabilities" into "never answers".
async fn hostile_server(mode: Hostile) -> String {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(misbehave(stream, mode));
            }
        });
    });
    format!("http://{addr}")
}

/// The id of the first case of every family in the corpus, computed once.
fn first_case_per_family() -> &'static [String] {
    static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        let plan = interop_conformance::plan::Plan::build(&over_http("http://unused").plan).expect("the corpus loads");
        let mut first = std::collections::BTreeMap::new();
        for case in &plan.cases {
            first.entry(case.family).or_insert_with(|| case.meta.id.clone());
        }
        first.into_values().collect()
    })
}

/// Run cases of every family against one hostile endpoint; every case must be `error` with the reason, in time,
/// and both report files must be complete.
async fn survive(mode: Hostile, request_timeout: Duration, deadline: Duration, reasons: &[&str]) -> Duration {
    let url = hostile_server(mode).await;
    let out = tempfile::tempdir().expect("tempdir");
    let mut request = over_http(&url);
    // The first case of every family keeps the run short and still reaches every family's calls.
    let plan = interop_conformance::plan::Plan::build(&request.plan).expect("the corpus loads");
    let mut first_per_family = std::collections::BTreeMap::new();
    for case in &plan.cases {
        first_per_family
            .entry(case.family)
            .or_insert_with(|| case.meta.id.clone());
    }
    request.plan.vectors = first_per_family.values().cloned().collect();
    request.concurrency = 16;
    request.deadline = Some(deadline);
    request.case_timeout = Duration::from_secs(30);
    request.out_dir = Some(out.path().to_path_buf());
    let provider = http(&url, |o| {
        o.request_timeout = request_timeout;
        o.deadline = Some(deadline);
        o.max_response_bytes = 1 << 20;
        o.max_in_flight = 16;
    });
    let started = Instant::now();
    let output = execute::run(&request, provider, true)
        .await
        .unwrap_or_else(|e| panic!("{mode:?}: the run must complete: {e}"));
    let elapsed = started.elapsed();

    let report = &output.report;
    assert_eq!(report.scope_verdict(), Verdict::NotConformant, "{mode:?}");
    let families: std::collections::BTreeSet<_> = report.cases.iter().map(|c| c.family).collect();
    assert_eq!(families.len(), request.plan.vectors.len(), "{mode:?}: every family ran");
    for case in &report.cases {
        assert_eq!(case.outcome, Outcome::Error, "{mode:?}: {}", case.id);
        let observed = case.observed.as_deref().unwrap_or_default();
        assert!(
            reasons.iter().any(|r| observed.contains(r)),
            "{mode:?}: {}: {observed}",
            case.id
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).expect("report.json"))
            .expect("report.json parses");
    assert_eq!(json["cases"].as_array().map(Vec::len), Some(report.cases.len()));
    assert_eq!(
        json["summary"]["cases"]["error"].as_u64(),
        Some(report.cases.len() as u64)
    );
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<testcase ").count(), report.cases.len(), "{mode:?}");
    assert!(junit.trim_end().ends_with("</testsuites>"));
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_endpoints_end_every_case_as_error_and_still_report() {
    // Roomy enough that a loaded 2-core CI machine still answers `capabilities` in time.
    let timeout = Duration::from_secs(3);
    let deadline = Duration::from_secs(30);
    let modes = [
        Hostile::Hang,
        Hostile::Drip,
        Hostile::Huge,
        Hostile::InvalidJson,
        Hostile::WrongTypes,
        Hostile::Status500,
        Hostile::CloseMidBody,
    ];
    first_case_per_family(); // load the corpus once, before any server or client runs
    let runs =
        modes.map(|mode| tokio::spawn(async move { (mode, survive(mode, timeout, deadline, &[mode.reason()]).await) }));
    for run in runs {
        let (mode, elapsed) = run.await.expect("no panic");
        assert!(elapsed < deadline, "{mode:?} took {elapsed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_deadline_bounds_a_hanging_adapter() {
    // Requests would wait 60 s each; the 2 s run deadline must end them all.
    let deadline = Duration::from_secs(2);
    let reasons = ["deadline", "within"];
    let elapsed = survive(Hostile::Hang, Duration::from_secs(60), deadline, &reasons).await;
    // Not a speed check: ending far below the 60 s request timeout shows that the deadline ended the run.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
}

#[test]
fn an_unreachable_target_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let out = tempfile::tempdir().expect("tempdir");
    let output = binary()
        .args(["run", "--target", &format!("http://127.0.0.1:{port}"), "--timeout", "2"])
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(exit::UNREACHABLE), "{stderr}");
    assert!(stderr.contains("target unreachable"), "{stderr}");
}

#[test]
fn bad_serve_and_target_arguments_exit_2() {
    for args in [
        &["serve-reference", "--listen", "127.0.0.1:0", "--fault", "no-such-fault"][..],
        &["run", "--target", "ftp://127.0.0.1:1"],
        &[
            "run",
            "--target",
            "http://127.0.0.1:1",
            "--token-env",
            "INTEROP_CONFORMANCE_UNSET_VAR",
        ],
    ] {
        let output = binary().args(args).output().expect("run the binary");
        assert_eq!(output.status.code(), Some(exit::INPUT_ERROR), "{args:?}");
    }
}

/// The acceptance in two processes: `serve-reference` on a free port, `run --target` against it.
#[test]
fn serve_reference_and_run_target_give_conformant() {
    let mut server = binary()
        .args(["serve-reference", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start serve-reference");
    let mut line = String::new();
    if let Some(stdout) = server.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let url = line.trim().strip_prefix("listening on ").map(str::to_string);
    let out = tempfile::tempdir().expect("tempdir");
    let result = url.as_ref().map(|url| {
        binary()
            .args(["run", "--target", url, "--seed", "7", "--quiet"])
            .arg("--out")
            .arg(out.path())
            .output()
            .expect("run the binary")
    });
    let _ = server.kill();
    let _ = server.wait();
    let url = url.unwrap_or_else(|| panic!("serve-reference printed `{line}`"));
    let output = result.expect("ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(exit::CONFORMANT), "{stdout}");
    assert!(stdout.contains("verdict: CONFORMANT"), "{stdout}");
    let report = std::fs::read_to_string(out.path().join("report.json")).expect("report.json");
    assert!(report.contains(&format!("conformance run --target {url} --seed 7")));
}
