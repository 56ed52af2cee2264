//! The suite plays chatd: a WhatsApp-flavoured Noise XX responder of its own (later-phases.md §1.4), one
//! connection per case, honest or hostile by [`Behaviour`]. It records what the client put on the wire
//! ([`Seen`]); verdicts rest on that record, never on what the client's adapter says it did.
//!
//! Bounded against hostile clients: every read runs under the case deadline, frames are capped
//! ([`HANDSHAKE_FRAME_CAP`], [`TRANSPORT_FRAME_CAP`]), the recorded stream and frame counts are capped, and a
//! 16 MiB length announcement is refused from its 3-byte header without reading the body.
//!
//! Built on the suite's own Noise code ([`super::noise`], RustCrypto and dalek) and certificate issuing
//! ([`super::cert`]), never on the reference's library.

use super::cert::{self, Issue};
use super::noise::{self, Cipher, NoiseError, SymmetricState};
use crate::transport_wire::{
    CertDetails, ClientFinish, ClientPayload, HandshakeMessage, NoiseCertificate, ServerHello,
};
use prost::Message;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Largest handshake frame the responder reads (a ClientHello or ClientFinish is a few hundred bytes).
pub const HANDSHAKE_FRAME_CAP: usize = 64 * 1024;
/// Largest transport frame the responder reads.
pub const TRANSPORT_FRAME_CAP: usize = 1 << 20;
/// Client bytes kept for the re-chunking check (RO-TRANSPORT-024).
pub const STREAM_RECORD_CAP: usize = 256 * 1024;
/// Client transport frames kept per connection.
pub const FRAME_COUNT_CAP: usize = 64;
/// Largest edge-routing info accepted (RO-TRANSPORT-020 allows up to 0xFFFFFF; real ones are short).
pub const ROUTING_INFO_CAP: usize = 4096;

/// How the responder behaves towards the client: honest, or one hostile rule at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// A correct server with a chain under the root the client was told to trust.
    Honest,
    /// Correct, but the ServerHello is written one byte at a time and the transport frames merged into one
    /// write (RO-TRANSPORT-024, the client's reassembly).
    Dribble,
    /// Correct; the client's sending counter starts two short of 2^32 (RO-TRANSPORT-019).
    CounterEdge,
    /// Chain: the intermediate signed by another key than the root (rule 1).
    ChainIntermediateSignature,
    /// Chain: intermediate issuerSerial 1, re-signed (rule 2).
    ChainIntermediateIssuerSerial,
    /// Chain: the leaf signed by the root instead of the intermediate (rule 3).
    ChainLeafSignature,
    /// Chain: leaf issuerSerial differs from the intermediate serial, re-signed (rule 4).
    ChainLeafIssuerSerial,
    /// Chain: the leaf certifies another key than the server static, re-signed (rule 5).
    ChainLeafKey,
    /// Chain: the leaf expired an hour before the real clock (rule 6).
    ChainExpired,
    /// Chain: the leaf becomes valid an hour after the real clock (rule 6).
    ChainNotYetValid,
    /// Chain: a 63-byte intermediate signature.
    ChainShortSignature,
    /// Chain: the intermediate signed with plain Ed25519 by the root's seed instead of XEdDSA (RO-TRANSPORT-015).
    ChainEd25519Root,
    /// ServerHello with a 31-byte ephemeral (RO-TRANSPORT-013).
    HelloShortEphemeral,
    /// ServerHello without `static` (RO-TRANSPORT-013).
    HelloMissingStatic,
    /// ServerHello that also sets `clientFinish` (RO-TRANSPORT-013A, SHOULD).
    HelloWithClientFinish,
    /// ServerHello carrying `extendedStatic`: a demanded post-quantum mode (RO-TRANSPORT-023, SHOULD).
    DemandPostQuantum,
    /// A ServerHello frame announcing 0xFFFFFF bytes, then the connection closes (RO-TRANSPORT-004).
    OversizedFrame,
    /// The ServerHello frame cut in half, then the connection closes (RO-TRANSPORT-024).
    TruncatedFrame,
    /// After Split, the server's first transport frame has a flipped bit; the next is correct
    /// (RO-TRANSPORT-018).
    TamperedFrame,
    /// After Split, the server's first transport frame is sent twice (RO-TRANSPORT-018).
    ReplayedFrame,
    /// Correct, and the client is expected to resume with IK from the server static it cached on an earlier
    /// connection (RO-TRANSPORT-021); an IK ClientHello is accepted.
    IkResume,
    /// Correct, but the server's static key changed since the client cached it: an IK ClientHello does not
    /// open, so the server answers with an XXfallback ServerHello carrying its new static and chain
    /// (RO-TRANSPORT-022).
    IkRejected,
    /// As [`Self::IkRejected`], but the fallback chain's leaf is signed by the root instead of the intermediate:
    /// no ClientFinish may follow (RO-TRANSPORT-022 with rule 3 of RO-TRANSPORT-007).
    IkFallbackBadChain,
    /// Correct, after a first connection whose chain was broken ([`Self::ChainLeafSignature`]) under the same
    /// server static: a client that cached that unverified static would resume with IK; it must use XX
    /// (RO-TRANSPORT-021: IK only from a verified, still-valid cached chain).
    IkUnverifiedCache,
    /// As [`Self::IkRejected`], then a third connection to the same (rotated) server: after an IK rejection the
    /// client should connect with XX (RO-TRANSPORT-022A, SHOULD; whatsapp-rust `IK_FAILURE_THRESHOLD = 1`).
    IkAfterFallback,
}

