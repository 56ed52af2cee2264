//! Second computation of every `media` vector, with the primitives of [`crate::verify::media`]: each decrypt case is
//! replayed through the receiver's checks, and some flags are checked for what they claim.

use crate::family::media::{Group, Operation, Test};
use crate::provider::ErrorClass;
use crate::vector_format::{Expected, VectorFile};
use crate::verify::media::*;

fn bytes(b: &Option<crate::bytes::Bytes>) -> &[u8] {
    b.as_ref().map(|b| b.as_slice()).unwrap_or_default()
}

/// Does a rejection class agree with the test's expectation?
fn agrees(test: &Test, outcome: &Result<Vec<u8>, ErrorClass>) -> Result<(), String> {
    match (test.expected, outcome) {
        (Expected::Acceptable, _) => Ok(()),
        (Expected::Valid, Ok(p)) if p.as_slice() == bytes(&test.plaintext) => Ok(()),
        (Expected::Valid, Ok(p)) => Err(format!("decrypts to {}, not the listed plaintext", hex::encode(p))),
        (Expected::Valid, Err(c)) => Err(format!("expected valid, but the receiver's checks reject it: {c}")),
        (Expected::Invalid, Ok(_)) => Err("expected invalid, but it decrypts and both hashes match".into()),
        (Expected::Invalid, Err(c)) if test.errors.is_empty() || test.errors.contains(c) => Ok(()),
        (Expected::Invalid, Err(c)) => Err(format!("rejected as {c}, which `errors` does not list")),
    }
}

fn check_encrypt(k: &Keys, test: &Test) -> Result<(), String> {
    if test.expected != Expected::Valid {
        return Err("a known media type has no reason to refuse an encryption".into());
    }
    let plaintext = bytes(&test.plaintext);
    let blob = seal(k, plaintext);
    let fields = [
        ("blob", bytes(&test.blob), blob.clone()),
        ("file_sha256", bytes(&test.file_sha256), sha256(plaintext)),
        ("file_enc_sha256", bytes(&test.file_enc_sha256), sha256(&blob)),
    ];
    for (name, listed, computed) in fields {
        if listed != computed.as_slice() {
            return Err(format!(
                "{name} is {}, recomputed {}",
                hex::encode(listed),
                hex::encode(computed)
            ));
        }
    }
    Ok(())
}

/// Flags that make a claim about the bytes: check the claim.
fn check_flags(group: &Group, k: &Keys, test: &Test) -> Result<(), String> {
    let blob = bytes(&test.blob);
    let flagged = |f: &str| test.flags.iter().any(|x| x == f);
    if flagged("ShortBlob") && blob.len() > MAC_LEN {
        return Err(format!("flagged ShortBlob but the blob has {} bytes", blob.len()));
    }
    if flagged("MacWithoutIv") {
        let (ct, mac) = blob.split_at(blob.len().saturating_sub(MAC_LEN));
        let without = &hmac(&k.mac, &[ct])[..MAC_LEN];
        let after = &hmac(&k.mac, &[ct, &k.iv])[..MAC_LEN];
        if mac != without && mac != after {
            return Err("flagged MacWithoutIv but the MAC is not an IV-less HMAC of the ciphertext".into());
        }
    }
    if flagged("WrongInfo") {
        let right = info_for(&group.media_type).unwrap_or_default();
        let valid_under = CONFUSIONS.iter().filter(|i| **i != right).find(|i| {
            receive(
                &keys(bytes(&group.media_key), i),
                blob,
                bytes(&test.file_sha256),
                bytes(&test.file_enc_sha256),
            )
            .is_ok()
        });
        if valid_under.is_none() {
            return Err("flagged WrongInfo but the blob is not valid under any other info string".into());
        }
    }
    Ok(())
}

fn check_test(group: &Group, test: &Test) -> Result<(), String> {
    let Some(info) = info_for(&group.media_type) else {
        let refused = test.expected == Expected::Invalid
            && (test.errors.is_empty() || test.errors.contains(&ErrorClass::InvalidArgument));
        return if refused {
            Ok(())
        } else {
            Err(format!(
                "media type `{}` is not in RO-MEDIA-007's table: must be refused as invalid_argument",
                group.media_type
            ))
        };
    };
    if test.operation == Operation::Upload {
        // The provider picks the keys: nothing to recompute before the run (judged by `open` at run time).
        return Ok(());
    }
    let media_key = bytes(&group.media_key);
    if media_key.len() != 32 {
        return Err(format!("media key of {} bytes", media_key.len()));
    }
    let k = keys(media_key, info);
    match test.operation {
        Operation::Upload => {}
        Operation::Encrypt => check_encrypt(&k, test)?,
        Operation::Decrypt => {
            let outcome = receive(
                &k,
                bytes(&test.blob),
                bytes(&test.file_sha256),
                bytes(&test.file_enc_sha256),
            );
            agrees(test, &outcome)?;
        }
    }
    check_flags(group, &k, test)
}

