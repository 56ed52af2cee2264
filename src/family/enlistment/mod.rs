//! `enlistment`: the harness as WhatsApp's enlistment endpoint. It asks the provider for the enlistment request
//! of a fresh client, then judges one aspect per case: field sizes, key type, encoding, the client's own keys,
//! the signed-prekey signature, and the token (signature through the Partner's JWKS, algorithm, identifier,
//! freshness). One aspect per case keeps each requirement's verdict separate.
//!
//! The wire monitor ([`crate::monitor::Monitor::provider_enlistment`]) also reads what the provider emitted (its
//! bundle and its enlistment request) with the independent code of `vectors verify`; a finding fails the case
//! when the case lists the rule's requirement (client-keys lists the registration id's RO-ID-010 and
//! RO-ID-010A, prekey-signature RO-SIG-002, token-signature the token header's RO-ID-003A), charged to that
//! requirement alone.

pub mod generate;

use super::CaseContext;
use crate::monitor::{Monitor, rules};
use crate::outcome::{Observation, Outcome, Steps};
use crate::provider::{CallError, ClientId, CreateClient, EnlistmentRequest, PreKeyBundle};
use crate::signature::form::{self, Aspect as FormAspect, Inspection};
use crate::signature::http::HttpVersion;
use crate::signature::token::{self, TokenError};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wacore_libsignal::protocol::PublicKey;

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

/// What one case judges of the enlistment request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// Every field present with its decoded size; token at most 4096 bytes.
    Fields,
    /// `e_keytype` is 0x05.
    KeyType,
    /// Binary fields are base64url without padding.
    Encoding,
    /// `e_ident`, `e_regid`, `e_skey_id`, `e_skey_val` are the client's published keys.
    ClientKeys,
    /// `e_skey_sig` verifies under `e_ident` over `0x05 || e_skey_val`.
    PrekeySignature,
    /// The token verifies under the JWKS key its kid names.
    TokenSignature,
    /// The token is RS256, the algorithm of the RO-TS example.
    TokenAlgorithm,
    /// The token names the enlisted identifier.
    TokenIdentifier,
    /// The token is fresh (iat, exp).
    TokenFreshness,
    /// The Partner's JWKS answers over HTTP/1.1 and over HTTP/2 (h2c prior knowledge for `http://`, ALPN `h2`
    /// for `https://`) with the same key set (RO-TRANSPORT-011).
    HttpVersions,
}

vector_test! {
    /// One aspect of one enlistment request.
    pub struct Test {
        /// The user-visible identifier to enlist.
        pub identifier: String,
        /// What is judged.
        pub aspect: Aspect,
    }
}

/// Inputs of one case.
#[derive(Debug, Clone)]
pub struct Check {
    /// Identifier.
    pub identifier: String,
    /// Aspect.
    pub aspect: Aspect,
}

pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            if test.expected != Expected::Valid {
                let key = format!("groups[{g}].tests[{t}].expected");
                return Err((key, "an enlistment request is judged against `valid` only".into()));
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
                identifier: t.identifier.clone(),
                aspect: t.aspect,
            };
            (t.meta(), super::Check::Enlistment(check))
        })
        .collect()
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let expected = describe(check.aspect);
    let client = match ctx
        .provider
        .create_client(&CreateClient {
            name: "enlistee".into(),
            seed: Some(ctx.seed),
            keys: None,
        })
        .await
    {
        Ok(c) => c,
        Err(e) => return call_failed(expected, &e, "create_client"),
    };
    let bundle = match ctx.provider.prekey_bundle(&client).await {
        Ok(b) => b,
        Err(e) => return call_failed(expected, &e, "prekey_bundle"),
    };
    let request = EnlistmentRequest {
        client: ClientId(client.0.clone()),
        identifier: check.identifier.clone(),
    };
    let enlistment = match ctx.provider.enlistment_request(&request).await {
        Ok(e) => e,
        Err(e) => return call_failed(expected, &e, "enlistment_request"),
    };
    let mut steps = Steps::new(&meta.requirements);
    if let Some(keys) = ctx.monitor {
        let mut m = Monitor::new(keys);
        m.provider_bundle(&client.0, &bundle, "prekey_bundle");
        m.provider_enlistment(&client.0, &enlistment, "enlistment_request");
        if let Some(f) = m
            .findings
            .iter()
            .find(|f| meta.requirements.iter().any(|r| r == f.rule.requirement))
        {
            return steps
                .step(&f.step, f.rule.checks(), f.observation())
                .unwrap_or_default();
        }
    }
    // The aspect's own check is charged to the case's requirements that no monitor rule judges.
    let own: Vec<&String> = meta
        .requirements
        .iter()
        .filter(|r| !rules::ENLISTMENT.iter().any(|rule| rule.requirement == r.as_str()))
        .collect();
    let inspection = form::inspect(&enlistment.form);
    let verdict = match check.aspect {
        Aspect::Fields => form_aspect(&inspection, FormAspect::Fields),
        Aspect::KeyType => form_aspect(&inspection, FormAspect::KeyType),
        Aspect::Encoding => form_aspect(&inspection, FormAspect::Encoding),
        Aspect::ClientKeys => client_keys(&inspection, &bundle),
        Aspect::PrekeySignature => prekey_signature(&inspection),
        Aspect::HttpVersions => return http_versions(expected, &enlistment.jwks_url, ctx, steps).await,
        Aspect::TokenSignature | Aspect::TokenAlgorithm | Aspect::TokenIdentifier | Aspect::TokenFreshness => {
            let Some(jwt) = &inspection.token else {
                return Observation::fail(expected, "no usable token field");
            };
            match token::verify_partner_token(&ctx.provider.allowed_hosts(), &enlistment.jwks_url, jwt).await {
                Err(TokenError::Invalid(e)) => Err(e),
                Err(TokenError::NotAllowed(e) | TokenError::Harness(e)) => return harness_error(expected, e),
                Ok(v) => match check.aspect {
                    Aspect::TokenAlgorithm if v.alg == jsonwebtoken::Algorithm::RS256 => Ok("RS256".into()),
                    Aspect::TokenAlgorithm => Err(format!("{:?}", v.alg)),
                    Aspect::TokenIdentifier => token::identifier_claim(&v.claims, &check.identifier)
                        .map(|claim| format!("claim {claim} = {:?}", check.identifier))
                        .ok_or_else(|| format!("no claim names {:?}: {:?}", check.identifier, v.claims)),
                    Aspect::TokenFreshness => token::check_freshness(&v.claims, token::now()),
                    _ => Ok(format!("verified under kid {:?} ({:?})", v.kid, v.alg)),
                },
            }
        }
    };
    let o = match verdict {
        Ok(observed) => Observation::pass(expected, observed),
        Err(observed) => Observation::fail(expected, observed),
    };
    let observed = o.observed.clone();
    match steps.step("", &own, o) {
        Some(failed) => failed,
        None => steps.pass(expected, observed),
    }
}

fn describe(aspect: Aspect) -> &'static str {
    match aspect {
        Aspect::Fields => {
            "authkey 32, e_keytype 1, e_regid 4, e_ident 32, e_skey_id 3, e_skey_val 32, e_skey_sig 64 bytes; token <= 4096"
        }
        Aspect::KeyType => "e_keytype = 05",
        Aspect::Encoding => "binary fields in base64url without padding",
        Aspect::ClientKeys => "e_ident, e_regid, e_skey_id, e_skey_val = the client's published keys",
        Aspect::PrekeySignature => "e_skey_sig verifies under e_ident over 05 || e_skey_val",
        Aspect::TokenSignature => "token verifies under the JWKS key named by its kid",
        Aspect::TokenAlgorithm => "token alg RS256",
        Aspect::TokenIdentifier => "a token claim names the enlisted identifier",
        Aspect::TokenFreshness => "token iat <= now <= exp (60 s skew)",
        Aspect::HttpVersions => "the JWKS answers over HTTP/1.1 and over HTTP/2 with the same key set",
    }
}