/// Which handshake the responder ran, from the client's first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// A ClientHello with only an ephemeral: XX.
    Xx,
    /// A ClientHello with ephemeral, static and payload that opened under the server's static: IK accepted.
    Ik,
    /// An IK ClientHello that did not open (the client cached another server static): XXfallback.
    XxFallback,
}

impl Behaviour {
    /// Whether the server never authenticates itself to a careful client: any ClientFinish is a leak.
    pub fn unauthenticated(self) -> bool {
        !matches!(
            self,
            Self::Honest
                | Self::Dribble
                | Self::CounterEdge
                | Self::TamperedFrame
                | Self::ReplayedFrame
                | Self::IkResume
                | Self::IkRejected
                | Self::IkUnverifiedCache
                | Self::IkAfterFallback
        )
    }

    /// Whether the case resumes: a first connection to an honest server, then this behaviour.
    pub fn resumes(self) -> bool {
        matches!(
            self,
            Self::IkResume
                | Self::IkRejected
                | Self::IkFallbackBadChain
                | Self::IkUnverifiedCache
                | Self::IkAfterFallback
        )
    }

    /// What the server of a resume case's first connection does: honest, or (for
    /// [`Self::IkUnverifiedCache`]) presenting a broken chain the client must refuse.
    pub fn first_connection(self) -> Self {
        if self == Self::IkUnverifiedCache {
            Self::ChainLeafSignature
        } else {
            Self::Honest
        }
    }

    /// Whether the server's static key changed since the client's earlier connection.
    fn rotated(self) -> bool {
        matches!(
            self,
            Self::IkRejected | Self::IkFallbackBadChain | Self::IkAfterFallback
        )
    }
}

/// What one connection is to be.
#[derive(Debug, Clone)]
pub struct Config {
    /// Honest or hostile.
    pub behaviour: Behaviour,
    /// The test root's private key (the client trusts its public half).
    pub root: [u8; 32],
    /// Keys and signing randomness come from this seed, so a case replays.
    pub seed: u64,
    /// The real clock (Unix seconds): certificate windows are set around it.
    pub now: u64,
    /// Transport frames the client is asked to send.
    pub client_stanzas: usize,
    /// Stanzas the server sends after Split.
    pub server_stanzas: Vec<Vec<u8>>,
    /// The client's sending counter starts here ([`Behaviour::CounterEdge`]).
    pub client_counter_start: u32,
    /// When the connection is given up.
    pub deadline: Instant,
}

/// What the responder saw, in order. Updated as the connection goes, so a stopped responder still tells.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Edge-routing info, when the pre-intro came.
    pub routing_info: Option<Vec<u8>>,
    /// The 4 bytes in the header position.
    pub header: Option<[u8; 4]>,
    /// Client bytes after the header, as received (capped).
    pub stream: Vec<u8>,
    /// The ClientHello frame's body.
    pub hello: Option<Vec<u8>>,
    /// The handshake the first frame asked for.
    pub pattern: Option<Pattern>,
    /// The ephemeral of a second ClientHello sent where the XXfallback ClientFinish belonged
    /// (RO-TRANSPORT-022 forbids it).
    pub second_hello: Option<Vec<u8>>,
    /// The client's ephemeral key.
    pub ephemeral: Option<[u8; 32]>,
    /// The server static key the responder used.
    pub server_static: [u8; 32],
    /// The second handshake frame's body: the client's credential went out when this is set. An accepted IK
    /// ClientHello carries the credential itself (to the server static the client authenticated before).
    pub finish: Option<Vec<u8>>,
    /// The decrypted client static key.
    pub client_static: Option<[u8; 32]>,
    /// The decrypted ClientPayload bytes.
    pub payload: Option<Vec<u8>>,
    /// The first protocol problem, with the stage it happened at.
    pub problem: Option<(Stage, String)>,
    /// Client transport frames that opened, in order.
    pub stanzas: Vec<Vec<u8>>,
    /// Client transport frames that arrived after the client's counter was exhausted (nonce reuse).
    pub after_exhaustion: usize,
    /// The server stanzas a careful client would deliver (the tampered or replayed copies excluded).
    pub deliverable: Vec<Vec<u8>>,
    /// How the connection ended.
    pub end: String,
}

/// Where a problem happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Before or in the first frame (pre-intro, header, ClientHello).
    Hello,
    /// The second handshake frame.
    Finish,
    /// After Split.
    Transport,
}

