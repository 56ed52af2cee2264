//! WhatsApp's Noise handshake messages, certificate chain and interop login payload as hand-written prost
//! structs (field numbers: reference-offer.md C34-C36, later-phases.md L3-L5, from whatsmeow's `waWa6` and
//! `waCert` schemas). Every field is optional so that hostile or malformed messages can omit any of them.

/// `HandshakeMessage`: exactly one of the three is set per frame (RO-TRANSPORT-013).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HandshakeMessage {
    /// `→ e` (and, in IK, `s` and the payload).
    #[prost(message, optional, tag = "2")]
    pub client_hello: Option<ClientHello>,
    /// `← e, ee, s, es` with the certificate chain as payload.
    #[prost(message, optional, tag = "3")]
    pub server_hello: Option<ServerHello>,
    /// `→ s, se` with the `ClientPayload`.
    #[prost(message, optional, tag = "4")]
    pub client_finish: Option<ClientFinish>,
}

/// `HandshakeMessage.ClientHello` (fields 4-10 are post-quantum or padding fields no open client sends).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientHello {
    /// Client ephemeral public key, 32 bytes.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub ephemeral: Option<Vec<u8>>,
    /// IK only: the encrypted client static key.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub r#static: Option<Vec<u8>>,
    /// IK only: the encrypted `ClientPayload`.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub payload: Option<Vec<u8>>,
    /// Post-quantum: `useExtended`.
    #[prost(bool, optional, tag = "4")]
    pub use_extended: Option<bool>,
    /// Post-quantum: `extendedCiphertext`.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub extended_ciphertext: Option<Vec<u8>>,
    /// `paddedBytes`.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub padded_bytes: Option<Vec<u8>>,
    /// `sendServerHelloPaddedBytes`.
    #[prost(bool, optional, tag = "7")]
    pub send_server_hello_padded_bytes: Option<bool>,
    /// Post-quantum: `simulateXxkemFs`.
    #[prost(bool, optional, tag = "8")]
    pub simulate_xxkem_fs: Option<bool>,
    /// Post-quantum: `pqMode` (`HandshakePqMode`, L4).
    #[prost(int32, optional, tag = "9")]
    pub pq_mode: Option<i32>,
    /// Post-quantum: `extendedEphemeral`.
    #[prost(bytes = "vec", optional, tag = "10")]
    pub extended_ephemeral: Option<Vec<u8>>,
}

/// `HandshakeMessage.ServerHello`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerHello {
    /// Server ephemeral public key, 32 bytes.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub ephemeral: Option<Vec<u8>>,
    /// Encrypted server static key (48 bytes); absent when an IK resume is accepted.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub r#static: Option<Vec<u8>>,
    /// Encrypted `CertChain` (XX) or payload (IK).
    #[prost(bytes = "vec", optional, tag = "3")]
    pub payload: Option<Vec<u8>>,
    /// Post-quantum: `extendedStatic` (RO-TRANSPORT-023).
    #[prost(bytes = "vec", optional, tag = "4")]
    pub extended_static: Option<Vec<u8>>,
    /// `paddingBytes`.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub padding_bytes: Option<Vec<u8>>,
    /// Post-quantum: `extendedCiphertext`.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub extended_ciphertext: Option<Vec<u8>>,
}

/// `HandshakeMessage.ClientFinish`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientFinish {
    /// Encrypted client static key (the enlisted `authkey`).
    #[prost(bytes = "vec", optional, tag = "1")]
    pub r#static: Option<Vec<u8>>,
    /// Encrypted `ClientPayload`.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub payload: Option<Vec<u8>>,
}

/// `CertChain`: the ServerHello payload of an XX handshake.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CertChain {
    /// Signed by the intermediate; its key is the server static.
    #[prost(message, optional, tag = "1")]
    pub leaf: Option<NoiseCertificate>,
    /// Signed by the root.
    #[prost(message, optional, tag = "2")]
    pub intermediate: Option<NoiseCertificate>,
}

/// `CertChain.NoiseCertificate`: serialized `Details` and a 64-byte XEdDSA signature over them.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NoiseCertificate {
    /// Serialized [`CertDetails`], signed as they are.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub details: Option<Vec<u8>>,
    /// XEdDSA signature by the issuer.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub signature: Option<Vec<u8>>,
}

/// `CertChain.NoiseCertificate.Details`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CertDetails {
    /// This certificate's serial.
    #[prost(uint32, optional, tag = "1")]
    pub serial: Option<u32>,
    /// The issuer's serial (0 for the root).
    #[prost(uint32, optional, tag = "2")]
    pub issuer_serial: Option<u32>,
    /// The certified Curve25519 public key, 32 bytes.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub key: Option<Vec<u8>>,
    /// Start of validity, Unix seconds.
    #[prost(uint64, optional, tag = "4")]
    pub not_before: Option<u64>,
    /// End of validity, Unix seconds.
    #[prost(uint64, optional, tag = "5")]
    pub not_after: Option<u64>,
}

/// `ClientPayload`, the fields an interop login uses (L5).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientPayload {
    /// `username`.
    #[prost(uint64, optional, tag = "1")]
    pub username: Option<u64>,
    /// `product`: WHATSAPP 0, MESSENGER 1, INTEROP 2, INTEROP_MSGR 3, WHATSAPP_LID 4.
    #[prost(int32, optional, tag = "20")]
    pub product: Option<i32>,
    /// `interopData`.
    #[prost(message, optional, tag = "38")]
    pub interop_data: Option<InteropData>,
}

/// `ClientPayload.InteropData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InteropData {
    /// `accountID`.
    #[prost(uint64, optional, tag = "1")]
    pub account_id: Option<u64>,
    /// `token`: the Partner JWT.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub token: Option<Vec<u8>>,
    /// `enableReadReceipts`.
    #[prost(bool, optional, tag = "3")]
    pub enable_read_receipts: Option<bool>,
}

/// `ClientPayload.product` INTEROP.
pub const PRODUCT_INTEROP: i32 = 2;
