//! A hostile provider cannot reach past its cell of the report (issue 15). The provider here is the reference
//! behind the adapter API with attacks layered on top: URLs on hosts nobody allowed, redirects, endless JWKS
//! streams, control characters, XML-invalid characters, megabyte details and an echoed bearer token. Beside it,
//! the binary's own defences: exclusive run folders, numeric options, certificates and input files.
//! Everything stays on loopback (127.0.0.1, and 127.0.0.2 as "another host").

use async_trait::async_trait;
use interop_conformance::execute::{self, RunRequest, ToolError};
use interop_conformance::http::client::{HttpOptions, HttpProvider};
use interop_conformance::http::server;
use interop_conformance::outcome::Outcome;
use interop_conformance::provider::*;
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::report::terminal;
use interop_conformance::runner::CaseResult;
use interop_conformance::sanitize::FIELD_LIMIT;
use interop_conformance::signature::token::PARTNER_JWKS_PATH;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SEED: u64 = 15;
const TOKEN: &str = "tok-hostile-5e1f0c-secret";

/// The reference with the attacks a test switches on.
#[derive(Default)]
struct Attacks {
    jwks_url: Option<String>,
    push_url: Option<String>,
    implementation: Option<String>,
    /// Rejects every signature check with this detail.
    detail: Option<String>,
}

struct HostileProvider {
    inner: ReferenceProvider,
    attacks: Attacks,
}

#[async_trait]
impl Provider for HostileProvider {
    fn target(&self) -> String {
        self.inner.target()
    }
    async fn capabilities(&self) -> CallResult<Capabilities> {
        let mut c = self.inner.capabilities().await?;
        if let Some(i) = &self.attacks.implementation {
            c.implementation = i.clone();
        }
        Ok(c)
    }
    async fn reset(&self) -> CallResult<()> {
        self.inner.reset().await
    }
    async fn create_client(&self, r: &CreateClient) -> CallResult<ClientId> {
        self.inner.create_client(r).await
    }
    async fn prekey_bundle(&self, c: &ClientId) -> CallResult<PreKeyBundle> {
        self.inner.prekey_bundle(c).await
    }
    async fn process_bundle(&self, c: &ClientId, p: &str, b: &PreKeyBundle) -> CallResult<()> {
        self.inner.process_bundle(c, p, b).await
    }
    async fn encrypt(&self, c: &ClientId, p: &str, m: &[u8]) -> CallResult<Ciphertext> {
        self.inner.encrypt(c, p, m).await
    }
    async fn decrypt(&self, c: &ClientId, p: &str, m: &Ciphertext) -> CallResult<Vec<u8>> {
        self.inner.decrypt(c, p, m).await
    }
    async fn verify_signature(&self, k: &[u8], m: &[u8], s: &[u8]) -> CallResult<bool> {
        match &self.attacks.detail {
            Some(detail) => Err(CallError::rejected(ErrorClass::BadSignature, detail.clone())),
            None => self.inner.verify_signature(k, m, s).await,
        }
    }
    async fn enlistment_request(&self, r: &EnlistmentRequest) -> CallResult<Enlistment> {
        let mut e = self.inner.enlistment_request(r).await?;
        if let Some(url) = &self.attacks.jwks_url {
            e.jwks_url = url.clone();
        }
        Ok(e)
    }
    async fn push_endpoint(&self, config: &PushConfig) -> CallResult<PushEndpoint> {
        let mut e = self.inner.push_endpoint(config).await?;
        if let Some(url) = &self.attacks.push_url {
            e.url = url.clone();
        }
        Ok(e)
    }
}

/// Serve the hostile provider over loopback HTTP (token required) and run `cases` against it.
async fn run_against(
    attacks: Attacks,
    cases: Vec<String>,
    allow_hosts: &[&str],
    out: Option<&Path>,
) -> execute::RunOutput {
    let provider = Arc::new(HostileProvider {
        inner: ReferenceProvider::new(),
        attacks,
    });
    let served = server::spawn_loopback(provider, Some(TOKEN)).await.expect("serve");
    let mut options = HttpOptions::new(served.url());
    options.token = Some(TOKEN.into());
    options.allow_hosts = allow_hosts.iter().map(|h| h.to_string()).collect();
    let client = Arc::new(HttpProvider::new(&options).expect("client"));
    let request = RunRequest {
        target_args: format!("--target {} --token-env T", served.url()),
        concurrency: 4,
        out_dir: out.map(Path::to_path_buf),
        ..RunRequest::embedded(SEED)
    };
    let request = RunRequest {
        plan: interop_conformance::plan::PlanOptions {
            vectors: cases,
            ..request.plan.clone()
        },
        ..request
    };
    execute::run(&request, client, out.is_some())
        .await
        .expect("the run completes")
}

