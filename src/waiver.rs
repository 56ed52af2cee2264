//! Waivers: approved, expiring exceptions for known failures, loaded from a YAML file (`--waivers FILE`).
//!
//! A waiver names one requirement or one case, with a justification, an approver and an expiry date (valid
//! through that day, UTC). A waived failure or error scores `waived`, never `pass`, and every renderer lists it
//! apart. Precision matters because a case often checks several requirements: a requirement waiver turns a
//! failing case into `waived` for that requirement only; the case as a whole is `waived` only when every
//! requirement it checks in scope is waived (or a case waiver names it). Expired waivers, waivers naming an
//! unknown id and waivers that waived nothing are errors, so stale exceptions cannot linger.

use crate::outcome::Outcome;
use crate::plan::Plan;
use crate::runner::CaseResult;
use crate::scoring::WaiverPolicy;
use crate::yaml::{self, InputError};
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The waiver file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    waivers: Vec<WaiverEntry>,
}

/// One waiver as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverEntry {
    /// A requirement id (give this or `case`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// A case id (give this or `requirement`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Why the failure is accepted for now.
    pub justification: String,
    /// Who approved it.
    pub approver: String,
    /// Last day it holds, `YYYY-MM-DD` (UTC).
    pub expires: String,
}

/// What a waiver did in a run, as the report keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaiverRecord {
    /// The waiver as written.
    pub entry: WaiverEntry,
    /// Whether the waived requirement is a MUST (for requirement waivers; case waivers: any MUST it touches).
    pub must: bool,
    /// The cases it covered, with the outcome each had before the waiver.
    pub waived: Vec<WaivedCase>,
}

/// A case a waiver covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaivedCase {
    /// Case id.
    pub case: String,
    /// `fail` or `error`: the outcome before the waiver.
    pub outcome: Outcome,
}

/// A loaded, checked waiver file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waivers {
    /// The file, for error messages.
    pub path: PathBuf,
    /// Its entries, in file order.
    pub entries: Vec<WaiverEntry>,
    /// `--allow-must-waivers`: a waived MUST may count toward CONFORMANT.
    pub allow_must: bool,
}

/// The result of applying waivers to a run's cases.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// What each waiver did, in file order.
    pub records: Vec<WaiverRecord>,
    /// The scoring policy.
    pub policy: WaiverPolicy,
    /// Waivers that waived nothing (each an error naming the file and entry).
    pub unused: Vec<InputError>,
}

impl WaiverEntry {
    /// `requirement RO-X` or `case ID`.
    pub fn target(&self) -> String {
        match (&self.requirement, &self.case) {
            (Some(r), _) => format!("requirement {r}"),
            (None, Some(c)) => format!("case {c}"),
            (None, None) => "nothing".into(),
        }
    }
}

impl Waivers {
    /// Load and check `path`: exactly one target per entry, non-empty justification and approver, a valid,
    /// unexpired date (`today` is the UTC date of the run), no target twice.
    pub fn load(path: &Path, today: NaiveDate, allow_must: bool) -> Result<Self, InputError> {
        let file: WaiverFile = yaml::load(path)?;
        let err = |i: usize, key: &str, msg: String| InputError::file(path, msg).at_key(format!("waivers[{i}]{key}"));
        let mut seen = BTreeSet::new();
        for (i, w) in file.waivers.iter().enumerate() {
            if w.requirement.is_some() == w.case.is_some() {
                return Err(err(i, "", "give exactly one of `requirement` or `case`".into()));
            }
            for (key, value) in [("justification", &w.justification), ("approver", &w.approver)] {
                if value.trim().is_empty() {
                    return Err(err(i, &format!(".{key}"), format!("`{key}` must not be empty")));
                }
            }
            let expires = NaiveDate::parse_from_str(&w.expires, "%Y-%m-%d")
                .map_err(|e| err(i, ".expires", format!("`{}` is not a date YYYY-MM-DD: {e}", w.expires)))?;
            if expires < today {
                return Err(err(
                    i,
                    ".expires",
                    format!("waiver for {} expired on {expires} (today is {today})", w.target()),
                ));
            }
            if !seen.insert(w.target()) {
                return Err(err(i, "", format!("a second waiver for {}", w.target())));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            entries: file.waivers,
            allow_must,
        })
    }

