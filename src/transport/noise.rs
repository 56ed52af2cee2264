//! WhatsApp's Noise: names, prologue, frames, nonces and the symmetric state of a handshake (later-phases.md
//! §1.4 items 1-4, constants L1/L2/L7).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

/// The connection header `W A 6 3` (magic 6, token dictionary v3); also the prologue (RO-TRANSPORT-003).
pub const CONN_HEADER: [u8; 4] = [0x57, 0x41, 0x06, 0x03];
/// Start of the optional edge-routing pre-intro, never mixed into the prologue (RO-TRANSPORT-020).
pub const EDGE_PREFIX: [u8; 4] = [0x45, 0x44, 0x00, 0x01];
/// XX, used on first connect (padded to 32 bytes, used directly as `h0`).
pub const XX: &str = "Noise_XX_25519_AESGCM_SHA256";
/// IK resume.
pub const IK: &str = "Noise_IK_25519_AESGCM_SHA256";
/// XXfallback after an IK rejection (36 bytes, so hashed).
pub const XX_FALLBACK: &str = "Noise_XXfallback_25519_AESGCM_SHA256";
/// Frame bodies must be shorter than this (RO-TRANSPORT-004).
pub const FRAME_LIMIT: usize = 1 << 24;

/// Why a Noise operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoiseError {
    /// AES-GCM refused the ciphertext (wrong key, nonce, AAD or a tampered byte).
    #[error("AES-GCM authentication failed")]
    Aead,
    /// The 32-bit counter would wrap, which would reuse a nonce (RO-TRANSPORT-019).
    #[error("nonce counter exhausted")]
    CounterExhausted,
    /// No key yet (nothing may be encrypted before the first MixKey).
    #[error("no cipher key before the first MixKey")]
    NoKey,
    /// A frame of 2^24 bytes or more.
    #[error("frame body of {0} bytes; frames are shorter than 2^24")]
    FrameTooLarge(usize),
}

/// The 12-byte AES-GCM nonce: 8 zero bytes, then the counter as u32 big-endian (RO-TRANSPORT-005).
pub fn nonce(counter: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[8..].copy_from_slice(&counter.to_be_bytes());
    n
}

/// `h0` for a protocol name: the name zero-padded when it fits in 32 bytes, else its SHA-256.
pub fn initial_hash(name: &str) -> [u8; 32] {
    let mut h = [0u8; 32];
    if name.len() <= 32 {
        h[..name.len()].copy_from_slice(name.as_bytes());
    } else {
        h.copy_from_slice(&Sha256::digest(name.as_bytes()));
    }
    h
}

/// One frame: 3-byte big-endian length, then the body.
pub fn frame(body: &[u8]) -> Result<Vec<u8>, NoiseError> {
    if body.len() >= FRAME_LIMIT {
        return Err(NoiseError::FrameTooLarge(body.len()));
    }
    let mut out = Vec::with_capacity(body.len() + 3);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    Ok(out)
}

/// The first client frame: optional edge pre-intro, the connection header, then the framed body.
pub fn first_frame(routing_info: Option<&[u8]>, body: &[u8]) -> Result<Vec<u8>, NoiseError> {
    let mut out = Vec::new();
    if let Some(info) = routing_info {
        out.extend_from_slice(&EDGE_PREFIX);
        out.extend_from_slice(&frame(info)?);
    }
    out.extend_from_slice(&CONN_HEADER);
    out.extend_from_slice(&frame(body)?);
    Ok(out)
}

/// One direction's AES-256-GCM key with its counter.
#[derive(Clone)]
pub struct Cipher {
    key: [u8; 32],
    counter: u32,
    exhausted: bool,
}

