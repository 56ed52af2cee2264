//! The wire monitor: an independent check of everything the provider itself emits in a live exchange (its
//! bundles, every message it encrypts), stateful per session, each violation a [`Finding`] of a named
//! [`Rule`] and its requirement.
//!
//! Independence: the monitor is built only on the code behind `conformance vectors verify`
//! ([`crate::verify::crypto`]: RustCrypto and dalek) and the hand-written protobuf structs ([`crate::wire`]);
//! it never calls wacore-libsignal or the reference (see the imports). It derives every key itself: the
//! harness knows its reference peer's private keys (a [`KeyLog`] the peer fills as it generates them) and the
//! provider's public keys (its bundle and messages), so it can run the provider's key schedule from the
//! peer's side: X3DH, each DH ratchet step, each chain step, the MAC and AES-CBC.
//!
//! The harness tells the monitor what happens ([`Monitor::provider_bundle`], [`Monitor::provider_enlistment`],
//! [`Monitor::provider_starts`], [`Monitor::peer_starts`], [`Monitor::provider_sent`],
//! [`Monitor::provider_received`]); the monitor never calls a provider.
//!
//! Which session is current: the one the provider set up last (it processed a bundle, or received a pkmsg that
//! started a session), or the one its last decrypted message belonged to (libsignal and wacore-libsignal
//! promote an archived session that decrypts). The provider sends on that session only.

mod decode;
mod session;

pub use decode::{Decoded, Malformed};

use crate::provider::{Ciphertext, CiphertextKind, PreKeyBundle};
use crate::verify::crypto as c;
use session::Session;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

/// One rule of the monitor and the requirement a violation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Short name, shown in findings.
    pub name: &'static str,
    /// The requirement a violation fails.
    pub requirement: &'static str,
}

impl Rule {
    /// The rule as findings name it: `RO-ENC-006 (dh-ratchet-on-send, wire monitor)`.
    pub fn label(&self) -> String {
        format!("{} ({}, wire monitor)", self.requirement, self.name)
    }

    /// The rule's requirement as a failing step's checks: a finding is charged to that requirement alone.
    pub fn checks(&self) -> &'static [&'static str] {
        static ALL: [Rule; rules::ALL.len()] = rules::ALL;
        static ENLISTMENT: [Rule; rules::ENLISTMENT.len()] = rules::ENLISTMENT;
        ALL.iter()
            .chain(ENLISTMENT.iter())
            .find(|r| r.requirement == self.requirement)
            .map(|r| std::slice::from_ref(&r.requirement))
            .unwrap_or_default()
    }
}

/// The monitor's rules.
pub mod rules {
    use super::Rule;

    /// Version byte 0x33 on a msg and on a pkmsg's outer and inner message.
    pub const VERSION: Rule = Rule {
        name: "version-byte",
        requirement: "RO-ENC-010",
    };
    /// WhisperMessage framing: known fields and wire types, 33-byte 0x05 ratchet key, counter, ciphertext, MAC.
    pub const MSG_FRAMING: Rule = Rule {
        name: "msg-framing",
        requirement: "RO-ENC-012",
    };
    /// PreKeyWhisperMessage framing and consistency: fields, identity key, signed-prekey and one-time prekey ids.
    pub const PKMSG_FIELDS: Rule = Rule {
        name: "pkmsg-fields",
        requirement: "RO-ENC-013",
    };
    /// The registration id stays what the provider published.
    pub const REGISTRATION_ID: Rule = Rule {
        name: "registration-id",
        requirement: "RO-ID-010",
    };
    /// The registration id fits 14 bits.
    pub const REGISTRATION_RANGE: Rule = Rule {
        name: "registration-id-range",
        requirement: "RO-ID-010A",
    };
    /// pkmsg until a reply was received on the session, msg after.
    pub const SETUP: Rule = Rule {
        name: "pkmsg-then-msg",
        requirement: "RO-ENC-004",
    };
    /// Once a new session is set up, the provider sends on it, never on the session it replaced.
    pub const CURRENT_SESSION: Rule = Rule {
        name: "current-session",
        requirement: "RO-ENC-004",
    };
    /// A fresh base key for every new session.
    pub const FRESH_BASE_KEY: Rule = Rule {
        name: "fresh-base-key",
        requirement: "RO-ENC-003",
    };
    /// Counters strictly increase within a chain; previousCounter as libsignal sends it (errata).
    pub const COUNTERS: Rule = Rule {
        name: "counters",
        requirement: "RO-ENC-007",
    };
    /// A new, never used ratchet key after receiving a new peer ratchet key.
    pub const DH_RATCHET: Rule = Rule {
        name: "dh-ratchet-on-send",
        requirement: "RO-ENC-006",
    };
    /// The MAC verifies under keys the monitor derives.
    pub const MAC: Rule = Rule {
        name: "mac",
        requirement: "RO-ENC-011",
    };
    /// The body decrypts with valid PKCS#7 to exactly the requested plaintext.
    pub const CONTENT: Rule = Rule {
        name: "content",
        requirement: "RO-ENC-009",
    };
    /// Bundle keys are 33-byte 0x05 keys of usable points.
    pub const BUNDLE_KEYS: Rule = Rule {
        name: "bundle-keys",
        requirement: "RO-ENC-002",
    };
    /// The signed-prekey signature verifies over 0x05 || key.
    pub const SIGNED_PREKEY: Rule = Rule {
        name: "signed-prekey-signature",
        requirement: "RO-SIG-002",
    };
    /// A one-time prekey (id or key) is handed out once.
    pub const PREKEY_ONCE: Rule = Rule {
        name: "one-time-prekey-once",
        requirement: "RO-ENC-005",
    };

