//! Noise handshakes per second: the suite's responder against the reference client over loopback TCP (a full
//! WhatsApp XX: frames, protobufs, a certificate chain issued and checked per connection), beside a raw `snow`
//! XX pair in memory, in the same run. Prints the rates and their ratio; asserts nothing about time.
//! `cargo bench --bench transport`; `BENCH_SECONDS=N` sets the time per measurement (default 2).

use interop_conformance::bytes::Bytes;
use interop_conformance::provider::{CreateClient, EnlistmentRequest, Provider, TransportConnect};
use interop_conformance::reference::ReferenceProvider;
use interop_conformance::transport::noise;
use interop_conformance::transport::responder::{self, Behaviour, Config, Record};
use std::time::{Duration, Instant};

/// snow's ring resolver has no X25519: this one adds it on x25519-dalek (the suite's own dependency).
struct Resolver(snow::resolvers::RingResolver);

#[derive(Default)]
struct X25519 {
    private: [u8; 32],
    public: [u8; 32],
}

impl snow::types::Dh for X25519 {
    fn name(&self) -> &'static str {
        "25519"
    }
    fn pub_len(&self) -> usize {
        32
    }
    fn priv_len(&self) -> usize {
        32
    }
    fn set(&mut self, privkey: &[u8]) {
        self.private.copy_from_slice(&privkey[..32]);
        self.public = noise::public_key(&self.private);
    }
    fn generate(&mut self, rng: &mut dyn snow::types::Random) -> Result<(), snow::Error> {
        let mut k = [0u8; 32];
        rng.try_fill_bytes(&mut k)?;
        self.set(&k);
        Ok(())
    }
    fn pubkey(&self) -> &[u8] {
        &self.public
    }
    fn privkey(&self) -> &[u8] {
        &self.private
    }
    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        // snow hands over its key buffer, which may be longer than the key.
        let public: [u8; 32] = pubkey
            .get(..32)
            .and_then(|k| k.try_into().ok())
            .ok_or(snow::Error::Dh)?;
        out[..32].copy_from_slice(&noise::dh(&self.private, &public));
        Ok(())
    }
}

impl snow::resolvers::CryptoResolver for Resolver {
    fn resolve_rng(&self) -> Option<Box<dyn snow::types::Random>> {
        self.0.resolve_rng()
    }
    fn resolve_dh(&self, _choice: &snow::params::DHChoice) -> Option<Box<dyn snow::types::Dh>> {
        Some(Box::new(X25519::default()))
    }
    fn resolve_hash(&self, choice: &snow::params::HashChoice) -> Option<Box<dyn snow::types::Hash>> {
        self.0.resolve_hash(choice)
    }
    fn resolve_cipher(&self, choice: &snow::params::CipherChoice) -> Option<Box<dyn snow::types::Cipher>> {
        self.0.resolve_cipher(choice)
    }
}

fn builder(params: &snow::params::NoiseParams) -> snow::Builder<'static> {
    snow::Builder::with_resolver(params.clone(), Box::new(Resolver(snow::resolvers::RingResolver)))
}

fn seconds() -> Duration {
    let s = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(s.clamp(0.1, 600.0))
}

/// Handshakes per second of a raw snow XX pair (static keys on both sides, no I/O).
fn snow_rate(budget: Duration) -> f64 {
    let params: snow::params::NoiseParams = match "Noise_XX_25519_AESGCM_SHA256".parse() {
        Ok(p) => p,
        Err(e) => panic!("snow params: {e}"),
    };
    let started = Instant::now();
    let mut n = 0u64;
    let mut buf = vec![0u8; 1024];
    let mut scratch = vec![0u8; 1024];
    while started.elapsed() < budget {
        let keys = |b: snow::Builder| b.generate_keypair().map(|k| k.private);
        let ik = keys(builder(&params)).expect("initiator key");
        let rk = keys(builder(&params)).expect("responder key");
        let mut i = builder(&params)
            .local_private_key(&ik)
            .and_then(|b| b.build_initiator())
            .expect("initiator");
        let mut r = builder(&params)
            .local_private_key(&rk)
            .and_then(|b| b.build_responder())
            .expect("responder");
        let len = i.write_message(&[], &mut buf).expect("-> e");
        r.read_message(&buf[..len], &mut scratch).expect("read e");
        let len = r.write_message(&[], &mut buf).expect("<- e, ee, s, es");
        i.read_message(&buf[..len], &mut scratch).expect("read s");
        let len = i.write_message(&[], &mut buf).expect("-> s, se");
        r.read_message(&buf[..len], &mut scratch).expect("read se");
        assert!(i.is_handshake_finished() && r.is_handshake_finished());
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Handshakes per second of the suite's responder against the reference client over loopback TCP: XX every
/// time, or (`resume`) XX once and then IK resumes from the cached server static.
async fn ours_rate(budget: Duration, resume: bool) -> f64 {
    let provider = if resume {
        ReferenceProvider::new()
    } else {
        ReferenceProvider::new().without_ik_resume()
    };
    let client = provider
        .create_client(&CreateClient {
            name: "bench".into(),
            seed: Some(1),
            keys: None,
        })
        .await
        .expect("client");
    provider
        .enlistment_request(&EnlistmentRequest {
            client: client.clone(),
            identifier: "bench1".into(),
        })
        .await
        .expect("enlistment");
    let root = [7u8; 32];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < budget {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let record = Record::default();
        let config = Config {
            behaviour: Behaviour::Honest,
            root,
            seed: n,
            now: interop_conformance::signature::token::now().max(0) as u64,
            client_stanzas: 0,
            server_stanzas: Vec::new(),
            client_counter_start: 0,
            deadline: tokio::time::Instant::now() + Duration::from_secs(5),
        };
        let shared = record.clone();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let _ = stream.set_nodelay(true);
            responder::serve(Box::new(stream), config, shared).await;
        });
        let report = provider
            .transport_connect(&TransportConnect {
                client: client.clone(),
                identifier: "bench1".into(),
                url: format!("tcp://{address}"),
                root_key: Bytes(noise::public_key(&root).to_vec()),
                stanzas: Vec::new(),
                counter_start: None,
                routing_info: None,
                timeout_ms: 5_000,
            })
            .await
            .expect("transport_connect");
        server.await.expect("server");
        let seen = record.lock().expect("record");
        assert!(
            seen.payload.is_some(),
            "handshake {n} did not complete: {report:?} / {}",
            seen.end
        );
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let budget = seconds();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let raw = snow_rate(budget);
    let ours = runtime.block_on(ours_rate(budget, false));
    let resumed = runtime.block_on(ours_rate(budget, true));
    println!("raw snow XX pair (in memory):                         {raw:>10.0} handshakes/s");
    println!("suite responder + reference client (loopback TCP):   {ours:>10.0} handshakes/s (XX)");
    println!(
        "ratio (ours / raw snow, same run):                    {:>10.2}",
        ours / raw
    );
    println!("the same client resuming (IK after one XX):           {resumed:>10.0} handshakes/s");
}
