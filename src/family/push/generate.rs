//! Push-token vectors (RO-TS 3.2.2): one correct token as in the Reference Offer's example and one per attack.
//! Tokens are built at run time (their times are relative), so a vector holds the recipe, not the token.

use crate::family::Family;
use crate::family::push::{Group, Test};
use crate::generate::{Generated, file, flags, render, reqs};
use crate::signature::http::HttpVersion;
use crate::signature::token::{PUSH_ISSUER, TokenAlg, TokenKey, TokenKid, TokenSpec};
use crate::vector::Expected;

const NOTES: [(&str, &str, &str, &str); 2] = [
    (
        "PublishedExample",
        "BASIC",
        "Shaped like the RO-TS 3.2.2 example token: RS256, iss WHATSAPP, aud = the Partner URL, 3600 s lifetime.",
        "",
    ),
    (
        "AuthBypass",
        "AUTH_BYPASS",
        "A token WhatsApp did not issue for this Partner and time.",
        "Anyone can trigger wake-up pushes for any user of the Partner.",
    ),
];

fn test(id: &str, comment: &str, requirement: &str, expected: Expected, token: TokenSpec) -> Test {
    let f: &[&str] = if expected == Expected::Valid {
        &["PublishedExample"]
    } else {
        &["AuthBypass"]
    };
    Test {
        id: format!("push.{id}"),
        comment: comment.into(),
        requirements: reqs(&[requirement]),
        flags: flags(f),
        expected,
        to: "alice421".into(),
        token,
        http: None,
    }
}

/// Every push case: (id, comment, requirement, expected, recipe).
pub(crate) fn tests() -> Vec<Test> {
    let ok = TokenSpec::correct;
    let bad = Expected::Invalid;
    vec![
        test(
            "correct",
            "a correct token, as in the RO-TS example",
            "RO-ID-005A",
            Expected::Valid,
            ok(),
        ),
        test(
            "correct.issued-30s-ago",
            "a correct token issued 30 s ago",
            "RO-ID-005A",
            Expected::Valid,
            TokenSpec {
                iat_offset: -30,
                exp_offset: 3570,
                ..ok()
            },
        ),
        Test {
            http: Some(HttpVersion::Http1),
            ..test(
                "correct.http1",
                "a correct token POSTed speaking HTTP/1.1 only: the push endpoint answers 2xx in HTTP/1.1",
                "RO-TRANSPORT-011",
                Expected::Valid,
                ok(),
            )
        },
        Test {
            http: Some(HttpVersion::Http2),
            ..test(
                "correct.http2",
                "a correct token POSTed speaking HTTP/2 only (h2c prior knowledge for http://, ALPN h2 for https://): 2xx in HTTP/2",
                "RO-TRANSPORT-011",
                Expected::Valid,
                ok(),
            )
        },
        test(
            "bad-signature.tampered",
            "one bit of the signature flipped",
            "RO-ID-005B",
            bad,
            TokenSpec {
                tamper_signature: true,
                ..ok()
            },
        ),
        test(
            "bad-signature.other-key",
            "the published kid, signed by another RSA key",
            "RO-ID-005B",
            bad,
            TokenSpec {
                key: TokenKey::Attacker,
                ..ok()
            },
        ),
        test(
            "wrong-iss.other",
            "issuer is not WHATSAPP",
            "RO-ID-005C",
            bad,
            TokenSpec {
                iss: "https://attacker.example".into(),
                ..ok()
            },
        ),
        test(
            "wrong-iss.case",
            "issuer `whatsapp`: StringOrURI values compare case-sensitively (RFC 7519 section 2)",
            "RO-ID-005C",
            bad,
            TokenSpec {
                iss: PUSH_ISSUER.to_lowercase(),
                ..ok()
            },
        ),
        test(
            "wrong-aud.other",
            "audience of another Partner",
            "RO-ID-005D",
            bad,
            TokenSpec {
                aud: Some("https://other-partner.example".into()),
                ..ok()
            },
        ),
        test(
            "expired",
            "expired an hour ago (far beyond any clock skew)",
            "RO-ID-005E",
            bad,
            TokenSpec {
                iat_offset: -7200,
                exp_offset: -3600,
                ..ok()
            },
        ),
        test(
            "alg-none",
            "alg none, empty signature, the published kid",
            "RO-ID-005F",
            bad,
            TokenSpec {
                alg: TokenAlg::None,
                ..ok()
            },
        ),
        test(
            "alg-none.no-kid",
            "alg none, empty signature, no kid",
            "RO-ID-005F",
            bad,
            TokenSpec {
                alg: TokenAlg::None,
                kid: TokenKid::Absent,
                ..ok()
            },
        ),
        test(
            "hs256-public-key.der",
            "HS256 keyed with the published RSA public key (DER RSAPublicKey bytes)",
            "RO-ID-005G",
            bad,
            TokenSpec {
                alg: TokenAlg::Hs256,
                key: TokenKey::PushPublicDer,
                ..ok()
            },
        ),
        test(
            "hs256-public-key.pem",
            "HS256 keyed with the published RSA public key (PEM text)",
            "RO-ID-005G",
            bad,
            TokenSpec {
                alg: TokenAlg::Hs256,
                key: TokenKey::PushPublicPem,
                ..ok()
            },
        ),
        test(
            "unknown-kid",
            "a kid the JWKS does not hold, signed by that unpublished key",
            "RO-ID-005H",
            bad,
            TokenSpec {
                key: TokenKey::Attacker,
                kid: TokenKid::Unknown,
                ..ok()
            },
        ),
    ]
}

