//! The RSA test keys of the signature process and their JWK form.
//!
//! The keys are committed PEM files under `testkeys/`, each marked as a test key: runs stay deterministic,
//! debug builds skip RSA key generation (slow), and ring cannot generate RSA keys anyway. RS256 is the only
//! algorithm the Reference Offer's examples show (RO-TS 1.3.1, 3.2.2); others are unconfirmed.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::JwkSet;
use rustls_pki_types::PrivatePkcs1KeyDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// An RSA signing key with its public parts.
pub struct TestKey {
    /// Key id: the RFC 7638 JWK thumbprint, so it is derived from the key and stable.
    pub kid: String,
    /// For signing with jsonwebtoken.
    pub encoding: EncodingKey,
    /// Modulus, big-endian.
    pub n: Vec<u8>,
    /// Public exponent, big-endian.
    pub e: Vec<u8>,
    /// The public key as DER `RSAPublicKey` (PKCS#1).
    pub public_der: Vec<u8>,
}

impl TestKey {
    /// Read a PKCS#1 PEM private key (text before the PEM block is ignored).
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, String> {
        let der = PrivatePkcs1KeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("{name}: PEM: {e}"))?;
        let pair = ring::rsa::KeyPair::from_der(der.secret_pkcs1_der()).map_err(|e| format!("{name}: RSA key: {e}"))?;
        let components = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        let kid = thumbprint(&components.n, &components.e);
        Ok(Self {
            kid,
            encoding: EncodingKey::from_rsa_der(der.secret_pkcs1_der()),
            n: components.n,
            e: components.e,
            public_der: pair.public().as_ref().to_vec(),
        })
    }

    /// The public key as a JWK (RSA, RS256, use sig) under `kid`.
    pub fn jwk(&self, kid: &str) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }

    /// A JWK Set holding this key under its own kid.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk(&self.kid)] })
    }

    /// The public key as PEM `RSA PUBLIC KEY`: the bytes a naive verifier may feed to HMAC.
    pub fn public_pem(&self) -> String {
        let body = STANDARD.encode(&self.public_der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

/// RFC 7638 thumbprint of an RSA key: SHA-256 over the canonical JSON of its required members.
fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Parse a JWK Set served by someone, with a clear error that quotes the body only as a short, sanitized
/// excerpt (serde's own message may quote any string of the document whole).
pub fn parse_jwks(body: &[u8]) -> Result<JwkSet, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "not a JWK Set ({:?} error at line {} column {}): {}",
            e.classify(),
            e.line(),
            e.column(),
            crate::sanitize::excerpt(body)
        )
    })
}

fn load(cell: &'static OnceLock<TestKey>, name: &str, pem: &str) -> &'static TestKey {
    cell.get_or_init(|| match TestKey::from_pem(name, pem) {
        Ok(k) => k,
        // The PEM is compiled in and checked by a unit test: failing here is a broken build, not input.
        Err(e) => panic!("committed test key unusable: {e}"),
    })
}

/// The embedded reference provider's token-issuer key (enlistment tokens).
pub fn reference_issuer() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    load(&KEY, "reference-issuer", include_str!("testkeys/reference-issuer.pem"))
}

/// The harness's push-signing key: plays WhatsApp's key, published at the harness's loopback JWKS.
pub fn harness_push() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    load(&KEY, "harness-push", include_str!("testkeys/harness-push.pem"))
}

/// A key nobody publishes: signs the bad-signature and unknown-kid push tokens.
pub fn harness_attacker() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    load(&KEY, "harness-attacker", include_str!("testkeys/harness-attacker.pem"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_keys_load_and_differ() {
        let keys = [reference_issuer(), harness_push(), harness_attacker()];
        for k in keys {
            assert_eq!(k.n.len(), 256, "RSA-2048 modulus");
            assert_eq!(k.e, vec![1, 0, 1], "exponent 65537");
            assert_eq!(k.kid.len(), 43, "base64url SHA-256");
        }
        assert_ne!(keys[0].kid, keys[1].kid);
        assert_ne!(keys[1].kid, keys[2].kid);
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 section 3.1: the example key and its published thumbprint.
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            )
            .expect("RFC example modulus");
        assert_eq!(
            thumbprint(&n, &[1, 0, 1]),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
