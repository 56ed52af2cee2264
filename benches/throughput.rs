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

/// The same work with wacore-libsignal called directly, with minimal in-memory stores.
mod raw {
    use async_trait::async_trait;
    use rand::rngs::StdRng;
    use std::collections::HashMap;
    use wacore_libsignal::protocol::*;

    type R<T> = Result<T, SignalProtocolError>;

    pub struct Ids(IdentityKeyPair, HashMap<ProtocolAddress, IdentityKey>);
    #[async_trait]
    impl IdentityKeyStore for Ids {
        async fn get_identity_key_pair(&self) -> R<IdentityKeyPair> {
            Ok(self.0.clone())
        }
        async fn get_local_registration_id(&self) -> R<u32> {
            Ok(1)
        }
        async fn save_identity(&mut self, a: &ProtocolAddress, k: &IdentityKey) -> R<IdentityChange> {
            self.1.insert(a.clone(), *k);
            Ok(IdentityChange::NewOrUnchanged)
        }
        async fn is_trusted_identity(&self, _: &ProtocolAddress, _: &IdentityKey, _: Direction) -> R<bool> {
            Ok(true)
        }
        async fn get_identity(&self, a: &ProtocolAddress) -> R<Option<IdentityKey>> {
            Ok(self.1.get(a).copied())
        }
    }
    #[derive(Default)]
    pub struct Pre(HashMap<PreKeyId, PreKeyRecord>);
    #[async_trait]
    impl PreKeyStore for Pre {
        async fn get_pre_key(&self, id: PreKeyId) -> R<PreKeyRecord> {
            self.0.get(&id).cloned().ok_or(SignalProtocolError::InvalidPreKeyId)
        }
        async fn save_pre_key(&mut self, id: PreKeyId, r: &PreKeyRecord) -> R<()> {
            self.0.insert(id, r.clone());
            Ok(())
        }
        async fn remove_pre_key(&mut self, id: PreKeyId) -> R<()> {
            self.0.remove(&id);
            Ok(())
        }
    }
    #[derive(Default)]
    pub struct Signed(HashMap<SignedPreKeyId, SignedPreKeyRecord>);
    #[async_trait]
    impl SignedPreKeyStore for Signed {
        async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> R<SignedPreKeyRecord> {
            self.0
                .get(&id)
                .cloned()
                .ok_or(SignalProtocolError::InvalidSignedPreKeyId)
        }
        async fn save_signed_pre_key(&mut self, id: SignedPreKeyId, r: &SignedPreKeyRecord) -> R<()> {
            self.0.insert(id, r.clone());
            Ok(())
        }
    }
    #[derive(Default)]
    pub struct Sessions(HashMap<ProtocolAddress, SessionRecord>);
    #[async_trait]
    impl SessionStore for Sessions {
        async fn load_session(&self, a: &ProtocolAddress) -> R<Option<SessionRecord>> {
            Ok(self.0.get(a).cloned())
        }
        async fn has_session(&self, a: &ProtocolAddress) -> R<bool> {
            Ok(self.0.contains_key(a))
        }
        async fn store_session(&mut self, a: &ProtocolAddress, r: SessionRecord) -> R<()> {
            self.0.insert(a.clone(), r);
            Ok(())
        }
    }

    pub struct Party {
        ids: Ids,
        pre: Pre,
        signed: Signed,
        sessions: Sessions,
        addr: ProtocolAddress,
    }

    fn party(rng: &mut StdRng, name: &str) -> (Party, PreKeyBundle) {
        let identity = IdentityKeyPair::generate(rng);
        let spk = KeyPair::generate(rng);
        let otk = KeyPair::generate(rng);
        let sig = identity
            .private_key()
            .calculate_signature(&spk.public_key.serialize(), rng)
            .unwrap();
        let mut signed = Signed::default();
        signed.0.insert(
            SignedPreKeyId::from(1),
            SignedPreKeyRecord::new(SignedPreKeyId::from(1), Timestamp::from_epoch_millis(0), &spk, &sig),
        );
        let mut pre = Pre::default();
        pre.0
            .insert(PreKeyId::from(1), PreKeyRecord::new(PreKeyId::from(1), &otk));
        let bundle = PreKeyBundle::new(
            1,
            DeviceId::from(1),
            Some((PreKeyId::from(1), otk.public_key)),
            SignedPreKeyId::from(1),
            spk.public_key,
            sig.to_vec(),
            *identity.identity_key(),
        )
        .unwrap();
        let p = Party {
            ids: Ids(identity, HashMap::new()),
            pre,
            signed,
            sessions: Sessions::default(),
            addr: ProtocolAddress::new(name, DeviceId::from(1)),
        };
        (p, bundle)
    }

    async fn send(from: &mut Party, to: &ProtocolAddress, text: &[u8]) -> CiphertextMessage {
        message_encrypt(text, to, &mut from.sessions, &mut from.ids)
            .await
            .unwrap()
    }

    async fn receive(to: &mut Party, from: &ProtocolAddress, ct: &CiphertextMessage, rng: &mut StdRng) {
        message_decrypt(
            ct,
            from,
            &mut to.sessions,
            &mut to.ids,
            &mut to.pre,
            &to.signed,
            rng,
            UsePQRatchet::No,
        )
        .await
        .unwrap();
    }

    /// Alice starts a session from Bob's bundle and Bob decrypts her first message.
    pub async fn setup(rng: &mut StdRng) -> (Party, Party) {
        let (mut alice, _) = party(rng, "alice");
        let (mut bob, bundle) = party(rng, "bob");
        process_prekey_bundle(
            &bob.addr,
            &mut alice.sessions,
            &mut alice.ids,
            &bundle,
            rng,
            UsePQRatchet::No,
        )
        .await
        .unwrap();
        let ct = send(&mut alice, &bob.addr.clone(), b"hello").await;
        receive(&mut bob, &alice.addr.clone(), &ct, rng).await;
        (alice, bob)
    }

    pub struct Pair {
        alice: Party,
        bob: Party,
        rng: StdRng,
    }

    impl Pair {
        pub async fn new(rng: &mut StdRng) -> Self {
            let (mut alice, mut bob) = setup(rng).await;
            let back = send(&mut bob, &alice.addr.clone(), b"ack").await;
            receive(&mut alice, &bob.addr.clone(), &back, rng).await;
            let rng = <StdRng as rand::SeedableRng>::seed_from_u64(9);
            Self { alice, bob, rng }
        }

        pub async fn round(&mut self, payload: &[u8]) {
            let to = self.bob.addr.clone();
            let ct = send(&mut self.alice, &to, payload).await;
            let from = self.alice.addr.clone();
            receive(&mut self.bob, &from, &ct, &mut self.rng).await;
        }
    }
}
