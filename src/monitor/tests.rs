//! Unit tests of the monitor, with exchanges built from the independent primitives alone: a provider that
//! follows the protocol raises no finding, and each rule catches its deviation.

use super::*;
use crate::bytes::Bytes;
use crate::verify::crypto as c;
use crate::wire::{PreKeyWhisperMessage, WhisperMessage};
use prost::Message;

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

fn public(private: &[u8; 32]) -> [u8; 32] {
    c::public_of(private)
}

fn serial(private: &[u8; 32]) -> Bytes {
    Bytes(c::serialize_public(&public(private)).to_vec())
}

/// The harness peer: identity 1, signed prekey 2, one-time prekey 3 (id 7), ratchet keys 4 and 5.
fn peer_log() -> KeyLog {
    let log = KeyLog::default();
    for k in 1..=5 {
        log.record(&key(k));
    }
    log
}

fn peer_bundle(with_prekey: bool) -> PreKeyBundle {
    PreKeyBundle {
        registration_id: 11,
        identity_key: serial(&key(1)),
        signed_prekey_id: 1,
        signed_prekey: serial(&key(2)),
        signed_prekey_signature: Bytes(vec![0; 64]),
        prekey_id: with_prekey.then_some(7),
        prekey: with_prekey.then(|| serial(&key(3))),
    }
}

/// The provider: identity 20, registration id 42.
const PROVIDER_IDENTITY: u8 = 20;
const REGISTRATION: u32 = 42;

fn provider_identity() -> [u8; 33] {
    c::serialize_public(&public(&key(PROVIDER_IDENTITY)))
}

fn peer_identity() -> [u8; 33] {
    c::serialize_public(&public(&key(1)))
}

/// A sending chain of the provider as a correct implementation runs it.
struct Chain {
    ratchet: [u8; 32],
    key: [u8; 32],
    next: u32,
    previous: u32,
}

impl Chain {
    fn message(&mut self, plaintext: &[u8], sender: [u8; 33], receiver: [u8; 33]) -> Vec<u8> {
        let mut ck = self.key;
        for _ in 0..self.next {
            ck = c::next_chain_key(&ck);
        }
        let keys = c::message_keys(&ck);
        let proto = WhisperMessage {
            ratchet_key: Some(c::serialize_public(&public(&self.ratchet)).to_vec()),
            counter: Some(self.next),
            previous_counter: Some(self.previous),
            ciphertext: Some(c::aes_cbc_encrypt(&keys, plaintext)),
        };
        self.next += 1;
        let mut out = vec![c::VERSION_BYTE];
        out.extend_from_slice(&proto.encode_to_vec());
        let mac = c::whisper_mac(&keys.mac_key, &sender, &receiver, &out);
        out.extend_from_slice(&mac);
        out
    }
}

/// The provider starting a session from `peer_bundle` with base key `base` and ratchet key `base + 100`.
struct Provider {
    root: [u8; 32],
    base: [u8; 32],
    chain: Chain,
    prekey_id: Option<u32>,
}

impl Provider {
    fn start(base: u8, with_prekey: bool) -> Self {
        Self::start_with(base, base + 100, with_prekey)
    }

    fn start_with(base: u8, ratchet: u8, with_prekey: bool) -> Self {
        let (identity, ratchet, base) = (key(PROVIDER_IDENTITY), key(ratchet), key(base));
        let mut shared = vec![
            c::x25519(&identity, &public(&key(2))),
            c::x25519(&base, &public(&key(1))),
            c::x25519(&base, &public(&key(2))),
        ];
        if with_prekey {
            shared.push(c::x25519(&base, &public(&key(3))));
        }
        let (root, _) = c::x3dh_keys(&shared);
        let (root, chain) = c::ratchet_step(&root, &c::x25519(&ratchet, &public(&key(2))));
        Self {
            root,
            base,
            chain: Chain {
                ratchet,
                key: chain,
                next: 0,
                previous: 0,
            },
            prekey_id: with_prekey.then_some(7),
        }
    }

