//! `xeddsa_verify`: verify a 64-byte XEdDSA signature under a serialized Curve25519 public key.
//!
//! Expected results are verification outcomes, never signature bytes: signing is randomised.

pub mod generate;

use super::CaseContext;
use crate::bytes::Bytes;
use crate::outcome::{Observation, judge};
use crate::provider::{CallError, ErrorClass};
use crate::vector_format::{TestMeta, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tests sharing one public key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the group's key is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The verifying key, serialized (normally 33 bytes `0x05 || key`; other lengths in negative groups).
    pub public_key: Bytes,
    /// The tests.
    pub tests: Vec<Test>,
}

vector_test! {
    /// One verification.
    pub struct Test {
        /// The signed message.
        pub message: Bytes,
        /// The signature (64 bytes when well-formed).
        pub signature: Bytes,
    }
}

/// Inputs of one verification.
#[derive(Debug, Clone)]
pub struct Check {
    /// Verifying key.
    pub public_key: Bytes,
    /// Message.
    pub message: Bytes,
    /// Signature.
    pub signature: Bytes,
}

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                public_key: group.public_key.clone(),
                message: t.message.clone(),
                signature: t.signature.clone(),
            };
            (t.meta(), super::Check::Xeddsa(check))
        })
        .collect()
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let result = ctx
        .provider
        .verify_signature(&check.public_key, &check.message, &check.signature)
        .await
        // "Does not verify" and "refused the input" are the same verdict for a verifier.
        .and_then(|ok| {
            if ok {
                Ok(())
            } else {
                Err(CallError::rejected(
                    ErrorClass::BadSignature,
                    "signature does not verify",
                ))
            }
        });
    judge(
        meta.expected,
        "signature verifies",
        &[],
        &result,
        |_| "signature verifies".to_string(),
        |_| true,
    )
}