/// A shared record: the case reads it after the client's call returns, whether or not the responder ended.
pub type Record = Arc<Mutex<Seen>>;

fn update(record: &Record, f: impl FnOnce(&mut Seen)) {
    f(&mut record.lock().unwrap_or_else(|e| e.into_inner()));
}

fn problem(record: &Record, stage: Stage, text: String) {
    update(record, |s| {
        if s.problem.is_none() {
            s.problem = Some((stage, text));
        }
    });
}

/// A deterministic 32-byte key from the seed and a label.
fn derive(seed: u64, label: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(seed.to_be_bytes())
        .chain_update(label.as_bytes())
        .finalize()
        .into()
}

fn z(seed: u64, label: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&derive(seed, &format!("{label} z1")));
    out[32..].copy_from_slice(&derive(seed, &format!("{label} z2")));
    out
}

/// The CertChain the server presents for `behaviour`: a correct chain under `root`, or one rule broken.
pub fn chain_for(behaviour: Behaviour, root: &[u8; 32], server_static: &[u8; 32], seed: u64, now: u64) -> Vec<u8> {
    let inter = derive(seed, "intermediate");
    let mut inter_details = CertDetails {
        serial: Some(3),
        issuer_serial: Some(0),
        key: Some(noise::public_key(&inter).to_vec()),
        not_before: Some(now.saturating_sub(30 * 86_400)),
        not_after: Some(now + 365 * 86_400),
    };
    let mut leaf_details = CertDetails {
        serial: Some(329),
        issuer_serial: Some(3),
        key: Some(server_static.to_vec()),
        not_before: Some(now.saturating_sub(86_400)),
        not_after: Some(now + 30 * 86_400),
    };
    let mut inter_signer = *root;
    let mut leaf_signer = inter;
    match behaviour {
        Behaviour::ChainIntermediateSignature => inter_signer = derive(seed, "impostor root"),
        Behaviour::ChainIntermediateIssuerSerial => inter_details.issuer_serial = Some(1),
        Behaviour::ChainLeafSignature | Behaviour::IkFallbackBadChain => leaf_signer = *root,
        Behaviour::ChainLeafIssuerSerial => leaf_details.issuer_serial = Some(4),
        Behaviour::ChainLeafKey => leaf_details.key = Some(noise::public_key(&derive(seed, "other")).to_vec()),
        Behaviour::ChainExpired => {
            leaf_details.not_before = Some(now.saturating_sub(30 * 86_400));
            leaf_details.not_after = Some(now.saturating_sub(3_600));
        }
        Behaviour::ChainNotYetValid => leaf_details.not_before = Some(now + 3_600),
        _ => {}
    }
    let leaf = cert::certificate(&Issue {
        details: leaf_details,
        issuer: &leaf_signer,
        z: z(seed, "leaf"),
    });
    let mut intermediate = cert::certificate(&Issue {
        details: inter_details.clone(),
        issuer: &inter_signer,
        z: z(seed, "intermediate"),
    });
    match behaviour {
        Behaviour::ChainShortSignature => {
            if let Some(sig) = intermediate.signature.as_mut() {
                sig.truncate(63);
            }
        }
        Behaviour::ChainEd25519Root => {
            use ed25519_dalek::Signer;
            let details = inter_details.encode_to_vec();
            let signature = ed25519_dalek::SigningKey::from_bytes(root).sign(&details);
            intermediate = NoiseCertificate {
                details: Some(details),
                signature: Some(signature.to_bytes().to_vec()),
            };
        }
        _ => {}
    }
    cert::chain_bytes(leaf, intermediate)
}

/// A byte stream to the client: TCP, or the pipe of a WebSocket ([`super::websocket`]).
pub trait Carrier: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Carrier for T {}

/// Chains already issued, by (behaviour, root, server seed, ten-minute bucket of the clock): signing two
/// certificates per connection would dominate a handshake. Windows are set around the bucket's start, at
/// least an hour from any edge, so a chain stays right for its bucket. Bounded: cleared past 256 entries.
fn cached_chain(behaviour: Behaviour, root: &[u8; 32], server_static: &[u8; 32], seed: u64, now: u64) -> Vec<u8> {
    type Key = (Behaviour, [u8; 32], u64, u64);
    static CHAINS: std::sync::OnceLock<Mutex<std::collections::HashMap<Key, Vec<u8>>>> = std::sync::OnceLock::new();
    let bucket = now - now % 600;
    let key = (behaviour, *root, seed, bucket);
    let cache = CHAINS.get_or_init(Mutex::default);
    if let Some(chain) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return chain.clone();
    }
    let chain = chain_for(behaviour, root, server_static, seed, bucket);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(key, chain.clone());
    chain
}

