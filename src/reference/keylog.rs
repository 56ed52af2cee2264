//! The harness peer's key log: an RNG wrapper that hands every 32-byte draw (each private key the crate
//! generates: identity, signed prekey, one-time prekeys, base keys, ratchet keys) to the wire monitor's
//! [`KeyLog`], so the monitor can derive the provider's message keys itself. Only the harness peer logs; a
//! reference provider under test never does.

use crate::monitor::KeyLog;
use rand::rngs::StdRng;
use rand::{TryCryptoRng, TryRng};
use std::convert::Infallible;
use std::sync::Arc;

/// A seeded RNG that may log the keys drawn from it.
pub(super) struct LoggingRng {
    pub(super) inner: StdRng,
    pub(super) log: Option<Arc<KeyLog>>,
}

impl TryRng for LoggingRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.inner.try_next_u32()
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.inner.try_next_u64()
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.inner.try_fill_bytes(dst)?;
        if dst.len() == 32
            && let Some(log) = &self.log
        {
            log.record(dst);
        }
        Ok(())
    }
}

impl TryCryptoRng for LoggingRng {}
