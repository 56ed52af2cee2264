//! Must-reject media blobs: tampered ciphertext and MACs, short blobs, wrong or malformed hash fields, and
//! pairs of faults whose rejection class shows the order of the receiver's checks.

use super::{flip, keys, random, reject, sha256};
use crate::bytes::Bytes;
use crate::family::media::{Group, Test};
use crate::provider::ErrorClass;
use crate::reference::media::{MAC_LEN, MediaKeys, mac10, seal};
use rand::rngs::StdRng;
use wacore_libsignal::crypto::hmac_sha256;

/// (id suffix, comment, blob, flags, accepted classes) of a MAC mutation.
type MacRow<'a> = (&'a str, &'a str, &'a [u8], &'a [&'a str], &'a [ErrorClass]);
/// (id suffix, comment, flags, fileSha256, fileEncSha256, accepted classes) of a hash mutation.
type HashRow<'a> = (&'a str, &'a str, &'a [&'a str], Bytes, Bytes, &'a [ErrorClass]);
/// (id suffix, comment, flags, blob, fileSha256, fileEncSha256, accepted classes) of a check-order case.
type OrderRow<'a> = (
    &'a str,
    &'a str,
    &'a [&'a str],
    &'a [u8],
    Bytes,
    Bytes,
    &'a [ErrorClass],
);

/// Tampered blobs: each breaks one thing, with the hashes fixed up so that only the intended check can fire.
pub(super) fn group(rng: &mut StdRng, media_type: &str, everything: bool) -> Result<Group, String> {
    use ErrorClass::{BadMac, InvalidMessage};
    let media_key = random(rng, 32);
    let k = keys(media_type, &media_key)?;
    let plaintext = random(rng, 50);
    let blob = seal(&k, &plaintext);
    let ct = &blob[..blob.len() - MAC_LEN];
    let id = |what: &str| format!("media.{media_type}.{what}");
    let good_file = sha256(&plaintext);
    let mut tests = Vec::new();
    // A flipped ciphertext bit, with fileEncSha256 of the tampered blob: the MAC must catch it.
    for (what, index, comment) in [
        ("flip-ct-first", 0, "bit 0 of ciphertext byte 0 flipped"),
        ("flip-ct-middle", 20, "one bit of ciphertext byte 20 flipped"),
        (
            "flip-ct-last",
            ct.len() - 1,
            "the last ciphertext byte flipped: unpadding would fail too, but the MAC is checked first (no padding oracle)",
        ),
    ] {
        let bad = flip(&blob, index, 0x01);
        let f: &[&str] = if what == "flip-ct-last" {
            &["FlippedCiphertext", "CheckOrder"]
        } else {
            &["FlippedCiphertext"]
        };
        tests.push(reject(
            id(what),
            comment,
            &["RO-MEDIA-005"],
            f,
            &bad,
            good_file.clone(),
            sha256(&bad),
            &[BadMac],
        ));
    }
    if !everything {
        return Ok(Group {
            comment: format!("{media_type}: tampered blobs"),
            media_type: media_type.into(),
            media_key: Some(Bytes(media_key)),
            tests,
        });
    }
    for (what, index) in [("flip-mac-first", ct.len()), ("flip-mac-last", blob.len() - 1)] {
        let bad = flip(&blob, index, 0x80);
        tests.push(reject(
            id(what),
            "one bit of the 10-byte MAC flipped",
            &["RO-MEDIA-005"],
            &["ModifiedMac"],
            &bad,
            good_file.clone(),
            sha256(&bad),
            &[BadMac],
        ));
    }
    let with_mac = |mac: &[u8]| [ct, mac].concat();
    let no_iv = with_mac(&hmac_sha256(&k.mac_key, ct)[..MAC_LEN]);
    let iv_after = with_mac(&hmac_sha256(&k.mac_key, &[ct, &k.iv[..]].concat())[..MAC_LEN]);
    let full = hmac_sha256(&k.mac_key, &[&k.iv[..], ct].concat());
    let full_mac = with_mac(&full);
    let short_mac = with_mac(&full[..8]);
    let mac_cases: [MacRow<'_>; 4] = [
        (
            "mac-without-iv",
            "MAC = HMAC-SHA256(macKey, ciphertext)[..10]: the IV is left out",
            &no_iv,
            &["MacWithoutIv"],
            &[BadMac],
        ),
        (
            "mac-iv-after",
            "MAC = HMAC-SHA256(macKey, ciphertext || iv)[..10]: the IV in the wrong place",
            &iv_after,
            &["MacWithoutIv"],
            &[BadMac],
        ),
        (
            "mac-untruncated",
            "the whole 32-byte HMAC appended: the receiver takes the last 10 bytes as the MAC",
            &full_mac,
            &["MacLength"],
            &[BadMac, InvalidMessage],
        ),
        (
            "mac-8-bytes",
            "only 8 MAC bytes appended (the Whisper MAC length, not the media one)",
            &short_mac,
            &["MacLength"],
            &[BadMac, InvalidMessage],
        ),
    ];
    for (what, comment, bad, f, errors) in mac_cases {
        tests.push(reject(
            id(what),
            comment,
            &["RO-MEDIA-005"],
            f,
            bad,
            good_file.clone(),
            sha256(bad),
            errors,
        ));
    }
    // Blobs of 0..=10 bytes, with a matching fileEncSha256: too short to hold a MAC and any ciphertext.
    for n in 0..=MAC_LEN {
        let short = &blob[blob.len() - n..];
        tests.push(reject(
            id(&format!("short-{n}")),
            &format!("a {n}-byte blob (the last {n} bytes of an honest one)"),
            &["RO-MEDIA-005"],
            &["ShortBlob"],
            short,
            good_file.clone(),
            sha256(short),
            &[InvalidMessage],
        ));
    }
    let empty_mac = mac10(&k, &[]);
    tests.push(reject(
        id("short-10-valid-mac"),
        "10 bytes that are a valid MAC over the IV and an empty ciphertext: still too short",
        &["RO-MEDIA-005"],
        &["ShortBlob"],
        &empty_mac,
        sha256(b""),
        sha256(&empty_mac),
        &[InvalidMessage],
    ));
    hash_cases(&mut tests, &blob, &plaintext, ct, &id);
    order_cases(&mut tests, &k, &blob, &plaintext, &id);
    Ok(Group {
        comment: format!("{media_type}: tampered blobs, wrong hashes, and the order of the receiver's checks"),
        media_type: media_type.into(),
        media_key: Some(Bytes(media_key)),
        tests,
    })
}

