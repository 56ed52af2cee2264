//! Media vectors: per-type known answers, the published KAT-2 values, and must-reject blobs whose error class
//! pins the order of the receiver's checks (fileEncSha256, MAC, decryption, fileSha256).
//!
//! Expected values come from the reference's media code (`reference::media`) and are re-derived by
//! `verify::media` from RustCrypto block primitives; KAT-2 is also pinned to its published values there.

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::media::{Group, Operation, Test};
use crate::generate::{Generated, file, flags, render, reqs, with_fidelity};
use crate::provider::ErrorClass;
use crate::reference::media::{MediaKeys, expand, info, seal};
use crate::vector::Expected;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

mod tamper;

/// Every media type the provider API names, with the info string a confused implementation might use instead.
const TYPES: [(&str, &str); 12] = [
    ("image", "WhatsApp Image Thumbnail Keys"),
    ("sticker", "WhatsApp Sticker Keys"),
    ("video", "WhatsApp Image Keys"),
    ("gif", "WhatsApp Gif Keys"),
    ("ptv", "WhatsApp Ptv Keys"),
    ("audio", "WhatsApp Video Keys"),
    ("ptt", "WhatsApp Ptt Keys"),
    ("document", "WhatsApp Image Keys"),
    ("thumbnail-image", "WhatsApp Image Keys"),
    ("thumbnail-video", "WhatsApp Video Keys"),
    ("thumbnail-document", "WhatsApp Document Keys"),
    ("thumbnail-link", "WhatsApp Image Thumbnail Keys"),
];

/// Plaintext lengths around the AES block size, spread over the types' known answers.
const LENGTHS: [usize; 12] = [0, 1, 15, 16, 17, 31, 32, 33, 100, 255, 1000, 4096];

/// KAT-2's mediaKey: bytes 00..1f (reference-offer.md section 4).
fn kat2_key() -> Vec<u8> {
    (0u8..32).collect()
}

/// KAT-2's published blob: ciphertext da62f01135623576603e53582f433416 || mac10 d93b70c1bb31610b4e69.
pub(crate) const KAT2_BLOB: &str = "da62f01135623576603e53582f433416d93b70c1bb31610b4e69";

/// KAT-2's plaintext.
const KAT2_PLAINTEXT: &[u8] = b"hello interop";

fn sha256(data: &[u8]) -> Bytes {
    Bytes(Sha256::digest(data).to_vec())
}

fn random(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

fn flip(bytes: &[u8], index: usize, mask: u8) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[index] ^= mask;
    v
}

fn keys(media_type: &str, media_key: &[u8]) -> Result<MediaKeys, String> {
    let info = info(media_type).ok_or_else(|| format!("no info string for `{media_type}`"))?;
    Ok(expand(media_key, info))
}

/// A case with every field given; `t` below fills the common ones.
struct Case<'a> {
    id: String,
    comment: &'a str,
    requirements: &'a [&'a str],
    flags: &'a [&'a str],
    expected: Expected,
    operation: Operation,
    plaintext: Option<&'a [u8]>,
    blob: &'a [u8],
    file_sha256: Bytes,
    file_enc_sha256: Bytes,
    errors: &'a [ErrorClass],
}

fn test(c: Case<'_>) -> Test {
    Test {
        id: c.id,
        comment: c.comment.into(),
        requirements: with_fidelity(reqs(c.requirements), !c.errors.is_empty()),
        flags: flags(c.flags),
        expected: c.expected,
        operation: c.operation,
        plaintext: c.plaintext.map(Bytes::from),
        uploads: None,
        blob: Some(Bytes::from(c.blob)),
        file_sha256: Some(c.file_sha256),
        file_enc_sha256: Some(c.file_enc_sha256),
        errors: c.errors.to_vec(),
    }
}

/// A valid known answer: `Encrypt` expects the honest blob and hashes, `Decrypt` gives them and expects the file.
fn valid_case(operation: Operation, id: String, comment: &str, f: &[&str], keys: &MediaKeys, plaintext: &[u8]) -> Test {
    let blob = seal(keys, plaintext);
    test(Case {
        id,
        comment,
        requirements: &["RO-MEDIA-004", "RO-MEDIA-005", "RO-MEDIA-006", "RO-MEDIA-007"],
        flags: f,
        expected: Expected::Valid,
        operation,
        plaintext: Some(plaintext),
        file_sha256: sha256(plaintext),
        file_enc_sha256: sha256(&blob),
        blob: &blob,
        errors: &[],
    })
}

