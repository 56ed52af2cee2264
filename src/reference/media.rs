//! WhatsApp media encryption in the reference provider (RO-MEDIA-004..007; constants C24-C27 of
//! reference-offer.md).
//!
//! One 32-byte mediaKey is expanded with HKDF-SHA256 (no salt, info `WhatsApp <Type> Keys`, 112 bytes) into
//! iv, cipherKey, macKey and refKey; the file is AES-256-CBC/PKCS7-encrypted and the uploaded blob is
//! `ciphertext || HMAC-SHA256(macKey, iv || ciphertext)[..10]`. This is the open clients' format (whatsmeow,
//! Baileys, whatsapp-rust); that Partner media must use it, and which info strings apply to interop media types,
//! is inferred, not confirmed (reference-offer.md section 5 item 11). AES and HMAC come from wacore-libsignal's
//! crypto module so that `vectors verify` (plain RustCrypto block primitives) is a second computation.

use super::faults::{Fault, Faults};
use crate::provider::{CallError, CallResult, ErrorClass, MediaDecrypt, MediaEncrypt, MediaEncrypted};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wacore_libsignal::crypto::{aes_256_cbc_decrypt_into, aes_256_cbc_encrypt_into, hmac_sha256};

/// Length of the truncated MAC appended to the ciphertext (whatsmeow `mediaHMACLength`).
pub(crate) const MAC_LEN: usize = 10;

/// Length of the HKDF output: iv (16) || cipherKey (32) || macKey (32) || refKey (32).
const EXPANDED_LEN: usize = 112;

/// The HKDF info string of a media type, as Baileys' `MEDIA_HKDF_KEY_MAPPING` (type names are Baileys').
/// `None` for a type this suite does not know: refusing it beats guessing a key.
pub(crate) fn info(media_type: &str) -> Option<&'static str> {
    Some(match media_type {
        "image" | "sticker" => "WhatsApp Image Keys",
        "video" | "gif" | "ptv" => "WhatsApp Video Keys",
        "audio" | "ptt" => "WhatsApp Audio Keys",
        "document" => "WhatsApp Document Keys",
        "thumbnail-image" => "WhatsApp Image Thumbnail Keys",
        "thumbnail-video" => "WhatsApp Video Thumbnail Keys",
        "thumbnail-document" => "WhatsApp Document Thumbnail Keys",
        "thumbnail-link" => "WhatsApp Link Thumbnail Keys",
        _ => return None,
    })
}

/// Planted bug `media-wrong-info`: stickers get a made-up "Sticker" info string instead of the Image one.
fn faulty_info(media_type: &str) -> Option<&'static str> {
    match media_type {
        "sticker" => Some("WhatsApp Sticker Keys"),
        other => info(other),
    }
}

/// The keys expanded from one mediaKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaKeys {
    /// AES-CBC IV, bytes 0..16.
    pub(crate) iv: [u8; 16],
    /// AES-256 key, bytes 16..48.
    pub(crate) cipher_key: [u8; 32],
    /// HMAC-SHA256 key, bytes 48..80.
    pub(crate) mac_key: [u8; 32],
    /// Reference key, bytes 80..112 (not used for encryption).
    pub(crate) ref_key: [u8; 32],
}

/// HKDF-SHA256(mediaKey, no salt, info, 112) split as C24.
pub(crate) fn expand(media_key: &[u8], info: &str) -> MediaKeys {
    let mut okm = [0u8; EXPANDED_LEN];
    hkdf::Hkdf::<Sha256>::new(None, media_key)
        .expand(info.as_bytes(), &mut okm)
        .expect("112 bytes is far below HKDF-SHA256's 8160-byte limit");
    let mut keys = MediaKeys {
        iv: [0; 16],
        cipher_key: [0; 32],
        mac_key: [0; 32],
        ref_key: [0; 32],
    };
    keys.iv.copy_from_slice(&okm[..16]);
    keys.cipher_key.copy_from_slice(&okm[16..48]);
    keys.mac_key.copy_from_slice(&okm[48..80]);
    keys.ref_key.copy_from_slice(&okm[80..]);
    keys
}

/// `HMAC-SHA256(macKey, iv || ciphertext)[..10]` (C25).
pub(crate) fn mac10(keys: &MediaKeys, ciphertext: &[u8]) -> [u8; MAC_LEN] {
    let mut input = Vec::with_capacity(16 + ciphertext.len());
    input.extend_from_slice(&keys.iv);
    input.extend_from_slice(ciphertext);
    let full = hmac_sha256(&keys.mac_key, &input);
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(&full[..MAC_LEN]);
    mac
}

/// AES-256-CBC with PKCS7 padding under the expanded keys.
fn cbc_encrypt(keys: &MediaKeys, plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + 16);
    aes_256_cbc_encrypt_into(plaintext, &keys.cipher_key, &keys.iv, &mut out)
        .expect("key and IV lengths are fixed by the types");
    out
}

/// `ciphertext || mac10` under the expanded keys.
pub(crate) fn seal(keys: &MediaKeys, plaintext: &[u8]) -> Vec<u8> {
    let mut blob = cbc_encrypt(keys, plaintext);
    let mac = mac10(keys, &blob);
    blob.extend_from_slice(&mac);
    blob
}

fn invalid_argument(detail: impl Into<String>) -> CallError {
    CallError::rejected(ErrorClass::InvalidArgument, detail)
}

