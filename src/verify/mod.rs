//! `conformance vectors verify`: recompute every case's expected outcome without the reference library.
//!
//! The independent side ([`crypto`], [`receiver`], [`sender`]) is built only from RustCrypto and dalek
//! primitives plus hand-written protobuf structs ([`crate::wire`]), following the specifications quoted in
//! reference-offer.md. For each case: `valid` -> the independent side accepts with the same plaintext and
//! values; `invalid` -> it rejects, with a class the vector lists (any class when the list is empty);
//! `acceptable` -> its answer is recorded. Session-like cases are replayed step by step against one receiver
//! model, so consumed one-time prekeys, used counters and the trusted sender identity carry across steps.
//! `session_roundtrip` cases hold no expected bytes and are reported as not verifiable.

pub mod crypto;
pub mod media;
pub mod receiver;
pub mod sender;

use crate::bytes::Bytes;
use crate::family::{Check, Family, bundle, key_schedule, session, xeddsa};
use crate::plan::{Plan, PlanError, PlanOptions};
use crate::provider::ErrorClass;
use crate::vector::{Case, Expected};
use crypto::Reject;
use receiver::{Receiver, ReceiverKeys};
use std::path::PathBuf;

/// A case where the vector and the independent computation disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// Case id.
    pub case_id: String,
    /// Where in the case (step, value).
    pub at: String,
    /// What the vector says.
    pub vector: String,
    /// What the independent side computed.
    pub independent: String,
}

/// The result for one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file.
    pub path: PathBuf,
    /// Its family.
    pub family: Option<Family>,
    /// Cases checked.
    pub verified: usize,
    /// Cases that cannot be checked, and why.
    pub not_verifiable: Option<(usize, String)>,
    /// `acceptable` cases and what the independent side did with them.
    pub acceptable: Vec<(String, String)>,
    /// Disagreements.
    pub disagreements: Vec<Disagreement>,
}

/// Verify every case of every file the plan loads.
pub fn verify(options: &PlanOptions) -> Result<Vec<FileResult>, PlanError> {
    let plan = Plan::build(options)?;
    Ok(plan.files.iter().map(verify_file).collect())
}

/// Verify one loaded file.
fn verify_file(file: &crate::vector::LoadedFile) -> FileResult {
    {
        {
            let mut result = FileResult {
                path: file.path.clone(),
                family: file.cases.first().map(|c| c.family),
                verified: 0,
                not_verifiable: None,
                acceptable: Vec::new(),
                disagreements: Vec::new(),
            };
            match result.family {
                // These two check a whole parsed file at once (their cases refer to each other).
                Some(family @ (Family::Media | Family::SecurityCode)) => {
                    verify_whole_file(family, &file.path, &mut result, file.cases.len())
                }
                _ => file.cases.iter().for_each(|case| verify_case(case, &mut result)),
            }
            result
        }
    }
}

/// Vector files no profile lists (known answers for the suite's own code, such as
/// `transport-known-answers.yaml`): each is verified under the first profile whose catalog names its requirements.
const HARNESS_FILES: [&str; 1] = ["transport-known-answers.yaml"];

/// Verify the files of every profile under the suites folder (each file once): what `conformance vectors verify`
/// does without `--profile`.
pub fn verify_every_profile(options: &PlanOptions) -> Result<Vec<FileResult>, PlanError> {
    let suites = options
        .suites_dir
        .clone()
        .unwrap_or_else(|| crate::plan::data_dir("suites"));
    let mut results: Vec<FileResult> = Vec::new();
    for profile in crate::requirements::Profile::available(&suites) {
        let options = PlanOptions {
            profile,
            ..options.clone()
        };
        for result in verify(&options)? {
            if !results.iter().any(|r| r.path == result.path) {
                results.push(result);
            }
        }
    }
    let dir = options
        .vectors_dir
        .clone()
        .unwrap_or_else(|| crate::plan::data_dir("vectors"));
    for name in HARNESS_FILES {
        let path = dir.join(name);
        let loaded = crate::requirements::Profile::available(&suites).iter().find_map(|p| {
            let profile = crate::requirements::Profile::load(&suites, p).ok()?;
            crate::vector::load_file(&path, &profile).ok()
        });
        match loaded {
            Some(file) => results.push(verify_file(&file)),
            None => {
                let profile = crate::requirements::Profile::load(&suites, crate::plan::DEFAULT_PROFILE)?;
                crate::vector::load_file(&path, &profile)?;
            }
        }
    }
    Ok(results)
}

