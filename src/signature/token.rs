//! JWTs of the signature process: checking a Partner's enlistment token against its JWKS (RO-ID-003, 004),
//! and building the correct and malicious push tokens the harness sends (RO-ID-005).
//!
//! jsonwebtoken (on ring) does the JOSE work. The only tokens built by hand are the `alg: none` ones, which
//! no correct library produces.

use super::http::{self, HostPolicy, Refusal};
use super::keys::{self, TestKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The JWKS path of a Partner server (RO-TS 1.3.1).
pub const PARTNER_JWKS_PATH: &str = "/.well-known/oauth/openid/jwks";

/// The JWKS path the harness serves its push keys at (production: `https://whatsapp.com/.well-known/jwks`).
pub const WHATSAPP_JWKS_PATH: &str = "/.well-known/jwks";

/// The push tokens' issuer in the RO-TS 3.2.2 example.
pub const PUSH_ISSUER: &str = "WHATSAPP";

/// Clock skew tolerated on `iat`/`exp`. Unconfirmed (reference-offer.md section 5 item 13): the suite's choice.
pub const SKEW_SECONDS: i64 = 60;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// A Partner token checked against the Partner's JWKS.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The header's algorithm.
    pub alg: Algorithm,
    /// The header's kid.
    pub kid: String,
    /// The claims, read only after the signature verified.
    pub claims: Map<String, Value>,
}

/// Fetch the Partner's JWKS and verify the token's signature under the key its `kid` names. The JWKS URL is the
/// provider's word: `hosts` admits it (and any redirect) or refuses it first.
///
/// Accepts any asymmetric algorithm jsonwebtoken knows (whether WhatsApp allows more than RS256 is unconfirmed;
/// RO-ID-003B scores RS256 separately); never `none` or an HMAC algorithm, which a public JWKS cannot verify.
pub async fn verify_partner_token(hosts: &HostPolicy, jwks_url: &str, token: &str) -> Result<Verified, TokenError> {
    hosts.check(jwks_url, Some(PARTNER_JWKS_PATH)).map_err(|r| match r {
        Refusal::NotAllowed(m) => TokenError::NotAllowed(m),
        Refusal::Invalid(m) => TokenError::Invalid(format!("jwks_url: {m}")),
    })?;
    let client = hosts.client(Some(PARTNER_JWKS_PATH)).map_err(TokenError::Harness)?;
    let body = http::get(&client, jwks_url).await.map_err(TokenError::Invalid)?;
    verify_with_jwks(&body, jwks_url, token).map_err(TokenError::Invalid)
}

/// Fetch the Partner's JWKS at `jwks_url` speaking only `version` (RO-TRANSPORT-011), under the same rules as
/// [`verify_partner_token`]'s fetch: `hosts` admits the URL and any redirect, bounded time and size, a JWK Set
/// quoted only as a sanitized excerpt. A response in another HTTP version than the one asked for is an error.
pub async fn fetch_partner_jwks(
    hosts: &HostPolicy,
    jwks_url: &str,
    version: http::HttpVersion,
) -> Result<jsonwebtoken::jwk::JwkSet, TokenError> {
    hosts.check(jwks_url, Some(PARTNER_JWKS_PATH)).map_err(|r| match r {
        Refusal::NotAllowed(m) => TokenError::NotAllowed(m),
        Refusal::Invalid(m) => TokenError::Invalid(format!("jwks_url: {m}")),
    })?;
    let client = hosts
        .client_speaking(Some(PARTNER_JWKS_PATH), Some(version))
        .map_err(TokenError::Harness)?;
    let (body, got) = http::get_versioned(&client, jwks_url)
        .await
        .map_err(TokenError::Invalid)?;
    if got != version.wire() {
        return Err(TokenError::Invalid(format!(
            "GET {jwks_url} asked over {} answered in {got:?}",
            version.name()
        )));
    }
    keys::parse_jwks(&body).map_err(|e| TokenError::Invalid(format!("GET {jwks_url} over {}: {e}", version.name())))
}