/// Every disagreement between the file and this computation, as `case id: what differs`.
pub fn check(file: &VectorFile<Group>) -> Vec<String> {
    file.groups
        .iter()
        .flat_map(|g| g.tests.iter().map(move |t| (g, t)))
        .filter_map(|(g, t)| check_test(g, t).err().map(|e| format!("{}: {e}", t.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;
    use std::path::Path;

    fn committed() -> VectorFile<Group> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/media.yaml");
        yaml::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_committed_file_agrees() {
        let file = committed();
        let cases: usize = file.groups.iter().map(|g| g.tests.len()).sum();
        assert!(cases >= 100, "only {cases} cases");
        let disagreements = check(&file);
        assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    }

    /// reference-offer.md section 4 KAT-2, typed in from the document.
    #[test]
    fn kat2_published_values() {
        let key: Vec<u8> = (0u8..32).collect();
        let table = [
            (
                "WhatsApp Image Keys",
                "aa6a127218397cbd2383e4ccf7176a79",
                "008c9aea9b7c5d81eb56b3f530f87d42dcc92d27b11ad6b5bd66f0560d0d8c46",
                "91d09ffec108833c1699574c52657923fb6e3e161d9698bc6b3a05fbc508a515",
            ),
            (
                "WhatsApp Audio Keys",
                "13f8935709c20e2e8b0680f81b0dd5fb",
                "a61016c0347747b75bb8a8f6d7bcdb863ac5eb702662755054fe77db27b7c1c0",
                "9ec93580944b6656b0babacf55026028ff6c68bb134a4fd082c12b5463a3bb79",
            ),
            (
                "WhatsApp Video Keys",
                "f1dee5782cc4e2e7b07233b1e25de59b",
                "8564567ee06fa7006edab56a13c2b0a1431beb8efe698efad0f258e65feb5395",
                "259ad46118adcf3cd134ae881831c6865db31a8fa0bbce7bc3bcb9fcf369fcda",
            ),
            (
                "WhatsApp Document Keys",
                "25e9d370804de0bb33ea5db79453db66",
                "b75c2bed8e162ad63dd02b6b9fbda46b8ad2692e99ed0f877d0ab48a86fff790",
                "94a393dafdca1265c99e197425de98f15f7d87d34714ea901f7eefc29c99e5ac",
            ),
        ];
        for (info, iv, cipher, mac) in table {
            let k = keys(&key, info);
            assert_eq!(
                (hex::encode(k.iv), hex::encode(k.cipher), hex::encode(k.mac)),
                (iv.into(), cipher.into(), mac.into()),
                "{info}"
            );
        }
        let k = keys(&key, "WhatsApp Image Keys");
        let blob = seal(&k, b"hello interop");
        assert_eq!(hex::encode(&blob[..16]), "da62f01135623576603e53582f433416");
        assert_eq!(hex::encode(&blob[16..]), "d93b70c1bb31610b4e69");
        assert_eq!(
            hex::encode(sha256(&blob)),
            "2875a2ba0f6a26368f4c59a9aae0a23a50bc9b6bb516fd9dea83e634ca18d739"
        );
        assert_eq!(
            hex::encode(sha256(b"hello interop")),
            "65250759ec4c1c88282dae08bbc280d6e4eda0b9403d53824e03ef96e0774a04"
        );
        // And the committed vector carries exactly these values.
        let file = committed();
        let kat = file
            .groups
            .iter()
            .flat_map(|g| &g.tests)
            .find(|t| t.id == "media.kat2.image.encrypt");
        let kat = kat.expect("media.kat2.image.encrypt is in the file");
        assert_eq!(bytes(&kat.blob), blob.as_slice());
        assert_eq!(bytes(&kat.file_enc_sha256), sha256(&blob).as_slice());
        assert_eq!(bytes(&kat.plaintext), b"hello interop");
    }

    /// RFC 5869 test case 3 (SHA-256, empty salt and info) pins the hand-written HKDF and HMAC.
    #[test]
    fn hkdf_rfc5869_case3() {
        let okm = hkdf(&[0x0b; 22], b"", 42);
        assert_eq!(
            hex::encode(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        );
    }

    /// The checker is not vacuous: a wrong blob, a wrong class and a wrong verdict are all reported.
    #[test]
    fn a_wrong_expected_value_is_reported() {
        let file = committed();
        let mutate = |id: &str, f: &dyn Fn(&mut Test)| {
            let mut copy = file.clone();
            let test = copy
                .groups
                .iter_mut()
                .flat_map(|g| g.tests.iter_mut())
                .find(|t| t.id == id)
                .expect(id);
            f(test);
            check(&copy)
        };
        let flip = |b: &mut Option<crate::bytes::Bytes>| {
            if let Some(b) = b {
                b.0[0] ^= 1;
            }
        };
        assert_eq!(mutate("media.kat2.image.encrypt", &|t| flip(&mut t.blob)).len(), 1);
        assert_eq!(
            mutate("media.image.mac-without-iv", &|t| t.errors = vec![ErrorClass::BadHash]).len(),
            1
        );
        assert_eq!(
            mutate("media.image.order.mac-before-file-hash", &|t| t.errors =
                vec![ErrorClass::BadHash])
            .len(),
            1
        );
        assert_eq!(
            mutate("media.video.decrypt", &|t| t.expected = Expected::Invalid).len(),
            1
        );
        assert_eq!(
            mutate("media.ptt.wrong-info", &|t| t.expected = Expected::Valid).len(),
            1
        );
    }
}