/// Media and security-code files: parse again with their family's types and run their file-level checks.
fn verify_whole_file(family: Family, path: &std::path::Path, out: &mut FileResult, cases: usize) {
    let text = crate::yaml::read_input_text(path).unwrap_or_default();
    let mut live = 0;
    let lines = match family {
        Family::Media => {
            crate::yaml::parse::<crate::vector::VectorFile<crate::family::media::Group>>(path, &text).map(|f| {
                live = f
                    .groups
                    .iter()
                    .flat_map(|g| &g.tests)
                    .filter(|t| t.operation == crate::family::media::Operation::Upload)
                    .count();
                crate::family::media::verify::check(&f)
            })
        }
        _ => crate::yaml::parse::<crate::vector::VectorFile<crate::family::security_code::Group>>(path, &text)
            .map(|f| crate::family::security_code::verify::check(&f)),
    };
    if live > 0 {
        out.not_verifiable = Some((
            live,
            "uploads: the provider picks the keys at run time, where the suite's own media code opens every blob"
                .into(),
        ));
    }
    match lines {
        Ok(lines) => {
            out.verified += cases - live;
            for line in lines {
                let (case_id, what) = line.split_once(": ").unwrap_or(("?", line.as_str()));
                out.disagreements.push(Disagreement {
                    case_id: case_id.to_string(),
                    at: String::new(),
                    vector: what.to_string(),
                    independent: "disagrees".to_string(),
                });
            }
        }
        Err(e) => out.disagreements.push(Disagreement {
            case_id: "(file)".into(),
            at: String::new(),
            vector: e.to_string(),
            independent: "could not parse".into(),
        }),
    }
}

fn not_verifiable(out: &mut FileResult, why: &str) {
    let n = out.not_verifiable.as_ref().map_or(0, |(n, _)| *n) + 1;
    out.not_verifiable = Some((n, why.to_string()));
}

fn verify_case(case: &Case, out: &mut FileResult) {
    let id = &case.meta.id;
    let mut findings: Vec<Finding> = Vec::new();
    match &case.check {
        Check::Xeddsa(c) => findings.push(judge_one(case.meta.expected, &[], xeddsa_outcome(c), "verification")),
        Check::Bundle(c) => findings.push(judge_one(case.meta.expected, &c.errors, bundle_outcome(c), "bundle")),
        Check::Session(c) => findings.extend(session_findings(c)),
        Check::KeySchedule(c) => {
            findings.extend(schedule_findings(c));
            findings.extend(session_findings(&c.session));
        }
        // Routed whole by `verify` (their cases refer to each other); never checked one by one.
        Check::Media(_) | Check::SecurityCode(_) => return,
        // Scenarios come from the profile, not from vector files, and hold no expected bytes.
        Check::Scenario(_) => {
            return not_verifiable(out, "property-based scenarios: judged by their invariants at run time");
        }
        Check::Roundtrip(_) => {
            return not_verifiable(out, "live exchanges with no expected bytes: nothing to recompute");
        }
        Check::Enlistment(_) => {
            return not_verifiable(out, "live enlistment requests, judged field by field at run time");
        }
        Check::Push(_) => {
            return not_verifiable(
                out,
                "tokens are built per run from recipes; their verdicts are checked by an independent ring-based \
                 oracle (the tests in src/family/push/generate.rs)",
            );
        }
        Check::NoiseKnownAnswer(ka) => findings.push(
            match crate::family::noise_known_answer::verify::check(case.meta.expected, ka) {
                Ok(()) => Finding::Agree,
                Err((vector, independent)) => Finding::Disagree {
                    at: "known answer".into(),
                    vector,
                    independent,
                },
            },
        ),
        Check::EnlistmentDecode(_) => {
            return not_verifiable(out, "known answers for the harness's own decoder, pinned by unit tests");
        }
        Check::Transport(_) => {
            return not_verifiable(
                out,
                "live handshakes with the suite's chat server: chains are issued per run around the real clock and \
                 every frame is judged on the wire",
            );
        }
        Check::SenderKeys(c) if c.test.steps.is_empty() => {
            return not_verifiable(
                out,
                "live group exchanges: every SKDM and skmsg the provider sends is checked and opened at run time by \
                 the family's own receiver (family::sender_keys::verify)",
            );
        }
        Check::SenderKeys(c) => {
            let outcomes = crate::family::sender_keys::verify::replay(&c.group, &c.test.steps);
            for (i, (step, got)) in c.test.steps.iter().zip(outcomes).enumerate() {
                let at = format!("step {}", i + 1);
                findings.push(judge(step.expected, &step.errors, step.plaintext.as_ref(), got, &at));
            }
        }
    }
    out.verified += 1;
    for f in findings {
        match f {
            Finding::Agree => {}
            Finding::Acceptable(what) => out.acceptable.push((id.clone(), what)),
            Finding::Disagree {
                at,
                vector,
                independent,
            } => out.disagreements.push(Disagreement {
                case_id: id.clone(),
                at,
                vector,
                independent,
            }),
        }
    }
}

