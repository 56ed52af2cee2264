//! Schedules and the proptest strategies that draw them, built at run time from a scenario's parameters.
//!
//! Every choice shrinks toward the plainest schedule: fewer messages, smallest sizes, no delay, no fault, no
//! jump, the first allowed party. Faults are drawn as a roll in 0..1000 mapped through the scenario's
//! probabilities (0 = no fault), so shrinking never introduces a fault kind the scenario does not allow.
//! Strategies stay concrete (no boxing) so that value trees are `Send` and can live across provider calls.

use super::definition::{Choice, Directions, Initiator, Parameters, SecondSession};
use crate::family::roundtrip::Party;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Rolls are drawn in `0..ROLL`; a probability `p` covers `p * ROLL` of them.
const ROLL: u16 = 1000;

/// What happens to one message on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Delivered as sent.
    None,
    /// Never delivered.
    Lost,
    /// After its delivery to the provider, an earlier delivered message (`back` counted from the newest) is
    /// delivered again.
    Duplicate {
        /// Which earlier message, 0 = this one.
        back: u16,
    },
    /// Before its delivery to the provider, a copy with bit `bit` (modulo its length) flipped is delivered.
    Tamper {
        /// Which bit.
        bit: u16,
    },
}

/// One message of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Who sends it.
    pub from: Party,
    /// Plaintext size.
    pub size: u32,
    /// Delivered after this many later sends (0: at once); bounded by the reorder window.
    pub delay: u32,
    /// What happens on the way.
    pub fault: Fault,
    /// Messages the sender encrypts and loses just before this one (a counter jump), 0 for none.
    pub jump: u32,
}

/// A drawn schedule for [`super::definition::Property::ExactlyOnce`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Who starts the session.
    pub initiator: Party,
    /// Whether the one-time prekey is used.
    pub one_time_prekey: bool,
    /// The messages, in sending order.
    pub messages: Vec<Message>,
    /// After them, a ratchet round trip and a replay of everything the provider decrypted.
    pub replay_at_end: bool,
}

/// A drawn schedule for [`super::definition::Property::PrekeySingleUse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrekeyReuse {
    /// Messages before the second session (in order, no fault).
    pub before: Vec<Message>,
    /// The same peer re-initiates (true) or another peer tries (false).
    pub same_peer: bool,
    /// Then the peer re-initiates from a fresh bundle.
    pub fresh: bool,
    /// Messages after that.
    pub after: Vec<Message>,
}

/// A drawn schedule for [`super::definition::Property::IdentityChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChange {
    /// Who starts the first session.
    pub initiator: Party,
    /// Whether the one-time prekey is used.
    pub one_time_prekey: bool,
    /// Messages before the change.
    pub before: Vec<Message>,
    /// Who starts the session with the new identity.
    pub new_session_by: Party,
}

fn rolls(p: f64) -> u16 {
    (p * f64::from(ROLL)).round().clamp(0.0, f64::from(ROLL)) as u16
}

fn parties(directions: Directions) -> Vec<Party> {
    match directions {
        Directions::Both => vec![Party::Peer, Party::Provider],
        Directions::PeerToProvider => vec![Party::Peer],
        Directions::ProviderToPeer => vec![Party::Provider],
    }
}

fn initiators(initiator: Initiator) -> Vec<Party> {
    match initiator {
        Initiator::Peer => vec![Party::Peer],
        Initiator::Provider => vec![Party::Provider],
        Initiator::Either => vec![Party::Peer, Party::Provider],
    }
}

fn choices(choice: Choice) -> Vec<bool> {
    match choice {
        Choice::Always => vec![true],
        Choice::Never => vec![false],
        Choice::Either => vec![true, false],
    }
}

/// One message, with faults and jumps as the parameters allow (`plain`: none of them).
fn message(p: &Parameters, plain: bool) -> impl Strategy<Value = Message, Tree: Send> + use<> {
    let none = if plain {
        ROLL
    } else {
        ROLL - rolls(p.loss) - rolls(p.duplicate) - rolls(p.tamper)
    };
    let (lost, dup) = (none + rolls(p.loss), none + rolls(p.loss) + rolls(p.duplicate));
    let jump_at = if plain { ROLL } else { ROLL - rolls(p.jump_probability) };
    let window = if plain { 1 } else { p.reorder_window };
    (
        select(parties(p.directions)),
        p.message_size.min..=p.message_size.max,
        0..window,
        0..ROLL,
        any::<u16>(),
        0..ROLL,
        p.jump.min..=p.jump.max,
    )
        .prop_map(move |(from, size, delay, roll, aux, jump_roll, jump)| Message {
            from,
            size,
            delay,
            // Low rolls are the plain outcome, so shrinking the roll removes the fault.
            fault: match roll {
                r if r < none => Fault::None,
                r if r < lost => Fault::Lost,
                r if r < dup => Fault::Duplicate { back: aux % 8 },
                _ => Fault::Tamper { bit: aux },
            },
            jump: if jump_roll >= jump_at { jump } else { 0 },
        })
}

fn messages(p: &Parameters, plain: bool) -> impl Strategy<Value = Vec<Message>, Tree: Send> + use<> {
    vec(message(p, plain), p.messages.min as usize..=p.messages.max as usize)
}

/// Schedules of an `exactly_once` scenario.
pub fn flow(p: &Parameters) -> impl Strategy<Value = Flow, Tree: Send> + use<> {
    let replay_at_end = p.replay_at_end;
    (
        select(initiators(p.initiator)),
        select(choices(p.one_time_prekey)),
        messages(p, false),
    )
        .prop_map(move |(initiator, one_time_prekey, messages)| Flow {
            initiator,
            one_time_prekey,
            messages,
            replay_at_end,
        })
}

/// Schedules of a `prekey_single_use` scenario.
pub fn prekey_reuse(p: &Parameters) -> impl Strategy<Value = PrekeyReuse, Tree: Send> + use<> {
    let same = match p.second_session_by {
        SecondSession::SamePeer => vec![true],
        SecondSession::OtherPeer => vec![false],
        SecondSession::Either => vec![false, true],
    };
    (
        messages(p, true),
        select(same),
        select(choices(p.fresh_reinitiation)),
        messages(p, true),
    )
        .prop_map(|(before, same_peer, fresh, after)| PrekeyReuse {
            before,
            same_peer,
            fresh,
            after,
        })
}

/// Schedules of an `identity_change` scenario.
pub fn identity_change(p: &Parameters) -> impl Strategy<Value = IdentityChange, Tree: Send> + use<> {
    (
        select(initiators(p.initiator)),
        select(choices(p.one_time_prekey)),
        messages(p, true),
        select(initiators(p.new_session_by)),
    )
        .prop_map(|(initiator, one_time_prekey, before, new_session_by)| IdentityChange {
            initiator,
            one_time_prekey,
            before,
            new_session_by,
        })
}
