//! The `members` case's delivery schedules, drawn and shrunk with proptest as the 1:1 scenarios are
//! (`src/scenario/explore.rs`), and the suite's model of what a receiver must do with each delivery.
//!
//! Every choice shrinks toward the plainest schedule: fewest messages delivered, each once, in sending order, no
//! jump. A failing schedule is simplified until no simpler one fails, so the report lists the fewest deliveries
//! that show the bug, and `--seed` replays it.

use super::verify::{MAX_JUMP, MAX_STATES};
use crate::vector_format::Expected;
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// Skipped message keys a receiver keeps per state (the open clients' value: GOSIG `maxMessageKeys`, BL,
/// wacore). Past it the oldest go, so a late delivery of one of those is acceptable either way.
const MAX_SKIPPED: usize = 2_000;

/// What happens to one message on its way to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Delivered once.
    Once,
    /// Delivered, and a copy delivered again after the next few deliveries.
    Twice,
    /// Never delivered.
    Lost,
}

/// A drawn schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Schedule {
    /// Per message in sending order: how many later sends it waits for (reordering) and its fate.
    pub messages: Vec<(u32, Fate)>,
    /// The second member's forward jump before its middle message: messages it encrypts and loses (0: none).
    /// Drawn at WA Web's bound of 2,000 and just around it (RO-GROUP-013, RO-GROUP-013A); losses before it make the
    /// jump the provider sees larger.
    pub jump: u32,
}

impl Schedule {
    /// The deliveries: message indices in delivery order, a re-delivery listed again.
    pub fn deliveries(&self) -> Vec<usize> {
        let mut keyed: Vec<(u32, usize, usize)> = Vec::new();
        for (i, (delay, fate)) in self.messages.iter().enumerate() {
            let at = i as u32 + delay;
            match fate {
                Fate::Lost => {}
                Fate::Once => keyed.push((at, 0, i)),
                Fate::Twice => {
                    keyed.push((at, 0, i));
                    keyed.push((at + 2, 1, i));
                }
            }
        }
        keyed.sort();
        keyed.into_iter().map(|(_, _, i)| i).collect()
    }
}

/// Draws schedules for `total` messages. Rolls shrink toward 0: fate 0 is lost (so a failing schedule shrinks
/// to the few messages that show the bug), 1..9 once, 9 twice; jump roll 0 is no jump, and the jump offset 0
/// is a jump of exactly 2,001 (just beyond the bound), 1 of 2,000, 2 of 1,999.
pub(super) fn schedules(total: usize) -> impl Strategy<Value = Schedule, Tree: Send> {
    let message = (0u32..4, 0u8..10).prop_map(|(delay, roll)| {
        let fate = match roll {
            0 => Fate::Lost,
            9 => Fate::Twice,
            _ => Fate::Once,
        };
        (delay, fate)
    });
    (vec(message, total), 0u8..4, 0u32..3).prop_map(|(messages, roll, offset)| Schedule {
        messages,
        jump: if roll == 0 { 0 } else { MAX_JUMP + 1 - offset },
    })
}

/// What a correct receiver does with one delivery, and the requirement that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Expectation {
    /// valid (decrypts to its plaintext), invalid (refused) or acceptable (either).
    pub expected: Expected,
    /// The requirement the delivery checks.
    pub checks: &'static str,
    /// Why, in words (the schedule's listing).
    pub why: &'static str,
}

impl Expectation {
    /// A plaintext in the listing's words.
    pub fn describe(plaintext: &[u8]) -> String {
        format!("plaintext {}", String::from_utf8_lossy(plaintext))
    }
}

/// One sender-key state as a receiver holds it: the next iteration, delivered iterations, stored skipped ones.
#[derive(Default)]
struct Chain {
    next: u32,
    delivered: BTreeSet<u32>,
    skipped: VecDeque<u32>,
    /// Skipped iterations whose keys a receiver may have dropped (more than [`MAX_SKIPPED`] stored).
    dropped: BTreeSet<u32>,
}

