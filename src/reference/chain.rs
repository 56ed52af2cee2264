//! Direct edits of a stored session's ratchet chains, outside the crate's encrypt/decrypt paths.
//!
//! Two users: the vector generator, which moves a sender's chain forward to produce "message number N" without
//! encrypting the N-1 before it (the chain key is a pure function of its predecessor, so the message is
//! byte-identical to the N-th one encrypted in order; a test in `family::session::generate::bounds` checks that), and the planted
//! faults in [`super::faulty`], which need the message keys the crate derives internally.

use wacore_libsignal::protocol::{ChainKey, MessageKeyGenerator, PublicKey, SessionRecord, SignalProtocolError};

/// Most chain steps one edit may take: far beyond any bound in the suite, small enough to stay quick.
pub(crate) const MAX_STEPS: u32 = 100_000;

type Result<T> = std::result::Result<T, SignalProtocolError>;

fn too_far(what: &str) -> SignalProtocolError {
    SignalProtocolError::InvalidArgument(format!("{what}: more than {MAX_STEPS} chain steps"))
}

fn step_to(mut chain: ChainKey, index: u32, what: &str) -> Result<ChainKey> {
    if index.saturating_sub(chain.index()) > MAX_STEPS {
        return Err(too_far(what));
    }
    while chain.index() < index {
        chain = chain.next_chain_key()?;
    }
    Ok(chain)
}

/// Move the current session's sending chain so that the next message sent carries `counter`.
pub(crate) fn advance_sender_chain(record: &mut SessionRecord, counter: u32) -> Result<()> {
    let state = record
        .session_state_mut()
        .ok_or_else(|| SignalProtocolError::InvalidState("advance_sender_chain", "no current session".into()))?;
    let chain = state.get_sender_chain_key()?;
    if chain.index() > counter {
        return Err(SignalProtocolError::InvalidArgument(format!(
            "sending chain is already at {}, past {counter}",
            chain.index()
        )));
    }
    let chain = step_to(chain, counter, "advance_sender_chain")?;
    state.set_sender_chain_key(&chain)?;
    Ok(())
}

/// Move the current session's receiving chain for `sender` to `counter`, dropping the keys in between.
/// Returns false when the session has no open chain for `sender` or the chain is already there.
pub(crate) fn fast_forward_receiver_chain(
    record: &mut SessionRecord,
    sender: &PublicKey,
    counter: u32,
) -> Result<bool> {
    let Some(state) = record.session_state_mut() else {
        return Ok(false);
    };
    let Ok(Some(chain)) = state.get_receiver_chain_key(sender) else {
        return Ok(false);
    };
    if chain.index() >= counter {
        return Ok(false);
    }
    let chain = step_to(chain, counter, "fast_forward_receiver_chain")?;
    state.set_receiver_chain_key(sender, &chain)?;
    Ok(true)
}

/// How far `counter` is ahead of the current session's open receiving chain for `sender`, if there is one.
pub(crate) fn forward_jump(record: &SessionRecord, sender: &PublicKey, counter: u32) -> Option<u32> {
    let chain = record.session_state()?.get_receiver_chain_key(sender).ok()??;
    counter.checked_sub(chain.index())
}

/// The MAC key the current session would use for message `counter` from `sender`, without changing the record:
/// a stored skipped key for an old counter, else a key derived ahead on the open chain.
pub(crate) fn receiving_mac_key(record: &SessionRecord, sender: &PublicKey, counter: u32) -> Result<Option<[u8; 32]>> {
    let Some(state) = record.session_state() else {
        return Ok(None);
    };
    let Ok(Some(chain)) = state.get_receiver_chain_key(sender) else {
        return Ok(None);
    };
    let generator: MessageKeyGenerator = if chain.index() > counter {
        // Taking a stored key removes it; work on a copy.
        let mut copy = state.clone();
        match copy.get_message_keys(sender, counter)? {
            Some(g) => g,
            None => return Ok(None),
        }
    } else {
        step_to(chain, counter, "receiving_mac_key")?.message_keys()
    };
    Ok(Some(*generator.generate_keys().mac_key()))
}