/// RO-TRANSPORT-011 on the JWKS: one GET speaking HTTP/1.1 only, one speaking HTTP/2 only, each a step; then
/// the two key sets must be equal. A protocol that fails is named in the finding.
async fn http_versions(expected: &str, jwks_url: &str, ctx: &CaseContext<'_>, mut steps: Steps) -> Observation {
    let hosts = ctx.provider.allowed_hosts();
    let mut sets = Vec::new();
    for version in HttpVersion::BOTH {
        let label = format!("GET JWKS over {}", version.name());
        let o = match token::fetch_partner_jwks(&hosts, jwks_url, version).await {
            Ok(set) => {
                let o = Observation::pass(expected, format!("{} keys over {}", set.keys.len(), version.name()));
                sets.push(set);
                o
            }
            Err(TokenError::Invalid(e)) => Observation::fail(
                expected,
                format!("the JWKS does not answer over {}: {e}", version.name()),
            ),
            Err(TokenError::NotAllowed(e) | TokenError::Harness(e)) => harness_error(expected, e),
        };
        if let Some(failed) = steps.step(&label, &[] as &[&str], o) {
            return failed;
        }
    }
    let same = match sets.as_slice() {
        [h1, h2] if h1 == h2 => Observation::pass(expected, "the same key set over both"),
        [h1, h2] => Observation::fail(
            expected,
            format!(
                "the JWKS differs by protocol: kids {:?} over HTTP/1.1, {:?} over HTTP/2",
                kids(h1),
                kids(h2)
            ),
        ),
        _ => harness_error(expected, "not two key sets".into()),
    };
    match steps.step("compare key sets", &[] as &[&str], same) {
        Some(failed) => failed,
        None => steps.pass(expected, "the same JWKS over HTTP/1.1 and HTTP/2"),
    }
}

fn kids(set: &jsonwebtoken::jwk::JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap_or_default())
        .collect()
}

fn call_failed(expected: &str, error: &CallError, step: &str) -> Observation {
    let mut o = Observation::from_call_error(expected, error);
    if o.outcome == Outcome::Fail {
        // A rejected setup call is still the provider failing to produce an enlistment request.
        o.observed = format!("{step}: {}", o.observed);
    }
    o.at_step(step)
}

fn harness_error(expected: &str, message: String) -> Observation {
    Observation::with(Outcome::Error, expected, message)
}

fn form_aspect(inspection: &Inspection, aspect: FormAspect) -> Result<String, String> {
    match inspection.first(aspect) {
        Some(d) => Err(format!("{}: {}", d.field, d.reason)),
        None => Ok("as expected".into()),
    }
}

fn field<'a>(inspection: &'a Inspection, name: &str) -> Result<&'a [u8], String> {
    inspection
        .value(name)
        .ok_or_else(|| format!("{name} missing or of the wrong size"))
}

fn client_keys(inspection: &Inspection, bundle: &PreKeyBundle) -> Result<String, String> {
    let strip = |key: &[u8]| key.get(1..).unwrap_or_default().to_vec();
    let expected: [(&str, Vec<u8>); 4] = [
        ("e_ident", strip(&bundle.identity_key)),
        ("e_regid", bundle.registration_id.to_be_bytes().to_vec()),
        ("e_skey_id", bundle.signed_prekey_id.to_be_bytes()[1..].to_vec()),
        ("e_skey_val", strip(&bundle.signed_prekey)),
    ];
    for (name, want) in expected {
        let got = field(inspection, name)?;
        if got != want.as_slice() {
            return Err(format!(
                "{name} {} but the client publishes {}",
                hex::encode(got),
                hex::encode(want)
            ));
        }
    }
    Ok("identity, registration id and signed prekey match the client's bundle".into())
}

fn prekey_signature(inspection: &Inspection) -> Result<String, String> {
    let ident = field(inspection, "e_ident")?;
    let value = field(inspection, "e_skey_val")?;
    let signature = field(inspection, "e_skey_sig")?;
    let key = PublicKey::from_djb_public_key_bytes(ident).map_err(|e| format!("e_ident: {e}"))?;
    let mut serialized = vec![form::KEY_TYPE_CURVE25519];
    serialized.extend_from_slice(value);
    if key.verify_signature(&serialized, signature) {
        Ok("verifies over 05 || e_skey_val".into())
    } else if key.verify_signature(value, signature) {
        Err("signature is over the raw 32-byte key, not 05 || key".into())
    } else {
        Err("signature does not verify".into())
    }
}
