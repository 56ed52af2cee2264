//! interop-conformance: a conformance suite for end-to-end-encrypted messaging interoperability under the
//! EU Digital Markets Act (WhatsApp's Reference Offer: Signal Protocol, v3 framing, XEdDSA, HKDF media).
//!
//! The shape: YAML (vectors, requirements, profiles) -> typed [`plan`] -> [`runner`] driving one
//! [`provider::Provider`] (the embedded [`reference`] or an HTTP adapter) -> case outcomes -> [`scoring`] per
//! requirement -> one owned [`report::RunReport`] -> pure renderers. A provider's failure is data (an
//! [`outcome::Outcome`]); only the tool's own failures are errors ([`execute::ToolError`]).

pub mod adapter_check;
pub mod bytes;
pub mod campaign;
pub mod certificate;
pub mod execute;
pub mod exit;
pub mod family;
pub mod generate;
pub mod http;
pub mod listing;
pub mod matrix;
pub mod monitor;
pub mod outcome;
pub mod plan;
pub mod progress;
pub mod provider;
pub mod reference;
pub mod report;
pub mod requirements;
pub mod runner;
pub mod sanitize;
pub mod scenario;
pub mod schema;
pub mod scope;
pub mod scoring;
pub mod selftest;
pub mod signature;
pub mod transcript;
pub mod transport;
pub mod transport_wire;
pub mod vector;
pub mod vector_format;
pub mod verify;
pub mod waiver;
pub mod wire;
pub mod yaml;
