//! The reference's Noise client to chatd (capability `transport`): WhatsApp's XX with the enlisted `authkey` as
//! static key and the Partner JWT in the ClientPayload (later-phases.md §1.4).
//!
//! Its own symmetric state (AES-256-GCM, HKDF) and its own chain check: XEdDSA through the reference's library
//! (wacore-libsignal), the serial and key rules, and the validity windows against the real clock (errata:
//! wacore-noise 0.7.0 does not check the windows, so a client built on it must). It shares no handshake code
//! with the suite's responder. Planted bugs ([`Fault`]::Transport*) are switches in the marked places.

use super::{Fault, Faults};
use crate::bytes::Bytes;
use crate::provider::{CallError, CallResult, ErrorClass, TransportConnect, TransportReport, TransportState};
use crate::transport_wire::{
    CertChain, CertDetails, ClientFinish, ClientHello, ClientPayload, HandshakeMessage, InteropData, PRODUCT_INTEROP,
};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use prost::Message;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use wacore_libsignal::protocol::PublicKey;

/// What the client logs in with.
pub(super) struct Credential {
    /// The enlisted `authkey`'s private half.
    pub static_private: [u8; 32],
    /// Its public half, as enlisted (kept, not recomputed per connection).
    pub static_public: [u8; 32],
    /// The Partner JWT.
    pub token: String,
    /// A fresh ephemeral private key for this connection.
    pub ephemeral: [u8; 32],
}

/// Largest frame the client reads.
const FRAME_CAP: usize = 1 << 20;

const PROLOGUE: [u8; 4] = [0x57, 0x41, 0x06, 0x03];
const XX_NAME: &[u8; 32] = b"Noise_XX_25519_AESGCM_SHA256\0\0\0\0";
const IK_NAME: &[u8; 32] = b"Noise_IK_25519_AESGCM_SHA256\0\0\0\0";
/// 36 bytes: longer than a hash, so `h0` is its SHA-256.
const XX_FALLBACK_NAME: &[u8] = b"Noise_XXfallback_25519_AESGCM_SHA256";

/// The handshake's running state.
struct Handshake {
    h: [u8; 32],
    ck: [u8; 32],
    key: Option<[u8; 32]>,
    n: u32,
    /// Planted bug: MixKey keeps the counter (RO-TRANSPORT-005).
    keep_counter: bool,
}

impl Handshake {
    fn new(h0: [u8; 32], keep_counter: bool) -> Self {
        let mut s = Self {
            h: h0,
            ck: h0,
            key: None,
            n: 0,
            keep_counter,
        };
        s.mix_hash(&PROLOGUE);
        s
    }

    fn mix_hash(&mut self, data: &[u8]) {
        let mut d = Sha256::new();
        d.update(self.h);
        d.update(data);
        self.h = d.finalize().into();
    }

    fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k) = hkdf2(&self.ck, ikm);
        self.ck = ck;
        self.key = Some(k);
        if !self.keep_counter {
            self.n = 0;
        }
    }

    fn aead(&mut self) -> Result<(Aes256Gcm, [u8; 12]), String> {
        let key = self.key.ok_or("no key before the first MixKey")?;
        let nonce = iv(self.n);
        self.n = self.n.checked_add(1).ok_or("handshake counter exhausted")?;
        Ok((Aes256Gcm::new(&key.into()), nonce))
    }

    fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let (cipher, nonce) = self.aead()?;
        let c = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &self.h,
                },
            )
            .map_err(|_| "encryption failed".to_string())?;
        self.mix_hash(&c);
        Ok(c)
    }

    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
        let (cipher, nonce) = self.aead()?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &self.h,
                },
            )
            .map_err(|_| "AES-GCM authentication failed".to_string())
    }

    fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
        let p = self.decrypt(ciphertext)?;
        self.mix_hash(ciphertext);
        Ok(p)
    }
}

fn iv(n: u32) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[8..].copy_from_slice(&n.to_be_bytes());
    iv
}

