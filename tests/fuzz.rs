//! Bounded fuzzing in `cargo test` (issue 15): proptest-driven inputs to the adapter client's response
//! parsing (every operation, every status; raw bytes on the socket too) and to every YAML loader (vectors,
//! catalog, profile, scenarios, waivers). The property is only that nothing panics or hangs: every input ends as a
//! value or an error. Inputs are random text and mutations of the real files (a line cut, a token inserted,
//! a span repeated), so the parsers see both garbage and near-misses. The case counts keep this to seconds;
//! failures print proptest's seed to replay.

use interop_conformance::http::api::{self, Operation, OperationVisitor};
use interop_conformance::http::client::{self, HttpOptions, HttpProvider};
use interop_conformance::provider::Provider;
use interop_conformance::requirements::Profile;
use interop_conformance::sanitize::Sanitizer;
use interop_conformance::waiver::Waivers;
use interop_conformance::{scenario, vector};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Tokens that YAML and JSON parsers treat specially.
const TOKENS: [&str; 16] = [
    ":",
    "- ",
    "\n",
    "  ",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "&a ",
    "*a",
    "!!binary ",
    "\u{0}",
    "\u{feff}",
    "~",
];

/// A mutation of `text`: cut, insert a token, repeat a span, or replace a character.
fn mutated(text: String) -> impl Strategy<Value = String> {
    (
        0..4u8,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::sample::select(&TOKENS[..]),
        prop::collection::vec(any::<char>(), 0..4),
    )
        .prop_map(move |(kind, a, b, token, chars)| {
            let boundaries: Vec<usize> = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
            let (mut i, mut j) = (*a.get(&boundaries), *b.get(&boundaries));
            if i > j {
                std::mem::swap(&mut i, &mut j);
            }
            match kind {
                0 => format!("{}{}", &text[..i], &text[j..]),
                1 => format!("{}{token}{}", &text[..i], &text[i..]),
                2 => format!("{}{}{}", &text[..j], &text[i..j], &text[j..]),
                _ => format!("{}{}{}", &text[..i], chars.iter().collect::<String>(), &text[j..]),
            }
        })
}

/// Random text from YAML-ish pieces, or any characters at all.
fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(&TOKENS[..]), 0..40).prop_map(|t| t.concat()),
        prop::collection::vec(any::<char>(), 0..200).prop_map(|c| c.into_iter().collect()),
        "[a-z_]{1,12}: [a-z0-9_\\[\\]{}, -]{0,30}(\n  [a-z_]{1,12}: [a-z0-9 -]{0,20}){0,5}",
    ]
}

