//! `media`: WhatsApp media encryption (RO-MEDIA-003..007). Encrypt cases are known answers (exact blob and both
//! hashes: media encryption is deterministic once the mediaKey is fixed); decrypt cases give a blob and its
//! hashes and expect the exact plaintext or a rejection of a stated class. Upload cases let the provider pick
//! the mediaKey, several times over the same file: every key must be 32 fresh bytes, none repeated, and every blob
//! must open under its key with the harness's own media code (`verify::media`), not the provider's.

pub mod generate;
pub mod verify;

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::{Observation, judge};
use crate::provider::{CallError, ErrorClass, MediaDecrypt, MediaEncrypt, MediaEncrypted};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tests sharing a media type and a mediaKey.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the group covers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Media type as the provider API names it (Baileys' names): image, sticker, video, gif, ptv, audio, ptt,
    /// document, thumbnail-image, thumbnail-video, thumbnail-document, thumbnail-link.
    pub media_type: String,
    /// The 32-byte mediaKey of encrypt and decrypt cases (upload cases let the provider pick one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_key: Option<Bytes>,
    /// The tests.
    pub tests: Vec<Test>,
}

/// Which provider operation a case calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `media_encrypt`: plaintext in; blob and hashes out.
    Encrypt,
    /// `media_decrypt`: blob and hashes in; plaintext out.
    Decrypt,
    /// `media_encrypt` without a mediaKey, `uploads` times: the provider picks a fresh key each time.
    Upload,
}

vector_test! {
    /// One encryption or decryption.
    pub struct Test {
        /// encrypt, decrypt or upload.
        pub operation: Operation,
        /// Upload: how many times the same file is uploaded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub uploads: Option<u32>,
        /// Encrypt: the input. Decrypt: the exact output of a valid case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub plaintext: Option<Bytes>,
        /// Encrypt: the expected `ciphertext || mac10`. Decrypt: the input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub blob: Option<Bytes>,
        /// SHA-256 of the plaintext: expected (encrypt) or given (decrypt).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub file_sha256: Option<Bytes>,
        /// SHA-256 of the blob: expected (encrypt) or given (decrypt).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub file_enc_sha256: Option<Bytes>,
        /// Accepted rejection classes (any, when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub errors: Vec<ErrorClass>,
    }
}

/// Inputs and expected outputs of one case.
#[derive(Debug, Clone)]
pub struct Check {
    /// Media type.
    pub media_type: String,
    /// mediaKey.
    pub media_key: Bytes,
    /// Operation.
    pub operation: Operation,
    /// Uploads of the same file (upload cases).
    pub uploads: u32,
    /// Plaintext (input or expected output).
    pub plaintext: Bytes,
    /// Blob (expected output or input).
    pub blob: Bytes,
    /// SHA-256 of the plaintext.
    pub file_sha256: Bytes,
    /// SHA-256 of the blob.
    pub file_enc_sha256: Bytes,
    /// Accepted rejection classes.
    pub errors: Vec<ErrorClass>,
}

