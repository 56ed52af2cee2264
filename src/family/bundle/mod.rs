//! `prekey_bundle`: the provider, as session initiator, processes a peer's prekey bundle.
//!
//! A valid bundle must give a session that encrypts a `pkmsg`; an invalid one must be refused and leave no
//! session behind (RO-SIG-003: abort before X3DH).

pub mod generate;

use super::CaseContext;
use crate::outcome::{Observation, Outcome, class_mismatch, describe_rejection, judge};
use crate::provider::{CallError, CiphertextKind, CreateClient, ErrorClass, PreKeyBundle};
use crate::vector_format::{Expected, TestMeta, vector_test};

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

vector_test! {
    /// One bundle to process.
    pub struct Test {
        /// The bundle, as published by the peer `bob`.
        pub bundle: PreKeyBundle,
        /// Accepted rejection classes for an invalid bundle (any, when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub errors: Vec<ErrorClass>,
    }
}

/// Inputs of one bundle case.
#[derive(Debug, Clone)]
pub struct Check {
    /// The bundle.
    pub bundle: PreKeyBundle,
    /// Accepted rejection classes.
    pub errors: Vec<ErrorClass>,
}

pub(super) fn checks(group: &Group) -> Vec<(TestMeta, super::Check)> {
    group
        .tests
        .iter()
        .map(|t| {
            let check = Check {
                bundle: t.bundle.clone(),
                errors: t.errors.clone(),
            };
            (t.meta(), super::Check::Bundle(check))
        })
        .collect()
}

const PEER: &str = "bob";

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let create = CreateClient {
        name: "alice".into(),
        seed: Some(ctx.seed),
        keys: None,
    };
    let client = match ctx.provider.create_client(&create).await {
        Ok(c) => c,
        Err(e) => return Observation::from_call_error("create_client succeeds", &e).at_step("create_client"),
    };
    let processed = ctx.provider.process_bundle(&client, PEER, &check.bundle).await;
    let verdict = judge(
        meta.expected,
        "bundle accepted",
        &check.errors,
        &processed,
        |_| "bundle accepted".into(),
        |_| true,
    );
    if verdict.outcome != Outcome::Pass {
        return verdict.at_step("process_bundle");
    }
    // Follow-up: an accepted bundle gives a usable session; a refused one leaves none.
    let sent = ctx.provider.encrypt(&client, PEER, b"conformance").await;
    match (&processed, sent) {
        (Ok(()), Ok(ct)) if ct.kind == CiphertextKind::Pkmsg => verdict,
        (Ok(()), Ok(ct)) => Observation::fail("first message is a pkmsg", format!("{:?}", ct.kind)).at_step("encrypt"),
        (Ok(()), Err(e)) if meta.expected == Expected::Acceptable => {
            Observation::pass("acceptable", format!("bundle accepted, then encrypt: {e}"))
        }
        (Ok(()), Err(e)) => {
            let mut o = Observation::from_call_error("encrypt succeeds on the new session", &e);
            if o.outcome == Outcome::Error || o.outcome == Outcome::Unsupported {
                return o.at_step("encrypt");
            }
            o.outcome = Outcome::Fail;
            o.at_step("encrypt")
        }
        (
            Err(_),
            Err(CallError::Rejected {
                class: ErrorClass::NoSession,
                ..
            }),
        ) => verdict,
        // Any refusal shows that no session was kept; the class is a diagnostic.
        (Err(_), Err(CallError::Rejected { class, .. })) => {
            let mut o = verdict;
            o.class_mismatch
                .push(format!("encrypt: {}", class_mismatch(class, &[ErrorClass::NoSession])));
            o
        }
        (Err(_), Err(e @ (CallError::Transport { .. } | CallError::Unsupported { .. }))) => {
            Observation::from_call_error("no session after a refused bundle", &e).at_step("encrypt")
        }
        (Err(_), other) => Observation::fail(
            format!("{} and no session kept", describe_rejection(&check.errors)),
            match other {
                Ok(_) => "bundle refused but a session was kept: encrypt succeeded".to_string(),
                Err(e) => format!("bundle refused, then encrypt: {e} (expected no_session)"),
            },
        )
        .at_step("encrypt"),
    }
}