pub(crate) fn generate() -> Result<Generated, String> {
    let f = file(
        Family::PushToken,
        "Push requests (RO-TS 3.2.2): the Partner accepts WhatsApp's correct token and rejects forged ones",
        &NOTES,
        vec![Group {
            comment: "POST {base}/push with {\"to\": \"alice421\"} and Authorization: Bearer <token>".into(),
            tests: tests(),
        }],
    );
    render("push-token.yaml", &f)
}

#[cfg(test)]
mod tests {
    //! An independent oracle for the expected verdicts: ring's RSA verification and serde_json on the split
    //! token, without jsonwebtoken, which builds the tokens and which the reference uses to verify them.

    use crate::signature::keys;
    use crate::signature::token::PUSH_ISSUER;
    use crate::vector::Expected;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn oracle_accepts(token: &str, audience: &str, now: i64) -> bool {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return false;
        };
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap_or_default();
        let header: serde_json::Value = serde_json::from_slice(&decode(header)).unwrap_or_default();
        let claims: serde_json::Value = serde_json::from_slice(&decode(payload)).unwrap_or_default();
        let key = keys::harness_push();
        if header["alg"] != "RS256" || header["kid"] != key.kid.as_str() {
            return false;
        }
        let public = ring::rsa::PublicKeyComponents { n: &key.n, e: &key.e };
        let signed = format!("{}.{}", parts[0], parts[1]);
        if public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &decode(signature),
            )
            .is_err()
        {
            return false;
        }
        claims["iss"] == PUSH_ISSUER
            && claims["aud"] == audience
            && claims["exp"].as_i64().is_some_and(|exp| exp > now)
            && claims["iat"].as_i64().is_some_and(|iat| iat <= now)
    }

    /// Each recipe's token is accepted by the oracle exactly when the vector expects acceptance.
    #[test]
    fn expected_verdicts_match_an_independent_verifier() {
        let (audience, now) = ("http://127.0.0.1:9", 1_700_000_000);
        for t in super::tests() {
            let token = t.token.build(audience, now).expect("token builds");
            let accepted = oracle_accepts(&token, audience, now);
            assert_eq!(accepted, t.expected == Expected::Valid, "{}", t.id);
        }
    }
}
