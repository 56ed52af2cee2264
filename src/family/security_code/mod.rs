//! `security_code`: the 60-digit numeric security code between two identities (RO-ID-009), as known answers.
//!
//! Symmetry and key binding are expressed in the data: `same_code_as` names the case seen from the other party
//! (both must show the same digits), `differs_from` names the case whose code a changed key or identifier must
//! change. Both are checked when the file is loaded (the ids exist) and by `vectors verify` (the codes agree or
//! differ); at run time every case is a plain known answer.

pub mod generate;
pub mod verify;

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::{Observation, judge};
use crate::provider::{ErrorClass, SecurityCode};
use crate::vector_format::{TestMeta, VectorFile, vector_test};
use std::collections::HashSet;

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

vector_test! {
    /// One code, seen from the local party.
    pub struct Test {
        /// Local identity key, serialized (0x05 || 32 bytes).
        pub local_identity: Bytes,
        /// Local identifier bytes, as hashed.
        pub local_id: Bytes,
        /// Remote identity key, serialized.
        pub remote_identity: Bytes,
        /// Remote identifier bytes.
        pub remote_id: Bytes,
        /// The expected 60 digits (valid cases).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub code: String,
        /// A case of this file that must show the same code (the other party's view).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub same_code_as: Option<String>,
        /// A case of this file whose code this one must differ from (one input changed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub differs_from: Option<String>,
        /// Accepted rejection classes (any, when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub errors: Vec<ErrorClass>,
    }
}

/// Inputs and expected code of one case.
#[derive(Debug, Clone)]
pub struct Check {
    /// The request.
    pub request: SecurityCode,
    /// Expected digits.
    pub code: String,
    /// Accepted rejection classes.
    pub errors: Vec<ErrorClass>,
}

/// Codes are 60 ASCII digits; cross-references name cases of the same file.
pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    let ids: HashSet<&str> = file
        .groups
        .iter()
        .flat_map(|g| &g.tests)
        .map(|t| t.id.as_str())
        .collect();
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            let key = format!("groups[{g}].tests[{t}]");
            let digits = test.code.len() == 60 && test.code.bytes().all(|b| b.is_ascii_digit());
            if test.expected == crate::vector_format::Expected::Valid && !digits {
                return Err((
                    format!("{key}.code"),
                    format!("test `{}`: a valid case needs a 60-digit code", test.id),
                ));
            }
            for (field, target) in [
                ("same_code_as", &test.same_code_as),
                ("differs_from", &test.differs_from),
            ] {
                if let Some(target) = target
                    && !ids.contains(target.as_str())
                {
                    return Err((
                        format!("{key}.{field}"),
                        format!("test `{}` refers to unknown test `{target}`", test.id),
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
                request: SecurityCode {
                    local_identity: t.local_identity.clone(),
                    local_id: t.local_id.clone(),
                    remote_identity: t.remote_identity.clone(),
                    remote_id: t.remote_id.clone(),
                },
                code: t.code.clone(),
                errors: t.errors.clone(),
            };
            (t.meta(), super::Check::SecurityCode(check))
        })
        .collect()
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let result = ctx.provider.security_code(&check.request).await;
    judge(
        meta.expected,
        &format!("code {}", check.code),
        &check.errors,
        &result,
        |code| format!("code {code}"),
        |code| *code == check.code,
    )
}

#[cfg(test)]
mod tests {
    use super::super::Family;
    use super::super::media::tests::failures;
    use crate::reference::Fault;

    #[test]
    fn the_reference_passes_every_case() {
        assert_eq!(failures("security-code.yaml", Family::SecurityCode, &[]), vec![]);
    }

    #[test]
    fn security_code_few_iterations_is_caught() {
        let fault = Fault::SecurityCodeFewIterations;
        let failed = failures("security-code.yaml", Family::SecurityCode, &[fault]);
        let through: Vec<&str> = failed
            .iter()
            .filter(|(_, reqs)| reqs.iter().any(|r| r == fault.breaks()))
            .map(|(id, _)| id.as_str())
            .collect();
        assert!(through.contains(&"security-code.kat3.a-view"), "{through:?}");
    }
}