    /// Every rule judging live exchanges (bundles and messages).
    pub const ALL: [Rule; 15] = [
        VERSION,
        MSG_FRAMING,
        PKMSG_FIELDS,
        REGISTRATION_ID,
        REGISTRATION_RANGE,
        SETUP,
        CURRENT_SESSION,
        FRESH_BASE_KEY,
        COUNTERS,
        DH_RATCHET,
        MAC,
        CONTENT,
        BUNDLE_KEYS,
        SIGNED_PREKEY,
        PREKEY_ONCE,
    ];

    /// The enlistment token's header: an asymmetric algorithm and a kid, what a public JWKS can verify.
    pub const TOKEN_HEADER: Rule = Rule {
        name: "token-header",
        requirement: "RO-ID-003A",
    };

    /// The rules judging an enlistment request against the bundle the same client publishes.
    pub const ENLISTMENT: [Rule; 4] = [REGISTRATION_ID, REGISTRATION_RANGE, SIGNED_PREKEY, TOKEN_HEADER];
}

/// The requirement ids the monitor checks, for cases that run it.
pub fn requirements() -> Vec<String> {
    let mut ids: Vec<String> = rules::ALL.iter().map(|r| r.requirement.to_string()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Whether `text` holds a finding's rule label ([`Finding::rule_label`]): a step's failure that is the monitor's.
pub fn names_rule(text: &str) -> bool {
    rules::ALL
        .iter()
        .chain(rules::ENLISTMENT.iter())
        .any(|r| text.contains(&format!("{}: ", r.label())))
}

/// One violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule broken.
    pub rule: Rule,
    /// The step of the exchange.
    pub step: String,
    /// What the rule expects.
    pub expected: String,
    /// What the provider sent.
    pub observed: String,
    /// The judged message's decoded fields, when it decoded.
    pub message: Option<String>,
}

impl Finding {
    /// The failure a finding makes: the rule and its requirement first, then expected vs observed, and the
    /// decoded message after what was observed. The caller labels it with [`Finding::step`] (once).
    pub fn observation(&self) -> crate::outcome::Observation {
        let observed = match &self.message {
            Some(m) => format!("{}; the message: {m}", self.observed),
            None => self.observed.clone(),
        };
        crate::outcome::Observation::fail(format!("{}: {}", self.rule_label(), self.expected), observed)
    }

    /// The rule as findings name it: `RO-ENC-006 (dh-ratchet-on-send, wire monitor)`.
    pub fn rule_label(&self) -> String {
        self.rule.label()
    }
}

impl Monitor<'_> {
    /// The first finding not reported yet (each is reported once): a step failure charged to
    /// [`Rule::checks`], made by [`Finding::observation`].
    pub fn take_finding(&mut self) -> Option<Finding> {
        let first = self.findings.get(self.reported).cloned();
        self.reported = self.findings.len();
        first
    }

    /// A summary for passing cases.
    pub fn summary(&self) -> String {
        format!(
            "wire monitor: {} provider messages judged, {} not derivable, no finding",
            self.judged, self.not_derivable
        )
    }
}

