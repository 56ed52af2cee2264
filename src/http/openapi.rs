//! The OpenAPI 3.1 description of the adapter API, assembled from the operation table and the Rust types'
//! JSON Schemas, so that `docs/openapi.json` cannot say something the code does not do (a test compares them).

use super::api::{self, ErrorBody, Method, Operation, OperationVisitor};
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// Where the committed document lives, relative to the crate root.
pub const COMMITTED_PATH: &str = "docs/openapi.json";

/// The OpenAPI document.
pub fn document() -> Value {
    struct Paths {
        generator: SchemaGenerator,
        paths: Map<String, Value>,
    }
    impl OperationVisitor for Paths {
        fn visit<O: Operation>(&mut self) {
            let response = self.generator.subschema_for::<O::Response>();
            let mut responses = Map::new();
            responses.insert(
                api::STATUS_OK.to_string(),
                json!({ "description": "Success.", "content": json_content(response.to_value()) }),
            );
            responses.insert(
                api::STATUS_BAD_REQUEST.to_string(),
                error_response(
                    "The request does not match the operation's schema. The suite records the case as `error`.",
                ),
            );
            responses.insert(
                "401".into(),
                error_response(
                    "A bearer token is required and was missing or wrong. The suite records the case as `error`.",
                ),
            );
            let mut operation = json!({
                "operationId": O::NAME,
                "summary": O::SUMMARY,
            });
            if O::PATH != api::GetCapabilities::PATH {
                responses.insert(api::STATUS_REJECTED.to_string(), error_response(
                    "The provider rejected the input; `error` is a taxonomy class. Compared with the vector's expectation.",
                ));
                responses.insert(api::STATUS_UNSUPPORTED.to_string(), error_response(
                    "The provider does not implement this operation (`error` is `unsupported`). Scores `unsupported`.",
                ));
            }
            if O::METHOD == Method::Post {
                let request = self.generator.subschema_for::<O::Request>();
                operation["requestBody"] = json!({ "required": true, "content": json_content(request.to_value()) });
            }
            operation["responses"] = Value::Object(responses);
            let mut item = Map::new();
            item.insert(O::METHOD.as_str().into(), operation);
            self.paths.insert(O::PATH.into(), Value::Object(item));
        }
    }
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    let mut visitor = Paths {
        generator: settings.into_generator(),
        paths: Map::new(),
    };
    visitor.generator.subschema_for::<ErrorBody>();
    api::for_each_operation(&mut visitor);
    visitor.paths.insert("/push".into(), push_path());
    let schemas = visitor.generator.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "interop-conformance adapter API",
            "version": api::API_VERSION,
            "description": "What a provider's test adapter serves so that the conformance suite can drive it. \
                Bodies are JSON; every binary field is lowercase hex. See docs/adapter-api.md for the order of calls, \
                capability negotiation and examples.",
            "license": { "name": "AGPL-3.0-only" }
        },
        "servers": [{ "url": "http://127.0.0.1:8787", "description": "conformance serve-reference" }],
        "security": [{}, { "bearer": [] }],
        "paths": visitor.paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        }
    })
}

/// `POST /push`: served by the provider's own server at the URL `POST /v1/push-endpoint` returned, not under
/// `/v1`; the suite plays WhatsApp's push sender there (RO-TS 3.2.2).
fn push_path() -> Value {
    json!({ "post": {
        "operationId": "push",
        "summary": "WhatsApp's push to the Partner's server (capability push), at the `url` that /v1/push-endpoint returned.",
        "description": "The suite sends `Authorization: Bearer <JWT>` signed with the key of the JWKS given to             /v1/push-endpoint: RS256, header `kid`, claims `iss` = `WHATSAPP`, `aud` = the `audience` returned by             /v1/push-endpoint, `iat` = now, `exp` = now + 3600 (no `nbf`). Verify the signature through that JWKS             (key by `kid`), the issuer, the audience and `exp` (the suite allows 60 s of clock skew; WhatsApp's             own leeway is unconfirmed); refuse `alg: none`, HMAC algorithms and unknown `kid`s. `to` need not name             a user the provider knows (the suite sends `alice421`). Any 2xx is acceptance, any 4xx rejection             (401 is natural); a 5xx or no answer fails the case whatever it expected.",
        "security": [{ "bearer": [] }],
        "requestBody": { "required": true, "content": json_content(json!({
            "type": "object",
            "required": ["to"],
            "properties": { "to": { "type": "string", "description": "The identifier to wake up." } }
        })) },
        "responses": {
            "200": { "description": "Accepted (any 2xx)." },
            "400": { "description": "Refused: the body is not `{\"to\": \"...\"}` (any 4xx is a refusal)." },
            "401": { "description": "Refused: the token does not verify (any 4xx is a refusal)." }
        }
    }})
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": json_content(json!({ "$ref": "#/components/schemas/ErrorBody" }))
    })
}

/// The document as committed: pretty JSON and a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when `docs/openapi.json` drifts from the types. Regenerate with
    /// `cargo run -- openapi > docs/openapi.json` or `UPDATE_OPENAPI=1 cargo test --lib openapi`.
    #[test]
    fn committed_openapi_matches_the_types() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED_PATH);
        let generated = document_text();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("write docs/openapi.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is out of date: run `cargo run -- openapi > {}` (or UPDATE_OPENAPI=1 cargo test --lib openapi)",
            path.display(),
            COMMITTED_PATH
        );
    }

    /// Descriptions come from doc comments: an intra-doc link (`[`Name`]`) means nothing to an adapter writer.
    #[test]
    fn no_rustdoc_links_and_push_is_described() {
        let text = document_text();
        assert!(!text.contains("[`"), "a rustdoc link leaked into the OpenAPI document");
        assert!(document()["paths"]["/push"]["post"]["requestBody"].is_object());
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "dangling $ref to {name}");
        }
        assert!(doc["paths"]["/v1/encrypt"]["post"]["requestBody"].is_object());
    }
}
