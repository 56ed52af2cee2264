//! The vector file format, in Wycheproof's vocabulary, and the loader that turns files into typed cases.
//!
//! A file has a header (`schema_version`, `family`, `description`, `notes`: flag -> explanation) and `groups`
//! of `tests` that share inputs. Every test has a stable string `id`, a `comment`, the `requirements` it
//! checks, `flags`, inputs (hex) and `expected: valid | invalid | acceptable`. The family fixes the shape of
//! groups and tests; [`crate::family`] holds one module per family.

use crate::family::{self, Check, Family};
use crate::requirements::Profile;
use crate::yaml::{self, InputError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The vector format version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// What a test expects of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// The input is well-formed and must be accepted, with the stated outputs.
    Valid,
    /// The input must be rejected (with one of the stated error classes, when given).
    Invalid,
    /// Either outcome conforms; sources disagree or the behaviour is legacy. Flags say why.
    Acceptable,
}

impl Expected {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Acceptable => "acceptable",
        }
    }

    /// A test's expectation from its steps': invalid if any step is, else acceptable if any step is, else valid.
    pub fn summarise(steps: impl Iterator<Item = Expected>) -> Expected {
        steps.fold(Expected::Valid, |acc, e| match (acc, e) {
            (Expected::Invalid, _) | (_, Expected::Invalid) => Expected::Invalid,
            (Expected::Acceptable, _) | (_, Expected::Acceptable) => Expected::Acceptable,
            _ => Expected::Valid,
        })
    }
}

/// Explanation of a flag, as Wycheproof's `notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagNote {
    /// Kind of bug the flagged cases look for: BASIC, AUTH_BYPASS, MISSING_STEP, EDGE_CASE, LEGACY, ...
    pub bug_type: String,
    /// What the flag means.
    pub description: String,
    /// What an implementation that gets it wrong exposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

/// A vector file with family-specific groups `G`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorFile<G> {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Which family (operation and shape) the file holds.
    pub family: Family,
    /// What the file covers.
    pub description: String,
    /// Flag -> explanation.
    #[serde(default)]
    pub notes: BTreeMap<String, FlagNote>,
    /// Groups of tests sharing inputs.
    pub groups: Vec<G>,
}

/// A group of tests that share nothing but a theme (families whose tests carry all their own inputs).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestGroup<T> {
    /// The theme.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The tests.
    pub tests: Vec<T>,
}

/// The common fields of every test, as read by the loader.
#[derive(Debug, Clone)]
pub struct TestMeta {
    /// Stable id.
    pub id: String,
    /// Why the case exists.
    pub comment: String,
    /// Requirement ids.
    pub requirements: Vec<String>,
    /// Flags.
    pub flags: Vec<String>,
    /// Expectation.
    pub expected: Expected,
}

/// Declare a family's test struct: the common fields, then the family's own.
macro_rules! vector_test {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Stable id, unique across the corpus (`family.topic.case`).
            pub id: String,
            /// Why the case exists.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub comment: String,
            /// Requirement ids this case checks.
            pub requirements: Vec<String>,
            /// Flags, each explained in the file's `notes`.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub flags: Vec<String>,
            /// valid, invalid or acceptable.
            pub expected: $crate::vector::Expected,
            $($(#[$fm])* pub $field: $ty,)*
        }

        impl $name {
            /// The common fields.
            pub fn meta(&self) -> $crate::vector::TestMeta {
                $crate::vector::TestMeta {
                    id: self.id.clone(),
                    comment: self.comment.clone(),
                    requirements: self.requirements.clone(),
                    flags: self.flags.clone(),
                    expected: self.expected,
                }
            }
        }
    };
}
pub(crate) use vector_test;

/// One runnable case of the plan.
#[derive(Debug, Clone)]
pub struct Case {
    /// Common fields.
    pub meta: TestMeta,
    /// The family.
    pub family: Family,
    /// The file it came from, as given to the loader.
    pub file: PathBuf,
    /// Family-specific inputs and expected outputs.
    pub check: Check,
}

