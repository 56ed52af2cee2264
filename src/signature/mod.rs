//! The signature process of the Reference Offer (RO-TS 1.1-1.3, 3.2.2) as the harness plays it: WhatsApp's
//! enlistment endpoint (decode the form, fetch the Partner's JWKS, verify its token) and WhatsApp's push
//! sender (sign push tokens with a key published at a loopback JWKS).

pub mod form;
pub mod http;
pub mod keys;
pub mod token;
