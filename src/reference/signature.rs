//! The reference provider's side of the signature process: a token issuer with a JWKS, enlistment requests
//! built from a client's real keys, and a push endpoint that verifies WhatsApp's push tokens.
//!
//! One loopback server per provider, started on first use, serves `GET /.well-known/oauth/openid/jwks` and
//! `POST /push`. The issuer key is a committed test key ([`crate::signature::keys`]), so tokens verify the same
//! way in every run. Planted faults of this layer live here, apart from the correct path.

use super::{Client, Fault, Faults};
use crate::http::server::LoopbackServer;
use crate::provider::{CallError, CallResult, Enlistment, ErrorClass, PushConfig, PushEndpoint};
use crate::signature::form::{KEY_TYPE_CURVE25519, encode_value};
use crate::signature::http;
use crate::signature::keys;
use crate::signature::token::{self, PARTNER_JWKS_PATH, PUSH_ISSUER};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wacore_libsignal::protocol::{GenericSignedPreKey, KeyPair};

/// Lifetime of issued enlistment tokens. Unconfirmed for Partner tokens; the RO-TS push example uses 3600 s.
const TOKEN_LIFETIME: i64 = 3600;

/// Longest the push handler may spend on one request (it fetches WhatsApp's JWKS).
const PUSH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);

/// The running server and what its handlers share.
struct Running {
    server: LoopbackServer,
    state: Arc<PushState>,
}

/// Shared by the push handler.
struct PushState {
    /// This server's base URL: the issuer of its tokens and the `aud` it expects in push tokens.
    base_url: String,
    /// WhatsApp's JWKS URL, once configured.
    jwks_url: Mutex<Option<String>>,
    /// Identifiers woken by accepted pushes.
    wakeups: Mutex<Vec<String>>,
    client: reqwest::Client,
    faults: Faults,
}

/// The lazily started issuer and push server.
#[derive(Default)]
pub(super) struct SignatureService {
    running: tokio::sync::OnceCell<Running>,
}

fn internal(message: String) -> CallError {
    CallError::rejected(ErrorClass::Internal, message)
}

impl SignatureService {
    async fn running(&self, faults: &Faults) -> CallResult<&Running> {
        self.running
            .get_or_try_init(|| async {
                let client = http::client().map_err(internal)?;
                let mut shared = None;
                let server = LoopbackServer::start_with(|addr| {
                    let state = Arc::new(PushState {
                        base_url: format!("http://{addr}"),
                        jwks_url: Mutex::new(None),
                        wakeups: Mutex::new(Vec::new()),
                        client,
                        faults: faults.clone(),
                    });
                    shared = Some(state.clone());
                    axum::Router::new()
                        .route(PARTNER_JWKS_PATH, get(jwks))
                        .route("/push", post(push))
                        .with_state(state)
                })
                .await
                .map_err(|e| internal(format!("cannot serve on loopback: {e}")))?;
                let state = shared.ok_or_else(|| internal("push state not built".into()))?;
                Ok(Running { server, state })
            })
            .await
    }

    /// The enlistment request of `client` for `identifier`.
    pub(super) async fn enlistment(
        &self,
        faults: &Faults,
        client: &mut Client,
        identifier: &str,
    ) -> CallResult<Enlistment> {
        let running = self.running(faults).await?;
        let mut form = client.enlistment_fields(faults)?;
        let hmac = faults.has(Fault::EnlistTokenHs256);
        let token = issue_token(&running.state.base_url, identifier, hmac)?;
        client.noise_token = Some(token.clone());
        form.insert("token".into(), token);
        Ok(Enlistment {
            form,
            jwks_url: running.server.endpoint(PARTNER_JWKS_PATH),
        })
    }

    /// Trust `config.jwks_url` for push tokens; answer where `/push` is.
    pub(super) async fn push_endpoint(&self, faults: &Faults, config: &PushConfig) -> CallResult<PushEndpoint> {
        let running = self.running(faults).await?;
        *running.state.jwks_url.lock().unwrap_or_else(|e| e.into_inner()) = Some(config.jwks_url.clone());
        Ok(PushEndpoint {
            url: running.server.endpoint("/push"),
            audience: running.state.base_url.clone(),
        })
    }