/// Why a Partner token did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The token, the JWKS or its URL is wrong: a finding.
    Invalid(String),
    /// The JWKS is on a host the user did not allow: the case cannot be judged.
    NotAllowed(String),
    /// The harness itself failed.
    Harness(String),
}

fn verify_with_jwks(body: &[u8], jwks_url: &str, token: &str) -> Result<Verified, String> {
    let jwks = keys::parse_jwks(body).map_err(|e| format!("GET {jwks_url}: {e}"))?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("token header: {e}"))?;
    if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(format!(
            "token alg {:?}: an HMAC algorithm cannot be verified with a JWKS",
            header.alg
        ));
    }
    let kid = header.kid.clone().ok_or("token header has no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid:?} is not in the JWKS at {jwks_url}"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWK {kid:?}: {e}"))?;
    let mut validation = Validation::new(header.alg);
    // Signature only: freshness and the identifier are scored separately (RO-ID-003C, RO-ID-004).
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| format!("token does not verify under JWK {kid:?}: {e}"))?;
    Ok(Verified {
        alg: header.alg,
        kid,
        claims: data.claims,
    })
}

/// The token is fresh at `now`: `exp` and `iat` present, `iat` not in the future, `exp` not past, `exp > iat`
/// (within [`SKEW_SECONDS`]). Lifetimes are unconfirmed; only these orderings are checked.
pub fn check_freshness(claims: &Map<String, Value>, now: i64) -> Result<String, String> {
    let number = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("claim {name} missing or not an integer"))
    };
    let (iat, exp) = (number("iat")?, number("exp")?);
    if iat > now + SKEW_SECONDS {
        return Err(format!("iat {iat} is {}s in the future", iat - now));
    }
    if exp < now - SKEW_SECONDS {
        return Err(format!("exp {exp} passed {}s ago", now - exp));
    }
    if exp <= iat {
        return Err(format!("exp {exp} is not after iat {iat}"));
    }
    Ok(format!("iat {iat}, exp {exp} (lifetime {}s)", exp - iat))
}

/// The top-level string claim that names `identifier`, if any. The claim's name is unconfirmed; OpenID's `sub`
/// is the natural one, so it is looked at first.
pub fn identifier_claim(claims: &Map<String, Value>, identifier: &str) -> Option<String> {
    let named = |(name, value): (&String, &Value)| (value.as_str() == Some(identifier)).then(|| name.clone());
    claims
        .get_key_value("sub")
        .and_then(named)
        .or_else(|| claims.iter().find_map(named))
}

/// The algorithm written in a push token's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, as in the RO-TS example.
    Rs256,
    /// HMAC-SHA256: only meaningful as the key-confusion attack.
    Hs256,
    /// No signature (RFC 7519 unsecured JWT).
    None,
}

/// The key material that signs a push token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKey {
    /// The harness's published push key.
    Push,
    /// A key nobody publishes.
    Attacker,
    /// HMAC secret = the published key's DER `RSAPublicKey` bytes.
    PushPublicDer,
    /// HMAC secret = the published key as PEM text.
    PushPublicPem,
}

/// The `kid` written in a push token's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKid {
    /// The published key's kid.
    Push,
    /// A kid not in the JWKS (the attacker key's).
    Unknown,
    /// No kid.
    Absent,
}

/// How to build one push token; times are relative to the moment it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Header `alg`.
    pub alg: TokenAlg,
    /// Signing key.
    pub key: TokenKey,
    /// Header `kid`.
    pub kid: TokenKid,
    /// `iss` claim.
    pub iss: String,
    /// `aud` claim; absent: the audience the provider announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// `iat` relative to now, seconds.
    pub iat_offset: i64,
    /// `exp` relative to now, seconds.
    pub exp_offset: i64,
    /// Flip one bit of the signature after signing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tamper_signature: bool,
}