/// Every field an operation needs must be present.
pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            let key = format!("groups[{g}].tests[{t}]");
            let valid = test.expected == Expected::Valid;
            let keyed = group.media_key.is_some();
            if test.operation == Operation::Upload {
                if !valid {
                    return Err((format!("{key}.expected"), "an upload case is always `valid`".into()));
                }
                if keyed {
                    return Err((
                        format!("groups[{g}].media_key"),
                        format!(
                            "test `{}` uploads: the provider picks the key, so the group names none",
                            test.id
                        ),
                    ));
                }
                if test.uploads.is_none_or(|n| n < 2) {
                    return Err((
                        format!("{key}.uploads"),
                        format!("test `{}` needs `uploads` of at least 2", test.id),
                    ));
                }
            }
            let needed: &[(&str, bool)] = match test.operation {
                Operation::Upload => &[("plaintext", test.plaintext.is_some())],
                Operation::Encrypt => &[
                    ("media_key (of the group)", keyed),
                    ("plaintext", test.plaintext.is_some()),
                    ("blob", !valid || test.blob.is_some()),
                    ("file_sha256", !valid || test.file_sha256.is_some()),
                    ("file_enc_sha256", !valid || test.file_enc_sha256.is_some()),
                ],
                Operation::Decrypt => &[
                    ("media_key (of the group)", keyed),
                    ("blob", test.blob.is_some()),
                    ("file_sha256", test.file_sha256.is_some()),
                    ("file_enc_sha256", test.file_enc_sha256.is_some()),
                    ("plaintext", !valid || test.plaintext.is_some()),
                ],
            };
            if let Some((field, _)) = needed.iter().find(|(_, present)| !present) {
                return Err((format!("{key}.{field}"), format!("test `{}` needs `{field}`", test.id)));
            }
        }
    }
    Ok(())
}

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    let or_empty = |b: &Option<Bytes>| b.clone().unwrap_or_default();
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                media_type: group.media_type.clone(),
                media_key: or_empty(&group.media_key),
                operation: t.operation,
                uploads: t.uploads.unwrap_or(0),
                plaintext: or_empty(&t.plaintext),
                blob: or_empty(&t.blob),
                file_sha256: or_empty(&t.file_sha256),
                file_enc_sha256: or_empty(&t.file_enc_sha256),
                errors: t.errors.clone(),
            };
            (t.meta(), super::Check::Media(check))
        })
        .collect()
}

fn describe(e: &MediaEncrypted) -> String {
    format!(
        "blob {}, file_sha256 {}, file_enc_sha256 {}",
        e.blob, e.file_sha256, e.file_enc_sha256
    )
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    match check.operation {
        Operation::Encrypt => {
            let request = MediaEncrypt {
                media_type: check.media_type.clone(),
                media_key: Some(check.media_key.clone()),
                plaintext: check.plaintext.clone(),
            };
            let wanted = MediaEncrypted {
                blob: check.blob.clone(),
                file_sha256: check.file_sha256.clone(),
                file_enc_sha256: check.file_enc_sha256.clone(),
                media_key: None,
            };
            let result = ctx.provider.media_encrypt(&request).await;
            judge(
                meta.expected,
                &describe(&wanted),
                &check.errors,
                &result,
                describe,
                |got| *got == wanted,
            )
        }
        Operation::Decrypt => {
            let request = MediaDecrypt {
                media_type: check.media_type.clone(),
                media_key: check.media_key.clone(),
                blob: check.blob.clone(),
                file_sha256: check.file_sha256.clone(),
                file_enc_sha256: check.file_enc_sha256.clone(),
            };
            let result = ctx.provider.media_decrypt(&request).await;
            judge(
                meta.expected,
                &format!("plaintext {}", check.plaintext),
                &check.errors,
                &result,
                |p| format!("plaintext {}", hex::encode(p)),
                |p| *p == check.plaintext.0,
            )
        }
        Operation::Upload => upload(check, ctx).await,
    }
}

