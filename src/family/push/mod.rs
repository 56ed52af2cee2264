//! `push_token`: the harness as WhatsApp's push sender (RO-TS 3.2.2). It serves its push key at one loopback
//! JWKS per run, tells the provider to trust it, builds one token per case (correct or malicious) and POSTs
//! `{"to": id}` with `Authorization: Bearer` to the provider's push endpoint. A 2xx status is acceptance, a 4xx
//! status rejection (RO-TS names no status; 401 is the natural one); anything else fails the case.

pub mod generate;

use super::CaseContext;
use crate::http::server::LoopbackServer;
use crate::outcome::{Observation, Outcome};
use crate::provider::PushConfig;
use crate::signature::http::{HttpVersion, Refusal};
use crate::signature::keys;
use crate::signature::token::{self, TokenSpec, WHATSAPP_JWKS_PATH};
use crate::vector_format::{Expected, TestMeta, VectorFile, vector_test};

/// Tests sharing a theme.
pub type Group = crate::vector_format::TestGroup<Test>;

vector_test! {
    /// One push request.
    pub struct Test {
        /// The user-visible identifier in the body.
        pub to: String,
        /// How the bearer token is built.
        pub token: TokenSpec,
        /// Speak only this HTTP version (h2c prior knowledge for `http://`, ALPN `h2` for `https://`) and
        /// require the answer in it (RO-TRANSPORT-011); absent: the client's default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub http: Option<HttpVersion>,
    }
}

/// Inputs of one push.
#[derive(Debug, Clone)]
pub struct Check {
    /// Body identifier.
    pub to: String,
    /// Token recipe.
    pub token: TokenSpec,
    /// The one HTTP version to speak, if any.
    pub http: Option<HttpVersion>,
}

pub(super) fn validate(file: &VectorFile<Group>) -> Result<(), (String, String)> {
    for (g, group) in file.groups.iter().enumerate() {
        for (t, test) in group.tests.iter().enumerate() {
            if test.expected == Expected::Acceptable {
                let key = format!("groups[{g}].tests[{t}].expected");
                return Err((key, "a push is either accepted (valid) or rejected (invalid)".into()));
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
                to: t.to.clone(),
                token: t.token.clone(),
                http: t.http,
            };
            (t.meta(), super::Check::Push(check))
        })
        .collect()
}

/// The harness's WhatsApp JWKS, started on first use and served for the whole run. A provider trusts one JWKS
/// URL at a time (as a real one trusts WhatsApp's), so concurrent cases must share it: a server per case let
/// one case's server stop while another case's token was still being checked against it.
#[derive(Default)]
pub struct PushJwks(tokio::sync::OnceCell<std::io::Result<LoopbackServer>>);

impl PushJwks {
    /// The JWKS URL, starting the server on the current runtime if this is the first call.
    async fn url(&self) -> Result<String, String> {
        let server = self
            .0
            .get_or_init(|| async {
                let router = axum::Router::new().route(
                    WHATSAPP_JWKS_PATH,
                    axum::routing::get(|| async { axum::Json(keys::harness_push().jwks()) }),
                );
                LoopbackServer::start(router).await
            })
            .await;
        match server {
            Ok(s) => Ok(s.endpoint(WHATSAPP_JWKS_PATH)),
            Err(e) => Err(format!("harness JWKS server: {e}")),
        }
    }
}

fn error(expected: &str, message: String) -> Observation {
    Observation::with(Outcome::Error, expected, message)
}

pub(super) async fn run(meta: &TestMeta, check: &Check, ctx: &CaseContext<'_>) -> Observation {
    let expected = match meta.expected {
        Expected::Valid => "accepted (2xx)",
        _ => "rejected (4xx)",
    };
    let jwks_url = match ctx.push_jwks.url().await {
        Ok(url) => url,
        Err(e) => return error(expected, e),
    };
    let config = PushConfig { jwks_url };
    let endpoint = match ctx.provider.push_endpoint(&config).await {
        Ok(e) => e,
        Err(e) => return Observation::from_call_error(expected, &e).at_step("push_endpoint"),
    };
    let bearer = match check.token.build(&endpoint.audience, token::now()) {
        Ok(t) => t,
        Err(e) => return error(expected, e),
    };
    // The push URL is the provider's word: only an admitted URL is contacted, and no redirect is followed.
    let hosts = ctx.provider.allowed_hosts();
    let url = match hosts.check(&endpoint.url, None) {
        Ok(url) => url,
        Err(Refusal::Invalid(m)) => return Observation::fail(expected, format!("push endpoint: {m}")),
        Err(Refusal::NotAllowed(m)) => return error(expected, format!("push endpoint: {m}")),
    };
    let client = match hosts.direct_client(check.http) {
        Ok(c) => c,
        Err(e) => return error(expected, e),
    };
    let sent = client
        .post(url)
        .bearer_auth(bearer)
        .json(&serde_json::json!({ "to": check.to }))
        .send()
        .await;
    let (status, version) = match (sent, check.http) {
        (Ok(r), _) => (r.status(), r.version()),
        // Speaking one protocol, a push endpoint that cannot is the Partner's failure (RO-TRANSPORT-011).
        (Err(e), Some(v)) => {
            return Observation::fail(
                expected,
                format!(
                    "POST {} over {} failed: {}",
                    endpoint.url,
                    v.name(),
                    crate::http::client::error_chain(&e)
                ),
            );
        }
        (Err(e), None) => return error(expected, format!("POST {}: {e}", endpoint.url)),
    };
    if let Some(v) = check.http
        && version != v.wire()
    {
        return Observation::fail(expected, format!("POST over {} answered in {version:?}", v.name()));
    }
    let observed = match check.http {
        Some(v) => format!("status {status} over {}", v.name()),
        None => format!("status {status}"),
    };
    let ok = match meta.expected {
        Expected::Valid => status.is_success(),
        _ => status.is_client_error(),
    };
    if ok {
        Observation::pass(expected, observed)
    } else {
        Observation::fail(expected, observed)
    }
}