/// The harness peer's private keys by public key: filled by the peer as it generates keys, read by the monitor.
#[derive(Debug, Default)]
pub struct KeyLog {
    keys: Mutex<HashMap<[u8; 32], [u8; 32]>>,
}

impl KeyLog {
    /// Remember a private key (any 32 bytes; X25519 clamps).
    pub fn record(&self, private: &[u8]) {
        let Ok(private) = <[u8; 32]>::try_from(private) else {
            return;
        };
        let public = c::public_of(&private);
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(public, private);
    }

    /// The private key of `public`, if the peer made it.
    pub fn private_for(&self, public: &[u8; 32]) -> Option<[u8; 32]> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).get(public).copied()
    }
}

/// The header of a JWT (its first segment, base64url JSON) names an asymmetric algorithm and a kid, as a token
/// verified through a public JWKS needs (RO-ID-003A): never `none`, never an HMAC. The signature itself is the
/// `enlistment` family's check, through the Partner's JWKS.
fn token_header(token: &str) -> Result<(), String> {
    use base64::Engine;
    let first = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first.trim_end_matches('='))
        .map_err(|e| format!("header not base64url: {e}"))?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("header not JSON: {e}"))?;
    let alg = header.get("alg").and_then(|a| a.as_str()).unwrap_or_default();
    let asymmetric = ["RS", "PS", "ES"].iter().any(|p| alg.starts_with(p)) || alg == "EdDSA";
    if !asymmetric {
        return Err(format!("alg {:?}", crate::sanitize::cut(alg, 32)));
    }
    if header.get("kid").and_then(|k| k.as_str()).is_none() {
        return Err("no kid".into());
    }
    Ok(())
}

/// What a provider client published, as seen in its bundles.
struct Published {
    registration_id: u32,
    identity: Vec<u8>,
    prekey_ids: BTreeSet<u32>,
}

/// A bundle one side started a session from, keys parsed.
#[derive(Clone)]
struct Started {
    identity: [u8; 33],
    signed_prekey_id: u32,
    signed_prekey: [u8; 32],
    prekey: Option<(u32, [u8; 32])>,
}

impl Started {
    fn of(bundle: &PreKeyBundle) -> Option<Self> {
        let identity = c::parse_public(&bundle.identity_key, "identity").ok()?;
        let prekey = match (bundle.prekey_id, &bundle.prekey) {
            (Some(id), Some(k)) => Some((id, c::parse_public(k, "prekey").ok()?)),
            _ => None,
        };
        Some(Self {
            identity: c::serialize_public(&identity),
            signed_prekey_id: bundle.signed_prekey_id,
            signed_prekey: c::parse_public(&bundle.signed_prekey, "signed prekey").ok()?,
            prekey,
        })
    }
}

/// The monitor of one live exchange between one provider client and the harness peer.
pub struct Monitor<'a> {
    keys: &'a KeyLog,
    published: BTreeMap<String, Published>,
    handed_out_keys: HashSet<Vec<u8>>,
    /// The bundle the provider last started a session from, until its first pkmsg.
    provider_started: Option<Started>,
    /// Bundles of the provider the peer started sessions from, by one-time prekey id.
    peer_started: Vec<Started>,
    sessions: Vec<Session>,
    /// Index of the provider's current session (the one it sends on).
    current: Option<usize>,
    base_keys: HashSet<[u8; 32]>,
    ratchet_keys: HashSet<[u8; 32]>,
    /// Violations so far, in order.
    pub findings: Vec<Finding>,
    /// Provider messages judged in full (MAC and content).
    pub judged: usize,
    /// Provider messages whose keys the monitor could not derive (no finding, no pass either).
    pub not_derivable: usize,
    reported: usize,
}

impl<'a> Monitor<'a> {
    /// A monitor reading the peer's private keys from `keys`.
    pub fn new(keys: &'a KeyLog) -> Self {
        Self {
            keys,
            published: BTreeMap::new(),
            handed_out_keys: HashSet::new(),
            provider_started: None,
            peer_started: Vec::new(),
            sessions: Vec::new(),
            current: None,
            base_keys: HashSet::new(),
            ratchet_keys: HashSet::new(),
            findings: Vec::new(),
            judged: 0,
            not_derivable: 0,
            reported: 0,
        }
    }

