//! Signed certificates: a detached Ed25519 signature over the exact bytes of a `report.json`, with an expiry,
//! checkable offline (`conformance report keygen | sign | verify`).
//!
//! File formats (all UTF-8 text; lines starting with `#` are comments):
//! - private key `PREFIX`: one line `conformance-ed25519-private-v1 <64 hex: the 32-byte Ed25519 seed>`,
//!   written with mode 0600 on Unix;
//! - public key `PREFIX.pub`: one line `conformance-ed25519-public-v1 <64 hex: the 32-byte public key>`;
//! - signature `REPORT.json.sig`: a JSON object [`SignatureFile`]. The signed message is the text
//!   `conformance-signature-v1\nsha256 <hex>\nsize <bytes>\nsigned_at <RFC 3339>\nexpires_at <RFC 3339>\n\
//!   key_fingerprint <fp>\n` followed by the report's exact bytes, so the expiry and the signer are covered too.
//!
//! The key fingerprint is `sha256:` and the first 32 hex digits of the SHA-256 of the 32-byte public key.
//! Verification uses `verify_strict` (rejects small-order keys and non-canonical signatures).

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const PRIVATE_TAG: &str = "conformance-ed25519-private-v1";
const PUBLIC_TAG: &str = "conformance-ed25519-public-v1";
const FORMAT: &str = "conformance-signature-v1";

/// A detached signature, as stored in `REPORT.json.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// `conformance-signature-v1`.
    pub format: String,
    /// `ed25519`.
    pub algorithm: String,
    /// Name of the signed file when it was signed (informational; not part of what is checked).
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
    let text = std::fs::read_to_string(path).map_err(|e| CertError::input(path, format!("cannot read: {e}")))?;
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
    let mut message = format!(
        "{FORMAT}\nsha256 {}\nsize {}\nsigned_at {}\nexpires_at {}\nkey_fingerprint {}\n",
        sig.sha256, sig.size, sig.signed_at, sig.expires_at, sig.key_fingerprint
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
    let mut sig = SignatureFile {
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
    sig.signature = hex::encode(key.sign(&signed_message(&sig, bytes)).to_bytes());
    sig
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
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
    let expires = DateTime::parse_from_rfc3339(&sig.expires_at)
        .map_err(|e| invalid(format!("bad expires_at `{}`: {e}", sig.expires_at)))?;
    if now > expires {
        return Err(invalid(format!(
            "the certificate expired at {} (now {})",
            sig.expires_at,
            rfc3339(now)
        )));
    }
    Ok(Verified {
        key_fingerprint: sig.key_fingerprint,
        signed_at: sig.signed_at,
        expires_at: sig.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

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