fn hkdf2(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut okm = [0u8; 64];
    // 64 bytes is within HKDF-SHA256's output limit.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(&[], &mut okm);
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.copy_from_slice(&okm[..32]);
    b.copy_from_slice(&okm[32..]);
    (a, b)
}

fn x25519(private: &[u8; 32], public: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*private, *public)
}

fn public(private: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*private, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// One direction after Split.
struct Transport {
    key: [u8; 32],
    n: u32,
    exhausted: bool,
    /// Planted bug: AAD = the final h instead of empty (RO-TRANSPORT-017).
    aad: Vec<u8>,
    /// Planted bug: the counter wraps (RO-TRANSPORT-019).
    wraps: bool,
}

impl Transport {
    fn next_nonce(&mut self) -> Result<[u8; 12], String> {
        if self.exhausted {
            return Err("the 32-bit nonce counter is used up; sending more would reuse a nonce".into());
        }
        let nonce = iv(self.n);
        match self.n.checked_add(1) {
            Some(n) => self.n = n,
            None if self.wraps => self.n = 0,
            None => self.exhausted = true,
        }
        Ok(nonce)
    }

    fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let nonce = self.next_nonce()?;
        Aes256Gcm::new(&self.key.into())
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &self.aad,
                },
            )
            .map_err(|_| "encryption failed".to_string())
    }

    fn open(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
        if self.exhausted {
            return Err("receive counter used up".into());
        }
        let out = Aes256Gcm::new(&self.key.into())
            .decrypt(
                &Nonce::from(iv(self.n)),
                Payload {
                    msg: ciphertext,
                    aad: &self.aad,
                },
            )
            .map_err(|_| "a transport frame failed authentication".to_string())?;
        self.next_nonce()?;
        Ok(out)
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend_from_slice(body);
    out
}

struct Link {
    stream: Box<dyn crate::transport::responder::Carrier>,
    deadline: Instant,
}

impl Link {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        tokio::time::timeout_at(self.deadline, self.stream.write_all(bytes))
            .await
            .map_err(|_| "timed out writing".to_string())?
            .map_err(|e| format!("write failed: {e}"))
    }

    /// One whole frame, or why not (a partial frame is never returned).
    async fn frame(&mut self) -> Result<Vec<u8>, String> {
        let mut len = [0u8; 3];
        self.read(&mut len).await?;
        let n = u32::from_be_bytes([0, len[0], len[1], len[2]]) as usize;
        if n > FRAME_CAP {
            return Err(format!(
                "the server announced a frame of {n} bytes (more than this client reads)"
            ));
        }
        let mut body = vec![0u8; n];
        self.read(&mut body).await?;
        Ok(body)
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<(), String> {
        tokio::time::timeout_at(self.deadline, self.stream.read_exact(buf))
            .await
            .map_err(|_| "timed out reading".to_string())?
            .map(|_| ())
            .map_err(|e| format!("connection ended inside a frame or before it: {e}"))
    }
}

fn refused(class: ErrorClass, detail: impl Into<String>) -> TransportReport {
    TransportReport {
        state: TransportState::Refused,
        class: Some(class),
        detail: detail.into(),
        received: Vec::new(),
    }
}

fn closed(detail: impl Into<String>) -> TransportReport {
    TransportReport {
        state: TransportState::Closed,
        class: None,
        detail: detail.into(),
        received: Vec::new(),
    }
}

