//! Independent re-derivation of the transport known answers (`noise_known_answer`), written from
//! later-phases.md §1.4 on RustCrypto and dalek only, with its own protobuf reading and writing: nothing here
//! calls the suite's transport code ([`crate::transport`]) or the reference's Noise library.

use crate::family::noise_known_answer::{KnownAnswer, expected_values};
use crate::verify::crypto::{self, xeddsa_verify};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

/// Noise §5.2: a name of at most 32 bytes is padded, a longer one hashed.
fn h0(name: &str) -> [u8; 32] {
    if name.len() > 32 {
        return sha256(&[name.as_bytes()]);
    }
    let mut h = [0u8; 32];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h
}

/// AES-256-GCM open with nonce `00×8 ‖ u32be(n)` and AAD.
fn open(key: &[u8], n: u32, aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    let mut iv = [0u8; 12];
    iv[8..].copy_from_slice(&n.to_be_bytes());
    Aes256Gcm::new_from_slice(key)
        .ok()?
        .decrypt(&Nonce::from(iv), Payload { msg: ct, aad })
        .ok()
}

/// Protobuf fields of one message: (number, varint value or bytes).
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(b: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let key = varint(b, &mut at)?;
        let value = match key & 7 {
            0 => Field::Varint(varint(b, &mut at)?),
            2 => {
                let n = usize::try_from(varint(b, &mut at)?).ok()?;
                let v = b.get(at..at.checked_add(n)?)?;
                at += n;
                Field::Bytes(v)
            }
            _ => return None,
        };
        out.push((key >> 3, value));
    }
    Some(out)
}

fn bytes_field<'a>(f: &[(u64, Field<'a>)], n: u64) -> Option<&'a [u8]> {
    f.iter().rev().find_map(|(k, v)| match v {
        Field::Bytes(b) if *k == n => Some(*b),
        _ => None,
    })
}

