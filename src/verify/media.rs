//! The suite's own media code (keys, CBC, MAC, the receiver's checks), written apart from the reference's media
//! code: the second computation of every `media` vector ([`crate::family::media::verify`]) and the judge of uploads at run
//! time. Imports no family.
//!
//! Only the AES-256 block function (`aes`) and SHA-256 (`sha2`) are borrowed; HMAC (RFC 2104), HKDF (RFC 5869),
//! CBC chaining and PKCS7 are spelled out here from their specifications, and the type -> info table is copied
//! from RO-MEDIA-007, not from `reference::media`. Each decrypt case is replayed through the receiver's checks in
//! RO-MEDIA-006's order, and some flags are checked for what they claim (a `WrongInfo` blob really is valid under
//! another info string, a `MacWithoutIv` MAC really leaves the IV out, a `ShortBlob` really is short).

use crate::provider::ErrorClass;
use aes::Aes256;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use sha2::{Digest, Sha256};

const BLOCK: usize = 16;
const HMAC_BLOCK: usize = 64;
pub(crate) const MAC_LEN: usize = 10;

/// RO-MEDIA-007's table (reference-offer.md section 2.5), type names as Baileys spells them.
const INFO: [(&str, &str); 12] = [
    ("image", "WhatsApp Image Keys"),
    ("sticker", "WhatsApp Image Keys"),
    ("video", "WhatsApp Video Keys"),
    ("gif", "WhatsApp Video Keys"),
    ("ptv", "WhatsApp Video Keys"),
    ("audio", "WhatsApp Audio Keys"),
    ("ptt", "WhatsApp Audio Keys"),
    ("document", "WhatsApp Document Keys"),
    ("thumbnail-image", "WhatsApp Image Thumbnail Keys"),
    ("thumbnail-video", "WhatsApp Video Thumbnail Keys"),
    ("thumbnail-document", "WhatsApp Document Thumbnail Keys"),
    ("thumbnail-link", "WhatsApp Link Thumbnail Keys"),
];

/// Info strings a confused implementation might use; a `WrongInfo` blob must be valid under one of them.
pub(crate) const CONFUSIONS: [&str; 12] = [
    "WhatsApp Image Keys",
    "WhatsApp Video Keys",
    "WhatsApp Audio Keys",
    "WhatsApp Document Keys",
    "WhatsApp Image Thumbnail Keys",
    "WhatsApp Video Thumbnail Keys",
    "WhatsApp Document Thumbnail Keys",
    "WhatsApp Link Thumbnail Keys",
    "WhatsApp Sticker Keys",
    "WhatsApp Gif Keys",
    "WhatsApp Ptv Keys",
    "WhatsApp Ptt Keys",
];

pub(crate) fn info_for(media_type: &str) -> Option<&'static str> {
    INFO.iter().find(|(t, _)| *t == media_type).map(|(_, i)| *i)
}

pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// HMAC-SHA256 per RFC 2104: H((K ^ opad) || H((K ^ ipad) || m)).
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; HMAC_BLOCK];
    if key.len() > HMAC_BLOCK {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// HKDF-SHA256 per RFC 5869 with an empty salt (a zero-filled block of hash length).
pub(crate) fn hkdf(ikm: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let prk = hmac(&[0u8; 32], &[ikm]);
    let mut okm = Vec::with_capacity(len + 32);
    let mut t: Vec<u8> = Vec::new();
    let mut counter = 1u8;
    while okm.len() < len {
        t = hmac(&prk, &[&t, info, &[counter]]).to_vec();
        okm.extend_from_slice(&t);
        counter += 1;
    }
    okm.truncate(len);
    okm
}

/// iv, cipherKey, macKey (C24; refKey, bytes 80..112, plays no part in encryption).
pub(crate) struct Keys {
    pub(crate) iv: [u8; 16],
    pub(crate) cipher: [u8; 32],
    pub(crate) mac: [u8; 32],
}

pub(crate) fn keys(media_key: &[u8], info: &str) -> Keys {
    let okm = hkdf(media_key, info.as_bytes(), 112);
    let take = |from: usize, to: usize| okm[from..to].to_vec();
    let mut k = Keys {
        iv: [0; 16],
        cipher: [0; 32],
        mac: [0; 32],
    };
    k.iv.copy_from_slice(&take(0, 16));
    k.cipher.copy_from_slice(&take(16, 48));
    k.mac.copy_from_slice(&take(48, 80));
    k
}

/// CBC encryption with PKCS7 padding, block by block.
pub(crate) fn cbc_encrypt(k: &Keys, plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256::new(&k.cipher.into());
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = plaintext.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let mut previous = k.iv;
    for chunk in data.chunks_exact_mut(BLOCK) {
        let mut block = [0u8; BLOCK];
        for (i, b) in block.iter_mut().enumerate() {
            *b = chunk[i] ^ previous[i];
        }
        let mut block = block.into();
        cipher.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
        previous.copy_from_slice(chunk);
    }
    data
}

/// CBC decryption and PKCS7 unpadding; `None` for a ragged length or bad padding.
pub(crate) fn cbc_decrypt(k: &Keys, ciphertext: &[u8]) -> Option<Vec<u8>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
        return None;
    }
    let cipher = Aes256::new(&k.cipher.into());
    let mut out = Vec::with_capacity(ciphertext.len());
    let mut previous: &[u8] = &k.iv;
    for chunk in ciphertext.chunks_exact(BLOCK) {
        let mut block = [0u8; BLOCK];
        block.copy_from_slice(chunk);
        let mut block = block.into();
        cipher.decrypt_block(&mut block);
        out.extend(block.iter().zip(previous).map(|(a, b)| a ^ b));
        previous = chunk;
    }
    let pad = usize::from(*out.last()?);
    if pad == 0 || pad > BLOCK || !out[out.len() - pad..].iter().all(|b| usize::from(*b) == pad) {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

pub(crate) fn mac10(k: &Keys, ciphertext: &[u8]) -> Vec<u8> {
    hmac(&k.mac, &[&k.iv, ciphertext])[..MAC_LEN].to_vec()
}

/// `ciphertext || mac10`.
pub(crate) fn seal(k: &Keys, plaintext: &[u8]) -> Vec<u8> {
    let mut blob = cbc_encrypt(k, plaintext);
    let mac = mac10(k, &blob);
    blob.extend(mac);
    blob
}

/// The receiver's checks in RO-MEDIA-006's order: blob hash, length, MAC, decryption, file hash.
pub(crate) fn receive(
    k: &Keys,
    blob: &[u8],
    file_sha256: &[u8],
    file_enc_sha256: &[u8],
) -> Result<Vec<u8>, ErrorClass> {
    if file_enc_sha256 != sha256(blob).as_slice() {
        return Err(ErrorClass::BadHash);
    }
    if blob.len() <= MAC_LEN {
        return Err(ErrorClass::InvalidMessage);
    }
    let (ciphertext, mac) = blob.split_at(blob.len() - MAC_LEN);
    if mac10(k, ciphertext) != mac {
        return Err(ErrorClass::BadMac);
    }
    let plaintext = cbc_decrypt(k, ciphertext).ok_or(ErrorClass::InvalidMessage)?;
    if file_sha256 != sha256(&plaintext).as_slice() {
        return Err(ErrorClass::BadHash);
    }
    Ok(plaintext)
}

/// Open a blob the way a receiver does (RO-MEDIA-006's order) with this module's own code; the error names the
/// failed check. Used by upload cases to judge blobs under keys the provider picked.
pub(crate) fn open(
    media_type: &str,
    media_key: &[u8],
    blob: &[u8],
    file_sha256: &[u8],
    file_enc_sha256: &[u8],
) -> Result<Vec<u8>, String> {
    let info = info_for(media_type).ok_or_else(|| format!("media type `{media_type}` has no info string"))?;
    receive(&keys(media_key, info), blob, file_sha256, file_enc_sha256)
        .map_err(|class| format!("the blob does not open under the returned media_key: {class}"))
}