/// Connect, hand-shake, send the stanzas, read until the server closes.
pub(super) async fn connect(
    request: &TransportConnect,
    credential: &Credential,
    resume: &mut Resume,
    faults: &Faults,
) -> CallResult<TransportReport> {
    let bad_url = || {
        CallError::rejected(
            ErrorClass::InvalidArgument,
            format!(
                "unsupported URL {:?}: tcp://HOST:PORT or ws://HOST:PORT/PATH",
                request.url
            ),
        )
    };
    let (address, websocket_path) = if let Some(a) = request.url.strip_prefix("tcp://") {
        (a.to_string(), None)
    } else if let Some(rest) = request.url.strip_prefix("ws://") {
        let (host, path) = rest.split_once('/').ok_or_else(bad_url)?;
        (host.to_string(), Some(format!("/{path}")))
    } else {
        return Err(bad_url());
    };
    let root: [u8; 32] = request
        .root_key
        .0
        .as_slice()
        .try_into()
        .map_err(|_| CallError::rejected(ErrorClass::InvalidArgument, "root_key is not 32 bytes"))?;
    let deadline = Instant::now() + Duration::from_millis(request.timeout_ms.clamp(1, 600_000));
    let stream = match tokio::time::timeout_at(deadline, TcpStream::connect(&address)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Ok(closed(format!("cannot connect: {e}"))),
        Err(_) => return Ok(closed("timed out connecting")),
    };
    let _ = stream.set_nodelay(true);
    let stream: Box<dyn crate::transport::responder::Carrier> = match websocket_path {
        None => Box::new(stream),
        Some(path) => {
            // The upgrade key is public: derive it one-way, never from the private ephemeral's bytes themselves.
            let digest = Sha256::new()
                .chain_update(b"websocket key")
                .chain_update(credential.ephemeral)
                .finalize();
            let mut nonce = [0u8; 16];
            nonce.copy_from_slice(&digest[..16]);
            match crate::transport::websocket::connect(stream, &address, &path, nonce, deadline).await {
                Ok(pipe) => Box::new(pipe),
                Err(e) => return Ok(closed(format!("WebSocket: {e}"))),
            }
        }
    };
    let mut link = Link { stream, deadline };
    let report = handshake_and_talk(&mut link, request, &root, credential, resume, faults).await;
    let _ = link.stream.shutdown().await;
    Ok(report)
}

/// What the client remembers of the chat server between connections, for IK resume (RO-TRANSPORT-021): the
/// static key its last verified chain certified, and that chain's windows. WhatsApp's clients use IK only while
/// no IK attempt has failed in this process (whatsapp-rust `select_pattern`, `IK_FAILURE_THRESHOLD = 1`).
#[derive(Debug, Clone, Default)]
pub(super) struct Resume {
    cached: Option<CachedServer>,
    ik_failed: bool,
}

#[derive(Debug, Clone)]
struct CachedServer {
    root: [u8; 32],
    server_static: [u8; 32],
    /// The latest notBefore and the earliest notAfter of the two certificates.
    not_before: u64,
    not_after: u64,
}

impl Resume {
    /// The cached server static to resume with, when IK is allowed: same root, both windows holding now.
    fn usable(&self, root: &[u8; 32]) -> Option<[u8; 32]> {
        let now = crate::signature::token::now().max(0) as u64;
        self.cached
            .as_ref()
            .filter(|c| !self.ik_failed && &c.root == root && c.not_before <= now && now < c.not_after)
            .map(|c| c.server_static)
    }

    /// Remember a server whose chain was verified on a completed XX or XXfallback handshake.
    fn remember(&mut self, root: &[u8; 32], server_static: [u8; 32], chain: &[u8]) {
        self.cached = windows(chain).map(|(not_before, not_after)| CachedServer {
            root: *root,
            server_static,
            not_before,
            not_after,
        });
    }
}

/// The chain's common validity window (latest notBefore, earliest notAfter), if it decodes.
fn windows(chain: &[u8]) -> Option<(u64, u64)> {
    let chain = CertChain::decode(chain).ok()?;
    let mut window = (0u64, u64::MAX);
    for cert in [chain.leaf?, chain.intermediate?] {
        let d = CertDetails::decode(cert.details?.as_slice()).ok()?;
        window.0 = window.0.max(d.not_before.unwrap_or(0));
        window.1 = window.1.min(d.not_after.unwrap_or(u64::MAX));
    }
    Some(window)
}

