//! `cargo bench --bench throughput`: what the harness costs over the raw library, in-process, on one core.
//!
//! For each operation it times the raw wacore-libsignal call and the same work through the harness (the
//! `Provider` trait of the embedded reference, or a whole vector case through the runner), then the whole
//! corpus in cases per second.

use interop_conformance::execute::{self, RunRequest};
use interop_conformance::provider::{CreateClient, Provider};
use interop_conformance::reference::ReferenceProvider;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wacore_libsignal::protocol::KeyPair;

mod raw;

const BUDGET: Duration = Duration::from_millis(1500);

/// Run `f` repeatedly for about `BUDGET`; return operations per second.
fn rate(mut f: impl FnMut()) -> f64 {
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < BUDGET {
        f();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn line(what: &str, raw: f64, harness: f64) {
    println!(
        "{what:<34} raw {raw:>10.0}/s   harness {harness:>10.0}/s   harness/raw {:>5.2}",
        harness / raw
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(1);

    // XEdDSA verification.
    let pair = KeyPair::generate(&mut rng);
    let message = [7u8; 33];
    let signature = pair.private_key.calculate_signature(&message, &mut rng).unwrap();
    let public = pair.public_key.serialize();
    let raw = rate(|| assert!(pair.public_key.verify_signature(&message, &signature)));
    let reference = ReferenceProvider::new();
    let harness = rate(|| {
        assert!(
            rt.block_on(reference.verify_signature(&public, &message, &signature))
                .unwrap()
        )
    });
    line("XEdDSA verify", raw, harness);

    // Session setup: a fresh responder, its bundle processed, one pkmsg decrypted.
    let mut seed = 0u64;
    let harness_setup = rate(|| {
        seed += 1;
        let p = ReferenceProvider::new();
        rt.block_on(async {
            let bob = p.create_client(&named("bob", seed)).await.unwrap();
            let alice = p.create_client(&named("alice", seed + 1)).await.unwrap();
            let bundle = p.prekey_bundle(&bob).await.unwrap();
            p.process_bundle(&alice, "bob", &bundle).await.unwrap();
            let ct = p.encrypt(&alice, "bob", b"hello").await.unwrap();
            p.decrypt(&bob, "alice", &ct).await.unwrap();
        });
    });
    let raw_setup = rate(|| {
        rt.block_on(raw::setup(&mut rng));
    });
    line("session setup (bundle + 1st msg)", raw_setup, harness_setup);

    // 64-byte messages on an established session: encrypt + decrypt.
    let p = ReferenceProvider::new();
    let (alice, bob) = rt.block_on(async {
        let bob = p.create_client(&named("bob", 1)).await.unwrap();
        let alice = p.create_client(&named("alice", 2)).await.unwrap();
        let bundle = p.prekey_bundle(&bob).await.unwrap();
        p.process_bundle(&alice, "bob", &bundle).await.unwrap();
        let ct = p.encrypt(&alice, "bob", b"setup").await.unwrap();
        p.decrypt(&bob, "alice", &ct).await.unwrap();
        let back = p.encrypt(&bob, "alice", b"ack").await.unwrap();
        p.decrypt(&alice, "bob", &back).await.unwrap();
        (alice, bob)
    });
    let payload = [0x42u8; 64];
    let harness_msg = rate(|| {
        rt.block_on(async {
            let ct = p.encrypt(&alice, "bob", &payload).await.unwrap();
            p.decrypt(&bob, "alice", &ct).await.unwrap();
        })
    });
    let mut pair = rt.block_on(raw::Pair::new(&mut rng));
    let raw_msg = rate(|| rt.block_on(pair.round(&payload)));
    line("64-byte message (encrypt+decrypt)", raw_msg, harness_msg);

    // The whole corpus through the runner.
    let request = RunRequest::embedded(1);
    let mut cases = 0usize;
    let start = Instant::now();
    let mut runs = 0;
    while start.elapsed() < Duration::from_secs(3) || runs == 0 {
        let out = rt
            .block_on(execute::run(&request, Arc::new(ReferenceProvider::new()), false))
            .unwrap();
        cases += out.report.cases.len();
        runs += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "whole corpus in-process              {:>10.0} cases/s ({} cases x {runs} runs in {secs:.2}s)",
        cases as f64 / secs,
        cases / runs
    );
}

fn named(name: &str, seed: u64) -> CreateClient {
    CreateClient {
        name: name.into(),
        seed: Some(seed),
        keys: None,
    }
}
