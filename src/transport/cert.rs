//! The Noise server certificate chain (RO-TRANSPORT-007/015): the rules a client applies before it sends its
//! ClientFinish, and the issuing of chains under a test root with XEdDSA signatures, as the suite's responder
//! presents them. Layout and rules follow the real chain of KAT-T3 (later-phases.md §1.4 item 5, L6).

use crate::transport_wire::{CertChain, CertDetails, NoiseCertificate};
use crate::verify::crypto::xeddsa_verify;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use prost::Message;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

/// WhatsApp's Noise root key (Montgomery form; reference-offer.md C33).
pub const WHATSAPP_ROOT: &str = "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b";

/// The rule of RO-TRANSPORT-007 a chain breaks, in the order a client checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChainRule {
    /// The ServerHello payload is not a `CertChain` with both certificates, details and signatures.
    Structure,
    /// Rule 1: the intermediate's 64-byte XEdDSA signature under the root.
    IntermediateSignature,
    /// Rule 2: the intermediate's `issuerSerial` is 0.
    IntermediateIssuerSerial,
    /// Rule 3: the leaf's XEdDSA signature under the intermediate's key.
    LeafSignature,
    /// Rule 4: the leaf's `issuerSerial` equals the intermediate's `serial`.
    LeafIssuerSerial,
    /// Rule 5: the leaf's key equals the decrypted server static key.
    LeafKey,
    /// Rule 6: the clock lies in both validity windows.
    Validity,
}

/// A chain that fails a rule, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFault {
    /// The rule.
    pub rule: ChainRule,
    /// Why.
    pub detail: String,
}

fn fault(rule: ChainRule, detail: impl Into<String>) -> ChainFault {
    ChainFault {
        rule,
        detail: detail.into(),
    }
}

/// A certificate's parsed details beside its signed bytes.
struct Cert {
    signed: Vec<u8>,
    signature: Vec<u8>,
    details: CertDetails,
}

fn parse_cert(cert: Option<&NoiseCertificate>, which: &str) -> Result<Cert, ChainFault> {
    let cert = cert.ok_or_else(|| fault(ChainRule::Structure, format!("no {which} certificate")))?;
    let (Some(signed), Some(signature)) = (&cert.details, &cert.signature) else {
        return Err(fault(
            ChainRule::Structure,
            format!("{which}: details or signature missing"),
        ));
    };
    let details = CertDetails::decode(signed.as_slice())
        .map_err(|e| fault(ChainRule::Structure, format!("{which} details: {e}")))?;
    Ok(Cert {
        signed: signed.clone(),
        signature: signature.clone(),
        details,
    })
}

/// Noise certificates carry raw 32-byte Montgomery keys; the XEdDSA verifier reads `0x05 || key`.
fn verify_raw(key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), String> {
    let mut serialized = vec![0x05];
    serialized.extend_from_slice(key);
    xeddsa_verify(&serialized, message, signature).map_err(|r| r.detail)
}

/// Check a serialized `CertChain` against the root key, the server static key and a clock (Unix seconds),
/// rule by rule in the order of RO-TRANSPORT-007.
pub fn check_chain(root: &[u8], chain: &[u8], server_static: &[u8], now: u64) -> Result<(), ChainFault> {
    let chain = CertChain::decode(chain).map_err(|e| fault(ChainRule::Structure, format!("CertChain: {e}")))?;
    let inter = parse_cert(chain.intermediate.as_ref(), "intermediate")?;
    let leaf = parse_cert(chain.leaf.as_ref(), "leaf")?;
    verify_raw(root, &inter.signed, &inter.signature).map_err(|d| fault(ChainRule::IntermediateSignature, d))?;
    if inter.details.issuer_serial.unwrap_or(0) != 0 {
        return Err(fault(
            ChainRule::IntermediateIssuerSerial,
            "intermediate issuerSerial is not 0",
        ));
    }
    let inter_key = inter.details.key.clone().unwrap_or_default();
    verify_raw(&inter_key, &leaf.signed, &leaf.signature).map_err(|d| fault(ChainRule::LeafSignature, d))?;
    if leaf.details.issuer_serial.unwrap_or(0) != inter.details.serial.unwrap_or(0) {
        return Err(fault(
            ChainRule::LeafIssuerSerial,
            "leaf issuerSerial is not the intermediate's serial",
        ));
    }
    if leaf.details.key.as_deref() != Some(server_static) {
        return Err(fault(ChainRule::LeafKey, "leaf key is not the server static key"));
    }
    for (which, d) in [("intermediate", &inter.details), ("leaf", &leaf.details)] {
        let (from, until) = (d.not_before.unwrap_or(0), d.not_after.unwrap_or(u64::MAX));
        if now < from {
            return Err(fault(ChainRule::Validity, format!("{which} not valid before {from}")));
        }
        if now > until {
            return Err(fault(ChainRule::Validity, format!("{which} expired at {until}")));
        }
    }
    Ok(())
}

/// An XEdDSA signature by a Curve25519 private key (Signal's XEdDSA: the Edwards sign bit travels in
/// `sig[63]`), with 64 bytes of caller randomness `z`.
pub fn xeddsa_sign(private: &[u8; 32], message: &[u8], z: &[u8; 64]) -> [u8; 64] {
    let a = Scalar::from_bytes_mod_order(clamp_integer(*private));
    let public = EdwardsPoint::mul_base(&a).compress().to_bytes();
    let mut prefix = [0xffu8; 32];
    prefix[0] = 0xfe;
    let r = Scalar::from_hash(
        Sha512::new()
            .chain_update(prefix)
            .chain_update(a.to_bytes())
            .chain_update(message)
            .chain_update(z),
    );
    let big_r = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let h = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r)
            .chain_update(public)
            .chain_update(message),
    );
    let s = r + h * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(&s.to_bytes());
    sig[63] |= public[31] & 0x80;
    sig
}

/// A certificate to issue: its details and who signs them.
pub struct Issue<'a> {
    /// The details, serialized as they are.
    pub details: CertDetails,
    /// The issuer's private key.
    pub issuer: &'a [u8; 32],
    /// Signing randomness.
    pub z: [u8; 64],
}

/// Sign details into a `NoiseCertificate`.
pub fn certificate(issue: &Issue<'_>) -> NoiseCertificate {
    let details = issue.details.encode_to_vec();
    let signature = xeddsa_sign(issue.issuer, &details, &issue.z);
    NoiseCertificate {
        details: Some(details),
        signature: Some(signature.to_vec()),
    }
}

/// Serialize a chain.
pub fn chain_bytes(leaf: NoiseCertificate, intermediate: NoiseCertificate) -> Vec<u8> {
    CertChain {
        leaf: Some(leaf),
        intermediate: Some(intermediate),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_independently() {
        let other = crate::verify::crypto::public_of(&[0xaa; 32]);
        for n in 0..8u8 {
            let sig = xeddsa_sign(&[n; 32], b"details", &[n; 64]);
            let pk = crate::verify::crypto::public_of(&[n; 32]);
            assert!(verify_raw(&pk, b"details", &sig).is_ok(), "key {n}");
            assert!(
                verify_raw(&other, b"details", &sig).is_err(),
                "key {n} under another key"
            );
            assert!(verify_raw(&pk, b"detailz", &sig).is_err(), "key {n} over other bytes");
        }
    }
}