    fn msg(&mut self, plaintext: &[u8]) -> Ciphertext {
        Ciphertext {
            kind: CiphertextKind::Msg,
            body: Bytes(self.chain.message(plaintext, provider_identity(), peer_identity())),
        }
    }

    fn pkmsg_with(&mut self, plaintext: &[u8], edit: impl FnOnce(&mut PreKeyWhisperMessage)) -> Ciphertext {
        let inner = self.chain.message(plaintext, provider_identity(), peer_identity());
        let mut proto = PreKeyWhisperMessage {
            pre_key_id: self.prekey_id,
            base_key: Some(c::serialize_public(&public(&self.base)).to_vec()),
            identity_key: Some(provider_identity().to_vec()),
            message: Some(inner),
            registration_id: Some(REGISTRATION),
            signed_pre_key_id: Some(1),
        };
        edit(&mut proto);
        let mut body = vec![c::VERSION_BYTE];
        body.extend_from_slice(&proto.encode_to_vec());
        Ciphertext {
            kind: CiphertextKind::Pkmsg,
            body: Bytes(body),
        }
    }

    fn pkmsg(&mut self, plaintext: &[u8]) -> Ciphertext {
        self.pkmsg_with(plaintext, |_| {})
    }

    /// The peer replies under its new ratchet key `q`; the provider receives it and, when `ratchet`, moves to
    /// a new sending key `fresh` as the DH ratchet requires.
    fn reply(&mut self, q: u8, fresh: Option<u8>) -> Ciphertext {
        let q = key(q);
        let (root, peer_chain) = c::ratchet_step(&self.root, &c::x25519(&q, &public(&self.chain.ratchet)));
        let mut peer = Chain {
            ratchet: q,
            key: peer_chain,
            next: 0,
            previous: 0,
        };
        let body = peer.message(b"reply", peer_identity(), provider_identity());
        self.root = root;
        if let Some(fresh) = fresh {
            let fresh = key(fresh);
            let (root, chain) = c::ratchet_step(&self.root, &c::x25519(&fresh, &public(&q)));
            self.root = root;
            let previous = self.chain.next.saturating_sub(1);
            self.chain = Chain {
                ratchet: fresh,
                key: chain,
                next: 0,
                previous,
            };
        }
        Ciphertext {
            kind: CiphertextKind::Msg,
            body: Bytes(body),
        }
    }
}

fn provider_bundle() -> PreKeyBundle {
    // The Reference Offer's enlistment example (KAT-1): a signature that verifies over 0x05 || key.
    let h = |s: &str| Bytes(hex::decode(s).unwrap());
    PreKeyBundle {
        registration_id: REGISTRATION,
        identity_key: h("05c7a83ab46a5e93439bc7ae7ebd5c7db77c0db632545dc418da26ab47e02eb21e"),
        signed_prekey_id: 1,
        signed_prekey: h("05fed749bc23a2d3e17d865ee268786b9f8d9dd469c8de9e8bc24171dc14bf8d7c"),
        signed_prekey_signature: h(
            "04f11c7a3948ed185a7177bd32f04c504b3f20772d95c0f2cdadb8bc3ad971ad0defb6031aa0805ebd9558300bbce7134b388d59f54c278203c4810dc2fc8008",
        ),
        prekey_id: Some(1),
        prekey: Some(serial(&key(30))),
    }
}

fn rules_of(m: &Monitor<'_>) -> Vec<&'static str> {
    m.findings.iter().map(|f| f.rule.name).collect()
}

/// A monitor that knows the provider's published identity and registration id.
fn monitor(log: &KeyLog) -> Monitor<'_> {
    let mut m = Monitor::new(log);
    m.published.insert(
        "provider".into(),
        Published {
            registration_id: REGISTRATION,
            identity: provider_identity().to_vec(),
            prekey_ids: BTreeSet::new(),
        },
    );
    m
}

