//! Adapter calls per second against the reference served on loopback, sequentially on one connection and with
//! 16 requests in flight, beside the in-process rate of the same operations; then whole-profile runs.
//! `cargo bench --bench http`; `BENCH_SECONDS=N` sets the time per measurement (default 2).

use interop_conformance::execute::{self, RunRequest};
use interop_conformance::http::client::{HttpOptions, HttpProvider};
use interop_conformance::http::server;
use interop_conformance::provider::{ClientId, CreateClient, Provider};
use interop_conformance::reference::ReferenceProvider;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum Op {
    VerifySignature,
    PrekeyBundle,
    EncryptDecrypt,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::VerifySignature => "verify_signature",
            Self::PrekeyBundle => "prekey_bundle",
            Self::EncryptDecrypt => "encrypt + decrypt",
        }
    }
}

/// One worker's inputs: a signed key to verify and a pair of clients with a session.
struct Worker {
    key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
    alice: ClientId,
    bob: ClientId,
}

async fn prepare(provider: &dyn Provider, index: usize) -> Worker {
    let create = |name: &str| CreateClient {
        name: name.into(),
        seed: Some(index as u64),
        keys: None,
    };
    let alice = provider.create_client(&create("alice")).await.expect("create alice");
    let bob = provider.create_client(&create("bob")).await.expect("create bob");
    let bundle = provider.prekey_bundle(&bob).await.expect("bundle");
    provider
        .process_bundle(&alice, "bob", &bundle)
        .await
        .expect("process bundle");
    // Bob answers once, so that later messages are plain `msg`s on an established session.
    let first = provider.encrypt(&alice, "bob", b"hello").await.expect("encrypt");
    provider.decrypt(&bob, "alice", &first).await.expect("decrypt");
    let reply = provider.encrypt(&bob, "alice", b"hi").await.expect("encrypt");
    provider.decrypt(&alice, "bob", &reply).await.expect("decrypt");
    Worker {
        key: bundle.identity_key.0,
        message: bundle.signed_prekey.0,
        signature: bundle.signed_prekey_signature.0,
        alice,
        bob,
    }
}

/// Calls made by one step.
async fn step(op: Op, provider: &dyn Provider, w: &Worker) -> u64 {
    match op {
        Op::VerifySignature => {
            let valid = provider.verify_signature(&w.key, &w.message, &w.signature).await;
            assert_eq!(valid, Ok(true));
            1
        }
        Op::PrekeyBundle => {
            provider.prekey_bundle(&w.alice).await.expect("bundle");
            1
        }
        Op::EncryptDecrypt => {
            let c = provider
                .encrypt(&w.alice, "bob", b"benchmark message")
                .await
                .expect("encrypt");
            provider.decrypt(&w.bob, "alice", &c).await.expect("decrypt");
            2
        }
    }
}

/// Calls per second with `workers` loops in flight for `duration`.
async fn rate(op: Op, provider: Arc<dyn Provider>, workers: usize, duration: Duration) -> f64 {
    let mut prepared = Vec::new();
    for i in 0..workers {
        prepared.push(Arc::new(prepare(provider.as_ref(), i).await));
    }
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|w| {
            let provider = provider.clone();
            tokio::spawn(async move {
                let mut calls = 0;
                while Instant::now() < until {
                    calls += step(op, provider.as_ref(), &w).await;
                }
                calls
            })
        })
        .collect();
    let mut calls = 0;
    for t in tasks {
        calls += t.await.expect("worker");
    }
    calls as f64 / started.elapsed().as_secs_f64()
}

/// The ceiling: a bare reqwest client against a bare axum JSON endpoint, no provider behind it.
async fn bare_rate(in_flight: usize, duration: Duration) -> f64 {
    let app = axum::Router::new().route(
        "/bare",
        axum::routing::post(|| async { axum::Json(serde_json::json!({})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/bare", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder().tcp_nodelay(true).build().expect("client");
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut calls = 0u64;
                while Instant::now() < until {
                    let response = client
                        .post(&url)
                        .json(&serde_json::json!({}))
                        .send()
                        .await
                        .expect("send");
                    let _: serde_json::Value = response.json().await.expect("json");
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut calls = 0;
    for t in tasks {
        calls += t.await.expect("worker");
    }
    calls as f64 / started.elapsed().as_secs_f64()
}

fn http(url: &str, in_flight: usize) -> Arc<dyn Provider> {
    let mut options = HttpOptions::new(url);
    options.max_in_flight = in_flight;
    Arc::new(HttpProvider::new(&options).expect("client"))
}

async fn profile_seconds(provider: Arc<dyn Provider>, concurrency: usize, target_args: String) -> (f64, usize) {
    let request = RunRequest {
        concurrency,
        target_args,
        transcript: false,
        monitor: true,
        ..RunRequest::embedded(1)
    };
    let started = Instant::now();
    let output = execute::run(&request, provider, false).await.expect("profile run");
    (started.elapsed().as_secs_f64(), output.report.cases.len())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    let duration = Duration::from_secs_f64(seconds);
    // reqwest is built without a TLS crypto provider; the bare baseline client needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let served = server::spawn_loopback(Arc::new(ReferenceProvider::new()), None)
            .await
            .expect("serve");
        let url = served.url();
        println!("adapter calls per second ({seconds} s each; reference served on {url})");
        println!(
            "{:<20} {:>12} {:>12} {:>12} {:>12}",
            "operation", "in-process", "in-proc x16", "http x1", "http x16"
        );
        for op in [Op::VerifySignature, Op::PrekeyBundle, Op::EncryptDecrypt] {
            let local: Arc<dyn Provider> = Arc::new(ReferenceProvider::new());
            let in_process = rate(op, local.clone(), 1, duration).await;
            let in_process_16 = rate(op, local, 16, duration).await;
            let sequential = rate(op, http(&url, 1), 1, duration).await;
            let concurrent = rate(op, http(&url, 16), 16, duration).await;
            println!(
                "{:<20} {:>12.0} {:>12.0} {:>12.0} {:>12.0}",
                op.name(),
                in_process,
                in_process_16,
                sequential,
                concurrent
            );
        }
        let (bare, bare_16) = (bare_rate(1, duration).await, bare_rate(16, duration).await);
        println!(
            "{:<20} {:>12} {:>12} {:>12.0} {:>12.0}",
            "bare axum+reqwest", "-", "-", bare, bare_16
        );
        println!("\nwhole profile (cases, seconds)");
        for concurrency in [1, 16] {
            let (local, cases) = profile_seconds(Arc::new(ReferenceProvider::new()), concurrency, String::new()).await;
            let (remote, _) = profile_seconds(http(&url, concurrency), concurrency, format!("--target {url}")).await;
            println!("concurrency {concurrency:>2}: {cases} cases  in-process {local:.3} s  http {remote:.3} s");
        }
    });
}
