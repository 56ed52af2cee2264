//! The suite's own side of WhatsApp's Noise channel to chatd (reference-offer.md §2.1, later-phases.md §1.4):
//! the handshake state, frames, the certificate chain (issued under a test root, and the chain rules of
//! RO-TRANSPORT-007/015) and the binary-XML header. Built on RustCrypto and dalek only, never on the reference's
//! Noise library; `vectors verify` re-derives every known answer with the separate code of
//! [`crate::family::noise_known_answer::verify`].

pub mod binxml;
pub mod cert;
pub mod noise;
pub mod responder;
pub mod websocket;