/// A decryption that must be rejected with one of `errors`.
#[expect(clippy::too_many_arguments, reason = "one line per field of the case")]
fn reject(
    id: String,
    comment: &str,
    r: &[&str],
    f: &[&str],
    blob: &[u8],
    file_sha256: Bytes,
    file_enc_sha256: Bytes,
    errors: &[ErrorClass],
) -> Test {
    test(Case {
        id,
        comment,
        requirements: r,
        flags: f,
        expected: Expected::Invalid,
        operation: Operation::Decrypt,
        plaintext: None,
        blob,
        file_sha256,
        file_enc_sha256,
        errors,
    })
}

/// Per type: KAT-2's key and plaintext, three seeded known answers, one decryption, one wrong-info blob.
fn type_groups(rng: &mut StdRng) -> Result<Vec<Group>, String> {
    let mut groups = Vec::new();
    for (i, (media_type, wrong_info)) in TYPES.iter().enumerate() {
        let k = keys(media_type, &kat2_key())?;
        let published = *media_type == "image";
        let (kat_id, kat_flags, kat_comment): (String, &[&str], String) = if published {
            (
                "media.kat2.image".into(),
                &["PublishedKnownAnswer"],
                "reference-offer.md section 4 KAT-2 (computed by the reference author in Python and Node, not an \
                 official vector): ciphertext da62f01135623576603e53582f433416, mac10 d93b70c1bb31610b4e69, \
                 fileEncSha256 2875a2ba.., fileSha256 65250759.."
                    .into(),
            )
        } else {
            (
                format!("media.{media_type}.key-00-1f"),
                &[],
                format!(
                    "KAT-2's mediaKey 00..1f and plaintext \"hello interop\" with the {media_type} info string{}",
                    if matches!(*media_type, "audio" | "video" | "document") {
                        " (keys as in KAT-2's table)"
                    } else {
                        ""
                    }
                ),
            )
        };
        let kat = valid_case(
            Operation::Encrypt,
            format!("{kat_id}.encrypt"),
            &kat_comment,
            kat_flags,
            &k,
            KAT2_PLAINTEXT,
        );
        if published && kat.blob.as_ref().map(Bytes::to_hex).as_deref() != Some(KAT2_BLOB) {
            return Err("the reference's KAT-2 blob differs from the published one".into());
        }
        let mut tests = vec![
            kat,
            valid_case(
                Operation::Decrypt,
                format!("{kat_id}.decrypt"),
                &kat_comment,
                kat_flags,
                &k,
                KAT2_PLAINTEXT,
            ),
        ];
        groups.push(Group {
            comment: format!("{media_type}: KAT-2's mediaKey 00..1f"),
            media_type: media_type.to_string(),
            media_key: Some(Bytes(kat2_key())),
            tests: std::mem::take(&mut tests),
        });

        let media_key = random(rng, 32);
        let k = keys(media_type, &media_key)?;
        for j in 0..3 {
            let len = LENGTHS[(3 * i + j) % LENGTHS.len()];
            let plaintext = random(rng, len);
            tests.push(valid_case(
                Operation::Encrypt,
                format!("media.{media_type}.encrypt-{len}"),
                &format!("{len}-byte file: exact blob and both hashes"),
                &[],
                &k,
                &plaintext,
            ));
        }
        let plaintext = random(rng, 48 + i);
        tests.push(valid_case(
            Operation::Decrypt,
            format!("media.{media_type}.decrypt"),
            "an honest blob decrypts to its file",
            &[],
            &k,
            &plaintext,
        ));
        let wrong = seal(&expand(&media_key, wrong_info), &plaintext);
        tests.push(reject(
            format!("media.{media_type}.wrong-info"),
            &format!(
                "sealed with \"{wrong_info}\" instead of \"{}\"; both hashes match, so only the MAC can catch it",
                info(media_type).unwrap_or_default()
            ),
            &["RO-MEDIA-004", "RO-MEDIA-007"],
            &["WrongInfo"],
            &wrong,
            sha256(&plaintext),
            sha256(&wrong),
            &[ErrorClass::BadMac],
        ));
        groups.push(Group {
            comment: format!("{media_type}: seeded mediaKey"),
            media_type: media_type.to_string(),
            media_key: Some(Bytes(media_key)),
            tests,
        });
    }
    Ok(groups)
}