/// A loaded vector file: its cases and its digest.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// Path as given.
    pub path: PathBuf,
    /// SHA-256 of the exact bytes read.
    pub sha256: String,
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Header {
    family: Option<serde_json::Value>,
}

/// Load one vector file strictly. Requirement ids are checked against `profile`'s catalog.
pub fn load_file(path: &Path, profile: &Profile) -> Result<LoadedFile, InputError> {
    let bytes = yaml::read_input(path)?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| InputError::file(path, "file is not UTF-8"))?;
    let header: Header = yaml::parse(path, &text)?;
    let family_value = header
        .family
        .ok_or_else(|| InputError::file(path, "missing `family`").at_key("family"))?;
    let family: Family = serde_json::from_value(family_value.clone()).map_err(|_| {
        let known: Vec<&str> = Family::ALL.iter().map(|f| f.as_str()).collect();
        located(
            path,
            &text,
            "family:",
            InputError::file(
                path,
                format!("unknown family {family_value}; known: {}", known.join(", ")),
            ),
        )
        .at_key("family")
    })?;
    let parsed = family::parse(family, path, &text)?;
    if parsed.schema_version != SCHEMA_VERSION {
        return Err(located(
            path,
            &text,
            "schema_version:",
            InputError::file(
                path,
                format!(
                    "schema_version {} is not supported (this build reads {SCHEMA_VERSION})",
                    parsed.schema_version
                ),
            ),
        )
        .at_key("schema_version"));
    }
    let mut cases = Vec::with_capacity(parsed.tests.len());
    for (key, meta, check) in parsed.tests {
        for (k, req) in meta.requirements.iter().enumerate() {
            if !profile.catalog.contains_key(req) {
                return Err(located(
                    path,
                    &text,
                    req,
                    InputError::file(path, format!("unknown requirement id `{req}` in test `{}`", meta.id)),
                )
                .at_key(format!("{key}.requirements[{k}]")));
            }
        }
        if meta.requirements.is_empty() {
            return Err(located(
                path,
                &text,
                &meta.id,
                InputError::file(path, format!("test `{}` names no requirement", meta.id)),
            )
            .at_key(format!("{key}.requirements")));
        }
        for (k, flag) in meta.flags.iter().enumerate() {
            if !parsed.notes.contains_key(flag) {
                return Err(located(
                    path,
                    &text,
                    flag,
                    InputError::file(
                        path,
                        format!("flag `{flag}` of test `{}` is not explained in `notes`", meta.id),
                    ),
                )
                .at_key(format!("{key}.flags[{k}]")));
            }
        }
        cases.push(Case {
            meta,
            family,
            file: path.to_path_buf(),
            check,
        });
    }
    Ok(LoadedFile {
        path: path.to_path_buf(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        cases,
    })
}

/// Load several files and reject a test id that appears twice anywhere.
pub fn load_files(paths: &[PathBuf], profile: &Profile) -> Result<Vec<LoadedFile>, InputError> {
    let mut files = Vec::with_capacity(paths.len());
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in paths {
        let file = load_file(path, profile)?;
        for case in &file.cases {
            if let Some(first) = seen.insert(case.meta.id.clone(), path.clone()) {
                let text = yaml::read_input_text(path).unwrap_or_default();
                let needle = format!("id: {}", case.meta.id);
                let nth = usize::from(first == *path);
                return Err(locate_nth(
                    path,
                    &text,
                    &needle,
                    nth,
                    InputError::file(
                        path,
                        format!(
                            "duplicate test id `{}` (first defined in {})",
                            case.meta.id,
                            first.display()
                        ),
                    ),
                ));
            }
        }
        files.push(file);
    }
    Ok(files)
}

/// Point a semantic error at the first place `needle` occurs in the file text.
fn located(path: &Path, text: &str, needle: &str, error: InputError) -> InputError {
    locate_nth(path, text, needle, 0, error)
}

fn locate_nth(_path: &Path, text: &str, needle: &str, nth: usize, mut error: InputError) -> InputError {
    let mut found = 0;
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            if found == nth {
                error.line = Some(i as u64 + 1);
                error.column = Some(col as u64 + 1);
                return error;
            }
            found += 1;
        }
    }
    error
}