    /// Every target must exist: a requirement of the profile, or a case of the loaded vector files.
    pub fn check_targets(&self, plan: &Plan) -> Result<(), InputError> {
        for (i, w) in self.entries.iter().enumerate() {
            let known = match (&w.requirement, &w.case) {
                (Some(r), _) => plan.profile.file.requirements.contains(r),
                (None, Some(c)) => plan.files.iter().flat_map(|f| &f.cases).any(|k| &k.meta.id == c),
                (None, None) => false,
            };
            if !known {
                return Err(InputError::file(
                    &self.path,
                    format!(
                        "{} is not in profile {} or its vectors",
                        w.target(),
                        plan.profile.file.name
                    ),
                )
                .at_key(format!("waivers[{i}]")));
            }
        }
        Ok(())
    }

    /// Mark covered cases `waived` and say what each waiver did. In a filtered run, a waiver whose target the
    /// filters left out is not reported as unused.
    pub fn apply(&self, plan: &Plan, results: &mut [CaseResult]) -> Applied {
        let policy = WaiverPolicy {
            requirements: self.entries.iter().filter_map(|w| w.requirement.clone()).collect(),
            allow_must: self.allow_must,
        };
        let in_scope = |r: &String| plan.scope.contains(r);
        let original: Vec<Outcome> = results.iter().map(|c| c.outcome).collect();
        for c in results.iter_mut() {
            let by_case = self.entries.iter().any(|w| w.case.as_ref() == Some(&c.id));
            let scoped: Vec<&String> = c.requirements.iter().filter(|r| in_scope(r)).collect();
            let by_requirements = !scoped.is_empty() && scoped.iter().all(|r| policy.requirements.contains(*r));
            if matches!(c.outcome, Outcome::Fail | Outcome::Error) && (by_case || by_requirements) {
                c.outcome = Outcome::Waived;
            }
        }
        let must = |id: &String| {
            plan.profile
                .catalog
                .get(id)
                .is_some_and(|r| r.level == crate::requirements::Level::Must)
                && in_scope(id)
        };
        let mut applied = Applied {
            policy: policy.clone(),
            ..Applied::default()
        };
        for (i, w) in self.entries.iter().enumerate() {
            let covers = |c: &CaseResult| match (&w.requirement, &w.case) {
                (Some(r), _) => c.requirements.contains(r) && in_scope(r),
                (None, Some(id)) => &c.id == id,
                (None, None) => false,
            };
            let selected = results.iter().any(covers);
            let waived: Vec<WaivedCase> = results
                .iter()
                .zip(&original)
                .filter(|(c, o)| covers(c) && matches!(o, Outcome::Fail | Outcome::Error))
                .map(|(c, o)| WaivedCase {
                    case: c.id.clone(),
                    outcome: *o,
                })
                .collect();
            if waived.is_empty() && (selected || !plan.filtered) {
                applied.unused.push(
                    InputError::file(
                        &self.path,
                        format!(
                            "waiver for {} waived nothing: no case it covers failed or errored in this run; remove it",
                            w.target()
                        ),
                    )
                    .at_key(format!("waivers[{i}]")),
                );
            }
            let must = match (&w.requirement, &w.case) {
                (Some(r), _) => must(r),
                _ => results
                    .iter()
                    .filter(|c| covers(c))
                    .any(|c| c.requirements.iter().any(must)),
            };
            applied.records.push(WaiverRecord {
                entry: w.clone(),
                must,
                waived,
            });
        }
        applied
    }
}

/// The first line a report shows when MUST waivers were allowed and used, `None` otherwise.
pub fn must_waiver_notice(allow_must: bool, waived_must: &[String]) -> Option<String> {
    (allow_must && !waived_must.is_empty()).then(|| {
        format!(
            "MUST WAIVERS ALLOWED (--allow-must-waivers): {} MUST requirement(s) waived, not passed: {}",
            waived_must.len(),
            waived_must.join(", ")
        )
    })
}