    fn find(&mut self, rule: Rule, step: &str, expected: impl Into<String>, observed: impl Into<String>) {
        self.findings.push(Finding {
            rule,
            step: step.to_string(),
            expected: expected.into(),
            observed: observed.into(),
            message: None,
        });
    }

    /// The provider client `client` published `bundle` (a bundle fetch).
    pub fn provider_bundle(&mut self, client: &str, bundle: &PreKeyBundle, step: &str) {
        let before = self.findings.len();
        let mut keys_ok = true;
        for (what, k) in [
            ("identity key", Some(&bundle.identity_key)),
            ("signed prekey", Some(&bundle.signed_prekey)),
            ("one-time prekey", bundle.prekey.as_ref()),
        ] {
            let Some(k) = k else { continue };
            match c::parse_public(k, what) {
                Ok(point) if c::is_low_order(&point) => {
                    keys_ok = false;
                    self.find(
                        rules::BUNDLE_KEYS,
                        step,
                        format!("{what}: a usable Curve25519 point"),
                        "a low-order point",
                    );
                }
                Ok(_) => {}
                Err(r) => {
                    keys_ok = false;
                    self.find(rules::BUNDLE_KEYS, step, format!("{what}: 0x05 || 32 bytes"), r.detail);
                }
            }
        }
        if bundle.prekey_id.is_some() != bundle.prekey.is_some() {
            self.find(
                rules::BUNDLE_KEYS,
                step,
                "one-time prekey id and key together",
                "one without the other",
            );
        }
        if keys_ok {
            let mut signed = vec![c::DJB_TYPE];
            signed.extend_from_slice(&bundle.signed_prekey[1..]);
            if let Err(r) = c::xeddsa_verify(&bundle.identity_key, &signed, &bundle.signed_prekey_signature) {
                self.find(
                    rules::SIGNED_PREKEY,
                    step,
                    "signature by the identity key over 0x05 || signed prekey",
                    r.detail,
                );
            }
        }
        if bundle.registration_id > 0x3fff {
            self.find(
                rules::REGISTRATION_RANGE,
                step,
                "a registration id of at most 14 bits (0..=16383)",
                bundle.registration_id.to_string(),
            );
        }
        let published = self.published.entry(client.to_string()).or_insert_with(|| Published {
            registration_id: bundle.registration_id,
            identity: bundle.identity_key.0.clone(),
            prekey_ids: BTreeSet::new(),
        });
        let (registration_id, identity) = (published.registration_id, published.identity.clone());
        let id_twice = bundle.prekey_id.filter(|id| !published.prekey_ids.insert(*id));
        if registration_id != bundle.registration_id {
            self.find(
                rules::REGISTRATION_ID,
                step,
                format!("registration id {registration_id}, as published before"),
                bundle.registration_id.to_string(),
            );
        }
        if identity != bundle.identity_key.0 {
            self.find(
                rules::BUNDLE_KEYS,
                step,
                "the identity key published before",
                hex::encode(&bundle.identity_key.0),
            );
        }
        if let Some(id) = id_twice {
            self.find(
                rules::PREKEY_ONCE,
                step,
                "a one-time prekey not handed out before",
                format!("one-time prekey {id} again"),
            );
        } else if let Some(k) = &bundle.prekey
            && !self.handed_out_keys.insert(k.0.clone())
        {
            self.find(
                rules::PREKEY_ONCE,
                step,
                "a one-time prekey not handed out before",
                format!(
                    "the key of an earlier one-time prekey again, as id {:?}",
                    bundle.prekey_id
                ),
            );
        }
        let shown = format!(
            "bundle {{registrationId {}, identityKey {}, signedPreKeyId {}, preKeyId {:?}}}",
            bundle.registration_id,
            hex::encode(&bundle.identity_key.0),
            bundle.signed_prekey_id,
            bundle.prekey_id
        );
        for f in &mut self.findings[before..] {
            f.message = Some(shown.clone());
        }
    }

