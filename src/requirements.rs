//! The requirements catalog and the profiles that select from it.
//!
//! The catalog (`suites/<profile>/requirements.yaml`) states each requirement with its level, source and
//! evidence grade. A profile (`suites/<profile>/profile.yaml`) names the requirements it really tests and the
//! vector files that test them, and carries a version that reports quote.

use crate::yaml::{self, InputError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// RFC 2119 level of a requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Level {
    /// Must hold for a CONFORMANT verdict.
    #[serde(rename = "MUST")]
    Must,
    /// Should hold; a failure lowers the score but does not block the verdict.
    #[serde(rename = "SHOULD")]
    Should,
    /// Optional behaviour.
    #[serde(rename = "MAY")]
    May,
}

impl Level {
    /// The upper-case keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
            Self::May => "MAY",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How strongly the sources support a requirement (see `../shared/reference/reference-offer.md` §0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Stated by the Reference Offer (technical specification, legal text or Meta's post).
    ReferenceOffer,
    /// Stated by the WhatsApp security whitepaper.
    Whitepaper,
    /// Agreed behaviour of open WhatsApp-compatible clients; applying it to partners is an inference.
    OpenClients,
    /// Inferred; stated nowhere.
    Inferred,
}

/// One requirement of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id, e.g. `RO-ENC-011`. Never reused once published.
    pub id: String,
    /// Short title.
    pub title: String,
    /// MUST, SHOULD or MAY.
    pub level: Level,
    /// Area, for grouping in reports (signatures, identity, encryption, media).
    pub area: String,
    /// The requirement itself, with any caveat about unconfirmed facts.
    pub statement: String,
    /// Where it comes from: document and section, or public code path.
    pub source: String,
    /// Evidence grade.
    pub evidence: Evidence,
    /// Why no case can test it from the suite's place; such a requirement is never in a profile, so it is
    /// never scored, and never passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_testable: Option<String>,
    /// An optional adapter capability (from `OPTIONAL_OPERATIONS`) that the requirement is conditional on, e.g.
    /// `transport_ik` for "MUST if the client implements IK". Cases that find the capability absent score
    /// `unsupported`, and the requirement reads `not_applicable`: never passed, and not held against CONFORMANT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_if: Option<String>,
}

/// The requirements catalog file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// Format version of this file.
    pub schema_version: u32,
    /// The requirements.
    pub requirements: Vec<Requirement>,
}

/// A profile file: what one certification run tests.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Format version of this file.
    pub schema_version: u32,
    /// Profile name (the folder name under `suites/`).
    pub name: String,
    /// Profile version, quoted in every report.
    pub version: String,
    /// One line on what it covers.
    pub title: String,
    /// Catalog files, relative to the profile's folder; default: its own `requirements.yaml`. A profile may read
    /// another profile's catalog beside its own (the groups profile reads the Phase-1 one for RO-SIG-004).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalogs: Vec<String>,
    /// Requirement ids tested by this profile; each must have cases.
    pub requirements: Vec<String>,
    /// Vector files, relative to the vectors folder.
    pub vectors: Vec<String>,
    /// Scenario files, relative to the profile's `scenarios/` folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
}

/// A loaded, validated profile with its catalog.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile file.
    pub file: ProfileFile,
    /// Every catalog requirement by id.
    pub catalog: BTreeMap<String, Requirement>,
    /// The profile's folder.
    pub dir: PathBuf,
}