/// The receiver model: one chain per (sender, key) the provider installed. Keys beyond [`MAX_STATES`] per
/// sender do not occur in these schedules (at most two per sender).
#[derive(Default)]
pub(super) struct Model {
    chains: HashMap<(String, usize), Chain>,
}

impl Model {
    /// Expectation for message `iteration` under `sender`'s key number `key`; the model takes the delivery
    /// as a correct receiver would.
    pub fn deliver(&mut self, sender: &str, key: usize, iteration: u32) -> Expectation {
        debug_assert!(key < MAX_STATES);
        let chain = self.chains.entry((sender.to_string(), key)).or_default();
        if chain.delivered.contains(&iteration) {
            return Expectation {
                expected: Expected::Invalid,
                checks: "RO-GROUP-005",
                why: "a duplicate is refused",
            };
        }
        if iteration < chain.next {
            if let Some(at) = chain.skipped.iter().position(|i| *i == iteration) {
                chain.skipped.remove(at);
                chain.delivered.insert(iteration);
                return Expectation {
                    expected: Expected::Valid,
                    checks: "RO-GROUP-005",
                    why: "a late message decrypts with its stored key",
                };
            }
            chain.dropped.remove(&iteration);
            chain.delivered.insert(iteration);
            return Expectation {
                expected: Expected::Acceptable,
                checks: "RO-GROUP-005",
                why: "its skipped key may have been dropped (more than 2,000 stored)",
            };
        }
        let jump = iteration - chain.next;
        if jump > MAX_JUMP {
            return Expectation {
                expected: Expected::Invalid,
                checks: "RO-GROUP-013A",
                why: "a jump beyond 2,000 is refused and changes nothing",
            };
        }
        chain.skipped.extend(chain.next..iteration);
        while chain.skipped.len() > MAX_SKIPPED {
            if let Some(old) = chain.skipped.pop_front() {
                chain.dropped.insert(old);
            }
        }
        chain.next = iteration + 1;
        chain.delivered.insert(iteration);
        if jump > 1 {
            Expectation {
                expected: Expected::Valid,
                checks: if jump > 100 { "RO-GROUP-013" } else { "RO-GROUP-003" },
                why: "a forward jump within 2,000 decrypts",
            }
        } else {
            Expectation {
                expected: Expected::Valid,
                checks: "RO-GROUP-003",
                why: "the next message decrypts",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_follows_the_window() {
        let mut m = Model::default();
        assert_eq!(m.deliver("a", 0, 0).expected, Expected::Valid);
        assert_eq!(m.deliver("a", 0, 0).expected, Expected::Invalid);
        assert_eq!(m.deliver("a", 0, 3).expected, Expected::Valid);
        assert_eq!(m.deliver("a", 0, 2).checks, "RO-GROUP-005");
        assert_eq!(m.deliver("a", 0, 2).expected, Expected::Invalid);
        let beyond = m.deliver("a", 0, 4 + MAX_JUMP + 1);
        assert_eq!((beyond.expected, beyond.checks), (Expected::Invalid, "RO-GROUP-013A"));
        let at = m.deliver("a", 0, 4 + MAX_JUMP);
        assert_eq!((at.expected, at.checks), (Expected::Valid, "RO-GROUP-013"));
        assert_eq!(
            m.deliver("a", 0, 1).expected,
            Expected::Acceptable,
            "key 1 is beyond 2,000 stored"
        );
        assert_eq!(
            m.deliver("a", 1, 0).expected,
            Expected::Valid,
            "another key is another chain"
        );
    }

    #[test]
    fn deliveries_follow_the_fates() {
        let s = Schedule {
            messages: vec![(0, Fate::Once), (0, Fate::Lost), (3, Fate::Twice), (0, Fate::Once)],
            jump: 0,
        };
        assert_eq!(s.deliveries(), vec![0, 3, 2, 2]);
    }
}