async fn handshake_and_talk(
    link: &mut Link,
    request: &TransportConnect,
    root: &[u8; 32],
    credential: &Credential,
    resume: &mut Resume,
    faults: &Faults,
) -> TransportReport {
    let e = credential.ephemeral;
    let e_pub = public(&e);
    let s_pub = credential.static_public;
    let keep_counter = faults.has(Fault::TransportNoNonceReset);
    let resuming = resume.usable(root);

    // → e (XX), or → e, es, s, ss with the ClientPayload (IK resume, later-phases.md §1.4 item 6).
    let mut client_hello = ClientHello {
        ephemeral: Some(e_pub.to_vec()),
        ..ClientHello::default()
    };
    let mut hs = match resuming {
        None => {
            let mut hs = Handshake::new(*XX_NAME, keep_counter);
            hs.mix_hash(&e_pub);
            hs
        }
        Some(server_static) => {
            let mut hs = Handshake::new(*IK_NAME, keep_counter);
            hs.mix_hash(&server_static);
            hs.mix_hash(&e_pub);
            hs.mix_key(&x25519(&e, &server_static));
            let sealed = hs.encrypt_and_hash(&s_pub).and_then(|static_ct| {
                hs.mix_key(&x25519(&credential.static_private, &server_static));
                Ok((static_ct, hs.encrypt_and_hash(&client_payload(credential))?))
            });
            match sealed {
                Ok((static_ct, payload_ct)) => {
                    client_hello.r#static = Some(static_ct);
                    client_hello.payload = Some(payload_ct);
                }
                Err(e) => return refused(ErrorClass::Internal, e),
            }
            hs
        }
    };
    let hello = HandshakeMessage {
        client_hello: Some(client_hello),
        ..HandshakeMessage::default()
    }
    .encode_to_vec();
    let mut first = Vec::new();
    if let Some(info) = &request.routing_info {
        if info.0.len() > 0xff_ffff {
            return refused(ErrorClass::InvalidArgument, "routing info longer than 0xFFFFFF");
        }
        first.extend_from_slice(&[0x45, 0x44, 0x00, 0x01]);
        first.extend_from_slice(&frame(&info.0));
    }
    first.extend_from_slice(&PROLOGUE);
    first.extend_from_slice(&frame(&hello));
    if let Err(e) = link.send(&first).await {
        return closed(e);
    }

    let hello = match read_server_hello(link).await {
        Ok(h) => h,
        Err(report) => return report,
    };
    match (resuming, hello.r#static.is_some()) {
        (Some(_), false) => {
            // IK accepted: ← e, ee, se with the server's payload; the cached chain stays.
            let (Some(e_s), Some(payload_ct)) = (hello.ephemeral, hello.payload) else {
                return refused(ErrorClass::InvalidMessage, "IK serverHello lacks ephemeral or payload");
            };
            let Ok(e_s) = <[u8; 32]>::try_from(e_s.as_slice()) else {
                return refused(ErrorClass::InvalidMessage, "the server ephemeral is not 32 bytes");
            };
            hs.mix_hash(&e_s);
            hs.mix_key(&x25519(&e, &e_s));
            hs.mix_key(&x25519(&credential.static_private, &e_s));
            if let Err(e) = hs.decrypt_and_hash(&payload_ct) {
                return refused(ErrorClass::BadMac, format!("IK serverHello.payload: {e}"));
            }
        }
        (Some(_), true) => {
            // IK rejected: the server answered as XX with its (new) static. Never resume again in this process;
            // complete the handshake as XXfallback on the ephemeral already sent (§1.4 item 7).
            resume.cached = None;
            // Planted bug: keep resuming after a rejection (RO-TRANSPORT-022A).
            resume.ik_failed = !faults.has(Fault::TransportIkAfterRejection);
            if faults.has(Fault::TransportFallbackNewHello) {
                // Planted bug: start over with a new ClientHello and a new ephemeral on the same connection
                // (RO-TRANSPORT-022).
                let again = HandshakeMessage {
                    client_hello: Some(ClientHello {
                        ephemeral: Some(public(&Sha256::digest(e).into()).to_vec()),
                        ..ClientHello::default()
                    }),
                    ..HandshakeMessage::default()
                }
                .encode_to_vec();
                if let Err(e) = link.send(&frame(&again)).await {
                    return closed(e);
                }
                return match link.frame().await {
                    Ok(_) => refused(
                        ErrorClass::InvalidMessage,
                        "the restarted handshake got no usable answer",
                    ),
                    Err(e) => closed(format!("after restarting the handshake: {e}")),
                };
            }
            hs = Handshake::new(Sha256::digest(XX_FALLBACK_NAME).into(), keep_counter);
            hs.mix_hash(&e_pub);
            // Planted bug: the fallback trusts the new chain unchecked (RO-TRANSPORT-022).
            let skip_chain = faults.has(Fault::TransportFallbackSkipsChain);
            if let Err(report) = xx_finish(link, &mut hs, hello, root, credential, resume, faults, skip_chain).await {
                return report;
            }
        }
        (None, _) => {
            if let Err(report) = xx_finish(link, &mut hs, hello, root, credential, resume, faults, false).await {
                return report;
            }
        }
    }
    talk(link, &hs, request, faults).await
}