enum Finding {
    Agree,
    Acceptable(String),
    Disagree {
        at: String,
        vector: String,
        independent: String,
    },
}

fn describe(result: &Result<Option<Vec<u8>>, Reject>) -> String {
    match result {
        Ok(Some(p)) => format!("accepted: plaintext {}", hex::encode(p)),
        Ok(None) => "accepted".to_string(),
        Err(r) => r.to_string(),
    }
}

/// Compare one independent outcome (`Ok(Some(plaintext))`, `Ok(None)` for yes/no checks, or a rejection).
fn judge(
    expected: Expected,
    errors: &[ErrorClass],
    want: Option<&Bytes>,
    got: Result<Option<Vec<u8>>, Reject>,
    at: &str,
) -> Finding {
    let expected_text = match expected {
        Expected::Valid => match want {
            Some(p) => format!("valid: plaintext {}", p.to_hex()),
            None => "valid".to_string(),
        },
        Expected::Invalid => format!("invalid: {}", crate::outcome::describe_rejection(errors)),
        Expected::Acceptable => "acceptable".to_string(),
    };
    let agree = match (&got, expected) {
        (_, Expected::Acceptable) => return Finding::Acceptable(format!("{at}: independent {}", describe(&got))),
        (Ok(p), Expected::Valid) => match (p, want) {
            (Some(p), Some(w)) => *p == w.0,
            _ => true,
        },
        (Err(r), Expected::Invalid) => errors.is_empty() || errors.contains(&r.class),
        _ => false,
    };
    if agree {
        Finding::Agree
    } else {
        Finding::Disagree {
            at: at.to_string(),
            vector: expected_text,
            independent: describe(&got),
        }
    }
}

fn judge_one(expected: Expected, errors: &[ErrorClass], got: Result<(), Reject>, at: &str) -> Finding {
    judge(expected, errors, None, got.map(|()| None), at)
}

fn xeddsa_outcome(c: &xeddsa::Check) -> Result<(), Reject> {
    crypto::xeddsa_verify(&c.public_key, &c.message, &c.signature)
}

/// Key checks first (encoding, then low order), then the signature: the order the reference uses.
fn bundle_outcome(c: &bundle::Check) -> Result<(), Reject> {
    let b = &c.bundle;
    let identity = crypto::parse_public(&b.identity_key, "identity_key")?;
    let signed = crypto::parse_public(&b.signed_prekey, "signed_prekey")?;
    let prekey = match (&b.prekey_id, &b.prekey) {
        (Some(_), Some(k)) => Some(crypto::parse_public(k, "prekey")?),
        (None, None) => None,
        _ => {
            return Err(Reject::new(
                ErrorClass::InvalidArgument,
                "prekey_id and prekey must come together",
            ));
        }
    };
    for (key, what) in [
        (Some(identity), "identity_key"),
        (Some(signed), "signed_prekey"),
        (prekey, "prekey"),
    ] {
        if let Some(k) = key
            && crypto::is_low_order(&k)
        {
            return Err(Reject::new(ErrorClass::InvalidKey, format!("{what}: low-order point")));
        }
    }
    crypto::xeddsa_verify(&b.identity_key, &b.signed_prekey, &b.signed_prekey_signature)
}

fn session_findings(c: &session::Check) -> Vec<Finding> {
    let keys = match ReceiverKeys::from_material(&c.receiver) {
        Ok(k) => k,
        Err(e) => {
            return vec![Finding::Disagree {
                at: "receiver keys".into(),
                vector: "usable key material".into(),
                independent: e,
            }];
        }
    };
    let mut receiver = Receiver::new(keys);
    let n = c.messages.len();
    c.messages
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let got = receiver.decrypt(step.ciphertext.kind, &step.ciphertext.body).map(Some);
            judge(
                step.expected,
                &step.errors,
                step.plaintext.as_ref(),
                got,
                &format!("message {} of {n}", i + 1),
            )
        })
        .collect()
}

