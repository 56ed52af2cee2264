//! Enlistment vectors: the live aspects judged against a provider (`enlistment.yaml`), and known answers for
//! the harness's form decoder starting from the Reference Offer's own example (`enlistment-decode.yaml`).

use crate::bytes::Bytes;
use crate::family::Family;
use crate::family::enlistment::{self, Aspect};
use crate::family::enlistment_decode::{self, ExpectedDefect};
use crate::generate::{Generated, file, flags, render, reqs};
use crate::signature::form::{Aspect as FormAspect, encode_value};
use crate::vector::Expected;
use std::collections::BTreeMap;

/// The RO-TS 1.2.3 curl example's form values, verbatim (the token is truncated in the published example).
const RO_FORM: [(&str, &str); 8] = [
    ("authkey", "mLsPDd27k07BJa54dtt2e9Yz-vJfECLXRAPrFp7YeX4"),
    ("e_ident", "x6g6tGpek0Obx65-vVx9t3wNtjJUXcQY2iarR-Aush4"),
    ("e_keytype", "BQ"),
    ("e_regid", "x6g6tA"),
    ("e_skey_id", "_tdJ"),
    (
        "e_skey_sig",
        "BPEcejlI7RhacXe9MvBMUEs_IHctlcDyza24vDrZca0N77YDGqCAXr2VWDALvOcTSziNWfVMJ4IDxIENwvyACA",
    ),
    ("e_skey_val", "_tdJvCOi0-F9hl7iaHhrn42d1GnI3p6LwkFx3BS_jXw"),
    ("token", "eyJraWQiOiIt..."),
];

/// The example's decoded values. e_ident, e_skey_val and e_skey_sig are reference-offer.md KAT-1; e_regid and
/// e_skey_id are given there too (its note on KAT-1); authkey was decoded with Python's base64 module.
const RO_DECODED: [(&str, &str); 7] = [
    (
        "authkey",
        "98bb0f0dddbb934ec125ae7876db767bd633faf25f1022d74403eb169ed8797e",
    ),
    ("e_ident", crate::family::xeddsa::generate::RO_IDENTITY),
    ("e_keytype", "05"),
    ("e_regid", "c7a83ab4"),
    ("e_skey_id", "fed749"),
    ("e_skey_sig", crate::family::xeddsa::generate::RO_SIGNATURE),
    ("e_skey_val", crate::family::xeddsa::generate::RO_SIGNED_PREKEY),
];

const NOTES: [(&str, &str, &str, &str); 3] = [
    (
        "PublishedExample",
        "BASIC",
        "Built from the Reference Offer's own enlistment example (RO-TS 1.2.3).",
        "",
    ),
    (
        "Unconfirmed",
        "EDGE_CASE",
        "The Reference Offer shows this only by example; that WhatsApp rejects other forms is unconfirmed.",
        "",
    ),
    (
        "HarnessCheck",
        "BASIC",
        "Checks the harness's own decoder, which judges the `enlistment` family; no provider is involved.",
        "",
    ),
];