#[test]
fn a_correct_exchange_raises_nothing_and_is_judged_in_full() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, true);
    m.provider_starts(&peer_bundle(true));
    m.provider_sent(&p.pkmsg(b"one"), b"one", "m1");
    m.provider_sent(&p.pkmsg(b"two"), b"two", "m2");
    let reply = p.reply(4, Some(22));
    m.provider_received(&reply);
    m.provider_sent(&p.msg(b"three"), b"three", "m3");
    let reply = p.reply(5, Some(23));
    m.provider_received(&reply);
    m.provider_sent(&p.msg(b"four"), b"four", "m4");
    assert_eq!(m.findings, vec![]);
    assert_eq!((m.judged, m.not_derivable), (4, 0));
}

#[test]
fn no_dh_ratchet_on_send_is_caught() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&p.pkmsg(b"one"), b"one", "m1");
    let reply = p.reply(4, None);
    m.provider_received(&reply);
    m.provider_sent(&p.msg(b"two"), b"two", "m2");
    assert_eq!(rules_of(&m), vec!["dh-ratchet-on-send"]);
    assert_eq!(m.findings[0].rule.requirement, "RO-ENC-006");
    assert!(m.findings[0].message.as_deref().unwrap().contains("counter 1"));
}

#[test]
fn counter_reuse_and_a_wrong_previous_counter_are_caught() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&p.pkmsg(b"one"), b"one", "m1");
    p.chain.next = 0;
    m.provider_sent(&p.pkmsg(b"two"), b"two", "m2");
    assert_eq!(rules_of(&m), vec!["counters"]);
    p.chain.previous = 3;
    m.provider_sent(&p.pkmsg(b"three"), b"three", "m3");
    assert!(m.findings[1].expected.contains("previousCounter 0"), "{:?}", m.findings);
}

#[test]
fn the_previous_counter_is_the_last_counter_of_the_previous_chain() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    for t in [b"a", b"b", b"c"] {
        m.provider_sent(&p.pkmsg(t), t, "m");
    }
    let reply = p.reply(4, Some(22));
    m.provider_received(&reply);
    // Three messages (counters 0..=2) on the previous chain: previousCounter 2, as libsignal sends it.
    assert_eq!(p.chain.previous, 2);
    m.provider_sent(&p.msg(b"d"), b"d", "m4");
    assert_eq!(m.findings, vec![]);
    let reply = p.reply(5, Some(23));
    m.provider_received(&reply);
    p.chain.previous = 1; // the paper's PN would be 1 here; libsignal sends 0 after one message
    m.provider_sent(&p.msg(b"e"), b"e", "m5");
    assert_eq!(rules_of(&m), vec!["counters"]);
}

#[test]
fn pkmsg_fields_must_match_the_bundles() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    let made_up = p.pkmsg_with(b"one", |m| m.pre_key_id = Some(0));
    m.provider_sent(&made_up, b"one", "m1");
    assert_eq!(rules_of(&m), vec!["pkmsg-fields"]);
    assert!(m.findings[0].observed.contains("preKeyId 0"));
    let drift = p.pkmsg_with(b"two", |m| m.registration_id = Some(REGISTRATION + 1));
    m.provider_sent(&drift, b"two", "m2");
    assert_eq!(m.findings[1].rule, rules::REGISTRATION_ID);
}

#[test]
fn a_version_byte_other_than_0x33_is_caught() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    let mut ct = p.pkmsg(b"one");
    ct.body.0[0] = 0x32;
    m.provider_sent(&ct, b"one", "m1");
    assert_eq!(rules_of(&m), vec!["version-byte"]);
}

