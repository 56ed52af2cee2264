//! What part of its profile a run covered, and the shard partition.
//!
//! A run that does not cover its whole profile (`--only`, `--vector`, `--shard`) is *partial*: its report keeps
//! the verdict within its scope apart ([`crate::report::RunReport::scope_verdict`]) and reads `PARTIAL` everywhere,
//! so that it never passes for a certification. Shards partition the plan's cases by a hash of the case id
//! (like nextest's `--partition hash:K/N`): a case stays in its shard when other cases are added or removed, and
//! `report merge` can check each case against the shard that ran it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The largest shard count accepted (a partition finer than the corpus only makes empty shards).
pub const MAX_SHARDS: u32 = 1024;

/// Shard `index` of `count` (1-based), as given to `--shard K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    /// K, in 1..=count.
    pub index: u32,
    /// N, the number of shards.
    pub count: u32,
}

impl Shard {
    /// Parse `K/N` (1 <= K <= N <= [`MAX_SHARDS`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("--shard {text}: expected K/N with 1 <= K <= N <= {MAX_SHARDS}, e.g. --shard 2/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Self { index, count })
    }

    /// The shard (1-based) a case id belongs to among `count`: the first 8 bytes of SHA-256(id), modulo `count`.
    pub fn of(case_id: &str, count: u32) -> u32 {
        let digest = Sha256::digest(case_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_le_bytes(first) % u64::from(count.max(1))) as u32 + 1
    }

    /// Whether this shard runs `case_id`.
    pub fn contains(self, case_id: &str) -> bool {
        Self::of(case_id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The scope of a run, as `report.json` records it (`run.scope`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Scope {
    /// Whether the run covered its whole profile: no `--only`, `--vector` or `--shard`. Only a complete run's
    /// verdict can be CONFORMANT; any other reads PARTIAL.
    pub complete: bool,
    /// The shard this run was, with `--shard K/N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// SHA-256 over the profile, every vector file's digest, every case id of the plan before sharding and the
    /// scenario mode: shards of one plan share it.
    pub plan_digest: String,
    /// Cases of the plan before sharding.
    pub plan_cases: usize,
    /// Cases this run ran.
    pub cases: usize,
}

impl Scope {
    /// Why the run is partial, in words (empty for a complete run).
    pub fn describe(&self, only: &[String], vectors: &[String]) -> String {
        let mut parts = Vec::new();
        if !only.is_empty() {
            parts.push(format!("--only {}", only.join(", ")));
        }
        if !vectors.is_empty() {
            parts.push(format!("--vector {}", vectors.join(", ")));
        }
        if let Some(s) = self.shard {
            parts.push(format!("shard {s}"));
        }
        if parts.is_empty() {
            return String::new();
        }
        format!(
            "partial run ({}): {} of {} cases; not a certification of the whole profile",
            parts.join("; "),
            self.cases,
            self.plan_cases
        )
    }
}

/// The plan digest: what a shard must share with its siblings and with `report merge`'s own plan.
pub fn plan_digest<'a>(
    profile: (&str, &str),
    files: impl Iterator<Item = (String, &'a str)>,
    case_ids: impl Iterator<Item = &'a str>,
    mode: (bool, bool),
) -> String {
    let mut h = Sha256::new();
    let mut field = |label: &str, value: &[u8]| {
        h.update(label.as_bytes());
        h.update((value.len() as u64).to_le_bytes());
        h.update(value);
    };
    field("profile", profile.0.as_bytes());
    field("version", profile.1.as_bytes());
    for (path, sha) in files {
        field("file", path.as_bytes());
        field("sha256", sha.as_bytes());
    }
    for id in case_ids {
        field("case", id.as_bytes());
    }
    field("thorough", &[u8::from(mode.0)]);
    field("differential", &[u8::from(mode.1)]);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "1/99999", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_case_is_in_exactly_one_shard() {
        let ids: Vec<String> = (0..500).map(|i| format!("case.{i}")).collect();
        let mut sizes = [0usize; 4];
        for id in &ids {
            let owners: Vec<u32> = (1..=4).filter(|&k| Shard { index: k, count: 4 }.contains(id)).collect();
            assert_eq!(owners.len(), 1, "{id}");
            sizes[owners[0] as usize - 1] += 1;
        }
        // A hash partition is roughly even: each of 4 shards gets well over a tenth of 500 cases.
        assert!(sizes.iter().all(|&s| s > 50), "{sizes:?}");
    }
}