fn ro_form() -> BTreeMap<String, String> {
    RO_FORM.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn decode_test(
    id: &str,
    comment: &str,
    requirements: &[&str],
    extra_flags: &[&str],
    form: BTreeMap<String, String>,
    defect: Option<(FormAspect, &str)>,
) -> enlistment_decode::Test {
    let mut f = vec!["PublishedExample", "HarnessCheck"];
    f.extend_from_slice(extra_flags);
    let decoded = match defect {
        Some(_) => BTreeMap::new(),
        None => RO_DECODED
            .iter()
            .map(|(k, v)| (k.to_string(), Bytes(hex::decode(v).unwrap_or_default())))
            .collect(),
    };
    enlistment_decode::Test {
        id: format!("enlistment-decode.{id}"),
        comment: comment.into(),
        requirements: reqs(requirements),
        flags: flags(&f),
        expected: if defect.is_some() {
            Expected::Invalid
        } else {
            Expected::Valid
        },
        form,
        decoded,
        defect: defect.map(|(aspect, field)| ExpectedDefect {
            aspect,
            field: field.into(),
        }),
    }
}

fn with(field: &str, value: &str) -> BTreeMap<String, String> {
    let mut form = ro_form();
    form.insert(field.into(), value.into());
    form
}

fn without(field: &str) -> BTreeMap<String, String> {
    let mut form = ro_form();
    form.remove(field);
    form
}

fn decode_tests() -> Vec<enlistment_decode::Test> {
    let sig = hex::decode(crate::family::xeddsa::generate::RO_SIGNATURE).unwrap_or_default();
    let ident = hex::decode(crate::family::xeddsa::generate::RO_IDENTITY).unwrap_or_default();
    let serialized_ident: Vec<u8> = [&[0x05u8][..], &ident].concat();
    let sizes = ["RO-ID-001A"];
    let keytype = ["RO-ID-001B"];
    let encoding = ["RO-ID-001C"];
    use FormAspect::{Encoding, Fields, KeyType};
    vec![
        decode_test(
            "ro-example",
            "RO-TS 1.2.3 example decodes to authkey 32, e_keytype 1 (05), e_regid 4, e_ident 32, e_skey_id 3, e_skey_val 32, e_skey_sig 64",
            &["RO-ID-001A", "RO-ID-001B", "RO-ID-001C"],
            &[],
            ro_form(),
            None,
        ),
        decode_test(
            "ro-example.token-4096",
            "a token of exactly 4096 bytes is within the 4 KB limit",
            &sizes,
            &[],
            with("token", &"a".repeat(4096)),
            None,
        ),
        decode_test(
            "keytype-06",
            "e_keytype 0x06 is not Curve25519",
            &keytype,
            &[],
            with("e_keytype", "Bg"),
            Some((KeyType, "e_keytype")),
        ),
        decode_test(
            "keytype-00",
            "e_keytype 0x00",
            &keytype,
            &[],
            with("e_keytype", "AA"),
            Some((KeyType, "e_keytype")),
        ),
        decode_test(
            "regid-padded",
            "e_regid with base64 padding",
            &encoding,
            &["Unconfirmed"],
            with("e_regid", "x6g6tA=="),
            Some((Encoding, "e_regid")),
        ),
        decode_test(
            "ident-standard-alphabet",
            "e_ident in the standard base64 alphabet (+ instead of -)",
            &encoding,
            &["Unconfirmed"],
            with("e_ident", "x6g6tGpek0Obx65+vVx9t3wNtjJUXcQY2iarR+Aush4"),
            Some((Encoding, "e_ident")),
        ),
        decode_test(
            "ident-serialized-33",
            "e_ident sent as the 33-byte serialized key 05 || key: the type travels in e_keytype",
            &sizes,
            &[],
            with("e_ident", &encode_value(&serialized_ident)),
            Some((Fields, "e_ident")),
        ),
        decode_test(
            "sig-63",
            "e_skey_sig one byte short",
            &sizes,
            &[],
            with("e_skey_sig", &encode_value(&sig[..63])),
            Some((Fields, "e_skey_sig")),
        ),
        decode_test(
            "skey-id-4",
            "e_skey_id as 4 bytes (00 || id) instead of 3",
            &sizes,
            &[],
            with("e_skey_id", &encode_value(&[0x00, 0xfe, 0xd7, 0x49])),
            Some((Fields, "e_skey_id")),
        ),
        decode_test(
            "authkey-missing",
            "no authkey",
            &sizes,
            &[],
            without("authkey"),
            Some((Fields, "authkey")),
        ),
        decode_test(
            "token-missing",
            "no token",
            &sizes,
            &[],
            without("token"),
            Some((Fields, "token")),
        ),
        decode_test(
            "token-4097",
            "a token of 4097 bytes exceeds 4 KB",
            &sizes,
            &[],
            with("token", &"a".repeat(4097)),
            Some((Fields, "token")),
        ),
        decode_test(
            "regid-not-base64",
            "e_regid is not base64",
            &sizes,
            &[],
            with("e_regid", "x6g6t!"),
            Some((Fields, "e_regid")),
        ),
    ]
}

fn live_tests() -> Vec<enlistment::Test> {
    let case = |id: &str, requirements: &[&str], f: &[&str], identifier: &str, aspect: Aspect, comment: &str| {
        enlistment::Test {
            id: format!("enlistment.{id}"),
            comment: comment.into(),
            requirements: reqs(requirements),
            flags: flags(f),
            expected: Expected::Valid,
            identifier: identifier.into(),
            aspect,
        }
    };
    vec![
        case(
            "fields",
            &["RO-ID-001A"],
            &[],
            "alice421",
            Aspect::Fields,
            "every field with its RO-TS 1.2.2 size",
        ),
        case(
            "key-type",
            &["RO-ID-001B"],
            &[],
            "alice421",
            Aspect::KeyType,
            "e_keytype is 0x05 (Curve25519)",
        ),
        case(
            "encoding",
            &["RO-ID-001C"],
            &["Unconfirmed"],
            "alice421",
            Aspect::Encoding,
            "base64url without padding, as in the RO-TS example",
        ),
        case(
            "client-keys",
            &["RO-ID-001D", "RO-ID-010", "RO-ID-010A"],
            &[],
            "alice421",
            Aspect::ClientKeys,
            "the enlisted keys are the client's own published keys",
        ),
        case(
            "prekey-signature",
            &["RO-SIG-002"],
            &[],
            "alice421",
            Aspect::PrekeySignature,
            "e_skey_sig verifies under e_ident over 05 || e_skey_val, not over the raw key",
        ),
        case(
            "token-signature",
            &["RO-ID-003A"],
            &[],
            "alice421",
            Aspect::TokenSignature,
            "the token verifies through the Partner's JWKS",
        ),
        case(
            "token-algorithm",
            &["RO-ID-003B"],
            &["Unconfirmed"],
            "alice421",
            Aspect::TokenAlgorithm,
            "RS256, the algorithm of the RO-TS examples",
        ),
        case(
            "token-identifier",
            &["RO-ID-004"],
            &[],
            "alice421",
            Aspect::TokenIdentifier,
            "the token names the enlisted identifier",
        ),
        case(
            "token-identifier.form-unsafe",
            &["RO-ID-004"],
            &[],
            "bob.smith+interop@example.org",
            Aspect::TokenIdentifier,
            "an identifier with characters that form-encoding changes",
        ),
        case(
            "token-freshness",
            &["RO-ID-003C"],
            &["Unconfirmed"],
            "alice421",
            Aspect::TokenFreshness,
            "iat and exp make the token current",
        ),
        case(
            "jwks-http-versions",
            &["RO-TRANSPORT-011"],
            &[],
            "alice421",
            Aspect::HttpVersions,
            "the Partner's JWKS answers over HTTP/1.1 and over HTTP/2 (h2c for http://, ALPN h2 for https://) with the same key set",
        ),
    ]
}

pub(crate) fn generate() -> Result<Vec<Generated>, String> {
    let live = file(
        Family::Enlistment,
        "The provider's enlistment request (RO-TS 1.2), judged field by field and through the Partner's JWKS",
        &NOTES[1..2],
        vec![enlistment::Group {
            comment: "one aspect per case, each on a fresh client".into(),
            tests: live_tests(),
        }],
    );
    let decode = file(
        Family::EnlistmentDecode,
        "Known answers for the harness's enlistment-form decoder, from the Reference Offer's example (RO-TS 1.2.3)",
        &NOTES,
        vec![enlistment_decode::Group {
            comment: "the RO-TS 1.2.3 curl example and single-field mutations of it".into(),
            tests: decode_tests(),
        }],
    );
    Ok(vec![
        render("enlistment.yaml", &live)?,
        render("enlistment-decode.yaml", &decode)?,
    ])
}