#[test]
fn a_new_session_with_an_old_base_key_is_caught() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&p.pkmsg(b"one"), b"one", "m1");
    let mut again = Provider::start_with(10, 120, false);
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&again.pkmsg(b"two"), b"two", "m2");
    assert_eq!(rules_of(&m), vec!["fresh-base-key"]);
    let mut fresh = Provider::start(11, false);
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&fresh.pkmsg(b"three"), b"three", "m3");
    assert_eq!(m.findings.len(), 1);
}

#[test]
fn a_wrong_mac_or_plaintext_is_caught() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut p = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&p.pkmsg(b"one"), b"not one", "m1");
    assert_eq!(rules_of(&m), vec!["content"]);
    let ct = p.pkmsg_with(b"two", |m| {
        let inner = m.message.as_mut().unwrap();
        let n = inner.len();
        inner[n - 1] ^= 1;
    });
    m.provider_sent(&ct, b"two", "m2");
    assert_eq!(m.findings[1].rule, rules::MAC);
}

#[test]
fn bundles_are_checked_and_one_time_prekeys_handed_out_once() {
    let log = KeyLog::default();
    let mut m = Monitor::new(&log);
    let b = provider_bundle();
    m.provider_bundle("provider", &b, "fetch 1");
    assert_eq!(m.findings, vec![]);
    m.provider_bundle("provider", &b, "fetch 2");
    assert_eq!(rules_of(&m), vec!["one-time-prekey-once"]);
    let mut bad = provider_bundle();
    bad.prekey_id = Some(2);
    bad.prekey = Some(serial(&key(31)));
    bad.signed_prekey_signature.0[0] ^= 1;
    bad.registration_id = REGISTRATION + 1;
    m.provider_bundle("provider", &bad, "fetch 3");
    assert_eq!(
        rules_of(&m)[1..],
        ["signed-prekey-signature", "registration-id"],
        "{:?}",
        m.findings
    );
}

#[test]
fn a_finding_is_charged_to_its_rule_requirement_alone() {
    let case: Vec<String> = ["RO-ENC-004", "RO-ENC-006", "RO-ENC-010"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for rule in [rules::DH_RATCHET, rules::VERSION] {
        assert_eq!(rule.checks(), [rule.requirement]);
        let finding = Finding {
            rule,
            step: "provider encrypts m1".into(),
            expected: "a new ratchet key".into(),
            observed: "the old one".into(),
            message: None,
        };
        let mut steps = crate::outcome::Steps::new(&case);
        let o = steps
            .step(&finding.step, rule.checks(), finding.observation())
            .expect("a finding ends the case");
        assert_eq!(o.outcome, crate::outcome::Outcome::Fail);
        assert!(
            o.expected.starts_with("provider encrypts m1: RO-"),
            "one step label: {}",
            o.expected
        );
        assert!(names_rule(&o.expected) && !names_rule("every delivery decrypts"));
        assert_eq!(o.charged, vec![rule.requirement.to_string()]);
        assert!(!o.blocked.contains(&rule.requirement.to_string()));
    }
}

#[test]
fn a_msg_on_the_session_a_new_one_replaced_is_caught() {
    let log = peer_log();
    let mut m = monitor(&log);
    let mut old = Provider::start(10, false);
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&old.pkmsg(b"one"), b"one", "m1");
    m.provider_received(&old.reply(4, Some(22)));
    m.provider_sent(&old.msg(b"two"), b"two", "m2");
    assert_eq!(m.findings, vec![]);
    // A new session is set up; its first message must be its pkmsg, not a msg on the old session.
    m.provider_starts(&peer_bundle(false));
    m.provider_sent(&old.msg(b"three"), b"three", "m3");
    assert_eq!(rules_of(&m), vec!["current-session"]);
    assert_eq!(m.findings[0].rule.requirement, "RO-ENC-004");
    // Once the new session sent its pkmsg, a msg on the old one is still caught.
    let mut new = Provider::start_with(11, 121, false);
    m.provider_sent(&new.pkmsg(b"four"), b"four", "m4");
    m.provider_sent(&old.msg(b"five"), b"five", "m5");
    assert_eq!(
        rules_of(&m),
        vec!["current-session", "current-session"],
        "{:?}",
        m.findings
    );
    assert!(m.findings[1].observed.contains("earlier session"));
}