impl Profile {
    /// Load `suites_dir/<name>/profile.yaml` and its `requirements.yaml`, and check that they agree.
    pub fn load(suites_dir: &Path, name: &str) -> Result<Self, InputError> {
        let dir = suites_dir.join(name);
        let profile_path = dir.join("profile.yaml");
        if !profile_path.is_file() {
            let known = Self::available(suites_dir).join(", ");
            return Err(InputError::file(
                &profile_path,
                format!("no profile named `{name}` (available: {known})"),
            ));
        }
        let file: ProfileFile = yaml::load(&profile_path)?;
        let catalog_files: Vec<String> = if file.catalogs.is_empty() {
            vec!["requirements.yaml".into()]
        } else {
            file.catalogs.clone()
        };
        let mut catalog = BTreeMap::new();
        for name in &catalog_files {
            let catalog_path = dir.join(name);
            let catalog_file: CatalogFile = yaml::load(&catalog_path)?;
            for (i, r) in catalog_file.requirements.into_iter().enumerate() {
                if catalog.contains_key(&r.id) {
                    return Err(
                        InputError::file(&catalog_path, format!("duplicate requirement id `{}`", r.id))
                            .at_key(format!("requirements[{i}].id")),
                    );
                }
                if let Some(capability) = &r.applies_if
                    && !crate::provider::OPTIONAL_OPERATIONS.contains(&capability.as_str())
                {
                    return Err(InputError::file(
                        &catalog_path,
                        format!(
                            "requirement `{}`: applies_if `{capability}` is not an optional capability ({})",
                            r.id,
                            crate::provider::OPTIONAL_OPERATIONS.join(", ")
                        ),
                    )
                    .at_key(format!("requirements[{i}].applies_if")));
                }
                catalog.insert(r.id.clone(), r);
            }
        }
        let catalog_path = catalog_files.join(", ");
        let mut seen = HashSet::new();
        for (i, id) in file.requirements.iter().enumerate() {
            if !catalog.contains_key(id) {
                return Err(
                    InputError::file(&profile_path, format!("requirement `{id}` is not in {catalog_path}"))
                        .at_key(format!("requirements[{i}]")),
                );
            }
            if let Some(why) = catalog.get(id).and_then(|r| r.not_testable.as_ref()) {
                return Err(InputError::file(
                    &profile_path,
                    format!("requirement `{id}` is not testable and cannot be in a profile: {why}"),
                )
                .at_key(format!("requirements[{i}]")));
            }
            if !seen.insert(id) {
                return Err(
                    InputError::file(&profile_path, format!("requirement `{id}` listed twice"))
                        .at_key(format!("requirements[{i}]")),
                );
            }
        }
        if file.name != name {
            return Err(InputError::file(
                &profile_path,
                format!("profile name `{}` does not match its folder `{name}`", file.name),
            )
            .at_key("name"));
        }
        Ok(Self { file, catalog, dir })
    }

    /// Names of the profiles found under `suites_dir`.
    pub fn available(suites_dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(suites_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("profile.yaml").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// The profile's requirements, in profile order.
    pub fn requirements(&self) -> impl Iterator<Item = &Requirement> {
        self.file.requirements.iter().filter_map(|id| self.catalog.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::Profile;

    /// A requirement the catalog marks not testable can never be put into a profile, so it is never passed.
    #[test]
    fn a_profile_cannot_list_a_requirement_that_is_not_testable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let shipped = crate::plan::data_dir("suites").join(crate::plan::DEFAULT_PROFILE);
        let profile_dir = dir.path().join(crate::plan::DEFAULT_PROFILE);
        std::fs::create_dir_all(&profile_dir).expect("profile dir");
        std::fs::copy(shipped.join("requirements.yaml"), profile_dir.join("requirements.yaml")).expect("catalog");
        let profile = std::fs::read_to_string(shipped.join("profile.yaml")).expect("profile");
        let with_proxy = profile.replacen("requirements:\n", "requirements:\n  - RO-TRANSPORT-012\n", 1);
        std::fs::write(profile_dir.join("profile.yaml"), with_proxy).expect("write profile");
        let err = Profile::load(dir.path(), crate::plan::DEFAULT_PROFILE).expect_err("refused");
        assert!(err.to_string().contains("RO-TRANSPORT-012` is not testable"), "{err}");
        assert!(Profile::load(&crate::plan::data_dir("suites"), crate::plan::DEFAULT_PROFILE).is_ok());
    }
}