/// Wrong, short or swapped hash fields on an honest blob.
fn hash_cases(tests: &mut Vec<Test>, blob: &[u8], plaintext: &[u8], ct: &[u8], id: &dyn Fn(&str) -> String) {
    use ErrorClass::{BadHash, InvalidArgument};
    let (file, enc) = (sha256(plaintext), sha256(blob));
    let flipped = |h: &Bytes| Bytes(flip(h, 31, 0x01));
    let short = |h: &Bytes| Bytes(h[..31].to_vec());
    let long = |h: &Bytes| Bytes([&h[..], &[0u8]].concat());
    let strict: &[ErrorClass] = &[BadHash];
    let shape: &[ErrorClass] = &[BadHash, InvalidArgument];
    let cases: [HashRow<'_>; 10] = [
        (
            "file-sha256-flipped",
            "fileSha256 with one bit flipped: rejected after decryption, nothing shown",
            &["WrongFileHash"],
            flipped(&file),
            enc.clone(),
            strict,
        ),
        (
            "file-sha256-of-blob",
            "fileSha256 = SHA-256(blob) instead of SHA-256(plaintext)",
            &["WrongFileHash"],
            enc.clone(),
            enc.clone(),
            strict,
        ),
        (
            "file-sha256-31-bytes",
            "fileSha256 truncated to 31 bytes (a prefix of the right hash)",
            &["WrongFileHash", "HashLength"],
            short(&file),
            enc.clone(),
            shape,
        ),
        (
            "file-sha256-33-bytes",
            "fileSha256 with a zero byte appended",
            &["WrongFileHash", "HashLength"],
            long(&file),
            enc.clone(),
            shape,
        ),
        (
            "file-sha256-empty",
            "an empty fileSha256: a missing hash is not a skipped check",
            &["WrongFileHash", "HashLength"],
            Bytes::default(),
            enc.clone(),
            shape,
        ),
        (
            "file-enc-sha256-flipped",
            "fileEncSha256 with one bit flipped: rejected before decryption",
            &["WrongEncHash"],
            file.clone(),
            flipped(&enc),
            strict,
        ),
        (
            "file-enc-sha256-without-mac",
            "fileEncSha256 over the ciphertext alone, without the MAC",
            &["WrongEncHash"],
            file.clone(),
            sha256(ct),
            strict,
        ),
        (
            "file-enc-sha256-31-bytes",
            "fileEncSha256 truncated to 31 bytes",
            &["WrongEncHash", "HashLength"],
            file.clone(),
            short(&enc),
            shape,
        ),
        (
            "file-enc-sha256-empty",
            "an empty fileEncSha256",
            &["WrongEncHash", "HashLength"],
            file.clone(),
            Bytes::default(),
            shape,
        ),
        (
            "hashes-swapped",
            "fileSha256 and fileEncSha256 swapped",
            &["WrongEncHash"],
            enc.clone(),
            file.clone(),
            strict,
        ),
    ];
    for (what, comment, f, file_sha256, file_enc_sha256, errors) in cases {
        tests.push(reject(
            id(what),
            comment,
            &["RO-MEDIA-006"],
            f,
            blob,
            file_sha256,
            file_enc_sha256,
            errors,
        ));
    }
}