/// The enlistment form of the provider of [`provider_bundle`] (the Reference Offer's KAT-1 keys).
fn enlistment(registration_id: u32, signature: &[u8]) -> crate::provider::Enlistment {
    use crate::signature::form::encode_value;
    let b = provider_bundle();
    let fields: [(&str, Vec<u8>); 7] = [
        ("authkey", vec![9; 32]),
        ("e_keytype", vec![5]),
        ("e_regid", registration_id.to_be_bytes().to_vec()),
        ("e_ident", b.identity_key.0[1..].to_vec()),
        ("e_skey_id", vec![0, 0, 1]),
        ("e_skey_val", b.signed_prekey.0[1..].to_vec()),
        ("e_skey_sig", signature.to_vec()),
    ];
    crate::provider::Enlistment {
        form: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), encode_value(&v)))
            .collect(),
        jwks_url: "http://127.0.0.1:1/jwks".into(),
    }
}

#[test]
fn the_enlistment_request_is_judged_against_the_published_bundle() {
    let log = KeyLog::default();
    let mut m = Monitor::new(&log);
    let signature = provider_bundle().signed_prekey_signature.0;
    m.provider_bundle("provider", &provider_bundle(), "bundle");
    m.provider_enlistment("provider", &enlistment(REGISTRATION, &signature), "enlist");
    assert_eq!(m.findings, vec![]);
    m.provider_enlistment("provider", &enlistment(REGISTRATION + 1, &signature), "enlist");
    assert_eq!(rules_of(&m), vec!["registration-id"]);
    assert!(m.findings[0].message.as_deref().unwrap().contains("e_regid 43"));
    m.provider_enlistment("provider", &enlistment(0x1_0000, &signature), "enlist");
    assert_eq!(rules_of(&m)[1..], ["registration-id-range", "registration-id"]);
    let mut forged = signature.clone();
    forged[0] ^= 1;
    m.provider_enlistment("provider", &enlistment(REGISTRATION, &forged), "enlist");
    assert_eq!(m.findings[3].rule, rules::SIGNED_PREKEY);
    assert_eq!(m.findings[3].rule.checks(), ["RO-SIG-002"]);
}

#[test]
fn the_enlistment_token_header_names_an_asymmetric_alg_and_a_kid() {
    use base64::Engine;
    let token = |header: &str| {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", b64(header), b64("{}"))
    };
    assert_eq!(token_header(&token(r#"{"alg":"RS256","kid":"k1"}"#)), Ok(()));
    assert_eq!(token_header(&token(r#"{"alg":"EdDSA","kid":"k1"}"#)), Ok(()));
    assert!(
        token_header(&token(r#"{"alg":"HS256","kid":"k1"}"#))
            .unwrap_err()
            .contains("HS256")
    );
    assert!(token_header(&token(r#"{"alg":"none","kid":"k1"}"#)).is_err());
    assert_eq!(token_header(&token(r#"{"alg":"ES256"}"#)), Err("no kid".into()));
    assert!(token_header("%%%.x.y").is_err());
    let log = KeyLog::default();
    let mut m = Monitor::new(&log);
    let mut e = enlistment(REGISTRATION, &provider_bundle().signed_prekey_signature.0);
    e.form.insert("token".into(), token(r#"{"alg":"HS256","kid":"k1"}"#));
    m.provider_bundle("provider", &provider_bundle(), "bundle");
    m.provider_enlistment("provider", &e, "enlist");
    assert_eq!(rules_of(&m), vec!["token-header"]);
    assert_eq!(m.findings[0].rule.checks(), ["RO-ID-003A"]);
}