/// The public half of a server static key: one per root (or rotation), so computed once, not per connection.
/// Bounded: cleared past 256 entries.
fn server_public(private: &[u8; 32]) -> [u8; 32] {
    static KEYS: std::sync::OnceLock<Mutex<std::collections::HashMap<[u8; 32], [u8; 32]>>> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(Mutex::default);
    let mut keys = keys.lock().unwrap_or_else(|e| e.into_inner());
    if keys.len() >= 256 {
        keys.clear();
    }
    *keys.entry(*private).or_insert_with(|| noise::public_key(private))
}

/// The client side of one connection as the responder reads it: every byte recorded, every read under the
/// deadline.
struct Conn {
    stream: Box<dyn Carrier>,
    record: Record,
    deadline: Instant,
}

impl Conn {
    async fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), String> {
        match tokio::time::timeout_at(self.deadline, self.stream.read_exact(buf)).await {
            Err(_) => Err("the case deadline passed while waiting for the client".into()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err("the client closed".into()),
            Ok(Err(e)) => Err(format!("read failed: {e}")),
            Ok(Ok(_)) => Ok(()),
        }
    }

    async fn read_recorded(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.read_exact(buf).await?;
        update(&self.record, |s| {
            let room = STREAM_RECORD_CAP.saturating_sub(s.stream.len());
            s.stream.extend_from_slice(&buf[..buf.len().min(room)]);
        });
        Ok(())
    }

    /// One frame body, refused from its length header when over `cap`.
    async fn frame(&mut self, cap: usize) -> Result<Vec<u8>, String> {
        let mut len = [0u8; 3];
        self.read_recorded(&mut len).await?;
        let n = u32::from_be_bytes([0, len[0], len[1], len[2]]) as usize;
        if n > cap {
            return Err(format!(
                "the client announced a frame of {n} bytes; this responder reads at most {cap} here"
            ));
        }
        let mut body = vec![0u8; n];
        self.read_recorded(&mut body).await?;
        Ok(body)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        match tokio::time::timeout_at(self.deadline, self.stream.write_all(bytes)).await {
            Err(_) => Err("the case deadline passed while writing to the client".into()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Ok(Ok(())) => Ok(()),
        }
    }
}

/// Serve one client connection with `config`, recording into `record`. Returns when the connection ends, the
/// deadline passes, or the client misbehaves; never panics on client input.
pub async fn serve(stream: Box<dyn Carrier>, config: Config, record: Record) {
    let mut conn = Conn {
        stream,
        record: record.clone(),
        deadline: config.deadline,
    };
    let end = match run(&mut conn, &config).await {
        Ok(end) => end,
        Err((stage, text)) => {
            problem(&record, stage, text.clone());
            text
        }
    };
    update(&record, |s| s.end = end);
    let _ = conn.stream.shutdown().await;
}

type Step<T> = Result<T, (Stage, String)>;

fn at<T>(stage: Stage) -> impl Fn(T) -> (Stage, T) {
    move |t| (stage, t)
}

async fn run(conn: &mut Conn, config: &Config) -> Step<String> {
    let record = conn.record.clone();
    // Pre-intro (not recorded in the stream: it is not framed Noise) and header.
    let mut first = [0u8; 4];
    conn.read_exact(&mut first).await.map_err(at(Stage::Hello))?;
    if first == noise::EDGE_PREFIX {
        let mut len = [0u8; 3];
        conn.read_exact(&mut len).await.map_err(at(Stage::Hello))?;
        let n = u32::from_be_bytes([0, len[0], len[1], len[2]]) as usize;
        if n > ROUTING_INFO_CAP {
            return Err((
                Stage::Hello,
                format!("edge-routing info of {n} bytes; this responder reads at most {ROUTING_INFO_CAP}"),
            ));
        }
        let mut info = vec![0u8; n];
        conn.read_exact(&mut info).await.map_err(at(Stage::Hello))?;
        update(&record, |s| s.routing_info = Some(info));
        conn.read_exact(&mut first).await.map_err(at(Stage::Hello))?;
    }
    update(&record, |s| s.header = Some(first));
    if first[..2] != noise::CONN_HEADER[..2] {
        return Err((
            Stage::Hello,
            format!("no 'WA' connection header: {}", hex::encode(first)),
        ));
    }
    // Errata: a header other than WA 06 03 is judged under RO-TRANSPORT-003 by the case; the handshake goes on
    // with the bytes received as the prologue so that the other rules are still judged.
    let prologue = first;

    let hello = conn.frame(HANDSHAKE_FRAME_CAP).await.map_err(at(Stage::Hello))?;
    update(&record, |s| s.hello = Some(hello.clone()));
    let message = HandshakeMessage::decode(hello.as_slice())
        .map_err(|e| (Stage::Hello, format!("the first frame is not a HandshakeMessage: {e}")))?;
    let client_hello = match (&message.client_hello, &message.server_hello, &message.client_finish) {
        (Some(h), None, None) => h.clone(),
        _ => {
            return Err((
                Stage::Hello,
                "the first HandshakeMessage does not carry exactly one clientHello".into(),
            ));
        }
    };
    let e_c: [u8; 32] = client_hello
        .ephemeral
        .as_deref()
        .and_then(|e| e.try_into().ok())
        .ok_or((Stage::Hello, "the clientHello ephemeral is not 32 bytes".to_string()))?;
    update(&record, |s| s.ephemeral = Some(e_c));

    let e_s_private = derive(config.seed, &format!("server ephemeral {}", hex::encode(e_c)));
    // Like a real chatd, the static key and its chain belong to the server (here: to its root), not to the
    // connection; so the chain is issued once and reused ([`cached_chain`]). A rotated server has a new static
    // key (and chain) that the client has not cached.
    let server_seed = u64::from_be_bytes(derive(0, &hex::encode(config.root))[..8].try_into().unwrap_or_default());
    let (s_s_private, chain_seed) = if config.behaviour.rotated() {
        (derive(server_seed, "server static rotated"), server_seed ^ 1)
    } else {
        (derive(server_seed, "server static"), server_seed)
    };
    let e_s = noise::public_key(&e_s_private);
    let s_s = server_public(&s_s_private);
    update(&record, |s| s.server_static = s_s);
    let chain = cached_chain(config.behaviour, &config.root, &s_s, chain_seed, config.now);
    let keys = ServerKeys {
        e_c,
        e_s,
        e_s_private,
        s_s,
        s_s_private,
    };
    let ik_hello = client_hello.r#static.is_some() || client_hello.payload.is_some();
    let accepted = if ik_hello {
        open_ik(&prologue, &keys, &client_hello, &record)?
    } else {
        None
    };
    let sym = match accepted {
        Some((sym, s_c)) => {
            update(&record, |s| s.pattern = Some(Pattern::Ik));
            accept_ik(conn, sym, &keys, &s_c, &chain).await?
        }
        None => {
            let pattern = if ik_hello { Pattern::XxFallback } else { Pattern::Xx };
            update(&record, |s| s.pattern = Some(pattern));
            // XXfallback: the hashed name, the prologue, then the ephemeral the client already sent; from there
            // on exactly XX (later-phases.md §1.4 item 7).
            let name = if ik_hello { noise::XX_FALLBACK } else { noise::XX };
            let mut sym = SymmetricState::new(name, &prologue);
            sym.mix_hash(&e_c);
            match xx(conn, config, sym, &keys, &chain, pattern).await? {
                Handshook::Split(sym) => sym,
                Handshook::Ended(end) => return Ok(end),
            }
        }
    };

    // Split: the client writes with the first key.
    let (from_client, mut to_client) = sym.split();
    let mut from_client = from_client.starting_at(config.client_counter_start);
    let server_frames = server_frames(config, &mut to_client, &record)?;
    // A client that closes early makes these writes fail; what it sent is still read and judged.
    if config.behaviour == Behaviour::Dribble {
        let _ = conn.write(&server_frames.concat()).await;
    } else {
        for f in &server_frames {
            if conn.write(f).await.is_err() {
                break;
            }
        }
    }
    read_transport(conn, config, &mut from_client).await
}

/// The keys of one connection: the client's ephemeral and the server's pairs.
struct ServerKeys {
    e_c: [u8; 32],
    e_s: [u8; 32],
    e_s_private: [u8; 32],
    s_s: [u8; 32],
    s_s_private: [u8; 32],
}

/// How a handshake ended: split into transport keys, or closed on purpose by a hostile behaviour.
enum Handshook {
    Split(SymmetricState),
    Ended(String),
}

/// Open an IK ClientHello (later-phases.md §1.4 item 6): the pre-message server static, e, es, s, ss, payload.
/// `None` when its static does not open: the client cached another server static, so the server falls back.
fn open_ik(
    prologue: &[u8],
    keys: &ServerKeys,
    hello: &crate::transport_wire::ClientHello,
    record: &Record,
) -> Step<Option<(SymmetricState, [u8; 32])>> {
    let (Some(static_ct), Some(payload_ct)) = (&hello.r#static, &hello.payload) else {
        return Err((
            Stage::Hello,
            "an IK ClientHello carries ephemeral, static and payload; this one lacks one of the last two".into(),
        ));
    };
    let mut sym = SymmetricState::new(noise::IK, prologue);
    sym.mix_hash(&keys.s_s);
    sym.mix_hash(&keys.e_c);
    sym.mix_key(&noise::dh(&keys.s_s_private, &keys.e_c));
    let Ok(s_c) = sym.decrypt_and_hash(static_ct) else {
        return Ok(None);
    };
    let s_c: [u8; 32] = s_c.try_into().map_err(|_| {
        (
            Stage::Finish,
            "the IK ClientHello.static is not a 32-byte key".to_string(),
        )
    })?;
    update(record, |s| s.client_static = Some(s_c));
    sym.mix_key(&noise::dh(&keys.s_s_private, &s_c));
    let payload = sym.decrypt_and_hash(payload_ct).map_err(|e| {
        (
            Stage::Finish,
            format!("the IK ClientHello.payload does not open after the ss MixKey: {e}"),
        )
    })?;
    update(record, |s| s.payload = Some(payload));
    Ok(Some((sym, s_c)))
}

/// Accept an IK resume: a ServerHello with ephemeral and the chain as payload but no static; e, ee, se.
async fn accept_ik(
    conn: &mut Conn,
    mut sym: SymmetricState,
    keys: &ServerKeys,
    s_c: &[u8; 32],
    chain: &[u8],
) -> Step<SymmetricState> {
    sym.mix_hash(&keys.e_s);
    sym.mix_key(&noise::dh(&keys.e_s_private, &keys.e_c));
    sym.mix_key(&noise::dh(&keys.e_s_private, s_c));
    let payload_ct = sym.encrypt_and_hash(chain).map_err(internal)?;
    let reply = HandshakeMessage {
        server_hello: Some(ServerHello {
            ephemeral: Some(keys.e_s.to_vec()),
            payload: Some(payload_ct),
            ..ServerHello::default()
        }),
        ..HandshakeMessage::default()
    };
    let framed = noise::frame(&reply.encode_to_vec()).map_err(internal)?;
    conn.write(&framed).await.map_err(at(Stage::Hello))?;
    Ok(sym)
}

/// `← e, ee, s, es` with the chain as XX (or XXfallback) and the ClientFinish `→ s, se`, bent by the behaviour.
async fn xx(
    conn: &mut Conn,
    config: &Config,
    mut sym: SymmetricState,
    keys: &ServerKeys,
    chain: &[u8],
    pattern: Pattern,
) -> Step<Handshook> {
    let record = conn.record.clone();
    let (e_c, e_s, e_s_private, s_s, s_s_private) = (keys.e_c, keys.e_s, keys.e_s_private, keys.s_s, keys.s_s_private);
    sym.mix_hash(&e_s);
    sym.mix_key(&noise::dh(&e_s_private, &e_c));
    let static_ct = sym.encrypt_and_hash(&s_s).map_err(internal)?;
    sym.mix_key(&noise::dh(&s_s_private, &e_c));
    let payload_ct = sym.encrypt_and_hash(chain).map_err(internal)?;
    let mut server_hello = ServerHello {
        ephemeral: Some(e_s.to_vec()),
        r#static: Some(static_ct),
        payload: Some(payload_ct),
        ..ServerHello::default()
    };
    let mut reply = HandshakeMessage::default();
    match config.behaviour {
        Behaviour::HelloShortEphemeral => server_hello.ephemeral = Some(e_s[..31].to_vec()),
        Behaviour::HelloMissingStatic => server_hello.r#static = None,
        Behaviour::DemandPostQuantum => server_hello.extended_static = Some(derive(config.seed, "kem").to_vec()),
        Behaviour::HelloWithClientFinish => {
            reply.client_finish = Some(ClientFinish {
                r#static: Some(vec![0; 48]),
                payload: Some(vec![0; 16]),
            })
        }
        _ => {}
    }
    reply.server_hello = Some(server_hello);
    let body = reply.encode_to_vec();
    let framed = noise::frame(&body).map_err(internal)?;
    match config.behaviour {
        Behaviour::OversizedFrame => {
            let mut bytes = vec![0xff, 0xff, 0xff];
            bytes.extend_from_slice(&body);
            conn.write(&bytes).await.map_err(at(Stage::Hello))?;
            return Ok(Handshook::Ended(
                "closed after announcing a 16 MiB ServerHello frame".into(),
            ));
        }
        Behaviour::TruncatedFrame => {
            conn.write(&framed[..framed.len() / 2])
                .await
                .map_err(at(Stage::Hello))?;
            return Ok(Handshook::Ended("closed in the middle of the ServerHello frame".into()));
        }
        Behaviour::Dribble => {
            for byte in &framed {
                conn.write(std::slice::from_ref(byte)).await.map_err(at(Stage::Hello))?;
                conn.stream.flush().await.map_err(|e| (Stage::Hello, e.to_string()))?;
            }
        }
        _ => conn.write(&framed).await.map_err(at(Stage::Hello))?,
    }

    // → s, se: any frame from here on carries the client's credential.
    let finish = conn.frame(HANDSHAKE_FRAME_CAP).await.map_err(at(Stage::Finish))?;
    update(&record, |s| s.finish = Some(finish.clone()));
    let message = HandshakeMessage::decode(finish.as_slice()).map_err(|e| {
        (
            Stage::Finish,
            format!("the second frame is not a HandshakeMessage: {e}"),
        )
    })?;
    let client_finish = match (&message.client_hello, &message.server_hello, &message.client_finish) {
        (None, None, Some(f)) => f.clone(),
        (Some(again), None, None) if pattern == Pattern::XxFallback => {
            let ephemeral = again.ephemeral.clone().unwrap_or_default();
            update(&record, |s| s.second_hello = Some(ephemeral.clone()));
            return Err((
                Stage::Finish,
                format!(
                    "a second ClientHello (ephemeral {}) where the XXfallback ClientFinish belonged: the client \
                     restarted instead of completing the fallback with the ephemeral it had sent",
                    hex::encode(&ephemeral)
                ),
            ));
        }
        _ => {
            return Err((
                Stage::Finish,
                "the second HandshakeMessage does not carry exactly one clientFinish".into(),
            ));
        }
    };
    let static_ct = client_finish
        .r#static
        .ok_or((Stage::Finish, "clientFinish without static".to_string()))?;
    let s_c: [u8; 32] = sym
        .decrypt_and_hash(&static_ct)
        .map_err(|e| (Stage::Finish, format!("clientFinish.static does not open: {e}")))?
        .try_into()
        .map_err(|_| (Stage::Finish, "clientFinish.static is not a 32-byte key".to_string()))?;
    update(&record, |s| s.client_static = Some(s_c));
    sym.mix_key(&noise::dh(&e_s_private, &s_c));
    let payload_ct = client_finish
        .payload
        .ok_or((Stage::Finish, "clientFinish without payload".to_string()))?;
    let payload = sym.decrypt_and_hash(&payload_ct).map_err(|e| {
        (
            Stage::Finish,
            format!("clientFinish.payload does not open after the se MixKey: {e}"),
        )
    })?;
    update(&record, |s| s.payload = Some(payload));
    Ok(Handshook::Split(sym))
}

fn internal(e: NoiseError) -> (Stage, String) {
    (Stage::Hello, format!("responder: {e}"))
}

/// The server's transport frames for the behaviour, recording which stanzas a careful client delivers.
fn server_frames(config: &Config, cipher: &mut Cipher, record: &Record) -> Step<Vec<Vec<u8>>> {
    let mut frames = Vec::new();
    let mut deliverable = Vec::new();
    for (i, stanza) in config.server_stanzas.iter().enumerate() {
        let mut body = cipher.encrypt(&[], stanza).map_err(internal)?;
        let tamper = config.behaviour == Behaviour::TamperedFrame && i == 0;
        if tamper {
            body[0] ^= 0x01;
        } else {
            deliverable.push(stanza.clone());
        }
        let framed = noise::frame(&body).map_err(internal)?;
        frames.push(framed.clone());
        if config.behaviour == Behaviour::ReplayedFrame && i == 0 {
            frames.push(framed);
        }
    }
    update(record, |s| s.deliverable = deliverable);
    Ok(frames)
}

async fn read_transport(conn: &mut Conn, config: &Config, cipher: &mut Cipher) -> Step<String> {
    let record = conn.record.clone();
    let mut opened = 0usize;
    loop {
        if opened >= config.client_stanzas && config.behaviour != Behaviour::CounterEdge {
            return Ok(format!("closed by the server after {opened} client transport frame(s)"));
        }
        let body = match conn.frame(TRANSPORT_FRAME_CAP).await {
            Ok(b) => b,
            Err(e) if e == "the client closed" => return Ok(format!("closed by the client after {opened} frame(s)")),
            Err(e) => return Err((Stage::Transport, e)),
        };
        match cipher.decrypt(&[], &body) {
            Ok(stanza) => {
                opened += 1;
                update(&record, |s| {
                    if s.stanzas.len() < FRAME_COUNT_CAP {
                        s.stanzas.push(stanza)
                    }
                });
            }
            Err(NoiseError::CounterExhausted) => {
                update(&record, |s| s.after_exhaustion += 1);
                return Err((
                    Stage::Transport,
                    "the client sent a transport frame after its 32-bit counter was used up: it reuses a nonce".into(),
                ));
            }
            Err(e) => {
                return Err((
                    Stage::Transport,
                    format!(
                        "client transport frame {} does not open with counter {} and empty AAD: {e}",
                        opened + 1,
                        cipher.counter()
                    ),
                ));
            }
        }
    }
}

/// Split a recorded client stream (after the header) into frame bodies; `None` when it does not end on a frame
/// boundary.
pub fn frames_of(stream: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut decoder = FrameDecoder::default();
    decoder.feed(stream);
    let frames = decoder.drain();
    decoder.buffered().is_empty().then_some(frames)
}

/// Incremental frame reassembly: bytes in any chunks, whole frames out, partial headers buffered
/// (RO-TRANSPORT-024).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
}