impl TokenSpec {
    /// A correct token as in the RO-TS 3.2.2 example: RS256, iss WHATSAPP, the provider's aud, 3600 s.
    pub fn correct() -> Self {
        Self {
            alg: TokenAlg::Rs256,
            key: TokenKey::Push,
            kid: TokenKid::Push,
            iss: PUSH_ISSUER.into(),
            aud: None,
            iat_offset: 0,
            exp_offset: 3600,
            tamper_signature: false,
        }
    }

    /// Build the compact token for `audience` at time `now`.
    pub fn build(&self, audience: &str, now: i64) -> Result<String, String> {
        let claims = serde_json::json!({
            "iss": self.iss,
            "aud": self.aud.as_deref().unwrap_or(audience),
            "iat": now + self.iat_offset,
            "exp": now + self.exp_offset,
        });
        let kid = match self.kid {
            TokenKid::Push => Some(keys::harness_push().kid.clone()),
            TokenKid::Unknown => Some(keys::harness_attacker().kid.clone()),
            TokenKid::Absent => None,
        };
        let token = match self.alg {
            TokenAlg::None => unsecured(kid.as_deref(), &claims),
            TokenAlg::Rs256 | TokenAlg::Hs256 => {
                let alg = if self.alg == TokenAlg::Rs256 {
                    Algorithm::RS256
                } else {
                    Algorithm::HS256
                };
                let mut header = Header::new(alg);
                header.kid = kid;
                let pem;
                let key = match self.key {
                    TokenKey::Push => harness_key(alg, keys::harness_push())?,
                    TokenKey::Attacker => harness_key(alg, keys::harness_attacker())?,
                    TokenKey::PushPublicDer => jsonwebtoken::EncodingKey::from_secret(&keys::harness_push().public_der),
                    TokenKey::PushPublicPem => {
                        pem = keys::harness_push().public_pem();
                        jsonwebtoken::EncodingKey::from_secret(pem.as_bytes())
                    }
                };
                jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("signing the push token: {e}"))?
            }
        };
        Ok(if self.tamper_signature { tamper(&token)? } else { token })
    }
}

fn harness_key(alg: Algorithm, key: &TestKey) -> Result<jsonwebtoken::EncodingKey, String> {
    if alg == Algorithm::RS256 {
        Ok(key.encoding.clone())
    } else {
        Err("an RSA private key signs only RS256 tokens; use push_public_der/pem for HS256".into())
    }
}

/// An RFC 7519 unsecured JWT: `alg: none` and an empty signature.
fn unsecured(kid: Option<&str>, claims: &Value) -> String {
    let mut header = serde_json::json!({ "alg": "none", "typ": "JWT" });
    if let Some(kid) = kid {
        header["kid"] = Value::from(kid);
    }
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Flip the lowest bit of the signature's first byte.
fn tamper(token: &str) -> Result<String, String> {
    let (signed, signature) = token.rsplit_once('.').ok_or("token without a signature part")?;
    let mut bytes = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| format!("signature part: {e}"))?;
    let first = bytes.first_mut().ok_or("empty signature")?;
    *first ^= 1;
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn freshness_orders_times() {
        let now = 1_000_000;
        assert!(check_freshness(&claims(serde_json::json!({"iat": now, "exp": now + 3600})), now).is_ok());
        assert!(check_freshness(&claims(serde_json::json!({"iat": now - 7200, "exp": now - 3600})), now).is_err());
        assert!(check_freshness(&claims(serde_json::json!({"iat": now + 600, "exp": now + 3600})), now).is_err());
        assert!(check_freshness(&claims(serde_json::json!({"exp": now + 3600})), now).is_err());
    }

    #[test]
    fn identifier_prefers_sub() {
        let c = claims(serde_json::json!({"name": "alice421", "sub": "alice421"}));
        assert_eq!(identifier_claim(&c, "alice421").as_deref(), Some("sub"));
        let c = claims(serde_json::json!({"preferred_username": "alice421", "sub": "x"}));
        assert_eq!(identifier_claim(&c, "alice421").as_deref(), Some("preferred_username"));
        assert_eq!(identifier_claim(&c, "bob"), None);
    }
}