impl Cipher {
    /// A key with its counter at 0.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key,
            counter: 0,
            exhausted: false,
        }
    }

    /// The same key with its counter at `counter` (the test hook of RO-TRANSPORT-019).
    pub fn starting_at(mut self, counter: u32) -> Self {
        self.counter = counter;
        self
    }

    /// The counter the next operation uses.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    fn take_nonce(&mut self) -> Result<[u8; 12], NoiseError> {
        if self.exhausted {
            return Err(NoiseError::CounterExhausted);
        }
        let n = nonce(self.counter);
        match self.counter.checked_add(1) {
            Some(next) => self.counter = next,
            None => self.exhausted = true,
        }
        Ok(n)
    }

    /// Encrypt with `aad`, advancing the counter.
    pub fn encrypt(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let n = self.take_nonce()?;
        Aes256Gcm::new(&self.key.into())
            .encrypt(&Nonce::from(n), Payload { msg: plaintext, aad })
            .map_err(|_| NoiseError::Aead)
    }

    /// Decrypt with `aad`; the counter advances only on success.
    pub fn decrypt(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if self.exhausted {
            return Err(NoiseError::CounterExhausted);
        }
        let out = Aes256Gcm::new(&self.key.into())
            .decrypt(&Nonce::from(nonce(self.counter)), Payload { msg: ciphertext, aad })
            .map_err(|_| NoiseError::Aead)?;
        self.take_nonce()?;
        Ok(out)
    }
}

/// The handshake's symmetric state: `h`, `ck` and the current key (Noise §5.2, WhatsApp's AAD = h).
#[derive(Clone)]
pub struct SymmetricState {
    /// Transcript hash.
    pub h: [u8; 32],
    /// Chaining key.
    pub ck: [u8; 32],
    cipher: Option<Cipher>,
}

impl SymmetricState {
    /// Initialise with a protocol name and MixHash the prologue.
    pub fn new(name: &str, prologue: &[u8]) -> Self {
        let h0 = initial_hash(name);
        let mut s = Self {
            h: h0,
            ck: h0,
            cipher: None,
        };
        s.mix_hash(prologue);
        s
    }

    /// `h = SHA-256(h || data)`.
    pub fn mix_hash(&mut self, data: &[u8]) {
        self.h = Sha256::new().chain_update(self.h).chain_update(data).finalize().into();
    }

    /// `ck, k = HKDF(salt = ck, ikm)`; the counter restarts at 0.
    pub fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k) = hkdf64(&self.ck, ikm);
        self.ck = ck;
        self.cipher = Some(Cipher::new(k));
    }

    /// Encrypt with AAD = h, then MixHash the ciphertext.
    pub fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let h = self.h;
        let c = self.cipher.as_mut().ok_or(NoiseError::NoKey)?.encrypt(&h, plaintext)?;
        self.mix_hash(&c);
        Ok(c)
    }

    /// Decrypt with AAD = h, then MixHash the ciphertext.
    pub fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let h = self.h;
        let p = self.cipher.as_mut().ok_or(NoiseError::NoKey)?.decrypt(&h, ciphertext)?;
        self.mix_hash(ciphertext);
        Ok(p)
    }

    /// `Split`: (initiator-to-responder, responder-to-initiator) keys, each with its own counter from 0.
    pub fn split(&self) -> (Cipher, Cipher) {
        let (a, b) = hkdf64(&self.ck, &[]);
        (Cipher::new(a), Cipher::new(b))
    }
}

fn hkdf64(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut okm = [0u8; 64];
    // 64 bytes is far below HKDF-SHA256's limit of 255 * 32.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(&[], &mut okm);
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    a.copy_from_slice(&okm[..32]);
    b.copy_from_slice(&okm[32..]);
    (a, b)
}

/// X25519 of a private scalar and a public key.
pub fn dh(private: &[u8; 32], public: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*private, *public)
}

/// The public key of a private scalar.
pub fn public_key(private: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*private, x25519_dalek::X25519_BASEPOINT_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_fails_closed_at_the_end_of_its_range() {
        let mut c = Cipher::new([7; 32]);
        c.counter = u32::MAX - 1;
        assert!(c.encrypt(&[], b"a").is_ok());
        assert!(c.encrypt(&[], b"b").is_ok(), "nonce 2^32-1 is still unused");
        assert_eq!(c.encrypt(&[], b"c"), Err(NoiseError::CounterExhausted));
    }

    #[test]
    fn frames_of_two_to_the_24_are_refused() {
        assert_eq!(
            frame(&vec![0; FRAME_LIMIT]),
            Err(NoiseError::FrameTooLarge(FRAME_LIMIT))
        );
        assert_eq!(frame(&[1, 2]).ok(), Some(vec![0, 0, 2, 1, 2]));
    }
}