/// A raw HTTP server on `ip` that counts connections and answers every request with `answer`'s bytes (or, for
/// `Endless`, an endless chunked body, counting the bytes it managed to send).
#[derive(Clone)]
enum Answer {
    Redirect(String),
    NotFound,
    Endless,
    /// 500 with the request head (Authorization included) and a terminal escape as the body.
    Echo,
}

struct RawServer {
    url: String,
    connections: Arc<AtomicUsize>,
    sent: Arc<AtomicUsize>,
}

async fn raw_server(ip: &str, answer: Answer) -> RawServer {
    let listener = TcpListener::bind((ip, 0))
        .await
        .expect("bind (127.0.0.2 is loopback on Linux)");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (connections, sent) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (c, s) = (connections.clone(), sent.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let (answer, s) = (answer.clone(), s.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = match answer {
                    Answer::Redirect(to) => {
                        let text = format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n");
                        stream.write_all(text.as_bytes()).await
                    }
                    Answer::NotFound => {
                        stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                            .await
                    }
                    Answer::Echo => {
                        // The Authorization line first, so the token falls inside any excerpt.
                        let head = String::from_utf8_lossy(&head).into_owned();
                        let auth = head
                            .lines()
                            .find(|l| l.to_ascii_lowercase().starts_with("authorization"));
                        let mut body = format!("\x1b[2J{}\n{head}", auth.unwrap_or("")).into_bytes();
                        let text = format!("HTTP/1.1 500 Oops\r\nContent-Length: {}\r\n\r\n", body.len());
                        body.splice(0..0, text.into_bytes());
                        stream.write_all(&body).await
                    }
                    Answer::Endless => {
                        let head =
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "{".repeat(64 * 1024));
                        let mut r = stream.write_all(head.as_bytes()).await;
                        while r.is_ok() {
                            r = stream.write_all(chunk.as_bytes()).await;
                            s.fetch_add(chunk.len(), Ordering::SeqCst);
                        }
                        r
                    }
                };
            });
        }
    });
    RawServer { url, connections, sent }
}

fn only(outputs: &execute::RunOutput, id: &str) -> CaseResult {
    outputs
        .report
        .cases
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("no case {id}"))
}