fn varint_field(f: &[(u64, Field<'_>)], n: u64) -> Option<u64> {
    f.iter().rev().find_map(|(k, v)| match v {
        Field::Varint(x) if *k == n => Some(*x),
        _ => None,
    })
}

/// XEdDSA over a raw 32-byte Montgomery key (certificates carry no 0x05 type byte).
fn xeddsa_raw(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    xeddsa_verify(&[&[0x05u8][..], key].concat(), message, signature).is_ok()
}

/// The first RO-TRANSPORT-007 rule a chain breaks, named as `ChainRule` serializes, or `None` when it holds.
fn chain_verdict(root: &[u8], chain: &[u8], server_static: &[u8], now: u64) -> Option<&'static str> {
    let cert = |n: u64| -> Option<(&[u8], &[u8])> {
        let c = fields(bytes_field(&fields(chain)?, n)?)?;
        Some((bytes_field(&c, 1)?, bytes_field(&c, 2)?))
    };
    let (Some((leaf, leaf_sig)), Some((inter, inter_sig))) = (cert(1), cert(2)) else {
        return Some("structure");
    };
    let (Some(leaf_d), Some(inter_d)) = (fields(leaf), fields(inter)) else {
        return Some("structure");
    };
    if !xeddsa_raw(root, inter, inter_sig) {
        return Some("intermediate_signature");
    }
    if varint_field(&inter_d, 2).unwrap_or(0) != 0 {
        return Some("intermediate_issuer_serial");
    }
    if !xeddsa_raw(bytes_field(&inter_d, 3).unwrap_or_default(), leaf, leaf_sig) {
        return Some("leaf_signature");
    }
    if varint_field(&leaf_d, 2).unwrap_or(0) != varint_field(&inter_d, 1).unwrap_or(0) {
        return Some("leaf_issuer_serial");
    }
    if bytes_field(&leaf_d, 3) != Some(server_static) {
        return Some("leaf_key");
    }
    let inside = |d: &[(u64, Field<'_>)]| {
        varint_field(d, 4).unwrap_or(0) <= now && now <= varint_field(d, 5).unwrap_or(u64::MAX)
    };
    if !inside(&inter_d) || !inside(&leaf_d) {
        return Some("validity");
    }
    None
}

fn protobuf_len(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut v = n;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn u24(n: usize) -> [u8; 3] {
    [(n >> 16) as u8, (n >> 8) as u8, n as u8]
}

/// The independent answer for one case: named values as `expected_values` names them, or why it was refused.
pub fn compute(ka: &KnownAnswer) -> Result<Vec<(String, String)>, String> {
    fn hex(b: impl AsRef<[u8]>) -> String {
        hex::encode(b)
    }
    match ka {
        KnownAnswer::InitialHash { protocol, prologue, .. } => {
            let h = h0(protocol);
            Ok(vec![("h0".into(), hex(h)), ("h1".into(), hex(sha256(&[&h, prologue])))])
        }
        KnownAnswer::XxTranscript {
            client_ephemeral_private,
            server_ephemeral,
            server_static_ciphertext: c1,
            server_payload_ciphertext: c2,
            ..
        } => {
            let mut e = [0u8; 32];
            let mut es = [0u8; 32];
            if client_ephemeral_private.len() != 32 || server_ephemeral.len() != 32 {
                return Err("keys of 32 bytes".into());
            }
            e.copy_from_slice(client_ephemeral_private);
            es.copy_from_slice(server_ephemeral);
            let mut out = Vec::new();
            let name = h0("Noise_XX_25519_AESGCM_SHA256");
            let mut h = sha256(&[&name, &[0x57, 0x41, 0x06, 0x03]]);
            out.push(("h prologue".into(), hex(h)));
            h = sha256(&[&h, &crypto::public_of(&e)]);
            out.push(("h e_c".into(), hex(h)));
            h = sha256(&[&h, &es]);
            out.push(("h e_s".into(), hex(h)));
            let okm = crypto::hkdf(Some(&name), &crypto::x25519(&e, &es), &[], 64);
            out.push(("ck ee".into(), hex(&okm[..32])));
            let stat = open(&okm[32..], 0, &h, c1).ok_or("static: AES-GCM refused")?;
            out.push(("static".into(), hex(&stat)));
            h = sha256(&[&h, c1]);
            out.push(("h static".into(), hex(h)));
            let mut s = [0u8; 32];
            if stat.len() != 32 {
                return Err(format!("static of {} bytes", stat.len()));
            }
            s.copy_from_slice(&stat);
            let okm = crypto::hkdf(Some(&okm[..32]), &crypto::x25519(&e, &s), &[], 64);
            out.push(("ck es".into(), hex(&okm[..32])));
            let cert = open(&okm[32..], 0, &h, c2).ok_or("cert: AES-GCM refused")?;
            out.push(("cert".into(), hex(&cert)));
            out.push(("h cert".into(), hex(sha256(&[&h, c2]))));
            Ok(out)
        }
        KnownAnswer::CertChain {
            root_key,
            chain,
            server_static,
            now,
            ..
        } => match chain_verdict(root_key, chain, server_static, *now) {
            None => Ok(vec![("chain".into(), "accepted".into())]),
            Some(rule) => Err(rule.to_string()),
        },
        KnownAnswer::FirstFrame {
            ephemeral,
            routing_info,
            ..
        } => {
            let mut out = Vec::new();
            if let Some(info) = routing_info {
                out.extend_from_slice(b"ED\x00\x01");
                out.extend_from_slice(&u24(info.len()));
                out.extend_from_slice(info);
            }
            out.extend_from_slice(b"WA\x06\x03");
            // HandshakeMessage{clientHello(2){ephemeral(1)}}
            let mut hello = vec![0x0a];
            hello.extend(protobuf_len(ephemeral.len()));
            hello.extend_from_slice(ephemeral);
            let mut body = vec![0x12];
            body.extend(protobuf_len(hello.len()));
            body.extend(hello);
            out.extend_from_slice(&u24(body.len()));
            out.extend(body);
            Ok(vec![("frame".into(), hex(out))])
        }
        KnownAnswer::Nonce { counter, .. } => {
            let mut n = vec![0u8; 8];
            n.extend_from_slice(&counter.to_be_bytes());
            Ok(vec![("nonce".into(), hex(n))])
        }
        KnownAnswer::ClientPayload {
            product,
            account_id,
            token,
            ..
        } => {
            // interopData(38){accountID(1) varint, token(2) bytes}, after product(20) varint.
            let mut interop = vec![0x08];
            interop.extend(varint_bytes(*account_id));
            interop.push(0x12);
            interop.extend(protobuf_len(token.len()));
            interop.extend_from_slice(token.as_bytes());
            let mut out = vec![0xa0, 0x01];
            out.extend(varint_bytes(u64::try_from(*product).map_err(|_| "negative product")?));
            out.extend_from_slice(&[0xb2, 0x02]);
            out.extend(protobuf_len(interop.len()));
            out.extend(interop);
            Ok(vec![("encoding".into(), hex(out))])
        }
        KnownAnswer::BinaryXmlHeader { bytes, .. } => binary_xml_header(bytes),
    }
}

fn varint_bytes(v: u64) -> Vec<u8> {
    protobuf_len(usize::try_from(v).unwrap_or(usize::MAX))
}

/// Reads `LIST_8 n`, the tag token and `key value` pairs made of single-byte tokens and `JID_PAIR`s of a
/// `NIBBLE_8` user and a server token: all the Reference Offer's example header uses (C38).
fn binary_xml_header(b: &[u8]) -> Result<Vec<(String, String)>, String> {
    let token = |t: u8| -> Result<String, String> {
        let name = match t {
            3 => "s.whatsapp.net",
            4 => "type",
            6 => "from",
            8 => "id",
            17 => "to",
            19 => "message",
            24 => "notify",
            56 => "text",
            _ => return Err(format!("token {t}")),
        };
        Ok(name.to_string())
    };
    let mut it = b.iter().copied();
    let mut next = || it.next().ok_or_else(|| "truncated".to_string());
    if next()? != 248 {
        return Err("not LIST_8".into());
    }
    let size = next()?;
    let mut out = vec![
        ("list_size".to_string(), size.to_string()),
        ("tag".into(), token(next()?)?),
    ];
    let mut rest: Vec<u8> = b[3..].to_vec();
    while !rest.is_empty() {
        let key = token(rest[0])?;
        let (value, used) = match rest.get(1) {
            Some(250) => {
                let head = *rest.get(3).ok_or("truncated")?;
                if rest[2] != 255 {
                    return Err("JID user is not NIBBLE_8".into());
                }
                let n = usize::from(head & 0x7f);
                let packed = rest.get(4..4 + n).ok_or("truncated")?;
                let mut digits: String = packed.iter().map(|x| format!("{x:02x}")).collect();
                if head & 0x80 != 0 {
                    digits.pop();
                }
                let server = token(*rest.get(4 + n).ok_or("truncated")?)?;
                (format!("{digits}@{server}"), 5 + n)
            }
            Some(t) => (token(*t)?, 2),
            None => return Err("truncated".into()),
        };
        out.push((key, value));
        rest.drain(..used);
    }
    Ok(out)
}

/// Compare the independent answer with the vector: `Ok(())` when they agree, else (vector, independent).
pub fn check(expected: crate::vector_format::Expected, ka: &KnownAnswer) -> Result<(), (String, String)> {
    let want = expected_values(ka);
    let render = |v: &[(String, String)]| v.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
    match (expected, compute(ka)) {
        (crate::vector_format::Expected::Valid, Ok(got)) if got == want => Ok(()),
        (crate::vector_format::Expected::Invalid, Err(why)) => match ka {
            KnownAnswer::CertChain {
                broken_rule: Some(rule),
                ..
            } => {
                let named = serde_json::to_value(rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
                if named.as_deref() == Some(why.as_str()) {
                    Ok(())
                } else {
                    Err((format!("rejected by rule {named:?}"), format!("rejected by rule {why}")))
                }
            }
            _ => Ok(()),
        },
        (_, Ok(got)) => Err((render(&want), render(&got))),
        (_, Err(why)) => Err((render(&want), format!("rejected: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KAT-T3 evidence: the root's intermediate signature fails when the root bytes are read as an Ed25519 key.
    #[test]
    fn the_root_is_not_an_ed25519_key() {
        let (details, sig) = (
            hex::decode(KAT_T3_INTERMEDIATE).unwrap(),
            hex::decode(KAT_T3_INTERMEDIATE_SIG).unwrap(),
        );
        let root = hex::decode("142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b").unwrap();
        assert!(xeddsa_raw(&root, &details, &sig), "XEdDSA accepts");
        let key = ed25519_dalek::VerifyingKey::from_bytes(&root.clone().try_into().unwrap());
        let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        let ed = key.map(|k| k.verify_strict(&details, &sig).is_ok()).unwrap_or(false);
        assert!(!ed, "plain Ed25519 with the same 32 bytes refuses");
    }

    const KAT_T3_INTERMEDIATE: &str =
        "080310001a201c51a9ac303994c6c8d0b92ea1878a533476599cc599fbea35997d9aa90cce62208091aebe0628ffdeb7dc06";
    const KAT_T3_INTERMEDIATE_SIG: &str = "270f294648539fed4870e25054dd4e95983aba29189c2ba6c8eeda7055555f753740f5ec192ab64c26c26d6ade6d20b9f774aee37120a6b20395f53c66058507";
}