/// Upload the same file `check.uploads` times, letting the provider pick the key (RO-MEDIA-003).
async fn upload(check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let expected = format!(
        "{} uploads, each with a fresh 32-byte mediaKey (none repeated, none all-zero) under which the blob and \
         both hashes check out",
        check.uploads
    );
    let request = MediaEncrypt {
        media_type: check.media_type.clone(),
        media_key: None,
        plaintext: check.plaintext.clone(),
    };
    let mut seen = std::collections::HashSet::new();
    for n in 1..=check.uploads {
        let step = format!("upload {n} of {}", check.uploads);
        let sealed = match ctx.provider.media_encrypt(&request).await {
            Ok(s) => s,
            Err(e @ (CallError::Unsupported { .. } | CallError::Transport { .. })) => {
                return Observation::from_call_error(&expected, &e).at_step(&step);
            }
            Err(e) => return Observation::fail(&expected, e.to_string()).at_step(&step),
        };
        let Some(key) = sealed.media_key else {
            return Observation::fail(&expected, "no media_key in the response").at_step(&step);
        };
        let problem = if key.len() != 32 {
            Some(format!("media_key of {} bytes", key.len()))
        } else if key.0.iter().all(|b| *b == 0) {
            Some("media_key is all zero".into())
        } else if !seen.insert(key.0.clone()) {
            Some(format!("media_key {key} was already used for an earlier upload"))
        } else {
            crate::verify::media::open(
                &check.media_type,
                &key.0,
                &sealed.blob.0,
                &sealed.file_sha256.0,
                &sealed.file_enc_sha256.0,
            )
            .and_then(|p| {
                (p == check.plaintext.0)
                    .then_some(())
                    .ok_or_else(|| format!("the blob opens to {}, not the file", hex::encode(p)))
            })
            .err()
        };
        if let Some(problem) = problem {
            return Observation::fail(&expected, problem).at_step(&step);
        }
    }
    Observation::pass(&expected, format!("{} distinct keys, every blob opens", check.uploads))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{CaseContext, Family, parse, run};
    use crate::outcome::Outcome;
    use crate::reference::{Fault, Faults, ReferenceProvider};
    use std::path::Path;

    /// Run every case of a committed vector file against the reference with `faults`; return the ids and
    /// requirements of the cases that did not pass.
    pub(crate) fn failures(name: &str, family: Family, faults: &[Fault]) -> Vec<(String, Vec<String>)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parsed = parse(family, &path, &text).unwrap_or_else(|e| panic!("{e}"));
        let provider = ReferenceProvider::with_faults(Faults(faults.iter().copied().collect()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let push_jwks = super::super::push::PushJwks::default();
        let ctx = CaseContext {
            provider: &provider,
            peer: &provider,
            seed: 1,
            push_jwks: &push_jwks,
            monitor: None,
        };
        parsed
            .tests
            .iter()
            .filter(|(_, meta, check)| runtime.block_on(run(meta, check, &ctx)).outcome != Outcome::Pass)
            .map(|(_, meta, _)| (meta.id.clone(), meta.requirements.clone()))
            .collect()
    }

    /// Upload cases: the group names no key, and one upload cannot show a key is fresh.
    #[test]
    fn upload_cases_are_checked_for_shape() {
        let case = |group_key: &str, uploads: &str| {
            format!(
                "schema_version: 1\nfamily: media\ndescription: d\ngroups:\n- media_type: image\n{group_key}  tests:\n  \
                 - id: u\n    requirements: [RO-MEDIA-003]\n    expected: valid\n    operation: upload\n{uploads}    \
                 plaintext: '00'\n"
            )
        };
        let error = |text: String| match parse(Family::Media, Path::new("u.yaml"), &text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        };
        let keyed = error(case(
            &format!("  media_key: '{}'\n", "00".repeat(32)),
            "    uploads: 4\n",
        ));
        assert!(keyed.contains("groups[0].media_key"), "{keyed}");
        let once = error(case("", "    uploads: 1\n"));
        assert!(once.contains("uploads") && once.contains("at least 2"), "{once}");
        assert!(parse(Family::Media, Path::new("u.yaml"), &case("", "    uploads: 2\n")).is_ok());
    }

    /// A fault must fail at least one case through the requirement it `breaks()`.
    fn caught(fault: Fault) -> Vec<String> {
        let failed = failures("media.yaml", Family::Media, &[fault]);
        failed
            .into_iter()
            .filter(|(_, reqs)| reqs.iter().any(|r| r == fault.breaks()))
            .map(|(id, _)| id)
            .collect()
    }

    #[test]
    fn the_reference_passes_every_case() {
        assert_eq!(failures("media.yaml", Family::Media, &[]), vec![]);
    }

    #[test]
    fn media_skip_mac_is_caught() {
        let ids = caught(Fault::MediaSkipMac);
        assert!(ids.iter().any(|id| id == "media.image.mac-without-iv"), "{ids:?}");
    }

    #[test]
    fn media_wrong_info_is_caught() {
        let ids = caught(Fault::MediaWrongInfo);
        assert!(ids.iter().any(|id| id == "media.sticker.key-00-1f.encrypt"), "{ids:?}");
    }

    #[test]
    fn media_ignore_hashes_is_caught() {
        let ids = caught(Fault::MediaIgnoreHashes);
        assert!(ids.iter().any(|id| id == "media.image.file-sha256-flipped"), "{ids:?}");
        assert!(
            ids.iter().any(|id| id == "media.image.file-enc-sha256-flipped"),
            "{ids:?}"
        );
    }
}