const TOKEN_CASE: &str = "enlistment.token-signature";
const PUSH_CASE: &str = "push.correct";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_named_urls_stay_on_allowed_hosts() {
    let elsewhere = raw_server("127.0.0.2", Answer::NotFound).await;
    let jwks_elsewhere = format!("{}{PARTNER_JWKS_PATH}", elsewhere.url);
    let push_elsewhere = format!("{}/push", elsewhere.url);
    let attacks = || Attacks {
        jwks_url: Some(jwks_elsewhere.clone()),
        push_url: Some(push_elsewhere.clone()),
        ..Attacks::default()
    };
    let cases = vec![TOKEN_CASE.to_string(), PUSH_CASE.to_string()];

    // Another host, not allowed: never contacted; the cases cannot be judged and say how to allow it.
    let refused = run_against(attacks(), cases.clone(), &[], None).await;
    for id in [TOKEN_CASE, PUSH_CASE] {
        let case = only(&refused, id);
        assert_eq!(case.outcome, Outcome::Error, "{case:?}");
        assert!(
            case.observed
                .as_deref()
                .unwrap_or("")
                .contains("--allow-host 127.0.0.2"),
            "{case:?}"
        );
    }
    assert_eq!(
        elsewhere.connections.load(Ordering::SeqCst),
        0,
        "a refused host was contacted"
    );

    // Allowed with --allow-host: contacted (and the 404 it serves is the provider's failure).
    let allowed = run_against(attacks(), cases, &["127.0.0.2"], None).await;
    assert!(elsewhere.connections.load(Ordering::SeqCst) >= 2);
    assert_eq!(only(&allowed, TOKEN_CASE).outcome, Outcome::Fail);

    // Not http(s): the provider's fault, never fetched.
    let file = Attacks {
        jwks_url: Some(format!("file://{PARTNER_JWKS_PATH}")),
        push_url: Some("file:///etc/passwd".into()),
        ..Attacks::default()
    };
    let run = run_against(file, vec![TOKEN_CASE.into(), PUSH_CASE.into()], &[], None).await;
    for id in [TOKEN_CASE, PUSH_CASE] {
        let case = only(&run, id);
        assert_eq!(case.outcome, Outcome::Fail, "{case:?}");
        assert!(case.observed.as_deref().unwrap_or("").contains("scheme"), "{case:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_checked_again_and_bodies_capped_while_streaming() {
    let elsewhere = raw_server("127.0.0.2", Answer::NotFound).await;
    let to_other_host = raw_server(
        "127.0.0.1",
        Answer::Redirect(format!("{}{PARTNER_JWKS_PATH}", elsewhere.url)),
    )
    .await;
    let to_other_path = raw_server("127.0.0.1", Answer::Redirect("/internal/admin".into())).await;
    for redirector in [&to_other_host, &to_other_path] {
        let attacks = Attacks {
            jwks_url: Some(format!("{}{PARTNER_JWKS_PATH}", redirector.url)),
            ..Attacks::default()
        };
        let run = run_against(attacks, vec![TOKEN_CASE.into()], &[], None).await;
        let case = only(&run, TOKEN_CASE);
        assert_ne!(case.outcome, Outcome::Pass);
        assert!(
            case.observed.as_deref().unwrap_or("").contains("redirect refused"),
            "{case:?}"
        );
        assert_eq!(redirector.connections.load(Ordering::SeqCst), 1);
    }
    assert_eq!(
        elsewhere.connections.load(Ordering::SeqCst),
        0,
        "a redirect reached a refused host"
    );

    // An endless JWKS: the cap holds while the body streams, so the case ends at once and little is read.
    let endless = raw_server("127.0.0.1", Answer::Endless).await;
    let attacks = Attacks {
        jwks_url: Some(format!("{}{PARTNER_JWKS_PATH}", endless.url)),
        ..Attacks::default()
    };
    let started = Instant::now();
    let run = run_against(attacks, vec![TOKEN_CASE.into()], &[], None).await;
    let case = only(&run, TOKEN_CASE);
    assert_eq!(case.outcome, Outcome::Fail);
    assert!(
        case.observed.as_deref().unwrap_or("").contains("larger than"),
        "{case:?}"
    );
    // Hang guard, not a speed check: far below the 60 s case timeout.
    assert!(started.elapsed() < Duration::from_secs(30));
    // What the server could push into socket buffers before the client hung up, not gigabytes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = endless.sent.load(Ordering::SeqCst);
    assert!(sent < 64 * 1024 * 1024, "the server sent {sent} bytes");
}

/// XML 1.0's Char production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_text_is_redacted_visible_and_bounded_in_every_output() {
    let fake_screen = "\u{1b}[2J\u{1b}[H\rverdict: CONFORMANT\n";
    let attacks = Attacks {
        implementation: Some(format!("{fake_screen}impl {TOKEN} \u{ffff}")),
        detail: Some(format!(
            "{fake_screen}echoed Authorization: Bearer {TOKEN} \u{ffff}\u{202e}{}",
            "A".repeat(512 * 1024)
        )),
        ..Attacks::default()
    };
    let plan = interop_conformance::plan::Plan::build(&RunRequest::embedded(SEED).plan).expect("corpus");
    let cases: Vec<String> = plan
        .cases
        .iter()
        .filter(|c| c.meta.id.starts_with("xeddsa."))
        .take(24)
        .map(|c| c.meta.id.clone())
        .collect();
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("run");
    let run = run_against(attacks, cases.clone(), &[], Some(&dir)).await;
    let report = &run.report;
    assert!(
        report.cases.iter().any(|c| c.outcome == Outcome::Fail),
        "the valid signatures were rejected"
    );
    for case in &report.cases {
        for field in [&case.expected, &case.observed].into_iter().flatten() {
            assert!(
                field.len() < FIELD_LIMIT + 64,
                "{}: {} bytes kept",
                case.id,
                field.len()
            );
        }
    }
    let mut outputs = vec![("terminal".to_string(), terminal::render(report))];
    for file in execute::REPORT_FILES {
        outputs.push((file.to_string(), std::fs::read_to_string(dir.join(file)).expect(file)));
    }
    for (name, text) in &outputs {
        assert!(!text.contains(TOKEN), "{name} contains the token");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r'),
            "{name} has raw control characters"
        );
        assert!(text.chars().all(xml_char), "{name} has characters XML forbids");
        assert!(!text.contains('\u{202e}'), "{name} has a raw bidi override");
        // Bounded: 24 cases cannot write megabytes.
        assert!(
            text.len() < 24 * 3 * (FIELD_LIMIT + 64) + 256 * 1024,
            "{name}: {} bytes",
            text.len()
        );
    }
    assert!(
        report.run.implementation.contains("<redacted>"),
        "{}",
        report.run.implementation
    );
    // Only the suite's own verdict line starts a line with `verdict:` on the terminal.
    let terminal = &outputs[0].1;
    assert_eq!(
        terminal.lines().filter(|l| l.starts_with("verdict:")).count(),
        1,
        "{terminal}"
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit");
    quick_junit::Report::deserialize_from_str(&junit).expect("junit.xml is well-formed XML");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_that_echoes_the_token_at_the_start_is_redacted_too() {
    let echo = raw_server("127.0.0.1", Answer::Echo).await;
    let mut options = HttpOptions::new(&echo.url);
    options.token = Some(TOKEN.into());
    let client = Arc::new(HttpProvider::new(&options).expect("client"));
    match execute::run(&RunRequest::embedded(SEED), client, false).await {
        Err(e @ ToolError::Unreachable(_)) => {
            let text = e.to_string();
            assert!(text.contains("HTTP 500"), "{text}");
            assert!(
                !text.contains(TOKEN) && !text.contains('\n') && !text.contains('\u{1b}'),
                "{text}"
            );
        }
        other => panic!("expected unreachable: {other:?}"),
    }
}

// ---------------------------------------------------------------- the binary's own defences

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
}

/// Run the binary with a hang guard: killed after 120 s (a hang is a failure, reported as such).
fn run_bounded(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the command hung: {command:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn two_runs_in_the_same_second_with_the_same_seed_both_keep_their_reports() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let suites = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let start = || {
        binary()
            .current_dir(cwd.path())
            .args(["run", "--quiet", "--seed", "5", "--only", "RO-SIG-003", "--suites"])
            .arg(&suites)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (start(), start());
    let mut folders = Vec::new();
    for child in [a, b] {
        let output = child.wait_with_output().expect("wait");
        let out = text(&output);
        assert_eq!(output.status.code(), Some(0), "{out}");
        let folder = out
            .lines()
            .find_map(|l| l.strip_prefix("reports: "))
            .unwrap_or_else(|| panic!("no folder: {out}"))
            .to_string();
        folders.push(folder);
    }
    assert_ne!(folders[0], folders[1]);
    for f in &folders {
        assert!(cwd.path().join(f).join("report.json").is_file(), "{f}");
    }

    // A folder that holds a report is refused before the run, and the report is left as it was.
    let given = cwd.path().join(&folders[0]);
    let before = std::fs::read(given.join("report.json")).expect("report");
    let again = run_bounded(
        binary()
            .current_dir(cwd.path())
            .args(["run", "--quiet", "--only", "RO-SIG-003", "--out"])
            .arg(&given)
            .arg("--suites")
            .arg(&suites),
    );
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("never overwritten"), "{}", text(&again));
    assert_eq!(std::fs::read(given.join("report.json")).expect("report"), before);
}

#[test]
fn a_run_folder_that_exists_is_never_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("reports").join("run-20260101T000000-seed5");
    let first = execute::claim_new_folder(&base).expect("first");
    let second = execute::claim_new_folder(&base).expect("second");
    let third = execute::claim_new_folder(&base).expect("third");
    assert_eq!(first, base);
    assert_eq!(
        second.file_name().and_then(|n| n.to_str()),
        Some("run-20260101T000000-seed5-2")
    );
    assert_ne!(second, third);
    // A report file that appeared meanwhile is an error, not overwritten.
    std::fs::write(first.join("report.json"), "theirs").expect("write");
    let plan = interop_conformance::plan::Plan::build(&RunRequest::embedded(SEED).plan).expect("plan");
    let scoring = interop_conformance::scoring::score_with(&plan.profile, &[], &[], &Default::default());
    let context = interop_conformance::report::RunContext {
        seed: SEED,
        target: "t".into(),
        implementation: "i".into(),
        only: Vec::new(),
        vector_filter: Vec::new(),
        command: "c".into(),
        mode: Default::default(),
        started_at: "s".into(),
        finished_at: "f".into(),
    };
    let report = interop_conformance::report::RunReport::build(&plan, Vec::new(), &scoring, context);
    assert!(execute::write_reports(&report, &first).is_err());
    assert_eq!(
        std::fs::read_to_string(first.join("report.json")).expect("read"),
        "theirs"
    );
}

/// Every option that takes a value, per subcommand, read from the binary's own `--help`.
fn value_options() -> Vec<(Vec<String>, String, String)> {
    let help = |words: &[String]| {
        let output = binary().args(words).arg("--help").output().expect("help");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let commands = |words: &[String]| -> Vec<String> {
        let text = help(words);
        let Some(section) = text.split("Commands:").nth(1) else {
            return Vec::new();
        };
        section
            .split("Options:")
            .next()
            .unwrap_or("")
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| *w != "help")
            .map(str::to_string)
            .collect()
    };
    let mut leaves = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(words) = queue.pop() {
        let subs = commands(&words);
        if subs.is_empty() {
            leaves.push(words);
        } else {
            queue.extend(subs.into_iter().map(|s| [words.clone(), vec![s]].concat()));
        }
    }
    let mut options = Vec::new();
    for words in leaves {
        for line in help(&words).lines() {
            let line = line.trim_start();
            let Some(rest) = line
                .strip_prefix("--")
                .or_else(|| line.split_once(", --").map(|(_, r)| r))
            else {
                continue;
            };
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            if value.starts_with('<') {
                options.push((words.clone(), format!("--{name}"), value.to_string()));
            }
        }
    }
    options
}

#[test]
fn extreme_values_of_every_option_exit_cleanly() {
    let options = value_options();
    let names: Vec<String> = options.iter().map(|(w, o, _)| format!("{} {o}", w.join(" "))).collect();
    for expected in [
        "run --deadline",
        "run --timeout",
        "run --concurrency",
        "report sign --expires-in",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "the sweep missed {expected}: {names:?}"
        );
    }
    let extremes = [
        "",
        "0",
        "\u{1b}[2J",
        "-1",
        "1e19",
        "1e308",
        "-1e308",
        "NaN",
        "inf",
        "18446744073709551616",
        "99999999999999999999999",
        "100000000",
        "1e-300",
    ];
    // Options that name a file, folder, id or address get the values that could still be misread as numbers.
    let textual = [
        "<DIR>",
        "<FILE>",
        "<PREFIX>",
        "<PROFILE>",
        "<NAME>",
        "<VAR>",
        "<FORMAT>",
        "<REQUIREMENT_ID>",
    ];
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for (words, option, placeholder) in &options {
        let values = if textual.contains(&placeholder.as_str()) {
            &extremes[..3]
        } else {
            &extremes[..]
        };
        for &value in values {
            // A value the parser accepts would start the command: point it at a missing profile/file so it
            // stops right after parsing and checking its options.
            let mut command = binary();
            command
                .current_dir(scratch.path())
                .args(words)
                .arg(format!("{option}={value}"));
            match words.first().map(String::as_str) {
                Some("run" | "selftest" | "list" | "explore") => {
                    command.args(["--profile", "no-such-profile"]);
                }
                Some("report") => {
                    command.args(["--", "no-such-file.json", "no-such-file.json"]);
                }
                Some("vectors") if words.get(1).is_some_and(|w| w == "generate") => {
                    command.arg("--check");
                }
                _ => {}
            }
            let output = run_bounded(&mut command);
            let all = text(&output);
            let code = output.status.code();
            assert!(
                matches!(code, Some(0..=3)) && !all.contains("panicked"),
                "{} {option}={value:?}: exit {code:?}\n{all}",
                words.join(" ")
            );
            checked += 1;
        }
    }
    assert!(checked > 80, "{checked}");
    // The two values of the issue: a clear exit 2 naming the option.
    for args in [
        &["run", "--deadline", "1e19"][..],
        &["report", "sign", "x.json", "--key", "k", "--expires-in", "100000000"][..],
        &["run", "--concurrency", "0"][..],
    ] {
        let output = run_bounded(binary().current_dir(scratch.path()).args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            text(&output).contains(args[args.len() - 2]),
            "{args:?}: {}",
            text(&output)
        );
    }
}