/// The server's first frame, read and checked for shape: exactly a serverHello, no post-quantum demand.
async fn read_server_hello(link: &mut Link) -> Result<crate::transport_wire::ServerHello, TransportReport> {
    let body = match link.frame().await {
        Ok(b) => b,
        Err(e) => return Err(closed(format!("no whole ServerHello: {e}"))),
    };
    let Ok(message) = HandshakeMessage::decode(body.as_slice()) else {
        return Err(refused(
            ErrorClass::InvalidMessage,
            "the ServerHello frame is not a HandshakeMessage",
        ));
    };
    if message.client_hello.is_some() || message.client_finish.is_some() {
        return Err(refused(
            ErrorClass::InvalidMessage,
            "the server's HandshakeMessage sets more than serverHello",
        ));
    }
    let Some(hello) = message.server_hello else {
        return Err(refused(ErrorClass::InvalidMessage, "no serverHello"));
    };
    if hello.extended_static.is_some() || hello.extended_ciphertext.is_some() {
        return Err(refused(
            ErrorClass::InvalidMessage,
            "the server demands a post-quantum mode this client does not implement",
        ));
    }
    Ok(hello)
}

/// `← e, ee, s, es` with the chain checked, then `→ s, se` (XX, or XXfallback on a re-initialised state).
#[allow(clippy::too_many_arguments)]
async fn xx_finish(
    link: &mut Link,
    hs: &mut Handshake,
    hello: crate::transport_wire::ServerHello,
    root: &[u8; 32],
    credential: &Credential,
    resume: &mut Resume,
    faults: &Faults,
    skip_chain: bool,
) -> Result<(), TransportReport> {
    let e = credential.ephemeral;
    let s_pub = credential.static_public;
    let (Some(e_s), Some(static_ct), Some(payload_ct)) = (hello.ephemeral, hello.r#static, hello.payload) else {
        return Err(refused(
            ErrorClass::InvalidMessage,
            "serverHello lacks ephemeral, static or payload",
        ));
    };
    let Ok(e_s) = <[u8; 32]>::try_from(e_s.as_slice()) else {
        return Err(refused(
            ErrorClass::InvalidMessage,
            "the server ephemeral is not 32 bytes",
        ));
    };
    hs.mix_hash(&e_s);
    hs.mix_key(&x25519(&e, &e_s));
    let server_static = if faults.has(Fault::TransportMixPlaintextStatic) {
        // Planted bug: MixHash the decrypted static instead of its ciphertext (RO-TRANSPORT-014).
        let p = hs
            .decrypt(&static_ct)
            .map_err(|e| refused(ErrorClass::BadMac, format!("serverHello.static: {e}")))?;
        hs.mix_hash(&p);
        p
    } else {
        hs.decrypt_and_hash(&static_ct)
            .map_err(|e| refused(ErrorClass::BadMac, format!("serverHello.static: {e}")))?
    };
    let Ok(server_static) = <[u8; 32]>::try_from(server_static.as_slice()) else {
        return Err(refused(
            ErrorClass::InvalidMessage,
            "the server static key is not 32 bytes",
        ));
    };
    hs.mix_key(&x25519(&e, &server_static));
    let chain = hs
        .decrypt_and_hash(&payload_ct)
        .map_err(|e| refused(ErrorClass::BadMac, format!("serverHello.payload: {e}")))?;

    if faults.has(Fault::TransportCacheUnverified) {
        // Planted bug: remember the server static for IK before its chain is judged (RO-TRANSPORT-021).
        resume.remember(root, server_static, &chain);
    }
    let early = faults.has(Fault::TransportFinishBeforeChainCheck);
    if early {
        // Planted bug: the credential goes out before the chain is judged (RO-TRANSPORT-007).
        let f = client_finish(hs, &s_pub, credential, &e_s).map_err(|e| refused(ErrorClass::Internal, e))?;
        link.send(&frame(&f)).await.map_err(closed)?;
    }
    if !skip_chain && let Err(why) = check_chain(root, &chain, &server_static, faults) {
        return Err(refused(
            ErrorClass::BadSignature,
            format!("server certificate chain: {why}"),
        ));
    }
    if !early {
        let f = client_finish(hs, &s_pub, credential, &e_s).map_err(|e| refused(ErrorClass::Internal, e))?;
        link.send(&frame(&f)).await.map_err(closed)?;
    }
    if !faults.has(Fault::TransportSkipChainCheck) && !skip_chain {
        resume.remember(root, server_static, &chain);
    }
    Ok(())
}