    /// Identifiers woken so far (accepted pushes).
    pub(super) fn wakeups(&self) -> Vec<String> {
        self.running
            .get()
            .map(|r| r.state.wakeups.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }
}

/// An RS256 token vouching that the holder controls `identifier` now (RO-ID-003, 004). Claim names follow
/// OpenID (`iss`, `sub`, `iat`, `exp`); WhatsApp's exact claims are unconfirmed.
/// With `hmac` (the planted bug enlist-token-hs256, RO-ID-003A) it is HS256 keyed with the kid instead: nothing
/// a public JWKS can verify.
fn issue_token(issuer: &str, identifier: &str, hmac: bool) -> CallResult<String> {
    let key = keys::reference_issuer();
    let now = token::now();
    let claims = serde_json::json!({
        "iss": issuer,
        "sub": identifier,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
    });
    let (algorithm, encoding) = if hmac {
        (
            Algorithm::HS256,
            jsonwebtoken::EncodingKey::from_secret(key.kid.as_bytes()),
        )
    } else {
        (Algorithm::RS256, key.encoding.clone())
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &encoding).map_err(|e| internal(format!("issuing a token: {e}")))
}

impl Client {
    /// The binary enlistment fields (RO-TS 1.2.2), base64url without padding, from this client's keys.
    fn enlistment_fields(&mut self, faults: &Faults) -> CallResult<BTreeMap<String, String>> {
        if self.noise_static.is_none() {
            self.noise_static = Some(KeyPair::generate(&mut self.rng));
        }
        let authkey = self
            .noise_static
            .as_ref()
            .map(|pair| pair.public_key.public_key_bytes().to_vec())
            .unwrap_or_default();
        let signed = self
            .signed_prekeys
            .0
            .get(&self.signed_prekey_id)
            .ok_or_else(|| internal("signed prekey missing".into()))?;
        let signed_public = signed.public_key().map_err(|e| internal(e.to_string()))?;
        let id = u32::from(self.signed_prekey_id);
        if id > 0x00ff_ffff {
            return Err(internal(format!(
                "signed prekey id {id} does not fit the 3-byte e_skey_id"
            )));
        }
        let signature = if faults.has(Fault::SignPrekeyOverRawKey) {
            // Planted bug: sign the raw 32 bytes instead of 0x05 || key (RO-SIG-002).
            let own = self.identities.own.private_key();
            own.calculate_signature(signed_public.public_key_bytes(), &mut self.rng)
                .map_err(|e| internal(e.to_string()))?
                .to_vec()
        } else {
            signed.signature().map_err(|e| internal(e.to_string()))?.to_vec()
        };
        let enlisted_registration_id = if faults.has(Fault::EnlistRegistrationIdDrift) {
            // Planted bug: enlist another registration id than the one the bundles carry (RO-ID-010).
            (self.identities.registration_id + 1) & 0x3fff
        } else {
            self.identities.registration_id
        };
        let fields: [(&str, Vec<u8>); 7] = [
            ("authkey", authkey),
            ("e_keytype", vec![KEY_TYPE_CURVE25519]),
            ("e_regid", enlisted_registration_id.to_be_bytes().to_vec()),
            (
                "e_ident",
                self.identities
                    .own
                    .identity_key()
                    .public_key()
                    .public_key_bytes()
                    .to_vec(),
            ),
            ("e_skey_id", id.to_be_bytes()[1..].to_vec()),
            ("e_skey_val", signed_public.public_key_bytes().to_vec()),
            ("e_skey_sig", signature),
        ];
        Ok(fields
            .into_iter()
            .map(|(name, bytes)| (name.to_string(), encode_value(&bytes)))
            .collect())
    }
}

/// Whether a planted fault refuses this request's HTTP version: `fault` on and the request came over HTTP/2.
/// (The server itself speaks HTTP/1.1 and HTTP/2 alike, RO-TRANSPORT-011.)
fn refuses_http2(state: &PushState, fault: Fault, version: Version) -> bool {
    // Planted bug (jwks-http1-only, push-http1-only): an endpoint that speaks HTTP/1.1 only.
    state.faults.has(fault) && version == Version::HTTP_2
}

/// `GET /.well-known/oauth/openid/jwks`: the issuer's key set, over HTTP/1.1 or HTTP/2.
async fn jwks(State(state): State<Arc<PushState>>, version: Version) -> Response {
    if refuses_http2(&state, Fault::JwksHttp1Only, version) {
        return StatusCode::HTTP_VERSION_NOT_SUPPORTED.into_response();
    }
    axum::Json(keys::reference_issuer().jwks()).into_response()
}

/// `POST /push`: 200 and a wake-up for a verified token and body `{"to": id}`; 401 for a bad token; 400 for a
/// bad body; 503 when WhatsApp's JWKS is not configured or cannot be fetched.
async fn push(
    State(state): State<Arc<PushState>>,
    version: Version,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    if refuses_http2(&state, Fault::PushHttp1Only, version) {
        return StatusCode::HTTP_VERSION_NOT_SUPPORTED;
    }
    match tokio::time::timeout(PUSH_DEADLINE, handle_push(&state, &headers, &body)).await {
        Ok(status) => status,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn handle_push(state: &PushState, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let Some(token) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED;
    };
    let accepted = if state.faults.has(Fault::AcceptAlgNone) && unsecured_header(token) {
        // Planted bug: an unsecured JWT is taken at its word (RO-ID-005F).
        true
    } else {
        match verify_push_token(state, token).await {
            Ok(()) => true,
            Err(status) => return status,
        }
    };
    let to = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("to").and_then(|t| t.as_str()).map(str::to_string));
    match (accepted, to) {
        (true, Some(to)) => {
            state.wakeups.lock().unwrap_or_else(|e| e.into_inner()).push(to);
            StatusCode::OK
        }
        (true, None) => StatusCode::BAD_REQUEST,
        (false, _) => StatusCode::UNAUTHORIZED,
    }
}

/// RO-TS 3.2.2: verify against WhatsApp's JWKS; RS256 only (the example's algorithm), iss WHATSAPP, aud = this
/// server's base URL, exp required, 60 s leeway (skew unconfirmed).
async fn verify_push_token(state: &PushState, token: &str) -> Result<(), StatusCode> {
    let jwks_url = state
        .jwks_url
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| StatusCode::UNAUTHORIZED)?;
    let kid = header.kid.ok_or(StatusCode::UNAUTHORIZED)?;
    let body = http::get(&state.client, &jwks_url)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let jwks = keys::parse_jwks(&body).map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let jwk = jwks.find(&kid).ok_or(StatusCode::UNAUTHORIZED)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| StatusCode::UNAUTHORIZED)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = u64::try_from(token::SKEW_SECONDS).unwrap_or(60);
    validation.set_issuer(&[PUSH_ISSUER]);
    validation.set_audience(&[&state.base_url]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    if state.faults.has(Fault::SkipAudienceCheck) {
        // Planted bug: any audience is accepted (RO-ID-005D).
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss"]);
    }
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .map(|_| ())
        .map_err(|_| StatusCode::UNAUTHORIZED)
}

