//! Signed certificates: a detached Ed25519 signature over the exact bytes of a `report.json`, with an expiry,
//! checkable offline (`conformance report keygen | sign | verify`).
//!
//! File formats (all UTF-8 text; lines starting with `#` are comments):
//! - private key `PREFIX`: one line `conformance-ed25519-private-v1 <64 hex: the 32-byte Ed25519 seed>`,
//!   written with mode 0600 on Unix;
//! - public key `PREFIX.pub`: one line `conformance-ed25519-public-v1 <64 hex: the 32-byte public key>`;
//! - signature `REPORT.json.sig`: a JSON object [`SignatureFile`]. The signed message is the text
//!   `conformance-signature-v2\nalgorithm ed25519\nfile <JSON string>\nsha256 <hex>\nsize <bytes>\n\
//!   signed_at <RFC 3339>\nexpires_at <RFC 3339>\nkey_fingerprint <fp>\n` followed by the report's exact bytes:
//!   every field of the certificate is signed. Verification also checks that the fields agree with the report
//!   and with each other (signed_at not in the future, expires_at after signed_at), since a signature proves only
//!   that the signer wrote them.
//!
//! The key fingerprint is `sha256:` and the first 32 hex digits of the SHA-256 of the 32-byte public key.
//! Verification uses `verify_strict` (rejects small-order keys and non-canonical signatures).

use chrono::{DateTime, TimeDelta, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const PRIVATE_TAG: &str = "conformance-ed25519-private-v1";
const PUBLIC_TAG: &str = "conformance-ed25519-public-v1";
const FORMAT: &str = "conformance-signature-v2";
/// The first format, whose signature left out `file`: refused, the report must be signed again.
const FORMAT_V1: &str = "conformance-signature-v1";
/// How far in the future `signed_at` may lie (clocks of signer and verifier differ).
const CLOCK_SKEW_SECONDS: i64 = 300;

/// A detached signature, as stored in `REPORT.json.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// `conformance-signature-v1`.
    pub format: String,
    /// `ed25519`.
    pub algorithm: String,
    /// Name of the signed file when it was signed (signed like every other field).
    pub file: String,
    /// SHA-256 of the signed bytes, hex.
    pub sha256: String,
    /// Length of the signed bytes.
    pub size: u64,
    /// When it was signed, RFC 3339 UTC.
    pub signed_at: String,
    /// Last instant it is valid, RFC 3339 UTC.
    pub expires_at: String,
    /// Fingerprint of the signer's public key.
    pub key_fingerprint: String,
    /// The Ed25519 signature, 128 hex digits.
    pub signature: String,
}

/// Why signing, verifying or a key operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or written, or a key file is malformed: a usage error (exit 2).
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Verification failed: the certificate does not hold (exit 1).
    #[error("{0}")]
    Invalid(String),
}

impl CertError {
    fn input(path: &Path, message: impl Into<String>) -> Self {
        Self::Input {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// The fingerprint of a public key.
pub fn fingerprint(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..32])
}

/// The `.pub` path for a key prefix.
pub fn public_path(prefix: &Path) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The `.sig` path for a report.
pub fn signature_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Generate a key pair from the operating system's randomness and write `prefix` and `prefix.pub`.
/// Refuses to overwrite either file. Returns the fingerprint.
pub fn keygen(prefix: &Path) -> Result<String, CertError> {
    let public = public_path(prefix);
    for p in [prefix, public.as_path()] {
        if p.exists() {
            return Err(CertError::input(p, "already exists; refusing to overwrite a key"));
        }
    }
    let mut rng = rand::make_rng::<rand::rngs::StdRng>();
    let seed: [u8; 32] = rand::RngExt::random(&mut rng);
    let key = SigningKey::from_bytes(&seed);
    let fp = fingerprint(&key.verifying_key());
    let private_text = format!(
        "# interop-conformance Ed25519 private key {fp}: keep it secret\n{PRIVATE_TAG} {}\n",
        hex::encode(seed)
    );
    write_private(prefix, &private_text)?;
    let public_text = format!(
        "# interop-conformance Ed25519 public key {fp}\n{PUBLIC_TAG} {}\n",
        hex::encode(key.verifying_key().as_bytes())
    );
    std::fs::write(&public, public_text).map_err(|e| CertError::input(&public, format!("cannot write: {e}")))?;
    Ok(fp)
}

fn write_private(path: &Path, text: &str) -> Result<(), CertError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| CertError::input(path, format!("cannot write: {e}")))
}

