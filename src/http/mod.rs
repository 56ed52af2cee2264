//! Testing a provider over HTTP: the versioned adapter API ([`api`]) a provider's test adapter serves, the
//! server that exposes any [`crate::provider::Provider`] through it ([`server`], `conformance serve-reference`),
//! the defensive client the suite drives it with ([`client`], `conformance run --target URL`), and the OpenAPI
//! description generated from the same types ([`openapi`]). The prose contract is `docs/adapter-api.md`.

pub mod api;
pub mod client;
pub mod openapi;
pub mod server;