/// Media types the API does not define: refused, not mapped to some default key.
fn unknown_type_groups(rng: &mut StdRng) -> Result<Vec<Group>, String> {
    let media_key = random(rng, 32);
    let plaintext = b"unknown type";
    let image = seal(&keys("image", &media_key)?, plaintext);
    let mut groups = Vec::new();
    for media_type in ["hologram", "Image", "thumbnail"] {
        let mut tests = vec![reject(
            format!("media.unknown-type.{}.decrypt", media_type.to_lowercase()),
            "an image blob offered under a type the API does not define",
            &["RO-MEDIA-007"],
            &["UnknownType"],
            &image,
            sha256(plaintext),
            sha256(&image),
            &[ErrorClass::InvalidArgument],
        )];
        if media_type == "hologram" {
            tests.push(test(Case {
                id: "media.unknown-type.hologram.encrypt".into(),
                comment: "encrypting under a type the API does not define",
                requirements: &["RO-MEDIA-007"],
                flags: &["UnknownType"],
                expected: Expected::Invalid,
                operation: Operation::Encrypt,
                plaintext: Some(plaintext),
                blob: &[],
                file_sha256: Bytes::default(),
                file_enc_sha256: Bytes::default(),
                errors: &[ErrorClass::InvalidArgument],
            }));
        }
        groups.push(Group {
            comment: format!("unknown media type `{media_type}`"),
            media_type: media_type.into(),
            media_key: Some(Bytes(media_key.clone())),
            tests,
        });
    }
    Ok(groups)
}

/// `media-upload.yaml`: the provider picks the mediaKey (RO-MEDIA-003), several uploads of the same file per
/// case, so a key that depends on the file (or on nothing) repeats.
pub(crate) fn generate_uploads() -> Result<Generated, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0e03);
    let cases: [(&str, usize, u32, &str); 3] = [
        ("image", 1_000, 8, "an image uploaded 8 times"),
        (
            "document",
            0,
            8,
            "an empty document uploaded 8 times (nothing in the file to vary the key)",
        ),
        ("ptt", 4_096, 4, "a voice note uploaded 4 times"),
    ];
    let groups = cases
        .iter()
        .map(|(media_type, size, uploads, comment)| {
            let mut plaintext = vec![0u8; *size];
            rand::RngExt::fill(&mut rng, plaintext.as_mut_slice());
            Group {
                comment: format!("{media_type} uploads"),
                media_type: media_type.to_string(),
                media_key: None,
                tests: vec![Test {
                    id: format!("media.upload.{media_type}"),
                    comment: format!("{comment}: every mediaKey is fresh, and every blob opens under its key"),
                    requirements: reqs(&["RO-MEDIA-003"]),
                    flags: flags(&["FreshKey"]),
                    expected: Expected::Valid,
                    operation: Operation::Upload,
                    uploads: Some(*uploads),
                    plaintext: Some(Bytes(plaintext)),
                    blob: None,
                    file_sha256: None,
                    file_enc_sha256: None,
                    errors: vec![],
                }],
            }
        })
        .collect();
    let notes = [(
        "FreshKey",
        "MISSING_STEP",
        "The sender picks a fresh random 32-byte mediaKey for every upload (RO-MEDIA-003). The case sees keys, not \
         their source: it checks that none repeats over several uploads of the same file, none is all zero, and \
         every blob opens under its key with the suite's own media code.",
        "A key derived from the file (convergent encryption) or reused across uploads lets anyone holding the same \
         file recognise or decrypt the upload.",
    )];
    render(
        "media-upload.yaml",
        &file(
            Family::Media,
            "Media uploads (RO-MEDIA-003): the provider picks the mediaKey; the suite checks that keys are fresh and \
             that every blob opens under its key.",
            &notes,
            groups,
        ),
    )
}