/// Two faults at once: the class observed shows which check ran first.
fn order_cases(tests: &mut Vec<Test>, k: &MediaKeys, blob: &[u8], plaintext: &[u8], id: &dyn Fn(&str) -> String) {
    use ErrorClass::{BadHash, BadMac, InvalidMessage};
    let ct = &blob[..blob.len() - MAC_LEN];
    let remac = |ct: &[u8]| [ct, &mac10(k, ct)[..]].concat();
    let good_file = sha256(plaintext);
    let wrong_file = Bytes(flip(&good_file, 0, 0x01));
    let flipped = flip(blob, 0, 0x01);
    // Flipping the last byte of the second-to-last block flips the last padding byte: unpadding must fail.
    let bad_padding = remac(&flip(ct, ct.len() - 17, 0x01));
    let unaligned = remac(&ct[..ct.len() - 1]);
    let garbled = remac(&flip(ct, 3, 0x01));
    let short = &blob[blob.len() - 5..];
    let cases: [OrderRow<'_>; 8] = [
        (
            "order.enc-hash-before-mac",
            "wrong fileEncSha256 and a flipped ciphertext bit: the blob hash is checked first",
            &["CheckOrder", "WrongEncHash"],
            &flipped,
            good_file.clone(),
            sha256(blob),
            &[BadHash],
        ),
        (
            "order.enc-hash-before-file-hash",
            "wrong fileEncSha256 and wrong fileSha256 on an honest blob",
            &["CheckOrder", "WrongEncHash"],
            blob,
            wrong_file.clone(),
            Bytes(flip(&sha256(blob), 5, 0x01)),
            &[BadHash],
        ),
        (
            "order.mac-before-file-hash",
            "a flipped ciphertext bit (blob hash fixed up) and a wrong fileSha256: the MAC fails first",
            &["CheckOrder", "FlippedCiphertext"],
            &flipped,
            wrong_file.clone(),
            sha256(&flipped),
            &[BadMac],
        ),
        (
            "order.valid-mac-bad-padding",
            "a valid MAC over a ciphertext whose padding is broken: decryption fails",
            &["CheckOrder", "BadPadding"],
            &bad_padding,
            good_file.clone(),
            sha256(&bad_padding),
            &[InvalidMessage],
        ),
        (
            "order.decrypt-before-file-hash",
            "as above with a wrong fileSha256 too: decryption fails before the plaintext hash is looked at",
            &["CheckOrder", "BadPadding"],
            &bad_padding,
            wrong_file.clone(),
            sha256(&bad_padding),
            &[InvalidMessage],
        ),
        (
            "order.valid-mac-unaligned",
            "a valid MAC over a ciphertext one byte short of a block multiple",
            &["CheckOrder", "BadPadding"],
            &unaligned,
            good_file.clone(),
            sha256(&unaligned),
            &[InvalidMessage],
        ),
        (
            "order.valid-mac-wrong-plaintext",
            "a valid MAC over a modified ciphertext that still unpads: only fileSha256 catches it",
            &["CheckOrder", "WrongFileHash"],
            &garbled,
            good_file.clone(),
            sha256(&garbled),
            &[BadHash],
        ),
        (
            "order.short-blob-wrong-enc-hash",
            "a 5-byte blob with a wrong fileEncSha256: whatsmeow reports the length first, RO-MEDIA-006 lists the hash first",
            &["CheckOrder", "ShortBlob", "OrderUnsettled"],
            short,
            good_file.clone(),
            sha256(blob),
            &[BadHash, InvalidMessage],
        ),
    ];
    for (what, comment, f, bad, file_sha256, file_enc_sha256, errors) in cases {
        tests.push(reject(
            id(what),
            comment,
            &["RO-MEDIA-005", "RO-MEDIA-006"],
            f,
            bad,
            file_sha256,
            file_enc_sha256,
            errors,
        ));
    }
}