/// The 32 bytes after `tag` on the key line of a key file.
fn read_key_line(path: &Path, tag: &str) -> Result<[u8; 32], CertError> {
    let text = crate::yaml::read_input_text(path).map_err(|e| CertError::input(path, e.message))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let hex_part = line
        .strip_prefix(tag)
        .map(str::trim)
        .ok_or_else(|| CertError::input(path, format!("not a key file: expected a line `{tag} <64 hex digits>`")))?;
    let bytes = hex::decode(hex_part).map_err(|e| CertError::input(path, format!("bad key hex: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| CertError::input(path, "a key is 32 bytes (64 hex digits)"))
}

/// Read a private key file.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, CertError> {
    Ok(SigningKey::from_bytes(&read_key_line(path, PRIVATE_TAG)?))
}

/// Read a public key file.
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, CertError> {
    let bytes = read_key_line(path, PUBLIC_TAG)?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| CertError::input(path, format!("not an Ed25519 public key: {e}")))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn signed_message(sig: &SignatureFile, bytes: &[u8]) -> Vec<u8> {
    // Free-text fields are written as JSON strings, so no value can end its line early and forge the next one.
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut message = format!(
        "{}\nalgorithm {}\nfile {}\nsha256 {}\nsize {}\nsigned_at {}\nexpires_at {}\nkey_fingerprint {}\n",
        quoted(&sig.format),
        quoted(&sig.algorithm),
        quoted(&sig.file),
        quoted(&sig.sha256),
        sig.size,
        quoted(&sig.signed_at),
        quoted(&sig.expires_at),
        quoted(&sig.key_fingerprint)
    )
    .into_bytes();
    message.extend_from_slice(bytes);
    message
}

/// Sign `bytes` (the report file named `file`) at `now`, valid until `expires_at`.
pub fn sign(
    key: &SigningKey,
    file: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> SignatureFile {
    let fields = SignatureFile {
        format: FORMAT.into(),
        algorithm: "ed25519".into(),
        file: file.into(),
        sha256: hex::encode(Sha256::digest(bytes)),
        size: bytes.len() as u64,
        signed_at: rfc3339(now),
        expires_at: rfc3339(expires_at),
        key_fingerprint: fingerprint(&key.verifying_key()),
        signature: String::new(),
    };
    sign_fields(key, fields, bytes)
}

/// Sign `fields` exactly as given (their `signature` is replaced) together with `bytes`. [`sign`] fills them in
/// correctly; this is how a test builds a certificate whose signature holds over fields that lie.
pub fn sign_fields(key: &SigningKey, mut fields: SignatureFile, bytes: &[u8]) -> SignatureFile {
    fields.signature = hex::encode(key.sign(&signed_message(&fields, bytes)).to_bytes());
    fields
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The file name the report was signed under.
    pub file: String,
    /// The signer's key fingerprint.
    pub key_fingerprint: String,
    /// When it was signed.
    pub signed_at: String,
    /// Until when it holds.
    pub expires_at: String,
}

/// Check a signature file's text against the report bytes and the expected public key, at `now`.
pub fn verify(sig_text: &str, bytes: &[u8], key: &VerifyingKey, now: DateTime<Utc>) -> Result<Verified, CertError> {
    let invalid = |m: String| CertError::Invalid(m);
    let sig: SignatureFile = serde_json::from_str(sig_text).map_err(|e| {
        invalid(format!(
            "the signature file is not a valid certificate (altered or corrupt): {e}"
        ))
    })?;
    if sig.format == FORMAT_V1 {
        return Err(invalid(format!(
            "the certificate has the older format {FORMAT_V1}, whose signature does not cover every field; sign \
             the report again"
        )));
    }
    if sig.format != FORMAT || sig.algorithm != "ed25519" {
        return Err(invalid(format!(
            "unknown signature format `{}` / algorithm `{}` (expected {FORMAT} / ed25519)",
            sig.format, sig.algorithm
        )));
    }
    let expected_fp = fingerprint(key);
    if sig.key_fingerprint != expected_fp {
        return Err(invalid(format!(
            "wrong key: the report was signed by key {}, not by the given public key {expected_fp}",
            sig.key_fingerprint
        )));
    }
    let raw: [u8; 64] = hex::decode(&sig.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid("the signature is not 128 hex digits (altered or corrupt)".into()))?;
    let signature = Signature::from_bytes(&raw);
    if key.verify_strict(&signed_message(&sig, bytes), &signature).is_err() {
        let actual = hex::encode(Sha256::digest(bytes));
        return Err(invalid(if actual != sig.sha256 || bytes.len() as u64 != sig.size {
            format!(
                "the report was changed after signing: its SHA-256 is {actual} ({} bytes), the signed one {} ({} bytes)",
                bytes.len(),
                sig.sha256,
                sig.size
            )
        } else {
            "the signature does not verify: the signature file was altered or is corrupt".into()
        }));
    }
    // The signature holds: the signer wrote these fields. They must still agree with the report and each other.
    let actual = hex::encode(Sha256::digest(bytes));
    if sig.sha256 != actual || sig.size != bytes.len() as u64 {
        return Err(invalid(format!(
            "the certificate contradicts the report: it states SHA-256 {} and {} bytes, the report has {actual} and \
             {} bytes",
            sig.sha256,
            sig.size,
            bytes.len()
        )));
    }
    let time = |name: &str, value: &str| {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.to_utc())
            .map_err(|e| invalid(format!("bad {name} `{value}`: {e}")))
    };
    let signed_at = time("signed_at", &sig.signed_at)?;
    let expires = time("expires_at", &sig.expires_at)?;
    if signed_at > now + TimeDelta::seconds(CLOCK_SKEW_SECONDS) {
        return Err(invalid(format!(
            "the certificate says it was signed at {}, in the future (now {})",
            sig.signed_at,
            rfc3339(now)
        )));
    }
    if expires <= signed_at {
        return Err(invalid(format!(
            "the certificate expires ({}) no later than it was signed ({})",
            sig.expires_at, sig.signed_at
        )));
    }
    if now > expires {
        return Err(invalid(format!(
            "the certificate expired at {} (now {})",
            sig.expires_at,
            rfc3339(now)
        )));
    }
    Ok(Verified {
        file: sig.file,
        key_fingerprint: sig.key_fingerprint,
        signed_at: sig.signed_at,
        expires_at: sig.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn signed(bytes: &[u8]) -> (String, DateTime<Utc>) {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .map(|t| t.to_utc())
            .unwrap();
        let sig = sign(&key(1), "report.json", bytes, now, now + TimeDelta::days(30));
        (serde_json::to_string_pretty(&sig).unwrap(), now)
    }

    #[test]
    fn round_trip_holds_until_expiry() {
        let (text, now) = signed(b"{\"verdict\": \"CONFORMANT\"}\n");
        let ok = verify(&text, b"{\"verdict\": \"CONFORMANT\"}\n", &key(1).verifying_key(), now);
        assert_eq!(ok.unwrap().expires_at, "2026-01-31T00:00:00Z");
        let late = verify(
            &text,
            b"{\"verdict\": \"CONFORMANT\"}\n",
            &key(1).verifying_key(),
            now + TimeDelta::days(31),
        );
        assert!(late.unwrap_err().to_string().contains("expired"));
    }

    #[test]
    fn every_changed_byte_of_the_report_fails() {
        let report = b"{\"verdict\": \"NOT_CONFORMANT\", \"score\": 0.5}\n".to_vec();
        let (text, now) = signed(&report);
        for i in 0..report.len() {
            let mut changed = report.clone();
            changed[i] ^= 0x01;
            let e = verify(&text, &changed, &key(1).verifying_key(), now).unwrap_err();
            assert!(e.to_string().contains("changed after signing"), "byte {i}: {e}");
        }
    }

    #[test]
    fn fields_that_lie_fail_although_signed() {
        let report = b"{}\n";
        let (text, now) = signed(report);
        let honest: SignatureFile = serde_json::from_str(&text).unwrap();
        let k = key(1);
        let check = |change: &dyn Fn(&mut SignatureFile), needle: &str| {
            let mut fields = honest.clone();
            change(&mut fields);
            let forged = serde_json::to_string(&sign_fields(&k, fields, report)).unwrap();
            let e = verify(&forged, report, &k.verifying_key(), now).unwrap_err();
            assert!(e.to_string().contains(needle), "{needle}: {e}");
        };
        check(&|f| f.signed_at = "2026-06-01T00:00:00Z".into(), "in the future");
        check(
            &|f| f.expires_at = "2025-12-31T00:00:00Z".into(),
            "no later than it was signed",
        );
        check(&|f| f.sha256 = "00".repeat(32), "contradicts the report");
        check(&|f| f.size = 99, "contradicts the report");
        check(&|f| f.format = FORMAT_V1.into(), "older format");
        let mut renamed: SignatureFile = honest.clone();
        renamed.file = "other.json".into();
        let e = verify(
            &serde_json::to_string(&renamed).unwrap(),
            report,
            &k.verifying_key(),
            now,
        )
        .unwrap_err();
        assert!(e.to_string().contains("altered"), "{e}");
    }

    #[test]
    fn altered_signature_fields_fail() {
        let report = b"r";
        let (text, now) = signed(report);
        let later = text.replace("2026-01-31T00:00:00Z", "2099-01-31T00:00:00Z");
        let e = verify(&later, report, &key(1).verifying_key(), now).unwrap_err();
        assert!(e.to_string().contains("altered"), "{e}");
        let e = verify(&text, report, &key(2).verifying_key(), now).unwrap_err();
        assert!(e.to_string().contains("wrong key"), "{e}");
        let e = verify("{", report, &key(1).verifying_key(), now).unwrap_err();
        assert!(e.to_string().contains("not a valid certificate"), "{e}");
    }
}
