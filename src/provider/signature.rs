//! Data of the signature process (RO-ID-001..005): enlistment requests and the push endpoint.
//!
//! Adapter mapping (one endpoint per operation, JSON bodies exactly these types):
//! `POST /v1/enlistment-request` takes [`EnlistmentRequest`] and answers [`Enlistment`];
//! `POST /v1/push-endpoint` takes [`PushConfig`] and answers [`PushEndpoint`] (see `docs/adapter-api.md`).

use super::ClientId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Ask for the enlistment request a client would send to WhatsApp's `/3p/interop_reg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnlistmentRequest {
    /// The client (its keys go into the request).
    pub client: ClientId,
    /// The Partner user-visible identifier the token must vouch for (e.g. `alice421`).
    pub identifier: String,
}

/// An enlistment request as the client would POST it, and where its server publishes the token keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Enlistment {
    /// The form fields, name -> value exactly as sent after form-urlencoding is undone (binary fields are
    /// base64url text, `token` is the JWT).
    pub form: BTreeMap<String, String>,
    /// The Partner server's JWKS URL, ending in `/.well-known/oauth/openid/jwks` (RO-TS 1.3.1).
    pub jwks_url: String,
}

/// Configure the Partner server's push endpoint to trust a WhatsApp JWKS (the harness's, in a test run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// Where WhatsApp's push-signing keys are published (production: `https://whatsapp.com/.well-known/jwks`).
    pub jwks_url: String,
}

/// Where the Partner server takes WhatsApp's push calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushEndpoint {
    /// The full URL of `POST {base}/push`, reachable from the harness.
    pub url: String,
    /// The `aud` the server expects in push tokens (its base URL in the RO-TS example).
    pub audience: String,
}
