//! The enlistment form (`POST /3p/interop_reg`, RO-TS 1.2.2): field by field decoding and size checks.
//!
//! Decoding is lenient about the base64 flavour so that one defect is reported once: a padded or
//! standard-alphabet value still yields its bytes for the size checks, and the flavour itself is reported as an
//! encoding defect (RO-ID-001C). base64url without padding is what the RO-TS example uses; whether WhatsApp
//! rejects other flavours is unconfirmed.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, general_purpose};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The binary fields and their decoded sizes in bytes (RO-TS 1.2.2), in the RO-TS table's order.
pub const BINARY_FIELDS: [(&str, usize); 7] = [
    ("authkey", 32),
    ("e_keytype", 1),
    ("e_regid", 4),
    ("e_ident", 32),
    ("e_skey_id", 3),
    ("e_skey_val", 32),
    ("e_skey_sig", 64),
];

/// The token field, the Partner JWT.
pub const TOKEN_FIELD: &str = "token";

/// Largest token: RO-TS 1.2.2 gives "4 kilobytes"; the suite reads it as 4096 bytes.
pub const TOKEN_MAX: usize = 4096;

/// The key-type byte of Curve25519 keys (RO-TS 1.2.2: "0x05 == curve25519").
pub const KEY_TYPE_CURVE25519: u8 = 0x05;

/// Which requirement a defect breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// A field missing, undecodable or of the wrong size (RO-ID-001A).
    Fields,
    /// `e_keytype` other than 0x05 (RO-ID-001B).
    KeyType,
    /// A binary field not in base64url without padding (RO-ID-001C).
    Encoding,
}

/// One defect of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// The requirement it breaks.
    pub aspect: Aspect,
    /// The field.
    pub field: String,
    /// What is wrong, for reports.
    pub reason: String,
}

/// Everything learned from one form.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    /// Defects, in field order.
    pub defects: Vec<Defect>,
    /// Decoded binary fields that have their exact size.
    pub values: BTreeMap<String, Vec<u8>>,
    /// The token, when present and within size.
    pub token: Option<String>,
}

impl Inspection {
    /// The first defect of one aspect.
    pub fn first(&self, aspect: Aspect) -> Option<&Defect> {
        self.defects.iter().find(|d| d.aspect == aspect)
    }

    /// A decoded field of exact size.
    pub fn value(&self, field: &str) -> Option<&[u8]> {
        self.values.get(field).map(Vec::as_slice)
    }
}

/// URL-safe alphabet, padding optional: the lenient half of the decoder.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode one value: its bytes (any base64 flavour) and, if it is not base64url without padding, why.
pub fn decode_value(value: &str) -> Result<(Vec<u8>, Option<String>), String> {
    if let Ok(bytes) = URL_SAFE_NO_PAD.decode(value) {
        return Ok((bytes, None));
    }
    let flavour = match (value.contains('='), value.contains(['+', '/'])) {
        (true, true) => "standard base64 with padding",
        (true, false) => "base64url with padding",
        (false, true) => "standard base64 alphabet",
        (false, false) => return Err("not base64".into()),
    };
    let translated: String = value
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    LENIENT
        .decode(translated)
        .or_else(|_| general_purpose::STANDARD.decode(value))
        .map(|bytes| (bytes, Some(format!("{flavour}, expected base64url without padding"))))
        .map_err(|_| "not base64".into())
}

/// Inspect a form field by field.
pub fn inspect(form: &BTreeMap<String, String>) -> Inspection {
    let mut out = Inspection::default();
    let mut defect = |aspect, field: &str, reason: String| {
        out.defects.push(Defect {
            aspect,
            field: field.to_string(),
            reason,
        })
    };
    let mut values = BTreeMap::new();
    for (field, size) in BINARY_FIELDS {
        let Some(text) = form.get(field) else {
            defect(Aspect::Fields, field, "missing".into());
            continue;
        };
        let bytes = match decode_value(text) {
            Ok((bytes, flavour)) => {
                if let Some(why) = flavour {
                    defect(Aspect::Encoding, field, why);
                }
                bytes
            }
            Err(why) => {
                defect(Aspect::Fields, field, why);
                continue;
            }
        };
        if bytes.len() != size {
            defect(Aspect::Fields, field, format!("{} bytes, expected {size}", bytes.len()));
        }
        if field == "e_keytype" && bytes.first() != Some(&KEY_TYPE_CURVE25519) {
            defect(Aspect::KeyType, field, format!("{}, expected 05", hex::encode(&bytes)));
        }
        if bytes.len() == size {
            values.insert(field.to_string(), bytes);
        }
    }
    match form.get(TOKEN_FIELD) {
        None => defect(Aspect::Fields, TOKEN_FIELD, "missing".into()),
        Some(t) if t.is_empty() => defect(Aspect::Fields, TOKEN_FIELD, "empty".into()),
        Some(t) if t.len() > TOKEN_MAX => defect(
            Aspect::Fields,
            TOKEN_FIELD,
            format!("{} bytes, at most {TOKEN_MAX}", t.len()),
        ),
        Some(t) => out.token = Some(t.clone()),
    }
    out.values = values;
    out
}

/// Encode bytes as the enlistment form does: base64url without padding.
pub fn encode_value(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours_are_told_apart() {
        let bytes = [0xfb, 0xff, 0x01];
        assert_eq!(decode_value("-_8B").unwrap(), (bytes.to_vec(), None));
        let (b, why) = decode_value("+/8B").unwrap();
        assert_eq!(b, bytes);
        assert!(why.unwrap().contains("standard base64 alphabet"));
        let (b, why) = decode_value("BQ==").unwrap();
        assert_eq!(b, [5]);
        assert!(why.unwrap().contains("with padding"));
        assert!(decode_value("not base64!").is_err());
    }
}