pub(crate) fn generate() -> Result<Generated, String> {
    let mut rng = StdRng::seed_from_u64(0x5eed_0e01);
    let mut groups = type_groups(&mut rng)?;
    groups.push(tamper::group(&mut rng, "image", true)?);
    groups.push(tamper::group(&mut rng, "video", false)?);
    groups.push(tamper::group(&mut rng, "document", false)?);
    groups.extend(unknown_type_groups(&mut rng)?);
    render("media.yaml", &file(Family::Media, DESCRIPTION, &NOTES, groups))
}

const DESCRIPTION: &str = "WhatsApp media encryption (RO-MEDIA-004..007): HKDF-SHA256(mediaKey, no salt, \"WhatsApp <Type> Keys\", \
     112) -> iv, cipherKey, macKey, refKey; AES-256-CBC; blob = ciphertext || HMAC-SHA256(macKey, iv || \
     ciphertext)[..10]; receivers check fileEncSha256, the MAC, decryption, then fileSha256. The format is the open \
     clients' (whatsmeow, Baileys, whatsapp-rust); that Partner media must use it is inferred (reference-offer.md \
     section 5 item 11). Decrypt negatives fix up the hashes so that only the intended check can fire.";

const NOTES: [(&str, &str, &str, &str); 14] = [
    (
        "PublishedKnownAnswer",
        "BASIC",
        "reference-offer.md section 4 KAT-2: computed by the reference author from C24/C25 in two stacks; not an official WhatsApp vector.",
        "",
    ),
    (
        "WrongInfo",
        "MISSING_STEP",
        "The blob was sealed with keys from another HKDF info string than the media type's.",
        "Media of one type decrypts under another type's keys: the type is not bound.",
    ),
    (
        "FlippedCiphertext",
        "AUTH_BYPASS",
        "One ciphertext bit flipped; fileEncSha256 is that of the tampered blob, so the MAC must catch it.",
        "Unauthenticated media.",
    ),
    (
        "ModifiedMac",
        "AUTH_BYPASS",
        "One bit of the 10-byte MAC flipped.",
        "The MAC is not checked, or not all of it.",
    ),
    (
        "MacWithoutIv",
        "MISSING_STEP",
        "The MAC was computed over the ciphertext without the IV in front.",
        "A sender or receiver that leaves the IV out of the MAC does not interoperate.",
    ),
    (
        "MacLength",
        "EDGE_CASE",
        "The appended MAC is not 10 bytes. Rejected either as a bad MAC or as a malformed blob.",
        "",
    ),
    (
        "ShortBlob",
        "EDGE_CASE",
        "The blob has 10 bytes or fewer: no room for a MAC and any ciphertext.",
        "Slicing out of bounds, or accepting an empty file.",
    ),
    (
        "WrongFileHash",
        "MISSING_STEP",
        "fileSha256 does not match the plaintext; the file must not be shown.",
        "Media not bound to the sender's file hash.",
    ),
    (
        "WrongEncHash",
        "MISSING_STEP",
        "fileEncSha256 does not match the blob; rejected before decryption.",
        "The downloaded blob is not bound to the message.",
    ),
    (
        "HashLength",
        "EDGE_CASE",
        "A hash field that is not 32 bytes. whatsmeow skips the check then; RO-MEDIA-006 rejects it. A bad hash or a bad argument are both accepted classes.",
        "A missing hash silently disables the check.",
    ),
    (
        "CheckOrder",
        "MISSING_STEP",
        "Two things are wrong; the rejection class shows which check ran first (fileEncSha256, MAC, decryption, fileSha256: RO-MEDIA-006, whatsmeow's order).",
        "Decrypting before the MAC opens a padding oracle.",
    ),
    (
        "BadPadding",
        "EDGE_CASE",
        "The MAC is valid but the ciphertext does not decrypt (bad PKCS7 padding or not a block multiple).",
        "",
    ),
    (
        "OrderUnsettled",
        "EDGE_CASE",
        "whatsmeow rejects a short blob before hashing it; RO-MEDIA-006 lists the blob hash first. Either class is accepted.",
        "",
    ),
    (
        "UnknownType",
        "EDGE_CASE",
        "A media type the provider API does not define. Which info strings apply to interop media is unconfirmed (reference-offer.md section 5 item 11); a provider must refuse a type it does not know rather than guess a key.",
        "Media sealed with a guessed key.",
    ),
];