    /// The provider client `client` emitted `enlistment` (its enlistment request, RO-TS 1.2.2): the registration
    /// id it enlists is the one it publishes, in range, and e_skey_sig verifies under e_ident over
    /// 0x05 || e_skey_val (checked here with [`crate::verify::crypto`], not with the library the reference uses).
    /// Fields missing or of the wrong size are the enlistment family's own checks (RO-ID-001A) and skipped here.
    pub fn provider_enlistment(&mut self, client: &str, enlistment: &crate::provider::Enlistment, step: &str) {
        let before = self.findings.len();
        let form = crate::signature::form::inspect(&enlistment.form);
        let regid = form
            .value("e_regid")
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes);
        if let Some(r) = regid {
            if r > 0x3fff {
                self.find(
                    rules::REGISTRATION_RANGE,
                    step,
                    "an enlisted registration id (e_regid) of at most 14 bits (0..=16383)",
                    r.to_string(),
                );
            }
            if let Some(p) = self.published.get(client)
                && p.registration_id != r
            {
                let published = p.registration_id;
                self.find(
                    rules::REGISTRATION_ID,
                    step,
                    format!("e_regid {published}, the registration id the client publishes in its bundle"),
                    format!("e_regid {r}"),
                );
            }
        }
        let (ident, value, signature) = (
            form.value("e_ident"),
            form.value("e_skey_val"),
            form.value("e_skey_sig"),
        );
        if let (Some(ident), Some(value), Some(signature)) = (ident, value, signature) {
            let serialized = |key: &[u8]| [&[c::DJB_TYPE][..], key].concat();
            if let Err(r) = c::xeddsa_verify(&serialized(ident), &serialized(value), signature) {
                self.find(
                    rules::SIGNED_PREKEY,
                    step,
                    "e_skey_sig: a signature by e_ident over 0x05 || e_skey_val",
                    r.detail,
                );
            }
        }
        if let Some(token) = &form.token
            && let Err(observed) = token_header(token)
        {
            self.find(
                rules::TOKEN_HEADER,
                step,
                "a token header with an asymmetric alg (RS, PS, ES or EdDSA) and a kid",
                observed,
            );
        }
        let hex_of = |field: &str| form.value(field).map_or_else(|| "absent".to_string(), hex::encode);
        let shown = format!(
            "enlistment {{e_regid {}, e_ident {}, e_skey_id {}, e_skey_val {}}}",
            regid.map_or_else(|| "absent".to_string(), |r| r.to_string()),
            hex_of("e_ident"),
            hex_of("e_skey_id"),
            hex_of("e_skey_val"),
        );
        for f in &mut self.findings[before..] {
            f.message = Some(shown.clone());
        }
    }

    /// The provider starts a session (X3DH as initiator) from the peer's `bundle`, as given to it.
    pub fn provider_starts(&mut self, bundle: &PreKeyBundle) {
        self.provider_started = Started::of(bundle);
    }

    /// The peer starts a session from the provider's `bundle`, as given to it.
    pub fn peer_starts(&mut self, bundle: &PreKeyBundle) {
        if let Some(s) = Started::of(bundle) {
            self.peer_started.push(s);
        }
    }

    /// The identity and registration id the provider published (any client; the exchange has one).
    fn published(&self) -> Option<&Published> {
        self.published.values().next()
    }

    /// The provider encrypted `plaintext` to the peer and produced `ciphertext`.
    pub fn provider_sent(&mut self, ciphertext: &Ciphertext, plaintext: &[u8], step: &str) {
        let before = self.findings.len();
        let decoded = match ciphertext.kind {
            CiphertextKind::Msg => decode::whisper(&ciphertext.body).map(Decoded::Msg),
            CiphertextKind::Pkmsg => decode::prekey(&ciphertext.body).map(Decoded::Pkmsg),
        };
        match &decoded {
            Err(m) => {
                let rule = if m.part == "pkmsg" {
                    rules::PKMSG_FIELDS
                } else {
                    rules::MSG_FRAMING
                };
                self.find(rule, step, format!("a well-formed {}", m.part), m.detail.clone());
            }
            Ok(d) => self.judge(d, plaintext, step),
        }
        if let Ok(d) = &decoded {
            let shown = d.to_string();
            for f in &mut self.findings[before..] {
                f.message = Some(shown.clone());
            }
        }
    }

    /// The provider decrypted the peer's `ciphertext`: a new session or a new peer ratchet key moves the state.
    pub fn provider_received(&mut self, ciphertext: &Ciphertext) {
        match ciphertext.kind {
            CiphertextKind::Pkmsg => {
                let Ok(p) = decode::prekey(&ciphertext.body) else {
                    return;
                };
                let index = match self.sessions.iter().rposition(|s| s.base_key == p.base_key) {
                    Some(i) => i,
                    None => {
                        let Some(started) = self.peer_started_for(p.prekey_id) else {
                            self.not_derivable += 1;
                            return;
                        };
                        match Session::responder(self.keys, &p, &started) {
                            Some(s) => {
                                self.sessions.push(s);
                                self.sessions.len() - 1
                            }
                            None => {
                                self.not_derivable += 1;
                                return;
                            }
                        }
                    }
                };
                self.sessions[index].received(self.keys, &p.inner);
                self.made_current(index);
            }
            CiphertextKind::Msg => {
                let Ok(w) = decode::whisper(&ciphertext.body) else {
                    return;
                };
                let order: Vec<usize> = self.current.into_iter().chain((0..self.sessions.len()).rev()).collect();
                if let Some(i) = order
                    .iter()
                    .copied()
                    .find(|i| self.sessions[*i].knows_peer_key(&w.ratchet_key))
                {
                    self.sessions[i].received(self.keys, &w);
                    self.made_current(i);
                    return;
                }
                for i in order {
                    if self.sessions[i].received(self.keys, &w) {
                        self.made_current(i);
                        return;
                    }
                }
                self.not_derivable += 1;
            }
        }
    }

    /// A message the provider decrypted made session `index` its current one (a received pkmsg promotes its new
    /// session, a message on an archived session promotes that one): a session the provider had started but not
    /// sent on yet is superseded.
    fn made_current(&mut self, index: usize) {
        self.current = Some(index);
        self.provider_started = None;
    }

    fn peer_started_for(&self, prekey_id: Option<u32>) -> Option<Started> {
        self.peer_started
            .iter()
            .rev()
            .find(|s| s.prekey.map(|(id, _)| id) == prekey_id)
            .cloned()
    }

    fn judge(&mut self, decoded: &Decoded, plaintext: &[u8], step: &str) {
        let w = decoded.whisper();
        if w.version != c::VERSION_BYTE {
            let what = if matches!(decoded, Decoded::Pkmsg(_)) {
                "inner message"
            } else {
                "msg"
            };
            self.find(
                rules::VERSION,
                step,
                format!("{what} version 0x33"),
                format!("{:#04x}", w.version),
            );
        }
        let index = match decoded {
            Decoded::Pkmsg(p) => {
                if p.version != c::VERSION_BYTE {
                    self.find(
                        rules::VERSION,
                        step,
                        "pkmsg version 0x33",
                        format!("{:#04x}", p.version),
                    );
                }
                self.pkmsg_fields(p, step);
                self.session_of_pkmsg(p, step)
            }
            Decoded::Msg(w) => self.on_current_session(w, step),
        };
        let Some(index) = index else {
            self.not_derivable += 1;
            return;
        };
        self.current = Some(index);
        let kind = match decoded {
            Decoded::Pkmsg(_) => CiphertextKind::Pkmsg,
            Decoded::Msg(_) => CiphertextKind::Msg,
        };
        let mut found = Vec::new();
        let judged = self.sessions[index].sent(
            self.keys,
            &mut self.ratchet_keys,
            kind,
            w,
            plaintext,
            &mut |rule, expected, observed| found.push((rule, expected, observed)),
        );
        for (rule, expected, observed) in found {
            self.find(rule, step, expected, observed);
        }
        if judged {
            self.judged += 1;
        } else {
            self.not_derivable += 1;
        }
    }

    fn pkmsg_fields(&mut self, p: &decode::Prekey, step: &str) {
        if let Some(published) = self.published() {
            let (identity, registration_id) = (published.identity.clone(), published.registration_id);
            if identity != p.identity {
                self.find(
                    rules::PKMSG_FIELDS,
                    step,
                    format!("identityKey {}, as published", hex::encode(&identity)),
                    hex::encode(p.identity),
                );
            }
            if p.registration_id != Some(registration_id) {
                self.find(
                    rules::REGISTRATION_ID,
                    step,
                    format!("registrationId {registration_id}, as published"),
                    format!("{:?}", p.registration_id),
                );
            }
        }
        match p.registration_id {
            None => self.find(rules::PKMSG_FIELDS, step, "registrationId present", "absent"),
            Some(r) if r > 0x3fff => self.find(
                rules::REGISTRATION_RANGE,
                step,
                "a registration id of at most 14 bits",
                r.to_string(),
            ),
            Some(_) => {}
        }
        let Some(session) = self.session_for_fields(p) else {
            return;
        };
        if p.signed_prekey_id != Some(session.signed_prekey_id) {
            self.find(
                rules::PKMSG_FIELDS,
                step,
                format!(
                    "signedPreKeyId {}, from the bundle the session started from",
                    session.signed_prekey_id
                ),
                format!("{:?}", p.signed_prekey_id),
            );
        }
        let offered = session.prekey.map(|(id, _)| id);
        if p.prekey_id != offered {
            let expected = match offered {
                Some(id) => format!("preKeyId {id}, the one-time prekey offered"),
                None => "no preKeyId: the bundle offered no one-time prekey".to_string(),
            };
            let observed = match p.prekey_id {
                Some(id) => format!("preKeyId {id}"),
                None => "no preKeyId".to_string(),
            };
            self.find(rules::PKMSG_FIELDS, step, expected, observed);
        }
    }

    /// The bundle a pkmsg's fields must match: the one just started from, else its session's own.
    fn session_for_fields(&self, p: &decode::Prekey) -> Option<Started> {
        self.provider_started.clone().or_else(|| {
            self.sessions
                .iter()
                .rev()
                .find(|s| s.base_key == p.base_key)
                .and_then(|s| s.started.clone())
        })
    }

    fn session_of_pkmsg(&mut self, p: &decode::Prekey, step: &str) -> Option<usize> {
        let existing = self.sessions.iter().rposition(|s| s.base_key == p.base_key);
        match (existing, self.provider_started.take()) {
            // The first pkmsg after starting a session: its base key must be new.
            (existing, Some(started)) => {
                if existing.is_some() || !self.base_keys.insert(p.base_key) {
                    self.find(
                        rules::FRESH_BASE_KEY,
                        step,
                        "a new session's pkmsg with a base key never used before",
                        format!("base key 05{} of an earlier session", hex::encode(p.base_key)),
                    );
                }
                let session = Session::initiator(self.keys, p, &started)?;
                self.sessions.push(session);
                Some(self.sessions.len() - 1)
            }
            (Some(i), None) => Some(i),
            (None, None) => {
                self.find(
                    rules::SETUP,
                    step,
                    "a pkmsg only on a session the provider started",
                    "a pkmsg with an unknown base key, no session started",
                );
                None
            }
        }
    }

    /// The session a msg went out on, which must be the current one: not the one a just-started session
    /// replaced (that one's first message is a pkmsg), nor an older one. A msg on a new ratchet key that does
    /// not verify on the current session is placed by trying the others.
    fn on_current_session(&mut self, w: &decode::Whisper, step: &str) -> Option<usize> {
        let on = self
            .sessions
            .iter()
            .position(|s| s.sends_on(&w.ratchet_key))
            .or_else(|| {
                let current = self.current?;
                if self.sessions.len() < 2 || self.sessions[current].would_verify(self.keys, w) {
                    return None;
                }
                (0..self.sessions.len()).find(|i| *i != current && self.sessions[*i].would_verify(self.keys, w))
            });
        let base = |i: usize| format!("05{}", hex::encode(self.sessions[i].base_key));
        if self.provider_started.is_some() {
            let observed = match on {
                Some(i) => format!("a msg on an earlier session (base key {})", base(i)),
                None => "a msg, no pkmsg".to_string(),
            };
            self.find(
                rules::CURRENT_SESSION,
                step,
                "a pkmsg of the session just started from the peer's bundle",
                observed,
            );
        } else if let (Some(i), Some(current)) = (on, self.current)
            && i != current
        {
            let (old, new) = (base(i), base(current));
            self.find(
                rules::CURRENT_SESSION,
                step,
                format!("a message on the current session (base key {new}), set up after the earlier one"),
                format!("a msg on an earlier session (base key {old})"),
            );
        }
        on.or(self.current)
    }
}

#[cfg(test)]
mod tests;
