//! The vector file format, in Wycheproof's vocabulary, and the loader that turns files into typed cases.
//!
//! A file has a header (`schema_version`, `family`, `description`, `notes`: flag -> explanation) and `groups`
//! of `tests` that share inputs. Every test has a stable string `id`, a `comment`, the `requirements` it
//! checks, `flags`, inputs (hex) and `expected: valid | invalid | acceptable`. The family fixes the shape of
//! groups and tests; [`crate::family`] holds one module per family.

use crate::family::{self, Check, Family};
use crate::requirements::Profile;
use crate::yaml::{self, InputError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use crate::vector_format::{Expected, FlagNote, SCHEMA_VERSION, TestGroup, TestMeta, VectorFile};

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