#[test]
fn certificates_whose_signed_fields_lie_are_refused() {
    use interop_conformance::certificate::{self, SignatureFile};
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("lab");
    let report = dir.path().join("report.json");
    std::fs::write(&report, "{\"verdict\": \"CONFORMANT\"}\n").expect("write");
    let ok = |args: &[&str]| {
        let output = run_bounded(binary().args(args));
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
    };
    let s = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    ok(&["report", "keygen", "--out", &s(&key)]);
    ok(&["report", "sign", &s(&report), "--key", &s(&key)]);
    let pubkey = s(&certificate::public_path(&key));
    ok(&["report", "verify", &s(&report), "--pubkey", &pubkey]);

    let sig_path = certificate::signature_path(&report);
    let honest: SignatureFile = serde_json::from_str(&std::fs::read_to_string(&sig_path).expect("sig")).expect("json");
    let signing = certificate::read_signing_key(&key).expect("key");
    let bytes = std::fs::read(&report).expect("report");
    type Lie = fn(&mut SignatureFile);
    let lies: [(&str, Lie); 5] = [
        ("in the future", |f| f.signed_at = "2999-01-01T00:00:00Z".into()),
        ("no later than it was signed", |f| {
            f.expires_at = "2000-01-01T00:00:00Z".into()
        }),
        ("contradicts the report", |f| f.sha256 = "ab".repeat(32)),
        ("contradicts the report", |f| f.size += 1),
        ("altered", |_| {}),
    ];
    for (needle, lie) in lies {
        let mut fields = honest.clone();
        lie(&mut fields);
        let mut signed = certificate::sign_fields(&signing, fields, &bytes);
        if needle == "altered" {
            // The `file` field changed after signing.
            signed.file = "other.json".into();
        }
        std::fs::write(&sig_path, serde_json::to_string(&signed).expect("json")).expect("write");
        let output = run_bounded(binary().args(["report", "verify", &s(&report), "--pubkey", &pubkey]));
        assert_eq!(output.status.code(), Some(1), "{needle}: {}", text(&output));
        assert!(text(&output).contains(needle), "{needle}: {}", text(&output));
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_in_input_folders_are_refused_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let fifo_dir = dir.path().join("fifo");
    let zero_dir = dir.path().join("zero");
    for d in [&fifo_dir, &zero_dir] {
        std::fs::create_dir(d).expect("mkdir");
        std::fs::copy(vectors.join("xeddsa.yaml"), d.join("xeddsa.yaml")).expect("copy");
    }
    let made = Command::new("mkfifo")
        .arg(fifo_dir.join("zz.yaml"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", zero_dir.join("zz.yaml")).expect("symlink");
    for folder in [&fifo_dir, &zero_dir] {
        for args in [
            &["run", "--quiet", "--vectors"][..],
            &["vectors", "verify", "--vectors"][..],
        ] {
            let output = run_bounded(binary().current_dir(dir.path()).args(args).arg(folder));
            let all = text(&output);
            assert_eq!(output.status.code(), Some(2), "{args:?} {}: {all}", folder.display());
            assert!(all.contains("zz.yaml") && all.contains("not a regular file"), "{all}");
        }
    }
    let output = run_bounded(binary().current_dir(dir.path()).args(["run", "--waivers", "/dev/zero"]));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("not a regular file"), "{}", text(&output));
}
