//! Second computation of every `security_code` vector, written apart from the reference's code, from the
//! algorithm as signalapp/libsignal `rust/protocol/src/fingerprint.rs` states it (SHA-512 from `sha2`).
//!
//! Also checks what the data claims between cases: `same_code_as` codes are equal, `differs_from` codes differ.

use crate::family::security_code::{Group, Test};
use crate::vector_format::{Expected, VectorFile};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// Rounds per half (C48).
const ROUNDS: usize = 5200;

/// One party's 30 digits: round 1 over 0x0000 || key || id || key, then `ROUNDS - 1` rounds over digest || key.
fn digits(key: &[u8], id: &[u8]) -> String {
    let first = [&[0u8, 0][..], key, id, key].concat();
    let mut digest = Sha512::digest(&first);
    for _ in 1..ROUNDS {
        let mut h = Sha512::new();
        h.update(digest);
        h.update(key);
        digest = h.finalize();
    }
    let mut out = String::with_capacity(30);
    for group in 0..6 {
        let mut n: u64 = 0;
        for b in &digest[group * 5..group * 5 + 5] {
            n = n * 256 + u64::from(*b);
        }
        out.push_str(&format!("{:05}", n % 100_000));
    }
    out
}

/// The 60 digits both parties see: the two halves, smaller first.
pub(crate) fn code(local_key: &[u8], local_id: &[u8], remote_key: &[u8], remote_id: &[u8]) -> String {
    let mut halves = [digits(local_key, local_id), digits(remote_key, remote_id)];
    halves.sort();
    halves.concat()
}

fn well_formed(key: &[u8]) -> bool {
    key.len() == 33 && key[0] == 0x05
}

fn check_test(test: &Test) -> Result<(), String> {
    let keys_ok = well_formed(&test.local_identity) && well_formed(&test.remote_identity);
    match test.expected {
        Expected::Valid if !keys_ok => Err("a valid case needs two 33-byte 0x05-prefixed keys".into()),
        Expected::Valid => {
            let computed = code(
                &test.local_identity,
                &test.local_id,
                &test.remote_identity,
                &test.remote_id,
            );
            if computed == test.code {
                Ok(())
            } else {
                Err(format!("code is {}, recomputed {computed}", test.code))
            }
        }
        Expected::Invalid if keys_ok => Err("both keys are well-formed: no reason to refuse".into()),
        Expected::Invalid | Expected::Acceptable => Ok(()),
    }
}

/// Every disagreement between the file and this computation, as `case id: what differs`.
pub fn check(file: &VectorFile<Group>) -> Vec<String> {
    let tests: Vec<&Test> = file.groups.iter().flat_map(|g| &g.tests).collect();
    let codes: HashMap<&str, &str> = tests.iter().map(|t| (t.id.as_str(), t.code.as_str())).collect();
    let mut out = Vec::new();
    for test in &tests {
        if let Err(e) = check_test(test) {
            out.push(format!("{}: {e}", test.id));
        }
        if let Some(other) = &test.same_code_as
            && codes.get(other.as_str()) != Some(&test.code.as_str())
        {
            out.push(format!(
                "{}: code differs from `{other}`'s, which it must equal",
                test.id
            ));
        }
        if let Some(other) = &test.differs_from
            && codes.get(other.as_str()).is_none_or(|c| *c == test.code)
        {
            out.push(format!(
                "{}: code equals `{other}`'s (or that case is missing)",
                test.id
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;
    use std::path::Path;

    fn committed() -> VectorFile<Group> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/security-code.yaml");
        yaml::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_committed_file_agrees() {
        let file = committed();
        let disagreements = check(&file);
        assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    }

    /// KAT-3, typed in from signalapp/libsignal rust/protocol/src/fingerprint.rs (`fingerprint_test_v1`): the
    /// display string, and the first 32 bytes of each iterated digest as its scannable fingerprint shows them.
    #[test]
    fn kat3_published_values() {
        let alice =
            hex::decode("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868").unwrap_or_default();
        let bob = hex::decode("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b").unwrap_or_default();
        let published = "300354477692869396892869876765458257569162576843440918079131";
        assert_eq!(code(&alice, b"+14152222222", &bob, b"+14153333333"), published);
        assert_eq!(code(&bob, b"+14153333333", &alice, b"+14152222222"), published);
        // ALICE_SCANNABLE_FINGERPRINT_V1 holds both digests' first 32 bytes; recompute Alice's from scratch.
        let first = [&[0u8, 0][..], &alice, b"+14152222222", &alice].concat();
        let mut digest = Sha512::digest(&first);
        for _ in 1..ROUNDS {
            digest = Sha512::digest([&digest[..], &alice].concat());
        }
        assert_eq!(
            hex::encode(&digest[..32]),
            "1e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df"
        );
        let file = committed();
        let kat = file
            .groups
            .iter()
            .flat_map(|g| &g.tests)
            .filter(|t| t.id.starts_with("security-code.kat3."));
        let views: Vec<&Test> = kat
            .filter(|t| t.flags.iter().any(|f| f == "PublishedKnownAnswer"))
            .collect();
        assert_eq!(views.len(), 2);
        assert!(views.iter().all(|t| t.code == published));
    }

    /// The checker is not vacuous: a wrong code and a broken symmetry claim are both reported.
    #[test]
    fn a_wrong_expected_value_is_reported() {
        let mut file = committed();
        let test = file.groups[0]
            .tests
            .iter_mut()
            .find(|t| t.id == "security-code.kat3.remote-key-changed");
        let test = test.expect("case exists");
        test.code = "300354477692869396892869876765458257569162576843440918079131".into();
        let found = check(&file);
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