/// After Split: send the stanzas, then deliver what opens until the server closes.
async fn talk(link: &mut Link, hs: &Handshake, request: &TransportConnect, faults: &Faults) -> TransportReport {
    // Split: the client writes with the first key, reads with the second.
    let (w, r) = hkdf2(&hs.ck, &[]);
    let aad = if faults.has(Fault::TransportAadAfterSplit) {
        hs.h.to_vec()
    } else {
        Vec::new()
    };
    let wraps = faults.has(Fault::TransportCounterWraps);
    let mut write = Transport {
        key: w,
        n: request.counter_start.unwrap_or(0),
        exhausted: false,
        aad: aad.clone(),
        wraps,
    };
    let mut read = Transport {
        key: r,
        n: 0,
        exhausted: false,
        aad,
        wraps,
    };
    for stanza in &request.stanzas {
        let sealed = match write.seal(&stanza.0) {
            Ok(s) => s,
            Err(e) => return closed(format!("stopped sending: {e}")),
        };
        if sealed.len() >= 1 << 24 {
            return refused(ErrorClass::InvalidArgument, "a stanza too large for one frame");
        }
        if let Err(e) = link.send(&frame(&sealed)).await {
            return closed(e);
        }
    }
    let mut received = Vec::new();
    let mut detail = "handshake done, stanzas sent".to_string();
    loop {
        let body = match link.frame().await {
            Ok(b) => b,
            Err(_) => break,
        };
        match read.open(&body) {
            Ok(stanza) => received.push(Bytes(stanza)),
            Err(e) => {
                // Never deliver it; counters are out of step, so close (RO-TRANSPORT-018).
                detail = format!("closed: {e}");
                break;
            }
        }
    }
    TransportReport {
        state: TransportState::Connected,
        class: None,
        detail,
        received,
    }
}

/// The interop login: product INTEROP with the Partner JWT (RO-TRANSPORT-025).
fn client_payload(credential: &Credential) -> Vec<u8> {
    ClientPayload {
        product: Some(PRODUCT_INTEROP),
        interop_data: Some(InteropData {
            token: Some(credential.token.as_bytes().to_vec()),
            ..InteropData::default()
        }),
        ..ClientPayload::default()
    }
    .encode_to_vec()
}

