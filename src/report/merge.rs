//! `conformance report merge DIR... --out DIR`: one report from the shards of a run (`run --shard K/N`).
//!
//! The merged report is what a single run with that seed would have written: the plan is rebuilt from the same
//! profile and vectors (its digest must equal the shards' `run.scope.plan_digest`), the case results are put back
//! in plan order, and the verdict is scored anew from all of them. Case results are carried as they are, with
//! every field (outcome, expected/observed, blame, replay). Merge refuses, as an input error: shards of other
//! runs (profile, versions, vector digests, seed, target, N, filters or scenario mode differ), a shard given
//! twice, a missing shard, a case in the wrong shard or in two, and shards run with waivers (merge unwaived
//! shards; waivers belong to the whole run).

use super::diff;
use super::{RunContext, RunReport};
use crate::plan::{Plan, PlanOptions};
use crate::runner::CaseResult;
use crate::scenario::ScenarioMode;
use crate::scope::Shard;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Why shards cannot be merged (an input error: exit 2).
#[derive(Debug, thiserror::Error)]
#[error("report merge: {0}")]
pub struct MergeError(pub String);

/// Where to find the data the shards ran on (the profile itself comes from the reports).
#[derive(Debug, Clone, Default)]
pub struct MergeData {
    /// `--suites`.
    pub suites_dir: Option<PathBuf>,
    /// `--vectors`.
    pub vectors_dir: Option<PathBuf>,
}

/// A shard's report and the folder it came from.
struct Part {
    dir: PathBuf,
    report: RunReport,
    shard: Shard,
}

fn load(dir: &Path) -> Result<Part, MergeError> {
    let path = if dir.is_dir() {
        dir.join("report.json")
    } else {
        dir.to_path_buf()
    };
    let report = diff::load(&path).map_err(|e| MergeError(e.to_string()))?;
    let shard = report.run.scope.shard.ok_or_else(|| {
        MergeError(format!(
            "{} is not a shard's report (it was not run with --shard K/N)",
            path.display()
        ))
    })?;
    if !report.waivers.is_empty() {
        return Err(MergeError(format!(
            "{} was run with --waivers; run the shards without waivers and merge those",
            path.display()
        )));
    }
    Ok(Part {
        dir: dir.to_path_buf(),
        report,
        shard,
    })
}

/// The fields every shard of one run shares, by name.
fn identity(r: &RunReport) -> Vec<(&'static str, String)> {
    let run = &r.run;
    let vectors: Vec<String> = run.vectors.iter().map(|v| format!("{}={}", v.path, v.sha256)).collect();
    vec![
        ("tool version", run.tool_version.clone()),
        ("profile", format!("{} v{}", run.profile, run.profile_version)),
        ("vector digests", vectors.join(", ")),
        ("seed", run.seed.to_string()),
        ("target", run.target.clone()),
        ("implementation", run.implementation.clone()),
        (
            "shard count N",
            run.scope.shard.map(|s| s.count.to_string()).unwrap_or_default(),
        ),
        ("plan digest", run.scope.plan_digest.clone()),
        ("--only", run.only.join(", ")),
        ("--vector", run.vector_filter.join(", ")),
        (
            "scenario mode",
            format!("thorough={} differential={}", run.thorough, run.differential),
        ),
        ("--repeat", run.repeat.unwrap_or(1).to_string()),
    ]
}

/// Merge the shards in `dirs` (each a folder with `report.json`, or the file itself).
pub fn merge(dirs: &[PathBuf], data: &MergeData) -> Result<RunReport, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError("no shard folders given".into()));
    }
    let parts = dirs.iter().map(|d| load(d)).collect::<Result<Vec<_>, _>>()?;
    let first = &parts[0];
    let want = identity(&first.report);
    for part in &parts[1..] {
        for ((name, a), (_, b)) in want.iter().zip(identity(&part.report)) {
            if *a != b {
                return Err(MergeError(format!(
                    "the shards come from different runs: {name} is `{a}` in {} but `{b}` in {}",
                    first.dir.display(),
                    part.dir.display()
                )));
            }
        }
    }
    let count = first.shard.count;
    let mut by_index: BTreeMap<u32, &Part> = BTreeMap::new();
    for part in &parts {
        if let Some(other) = by_index.insert(part.shard.index, part) {
            return Err(MergeError(format!(
                "shard {} is given twice ({} and {})",
                part.shard,
                other.dir.display(),
                part.dir.display()
            )));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !by_index.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError(format!("missing shard(s): {}", missing.join(", "))));
    }
    let mut results: HashMap<String, CaseResult> = HashMap::new();
    for part in &parts {
        for case in &part.report.cases {
            let owner = Shard::of(&case.id, count);
            if owner != part.shard.index {
                return Err(MergeError(format!(
                    "case {} in {} (shard {}) belongs to shard {owner}/{count}",
                    case.id,
                    part.dir.display(),
                    part.shard
                )));
            }
            if results.insert(case.id.clone(), case.clone()).is_some() {
                return Err(MergeError(format!("case {} appears twice", case.id)));
            }
        }
    }
    let run = &first.report.run;
    let mode = ScenarioMode {
        thorough: run.thorough,
        differential: run.differential,
        ..ScenarioMode::default()
    };
    let plan = Plan::build(&PlanOptions {
        suites_dir: data.suites_dir.clone(),
        vectors_dir: data.vectors_dir.clone(),
        profile: run.profile.clone(),
        only: run.only.clone(),
        vectors: run.vector_filter.clone(),
        scenarios: mode,
        shard: None,
    })
    .map_err(|e| MergeError(format!("cannot rebuild the shards' plan: {e}")))?;
    if plan.digest != run.scope.plan_digest {
        return Err(MergeError(format!(
            "the shards ran another plan (digest {}) than this profile and these vectors give ({}): merge with the \
             same --suites and --vectors as the run",
            run.scope.plan_digest, plan.digest
        )));
    }
    let mut ordered = Vec::with_capacity(plan.cases.len());
    for case in &plan.cases {
        let result = results
            .remove(&case.meta.id)
            .ok_or_else(|| MergeError(format!("case {} is in no shard's report", case.meta.id)))?;
        ordered.push(result);
    }
    if let Some(extra) = results.keys().min() {
        return Err(MergeError(format!("case {extra} is not in the plan")));
    }
    let scoring = crate::scoring::score(&plan.profile, &plan.scope, &ordered);
    let suffix = format!(" --shard {}", first.shard);
    let times = |f: fn(&RunReport) -> &String| parts.iter().map(|p| f(&p.report).clone()).collect::<Vec<_>>();
    let started = times(|r| &r.run.started_at).into_iter().min().unwrap_or_default();
    let finished = times(|r| &r.run.finished_at).into_iter().max().unwrap_or_default();
    Ok(RunReport::build(
        &plan,
        ordered,
        &scoring,
        RunContext {
            seed: run.seed,
            target: run.target.clone(),
            implementation: run.implementation.clone(),
            only: run.only.clone(),
            vector_filter: run.vector_filter.clone(),
            command: run.command.replace(&suffix, ""),
            mode,
            started_at: started,
            finished_at: finished,
        },
    ))
    .map(|mut merged| {
        merged.run.repeat = run.repeat;
        merged
    })
}
