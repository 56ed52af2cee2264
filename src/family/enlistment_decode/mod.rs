//! `enlistment_decode`: known answers for the harness's own enlistment-form decoder ([`crate::signature::form`]),
//! which judges the `enlistment` family. Starts from the Reference Offer's published example (RO-TS 1.2.3).
//!
//! These cases involve no provider: they pin the judging code to published data. No profile lists the file
//! (a profile lists only what it tests of a provider); `cargo test` runs it (`tests::corpus_decodes`).

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::Observation;
use crate::signature::form::{self, Aspect};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

/// The defect an invalid form must be reported with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDefect {
    /// Which requirement it breaks.
    pub aspect: Aspect,
    /// Which field.
    pub field: String,
}

vector_test! {
    /// One form.
    pub struct Test {
        /// Field name -> value as sent.
        pub form: BTreeMap<String, String>,
        /// For `valid`: every binary field's decoded bytes.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub decoded: BTreeMap<String, Bytes>,
        /// For `invalid`: the defect that must be reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub defect: Option<ExpectedDefect>,
    }
}

/// Inputs and expectation of one form.
#[derive(Debug, Clone)]
pub struct Check {
    /// The form.
    pub form: BTreeMap<String, String>,
    /// Expected decodings (valid).
    pub decoded: BTreeMap<String, Bytes>,
    /// Expected defect (invalid).
    pub defect: Option<ExpectedDefect>,
}

pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            let key = format!("groups[{g}].tests[{t}]");
            match (test.expected, &test.defect, test.decoded.len()) {
                (Expected::Valid, None, n) if n == form::BINARY_FIELDS.len() => {}
                (Expected::Invalid, Some(_), 0) => {}
                _ => {
                    return Err((
                        key,
                        format!(
                            "test `{}`: valid needs all 7 `decoded` fields and no `defect`; invalid needs a `defect`",
                            test.id
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                form: t.form.clone(),
                decoded: t.decoded.clone(),
                defect: t.defect.clone(),
            };
            (t.meta(), super::Check::EnlistmentDecode(check))
        })
        .collect()
}

pub(super) async fn run(_meta: &TestMeta, check: &Check, _ctx: &CaseContext<'_>) -> Observation {
    judge(check)
}

/// The decoder's verdict on one form against the vector.
pub fn judge(check: &Check) -> Observation {
    let inspection = form::inspect(&check.form);
    let defects: Vec<String> = inspection
        .defects
        .iter()
        .map(|d| format!("{:?} {}: {}", d.aspect, d.field, d.reason))
        .collect();
    match &check.defect {
        None => {
            let expected: BTreeMap<&str, String> =
                check.decoded.iter().map(|(k, v)| (k.as_str(), v.to_hex())).collect();
            let observed: BTreeMap<&str, String> = inspection
                .values
                .iter()
                .map(|(k, v)| (k.as_str(), hex::encode(v)))
                .collect();
            if defects.is_empty() && expected == observed {
                Observation::pass(format!("{expected:?}"), format!("{observed:?}"))
            } else {
                Observation::fail(format!("no defect; {expected:?}"), format!("{defects:?}; {observed:?}"))
            }
        }
        Some(want) => {
            let found = inspection
                .defects
                .iter()
                .any(|d| d.aspect == want.aspect && d.field == want.field);
            let expected = format!("defect {:?} in {}", want.aspect, want.field);
            if found {
                Observation::pass(expected, defects.join("; "))
            } else {
                Observation::fail(expected, format!("{defects:?}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::family::Check;
    use crate::outcome::Outcome;
    use crate::plan::data_dir;
    use crate::requirements::Profile;

    /// Every case of `vectors/enlistment-decode.yaml` is judged as its vector expects.
    #[test]
    fn corpus_decodes() {
        let profile = Profile::load(&data_dir("suites"), crate::plan::DEFAULT_PROFILE).expect("profile");
        let file = crate::vector::load_file(&data_dir("vectors").join("enlistment-decode.yaml"), &profile)
            .expect("enlistment-decode.yaml loads");
        assert!(file.cases.len() >= 10, "the corpus has its cases");
        for case in &file.cases {
            let Check::EnlistmentDecode(check) = &case.check else {
                panic!("{}: wrong family", case.meta.id);
            };
            let o = super::judge(check);
            assert_eq!(o.outcome, Outcome::Pass, "{}: {o:?}", case.meta.id);
            if case.meta.id == "enlistment-decode.ro-example" {
                // RO-TS 1.2.2 order: authkey, e_keytype, e_regid, e_ident, e_skey_id, e_skey_val, e_skey_sig.
                let sizes: Vec<usize> = crate::signature::form::BINARY_FIELDS
                    .iter()
                    .map(|(name, _)| check.decoded[*name].0.len())
                    .collect();
                assert_eq!(sizes, [32, 1, 4, 32, 3, 32, 64]);
            }
        }
    }
}