/// Feed `seeds` (mutated) and garbage to `load`, which writes the text where its loader reads it.
fn fuzz_loader(name: &str, seeds: Vec<String>, cases: u32, load: impl Fn(&str)) {
    let seeds: Vec<BoxedStrategy<String>> = seeds.into_iter().map(|s| mutated(s).boxed()).collect();
    let strategy = prop_oneof![prop::strategy::Union::new(seeds), garbage(),];
    runner(cases)
        .run(&strategy, |text| {
            load(&text);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn profile() -> Profile {
    Profile::load(&root("suites"), "whatsapp-ro-2024").expect("the shipped profile loads")
}

#[test]
fn vector_files_never_panic_the_loader() {
    let profile = profile();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.yaml");
    let seeds = [
        "vectors/enlistment.yaml",
        "vectors/push-token.yaml",
        "vectors/session-roundtrip.yaml",
        "tests/data/passing/xeddsa.yaml",
    ]
    .map(|p| read(&root(p)))
    .to_vec();
    fuzz_loader("vectors", seeds, 160, |text| {
        std::fs::write(&path, text).expect("write");
        let _ = vector::load_file(&path, &profile);
    });
}

#[test]
fn catalogs_and_profiles_never_panic_the_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let suite = dir.path().join("p");
    std::fs::create_dir(&suite).expect("mkdir");
    let catalog = read(&root("suites/whatsapp-ro-2024/requirements.yaml"));
    let profile_text = read(&root("suites/whatsapp-ro-2024/profile.yaml"));
    // The catalog mutated under the real profile, then the profile mutated over the real catalog.
    fuzz_loader("catalog", vec![catalog.clone()], 48, |text| {
        std::fs::write(suite.join("requirements.yaml"), text).expect("write");
        std::fs::write(suite.join("profile.yaml"), &profile_text).expect("write");
        let _ = Profile::load(dir.path(), "p");
    });
    fuzz_loader("profile", vec![profile_text.clone()], 96, |text| {
        std::fs::write(suite.join("requirements.yaml"), &catalog).expect("write");
        std::fs::write(suite.join("profile.yaml"), text).expect("write");
        let _ = Profile::load(dir.path(), "p");
    });
}

#[test]
fn scenario_files_never_panic_the_loader() {
    let profile = profile();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.yaml");
    let folder = root("suites/whatsapp-ro-2024/scenarios");
    let mut seeds: Vec<String> = std::fs::read_dir(&folder)
        .expect("scenarios")
        .flatten()
        .map(|e| read(&e.path()))
        .collect();
    seeds.sort();
    fuzz_loader("scenarios", seeds, 160, |text| {
        std::fs::write(&path, text).expect("write");
        let _ = scenario::definition::load(&path, &profile);
    });
}

#[test]
fn waiver_files_never_panic_the_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.yaml");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let seed = "waivers:\n  - requirement: RO-ENC-014\n    justification: lands in 2.3 (TICKET-1)\n    approver: Jane\n    \
                expires: 2026-12-31\n  - case: session.replay.duplicate\n    justification: x\n    approver: y\n    \
                expires: 2027-01-01\n";
    fuzz_loader("waivers", vec![seed.to_string()], 160, |text| {
        std::fs::write(&path, text).expect("write");
        let _ = Waivers::load(&path, today, false);
    });
}

/// Every operation's response decoder, over every status class, with JSON-shaped and arbitrary bodies.
#[test]
fn adapter_responses_never_panic_the_decoder() {
    struct Decode;
    impl OperationVisitor for Decode {
        fn visit<O: Operation>(&mut self) {
            let sanitizer = Sanitizer::new(["secret-token".to_string()]);
            let json = r#"{"client":"a","valid":true,"error":"bad_mac","detail":"d","plaintext":"00","kind":"msg","body":"00","implementation":"x","api_version":"v1","profiles":[],"operations":[],"form":{},"jwks_url":"u","url":"u","audience":"a","code":"1"}"#;
            let body = prop_oneof![
                mutated(json.to_string()).prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..300),
                garbage().prop_map(String::into_bytes),
            ];
            let status = prop_oneof![Just(200u16), Just(422), Just(501), any::<u16>()];
            runner(48)
                .run(&(status, body), |(status, body)| {
                    let result = client::decode::<O>(status, &body, &sanitizer);
                    if let Err(e) = result {
                        prop_assert!(!e.to_string().contains("secret-token"), "{}", O::PATH);
                    }
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("{}: {e}", O::PATH));
        }
    }
    api::for_each_operation(&mut Decode);
}

/// Raw bytes on the socket: the HTTP layer itself (status line, headers, chunking) must end every exchange as a
/// value or a transport error, within its timeout.
#[test]
fn raw_http_responses_never_panic_the_client() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    const HEADS: [&str; 5] = [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 422 X\r\nContent-Length: 9999999999999999999999\r\n\r\n",
        "HTTP/1.0 999 \u{1b}\r\n\r\n",
        "",
    ];
    let strategy = (
        prop::sample::select(&HEADS[..]),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            mutated("5\r\n{\"a\":\r\n0\r\n\r\n".into()).prop_map(String::into_bytes),
        ],
    );
    runner(32)
        .run(&strategy, |(head, tail)| {
            let mut bytes = head.as_bytes().to_vec();
            bytes.extend_from_slice(&tail);
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let url = format!("http://{}", listener.local_addr().expect("addr"));
                let server = tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    if let Ok((mut stream, _)) = listener.accept().await {
                        let mut buf = [0u8; 4096];
                        let _ = stream.read(&mut buf).await;
                        let _ = stream.write_all(&bytes).await;
                        let _ = stream.shutdown().await;
                    }
                });
                let mut options = HttpOptions::new(url);
                options.request_timeout = Duration::from_secs(2);
                let provider = HttpProvider::new(&options).expect("client");
                let _ = provider.capabilities().await;
                server.abort();
            });
            Ok(())
        })
        .unwrap_or_else(|e| panic!("raw HTTP: {e}"));
}