fn arr(b: &Bytes) -> [u8; 32] {
    let mut out = [0u8; 32];
    if b.len() == 32 {
        out.copy_from_slice(b);
    }
    out
}

/// Recompute the schedule from the initiator's private keys and, separately, X3DH from the responder's.
fn schedule_findings(c: &key_schedule::Check) -> Vec<Finding> {
    let r = &c.session.receiver;
    let s = &c.sender_keys;
    let keys = sender::SenderKeys {
        identity: arr(&s.identity_private),
        base: arr(&s.base_private),
        ratchet: arr(&s.ratchet_private),
    };
    let prekey = c.one_time_prekey_id.and_then(|id| {
        r.prekeys
            .iter()
            .find(|p| p.id == id)
            .map(|p| (id, crypto::public_of(&arr(&p.private))))
    });
    let bundle = sender::Bundle {
        sender_registration_id: 0,
        identity: crypto::public_of(&arr(&r.identity_private)),
        signed_prekey_id: r.signed_prekey_id,
        signed_prekey: crypto::public_of(&arr(&r.signed_prekey_private)),
        prekey,
    };
    let initiator = sender::Sender::new(keys.clone(), bundle, sender::Deviation::default());
    let mut found = Vec::new();
    let mut compare = |at: String, vector: &Bytes, independent: &[u8]| {
        found.push(if vector.0 == independent {
            Finding::Agree
        } else {
            Finding::Disagree {
                at,
                vector: vector.to_hex(),
                independent: hex::encode(independent),
            }
        });
    };
    let v = &c.schedule;
    let sch = &initiator.schedule;
    compare("root_key (initiator)".into(), &v.root_key, &sch.root_key);
    compare("chain_key (initiator)".into(), &v.chain_key, &sch.chain_key);
    compare("ratchet_root_key".into(), &v.ratchet_root_key, &sch.ratchet_root_key);
    compare("sending_chain_key".into(), &v.sending_chain_key, &sch.sending_chain_key);
    match ReceiverKeys::from_material(r).map(|rk| {
        rk.x3dh(
            &crypto::public_of(&keys.identity),
            &crypto::public_of(&keys.base),
            c.one_time_prekey_id,
        )
    }) {
        Ok(Ok((root, chain))) => {
            compare("root_key (responder)".into(), &v.root_key, &root);
            compare("chain_key (responder)".into(), &v.chain_key, &chain);
        }
        Ok(Err(e)) => compare("x3dh (responder)".into(), &v.root_key, e.to_string().as_bytes()),
        Err(e) => compare("receiver keys".into(), &v.root_key, e.as_bytes()),
    }
    for step in &v.chain {
        let keys = initiator.keys_at(step.index);
        let at = |what: &str| format!("chain[{}].{what}", step.index);
        compare(at("chain_key"), &step.chain_key, &initiator.chain_key_at(step.index));
        compare(at("cipher_key"), &step.cipher_key, &keys.cipher_key);
        compare(at("mac_key"), &step.mac_key, &keys.mac_key);
        compare(at("iv"), &step.iv, &keys.iv);
    }
    found
}

/// Plain-text summary of a verification, as the CLI prints it.
pub fn render(results: &[FileResult]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for r in results {
        let family = r.family.map_or("empty", |f| f.as_str());
        let _ = write!(out, "{} ({family}): {} cases verified", r.path.display(), r.verified);
        if let Some((n, why)) = &r.not_verifiable {
            let _ = write!(out, "; {n} cases not verified ({why})");
        }
        if !r.acceptable.is_empty() {
            let _ = write!(out, "; {} acceptable cases recorded", r.acceptable.len());
        }
        let _ = writeln!(out);
        for (id, what) in &r.acceptable {
            let _ = writeln!(out, "  acceptable {id}: {what}");
        }
        for d in &r.disagreements {
            let _ = writeln!(
                out,
                "  DISAGREE {} at {}\n    vector:      {}\n    independent: {}",
                d.case_id, d.at, d.vector, d.independent
            );
        }
    }
    let total: usize = results.iter().map(|r| r.disagreements.len()).sum();
    let cases: usize = results.iter().map(|r| r.verified).sum();
    let _ = writeln!(out, "{cases} cases verified, {total} disagreements");
    out
}