impl FrameDecoder {
    /// Add bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Every whole frame buffered so far.
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while self.buffer.len() >= at + 3 {
            let n = u32::from_be_bytes([0, self.buffer[at], self.buffer[at + 1], self.buffer[at + 2]]) as usize;
            if self.buffer.len() < at + 3 + n {
                break;
            }
            out.push(self.buffer[at + 3..at + 3 + n].to_vec());
            at += 3 + n;
        }
        self.buffer.drain(..at);
        out
    }

    /// Bytes of an incomplete frame.
    pub fn buffered(&self) -> &[u8] {
        &self.buffer
    }
}

/// Whether every split of `stream` into two chunks reassembles to `frames` (RO-TRANSPORT-024); the first
/// split point that does not, if any.
pub fn rechunk_mismatch(stream: &[u8], frames: &[Vec<u8>]) -> Option<usize> {
    (0..=stream.len()).find(|&k| {
        let mut d = FrameDecoder::default();
        d.feed(&stream[..k]);
        let mut got = d.drain();
        d.feed(&stream[k..]);
        got.extend(d.drain());
        got != frames || !d.buffered().is_empty()
    })
}

/// Decode a ClientPayload, for the case's judgement.
pub fn client_payload(bytes: &[u8]) -> Result<ClientPayload, String> {
    ClientPayload::decode(bytes).map_err(|e| format!("ClientPayload does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    async fn one(client_bytes: Vec<u8>, hold_open: bool) -> (Seen, std::time::Duration) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let record: Record = Arc::default();
        let config = Config {
            behaviour: Behaviour::Honest,
            root: [1; 32],
            seed: 1,
            now: 1_800_000_000,
            client_stanzas: 1,
            server_stanzas: vec![],
            client_counter_start: 0,
            deadline: Instant::now() + std::time::Duration::from_millis(500),
        };
        let started = Instant::now();
        let r = record.clone();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            serve(Box::new(stream), config, r).await;
        });
        let mut client = TcpStream::connect(addr).await.expect("connect");
        // A flood may be cut short when the responder gives up and closes: that is the point.
        let _ = client.write_all(&client_bytes).await;
        if !hold_open {
            let _ = client.shutdown().await;
        }
        let _ = server.await;
        let seen = record.lock().expect("record").clone();
        (seen, started.elapsed())
    }

    #[tokio::test]
    async fn hostile_clients_end_with_a_clear_error_within_the_deadline() {
        let cases: [(&str, Vec<u8>, bool, &str); 4] = [
            (
                "garbage",
                b"GET / HTTP/1.1\r\n\r\n".to_vec(),
                false,
                "no 'WA' connection header",
            ),
            ("silent", Vec::new(), true, "deadline"),
            (
                "16 MiB frame",
                [&noise::CONN_HEADER[..], &[0xff, 0xff, 0xff]].concat(),
                true,
                "16777215 bytes",
            ),
            (
                "flood",
                [&noise::CONN_HEADER[..], &vec![0x00; 8 << 20]].concat(),
                true,
                "not carry exactly one clientHello",
            ),
        ];
        for (name, bytes, hold, needle) in cases {
            let (seen, took) = one(bytes, hold).await;
            let (_, text) = seen.problem.clone().unwrap_or((Stage::Hello, String::new()));
            assert!(text.contains(needle), "{name}: {text:?}");
            assert!(took < std::time::Duration::from_secs(3), "{name} took {took:?}");
            assert!(seen.stream.len() <= STREAM_RECORD_CAP, "{name}");
            assert!(seen.finish.is_none(), "{name}");
        }
    }

    #[test]
    fn every_split_point_reassembles_the_same_frames() {
        let stream = [
            noise::frame(b"abc").unwrap(),
            noise::frame(b"").unwrap(),
            noise::frame(&[7; 300]).unwrap(),
        ]
        .concat();
        let frames = frames_of(&stream).expect("whole frames");
        assert_eq!(frames.len(), 3);
        assert_eq!(rechunk_mismatch(&stream, &frames), None);
        assert!(frames_of(&stream[..stream.len() - 1]).is_none());
    }

    #[test]
    fn each_hostile_chain_breaks_the_rule_it_names() {
        use super::super::cert::{ChainRule, check_chain};
        let root = [9u8; 32];
        let root_pub = noise::public_key(&root);
        let s = noise::public_key(&[5; 32]);
        let now = 1_800_000_000;
        let expect = [
            (Behaviour::Honest, None),
            (
                Behaviour::ChainIntermediateSignature,
                Some(ChainRule::IntermediateSignature),
            ),
            (
                Behaviour::ChainIntermediateIssuerSerial,
                Some(ChainRule::IntermediateIssuerSerial),
            ),
            (Behaviour::ChainLeafSignature, Some(ChainRule::LeafSignature)),
            (Behaviour::ChainLeafIssuerSerial, Some(ChainRule::LeafIssuerSerial)),
            (Behaviour::ChainLeafKey, Some(ChainRule::LeafKey)),
            (Behaviour::ChainExpired, Some(ChainRule::Validity)),
            (Behaviour::ChainNotYetValid, Some(ChainRule::Validity)),
            (Behaviour::ChainShortSignature, Some(ChainRule::IntermediateSignature)),
            (Behaviour::ChainEd25519Root, Some(ChainRule::IntermediateSignature)),
        ];
        for (b, rule) in expect {
            let chain = chain_for(b, &root, &s, 4, now);
            assert_eq!(
                check_chain(&root_pub, &chain, &s, now).err().map(|f| f.rule),
                rule,
                "{b:?}"
            );
        }
    }
}