/// `→ s, se` with the ClientPayload.
fn client_finish(
    hs: &mut Handshake,
    s_pub: &[u8; 32],
    credential: &Credential,
    e_s: &[u8; 32],
) -> Result<Vec<u8>, String> {
    let static_ct = hs.encrypt_and_hash(s_pub)?;
    hs.mix_key(&x25519(&credential.static_private, e_s));
    let payload_ct = hs.encrypt_and_hash(&client_payload(credential))?;
    Ok(HandshakeMessage {
        client_finish: Some(ClientFinish {
            r#static: Some(static_ct),
            payload: Some(payload_ct),
        }),
        ..HandshakeMessage::default()
    }
    .encode_to_vec())
}

fn signed_by(key: &[u8], details: &[u8], signature: &[u8], faults: &Faults) -> bool {
    if signature.len() != 64 {
        return false;
    }
    if faults.has(Fault::TransportEd25519Chain) {
        // Planted bug: read the Montgomery key as an Edwards point and verify plain Ed25519 (RO-TRANSPORT-015).
        let (Ok(k), Ok(s)) = (<[u8; 32]>::try_from(key), <[u8; 64]>::try_from(signature)) else {
            return false;
        };
        return ed25519_dalek::VerifyingKey::from_bytes(&k)
            .map(|v| {
                v.verify_strict(details, &ed25519_dalek::Signature::from_bytes(&s))
                    .is_ok()
            })
            .unwrap_or(false);
    }
    PublicKey::from_djb_public_key_bytes(key)
        .map(|k| k.verify_signature(details, signature))
        .unwrap_or(false)
}

/// The six rules of RO-TRANSPORT-007 with the real clock.
fn check_chain(root: &[u8; 32], chain: &[u8], server_static: &[u8; 32], faults: &Faults) -> Result<(), String> {
    if faults.has(Fault::TransportSkipChainCheck) {
        // Planted bug: the chain is never looked at (RO-TRANSPORT-007).
        return Ok(());
    }
    let chain = CertChain::decode(chain).map_err(|e| format!("not a CertChain: {e}"))?;
    let parts = |c: Option<crate::transport_wire::NoiseCertificate>, which: &str| {
        let c = c.ok_or(format!("no {which}"))?;
        let (Some(details), Some(signature)) = (c.details, c.signature) else {
            return Err(format!("{which} lacks details or signature"));
        };
        let parsed = CertDetails::decode(details.as_slice()).map_err(|e| format!("{which} details: {e}"))?;
        Ok((details, signature, parsed))
    };
    let (inter_bytes, inter_sig, inter) = parts(chain.intermediate, "intermediate")?;
    let (leaf_bytes, leaf_sig, leaf) = parts(chain.leaf, "leaf")?;
    if !signed_by(root, &inter_bytes, &inter_sig, faults) {
        return Err("the intermediate is not signed by the root".into());
    }
    if inter.issuer_serial.unwrap_or(0) != 0 {
        return Err("intermediate issuerSerial is not 0".into());
    }
    let inter_key = inter.key.clone().unwrap_or_default();
    if !signed_by(&inter_key, &leaf_bytes, &leaf_sig, faults) {
        return Err("the leaf is not signed by the intermediate".into());
    }
    if leaf.issuer_serial.unwrap_or(0) != inter.serial.unwrap_or(0) {
        return Err("leaf issuerSerial is not the intermediate's serial".into());
    }
    if leaf.key.as_deref() != Some(server_static.as_slice()) {
        return Err("the leaf does not certify the server static key".into());
    }
    if faults.has(Fault::TransportAcceptExpiredChain) {
        // Planted bug: only notBefore is checked, never notAfter (RO-TRANSPORT-007 rule 6).
        let now = crate::signature::token::now().max(0) as u64;
        for d in [&inter, &leaf] {
            if now < d.not_before.unwrap_or(0) {
                return Err("a certificate is not yet valid".into());
            }
        }
        return Ok(());
    }
    let now = crate::signature::token::now().max(0) as u64;
    for (which, d) in [("intermediate", &inter), ("leaf", &leaf)] {
        if now < d.not_before.unwrap_or(0) || now > d.not_after.unwrap_or(u64::MAX) {
            return Err(format!("the {which} is outside its validity window"));
        }
    }
    Ok(())
}