/// Whether a token's header says `alg: none`. Used only by the planted fault: a correct verifier never asks.
fn unsecured_header(token: &str) -> bool {
    token
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|h| h.get("alg").and_then(|a| a.as_str()) == Some("none"))
}

#[cfg(test)]
mod tests {
    use super::super::{Fault, Faults, ReferenceProvider};
    use crate::execute::{self, RunRequest};
    use crate::scoring::RequirementVerdict;
    use std::sync::Arc;

    /// The verdict of `requirement` when only its cases run against a reference with `faults`.
    async fn verdict(faults: &[Fault], requirement: &str) -> RequirementVerdict {
        let provider = ReferenceProvider::with_faults(Faults(faults.iter().copied().collect()));
        let mut request = RunRequest::embedded(7);
        request.plan.only = vec![requirement.to_string()];
        let output = execute::run(&request, Arc::new(provider), false)
            .await
            .expect("the run completes");
        output
            .report
            .requirements
            .iter()
            .find(|r| r.id == requirement)
            .map(|r| r.verdict)
            .expect("requirement in the report")
    }

    /// Each fault of this layer fails the requirement it names, which the clean reference passes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn faults_are_caught_through_their_requirement() {
        for fault in [
            Fault::AcceptAlgNone,
            Fault::SkipAudienceCheck,
            Fault::JwksHttp1Only,
            Fault::PushHttp1Only,
            Fault::SignPrekeyOverRawKey,
            Fault::EnlistRegistrationIdDrift,
            Fault::EnlistTokenHs256,
        ] {
            let broken = fault.breaks();
            assert_eq!(verdict(&[], broken).await, RequirementVerdict::Pass, "clean {broken}");
            assert_eq!(
                verdict(&[fault], broken).await,
                RequirementVerdict::Fail,
                "{fault} -> {broken}"
            );
        }
    }

    /// An accepted push wakes the named user; a rejected one wakes nobody.
    #[tokio::test]
    async fn only_accepted_pushes_wake_up() {
        use crate::http::server::LoopbackServer;
        use crate::provider::{Provider, PushConfig};
        use crate::signature::http;
        use crate::signature::keys;
        use crate::signature::token::{self, TokenKey, TokenSpec, WHATSAPP_JWKS_PATH};
        let router = axum::Router::new().route(
            WHATSAPP_JWKS_PATH,
            axum::routing::get(|| async { axum::Json(keys::harness_push().jwks()) }),
        );
        let jwks = LoopbackServer::start(router).await.expect("jwks server");
        let provider = ReferenceProvider::new();
        let endpoint = provider
            .push_endpoint(&PushConfig {
                jwks_url: jwks.endpoint(WHATSAPP_JWKS_PATH),
            })
            .await
            .expect("push endpoint");
        let client = http::client().expect("client");
        for (to, spec) in [
            (
                "mallory",
                TokenSpec {
                    key: TokenKey::Attacker,
                    ..TokenSpec::correct()
                },
            ),
            ("alice421", TokenSpec::correct()),
        ] {
            let bearer = spec.build(&endpoint.audience, token::now()).expect("token");
            let body = serde_json::json!({ "to": to });
            let sent = client.post(&endpoint.url).bearer_auth(bearer).json(&body).send().await;
            sent.expect("push sent");
        }
        assert_eq!(provider.push_wakeups(), vec!["alice421".to_string()]);
    }
}
