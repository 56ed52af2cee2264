//! Turning a profile's scenario files into plan cases.

use super::definition;
use super::explore::Check;
use crate::family::{self, Family};
use crate::outcome::FIDELITY;
use crate::requirements::Profile;
use crate::vector::{Case, Expected, LoadedFile, TestMeta};
use crate::yaml::InputError;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How scenario cases run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScenarioMode {
    /// Use each scenario's `thorough` case count.
    pub thorough: bool,
    /// Compare every schedule's trace with the reference's.
    pub differential: bool,
    /// Judge only this schedule (1-based) of each scenario case: the replay of one failure (`--schedule N`).
    pub schedule: Option<u32>,
}

/// Load every scenario the profile lists (`scenarios:`, relative to `<profile>/scenarios/`), one case each.
pub fn load_profile_scenarios(profile: &Profile, mode: ScenarioMode) -> Result<Vec<LoadedFile>, InputError> {
    let dir = profile.dir.join("scenarios");
    let mut files = Vec::with_capacity(profile.file.scenarios.len());
    for name in &profile.file.scenarios {
        let path = dir.join(name);
        let (mut file, bytes) = definition::load(&path, profile)?;
        // The monitor's requirements join the scenario's own, so that a monitor finding in a schedule is charged
        // to its rule's requirement (the schedule's steps are judged against this list).
        file.requirements = with_monitor(&file.requirements);
        let mut requirements = file.requirements.clone();
        // Differential mode also compares rejection classes with the reference's: a difference counts toward the
        // error-class fidelity SHOULD only, when the profile has it.
        if mode.differential && profile.catalog.contains_key(FIDELITY) && !requirements.iter().any(|r| r == FIDELITY) {
            requirements.push(FIDELITY.to_string());
        }
        let meta = TestMeta {
            id: file.id.clone(),
            comment: file.comment.clone(),
            requirements,
            flags: Vec::new(),
            expected: Expected::Valid,
        };
        let cases = if mode.thorough {
            file.cases.thorough
        } else {
            file.cases.default
        };
        let check = Check {
            scenario: Arc::new(file),
            cases,
            differential: mode.differential,
            // A thorough run looks for every distinct failure, not only the first.
            keep_going: mode.thorough,
            schedule: mode.schedule,
        };
        files.push(LoadedFile {
            path: path.clone(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            cases: vec![Case {
                meta,
                family: Family::Scenario,
                file: path,
                check: family::Check::Scenario(check),
            }],
        });
    }
    Ok(files)
}

/// A scenario's own requirements, then the wire monitor's (it judges what the provider sends in every
/// schedule, each rule under its own requirement).
fn with_monitor(own: &[String]) -> Vec<String> {
    let mut ids = own.to_vec();
    for id in crate::monitor::requirements() {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}
