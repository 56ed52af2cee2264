//! The typed plan: a profile, its loaded vector files, and the cases selected by the filters.

use crate::requirements::Profile;
use crate::scope::Shard;
use crate::vector::{self, Case, LoadedFile};
use crate::yaml::InputError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The profile that `conformance run` uses by default.
pub const DEFAULT_PROFILE: &str = "whatsapp-ro-2024";

/// Where to find the data and what to select.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Folder holding `<profile>/profile.yaml`; `None`: `suites/` here, else the one shipped with the source.
    pub suites_dir: Option<PathBuf>,
    /// Another vector folder: every `*.yaml` in it replaces the profile's list.
    pub vectors_dir: Option<PathBuf>,
    /// Profile name.
    pub profile: String,
    /// Keep only cases checking these requirement ids.
    pub only: Vec<String>,
    /// Keep only these case ids.
    pub vectors: Vec<String>,
    /// How scenario cases run (`--thorough`, `--differential`).
    pub scenarios: crate::scenario::ScenarioMode,
    /// Keep only the cases of this shard (`--shard K/N`).
    pub shard: Option<Shard>,
}

/// A plan ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The profile and its catalog.
    pub profile: Profile,
    /// The vector folder used.
    pub vectors_dir: PathBuf,
    /// Every loaded file, with its digest.
    pub files: Vec<LoadedFile>,
    /// Selected cases, in file order.
    pub cases: Vec<Case>,
    /// Profile requirements the run judges (all of them unless filtered).
    pub scope: Vec<String>,
    /// Whether filters narrowed the run.
    pub filtered: bool,
    /// The shard, with `--shard`.
    pub shard: Option<Shard>,
    /// Cases selected before sharding.
    pub plan_cases: usize,
    /// [`crate::scope::plan_digest`] of the plan before sharding.
    pub digest: String,
}

/// A data folder: `name/` under the working directory, else the one beside this crate's manifest.
pub fn data_dir(name: &str) -> PathBuf {
    let here = PathBuf::from(name);
    if here.is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
    }
}

/// A plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A data file is broken.
    #[error("{0}")]
    Input(#[from] InputError),
    /// The filters select something that does not exist.
    #[error("{0}")]
    Usage(String),
}

impl Plan {
    /// Load the profile and its vectors, then apply the filters.
    pub fn build(options: &PlanOptions) -> Result<Self, PlanError> {
        let suites_dir = options.suites_dir.clone().unwrap_or_else(|| data_dir("suites"));
        let profile = Profile::load(&suites_dir, &options.profile)?;
        let (vectors_dir, paths) = match &options.vectors_dir {
            Some(dir) => (dir.clone(), yaml_files(dir)?),
            None => {
                let dir = data_dir("vectors");
                let paths = profile.file.vectors.iter().map(|f| dir.join(f)).collect();
                (dir, paths)
            }
        };
        let mut files = vector::load_files(&paths, &profile)?;
        for scenario in crate::scenario::load_profile_scenarios(&profile, options.scenarios)? {
            let id = &scenario.cases[0].meta.id;
            if files.iter().flat_map(|f| &f.cases).any(|c| &c.meta.id == id) {
                return Err(InputError::file(&scenario.path, format!("duplicate case id `{id}`"))
                    .at_key("id")
                    .into());
            }
            files.push(scenario);
        }
        let all: Vec<Case> = files.iter().flat_map(|f| f.cases.iter().cloned()).collect();

        for id in &options.only {
            if !profile.file.requirements.contains(id) {
                return Err(PlanError::Usage(format!(
                    "--only {id}: not a requirement of profile {} (see `conformance list`)",
                    profile.file.name
                )));
            }
        }
        for id in &options.vectors {
            if !all.iter().any(|c| &c.meta.id == id) {
                return Err(PlanError::Usage(format!(
                    "--vector {id}: no such case id (see `conformance list`)"
                )));
            }
        }
        let cases: Vec<Case> = all
            .into_iter()
            .filter(|c| options.only.is_empty() || c.meta.requirements.iter().any(|r| options.only.contains(r)))
            .filter(|c| options.vectors.is_empty() || options.vectors.contains(&c.meta.id))
            .collect();
        if options.scenarios.schedule.is_some() && !cases.iter().any(|c| c.family == crate::family::Family::Scenario) {
            return Err(PlanError::Usage(
                "--schedule replays one schedule of a scenario case; the selected cases hold none (select one with \
                 --vector scenario.ID)"
                    .into(),
            ));
        }
        let filtered = !options.only.is_empty() || !options.vectors.is_empty();
        let plan_cases = cases.len();
        let digest = crate::scope::plan_digest(
            (&profile.file.name, &profile.file.version),
            files.iter().map(|f| {
                let path = f.path.strip_prefix(&vectors_dir).unwrap_or(&f.path);
                (path.to_string_lossy().into_owned(), f.sha256.as_str())
            }),
            cases.iter().map(|c| c.meta.id.as_str()),
            (options.scenarios.thorough, options.scenarios.differential),
        );
        let scope = if filtered {
            let touched: BTreeSet<&String> = cases.iter().flat_map(|c| &c.meta.requirements).collect();
            profile
                .file
                .requirements
                .iter()
                .filter(|r| touched.contains(r))
                .filter(|r| options.only.is_empty() || options.only.contains(r))
                .cloned()
                .collect()
        } else {
            profile.file.requirements.clone()
        };
        // A shard judges the requirements its cases check; `report merge` scores the whole plan's scope again.
        let (cases, scope) = match options.shard {
            Some(shard) => {
                let cases: Vec<Case> = cases.into_iter().filter(|c| shard.contains(&c.meta.id)).collect();
                let touched: BTreeSet<&String> = cases.iter().flat_map(|c| &c.meta.requirements).collect();
                let scope = scope.into_iter().filter(|r| touched.contains(r)).collect();
                (cases, scope)
            }
            None => (cases, scope),
        };
        Ok(Self {
            profile,
            vectors_dir,
            files,
            cases,
            scope,
            filtered,
            shard: options.shard,
            plan_cases,
            digest,
        })
    }
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InputError::file(dir, format!("cannot read folder: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(InputError::file(dir, "no *.yaml vector files in this folder"));
    }
    Ok(paths)
}