/// Resolve the type and check the key: both are the caller's arguments, so errors are `invalid_argument`.
fn keys_for(media_type: &str, media_key: &[u8], faults: &Faults) -> CallResult<MediaKeys> {
    let info = if faults.has(Fault::MediaWrongInfo) {
        faulty_info(media_type)
    } else {
        info(media_type)
    }
    .ok_or_else(|| invalid_argument(format!("unknown media type `{media_type}`")))?;
    if media_key.len() != 32 {
        return Err(invalid_argument(format!(
            "media key of {} bytes, expected 32",
            media_key.len()
        )));
    }
    Ok(expand(media_key, info))
}

/// A fresh media key for an upload (RO-MEDIA-003): 32 bytes from the operating system's generator.
fn fresh_media_key(plaintext: &[u8], faults: &Faults) -> [u8; 32] {
    if faults.has(Fault::MediaConvergentKey) {
        // Planted bug: the key is a function of the file (convergent encryption), so the same file always gets
        // the same key (RO-MEDIA-003).
        return Sha256::digest(plaintext).into();
    }
    let mut rng = rand::make_rng::<rand::rngs::StdRng>();
    rand::RngExt::random(&mut rng)
}

/// Encrypt a file: the blob and both hashes (RO-MEDIA-005, RO-MEDIA-006), with the caller's media key or a
/// fresh one that is returned.
pub(crate) fn encrypt(request: &MediaEncrypt, faults: &Faults) -> CallResult<MediaEncrypted> {
    let (media_key, picked) = match &request.media_key {
        Some(key) => (key.0.clone(), None),
        None => {
            let key = fresh_media_key(&request.plaintext, faults).to_vec();
            (key.clone(), Some(key.into()))
        }
    };
    let keys = keys_for(&request.media_type, &media_key, faults)?;
    let blob = seal(&keys, &request.plaintext);
    Ok(MediaEncrypted {
        file_sha256: Sha256::digest(request.plaintext.as_slice()).to_vec().into(),
        file_enc_sha256: Sha256::digest(&blob).to_vec().into(),
        blob: blob.into(),
        media_key: picked,
    })
}

/// A hash field must be exactly 32 bytes and equal to the computed hash.
fn hash_matches(expected: &[u8], actual: &[u8]) -> bool {
    expected.len() == 32 && bool::from(expected.ct_eq(actual))
}

/// Verify and decrypt a blob, in the order of RO-MEDIA-006 (whatsmeow's): (1) fileEncSha256, (2) the blob is
/// longer than the MAC, (3) the MAC, (4) decryption, (5) fileSha256. Nothing is returned unless all pass.
pub(crate) fn decrypt(request: &MediaDecrypt, faults: &Faults) -> CallResult<Vec<u8>> {
    let keys = keys_for(&request.media_type, &request.media_key, faults)?;
    let blob = request.blob.as_slice();
    let check_hashes = !faults.has(Fault::MediaIgnoreHashes);
    if check_hashes && !hash_matches(&request.file_enc_sha256, &Sha256::digest(blob)) {
        return Err(CallError::rejected(
            ErrorClass::BadHash,
            "file_enc_sha256 does not match the blob",
        ));
    }
    // whatsmeow checks the length before the blob hash (ErrTooShortFile); the two orders differ only for a
    // short blob with a wrong hash, which the vectors accept either way.
    if blob.len() <= MAC_LEN {
        return Err(CallError::rejected(
            ErrorClass::InvalidMessage,
            format!("blob of {} bytes is too short", blob.len()),
        ));
    }
    let (ciphertext, mac) = blob.split_at(blob.len() - MAC_LEN);
    if !faults.has(Fault::MediaSkipMac) && !bool::from(mac10(&keys, ciphertext).ct_eq(mac)) {
        return Err(CallError::rejected(ErrorClass::BadMac, "media MAC does not verify"));
    }
    let mut plaintext = Vec::with_capacity(ciphertext.len());
    aes_256_cbc_decrypt_into(ciphertext, &keys.cipher_key, &keys.iv, &mut plaintext)
        .map_err(|e| CallError::rejected(ErrorClass::InvalidMessage, format!("decryption failed: {e}")))?;
    if check_hashes && !hash_matches(&request.file_sha256, &Sha256::digest(&plaintext)) {
        return Err(CallError::rejected(
            ErrorClass::BadHash,
            "file_sha256 does not match the plaintext",
        ));
    }
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_type_has_an_info_string_and_unknown_ones_do_not() {
        for t in ["image", "sticker", "video", "gif", "ptv", "audio", "ptt", "document"] {
            assert!(info(t).is_some(), "{t}");
        }
        assert_eq!(info("Image"), None);
        assert_eq!(info(""), None);
    }

    #[test]
    fn round_trip_and_tamper() {
        let request = MediaEncrypt {
            media_type: "ptt".into(),
            media_key: Some(vec![7u8; 32].into()),
            plaintext: b"voice".to_vec().into(),
        };
        let sealed = encrypt(&request, &Faults::none()).expect("encrypts");
        let mut d = MediaDecrypt {
            media_type: "audio".into(),
            media_key: vec![7u8; 32].into(),
            blob: sealed.blob.clone(),
            file_sha256: sealed.file_sha256.clone(),
            file_enc_sha256: sealed.file_enc_sha256.clone(),
        };
        assert_eq!(decrypt(&d, &Faults::none()).as_deref(), Ok(&b"voice"[..]));
        d.blob.0[0] ^= 1;
        d.file_enc_sha256 = Sha256::digest(d.blob.as_slice()).to_vec().into();
        let class = match decrypt(&d, &Faults::none()) {
            Err(CallError::Rejected { class, .. }) => Some(class),
            _ => None,
        };
        assert_eq!(class, Some(ErrorClass::BadMac));
    }
}
