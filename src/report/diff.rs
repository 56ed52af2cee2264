//! `conformance report diff OLD.json NEW.json`: what changed between two runs, so CI can gate on regressions.
//!
//! A requirement or case *regressed* when it passed before and does not now, or when it now fails (or errors)
//! and did not before; it was *fixed* when it passes now and did not before. Every other status change
//! (e.g. fail -> waived, error -> unsupported, an id in only one report) is listed as *changed*. A verdict that
//! drops from CONFORMANT is a regression too.
//!
//! Only comparable runs are compared ([`comparable`]): the same profile and version, the same vector files
//! (by digest) and the same scope (`--only`, `--vector`, `--shard`). A narrowed run diffed against a whole one
//! would read as "no regression" while it simply did not look; `report diff` refuses it (exit 2).

use super::RunReport;
use crate::scoring::Verdict;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// How one id moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Got worse.
    Regressed,
    /// Passes now, did not before.
    Fixed,
    /// Another status change, or present in only one report.
    Changed,
}

/// One changed requirement or case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// `requirement` or `case`.
    pub kind: &'static str,
    /// Id.
    pub id: String,
    /// Status in OLD (`absent` when missing).
    pub old: String,
    /// Status in NEW (`absent` when missing).
    pub new: String,
    /// Classification.
    pub change: Change,
}

/// The difference between two reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDiff {
    /// Verdicts, old and new.
    pub verdict: (Verdict, Verdict),
    /// Verdicts within scope, old and new (the verdicts themselves for complete runs).
    pub scope_verdict: (Verdict, Verdict),
    /// Scores, old and new.
    pub score: (f64, f64),
    /// Every changed id, requirements first, then cases, each in id order.
    pub entries: Vec<Entry>,
    /// Notes on comparability (profile or schema differences).
    pub notes: Vec<String>,
}

/// A report file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DiffInputError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Read a `report.json`.
pub fn load(path: &Path) -> Result<RunReport, DiffInputError> {
    let err = |message: String| DiffInputError {
        path: path.display().to_string(),
        message,
    };
    let text = crate::yaml::read_input_text(path).map_err(|e| err(e.message))?;
    let report: RunReport =
        serde_json::from_str(&text).map_err(|e| err(format!("not a conformance report.json: {e}")))?;
    if report.schema_version != super::REPORT_SCHEMA_VERSION {
        return Err(err(format!(
            "report schema version {} is not {} (this tool's)",
            report.schema_version,
            super::REPORT_SCHEMA_VERSION
        )));
    }
    Ok(report)
}

fn classify(old: &str, new: &str) -> Option<Change> {
    let bad = |s: &str| s == "fail" || s == "error";
    match (old, new) {
        (o, n) if o == n => None,
        (_, "absent") => Some(Change::Changed),
        ("pass", _) => Some(Change::Regressed),
        (o, n) if bad(n) && !bad(o) => Some(Change::Regressed),
        ("error", "fail") => Some(Change::Regressed),
        ("absent", "pass") => Some(Change::Changed),
        (_, "pass") => Some(Change::Fixed),
        _ => Some(Change::Changed),
    }
}

fn compare(kind: &'static str, old: &BTreeMap<String, &str>, new: &BTreeMap<String, &str>) -> Vec<Entry> {
    let mut ids: Vec<&str> = old.keys().chain(new.keys()).map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| {
            let (o, n) = (
                old.get(id).copied().unwrap_or("absent"),
                new.get(id).copied().unwrap_or("absent"),
            );
            // An id new in NEW that fails is a regression; one that vanished is only a change.
            let change = classify(o, n)?;
            Some(Entry {
                kind,
                id: id.to_string(),
                old: o.to_string(),
                new: n.to_string(),
                change,
            })
        })
        .collect()
}

/// Whether two reports may be compared: `Err` names the first difference that makes a diff meaningless.
pub fn comparable(old: &RunReport, new: &RunReport) -> Result<(), String> {
    let (o, n) = (&old.run, &new.run);
    if (&o.profile, &o.profile_version) != (&n.profile, &n.profile_version) {
        return Err(format!(
            "the runs used different profiles ({} v{} and {} v{}); a diff compares runs of one profile version",
            o.profile, o.profile_version, n.profile, n.profile_version
        ));
    }
    let digests = |r: &super::RunInfo| {
        r.vectors
            .iter()
            .map(|v| (v.path.clone(), v.sha256.clone()))
            .collect::<Vec<_>>()
    };
    if digests(o) != digests(n) {
        return Err("the runs read different vector files (compare run.vectors in each report)".into());
    }
    let scope = |r: &RunReport| {
        (
            r.run.scope.complete,
            r.run.only.clone(),
            r.run.vector_filter.clone(),
            r.run.scope.shard,
        )
    };
    if scope(old) != scope(new) {
        let describe = |r: &RunReport| match r.partial_note() {
            note if note.is_empty() => "the whole profile".to_string(),
            note => note,
        };
        return Err(format!(
            "the runs have different scopes (old: {}; new: {}); rerun both with the same --only, --vector and --shard",
            describe(old),
            describe(new)
        ));
    }
    Ok(())
}

/// Compare two reports (check [`comparable`] first).
pub fn diff(old: &RunReport, new: &RunReport) -> ReportDiff {
    let reqs = |r: &RunReport| -> BTreeMap<String, &'static str> {
        r.requirements
            .iter()
            .map(|q| (q.id.clone(), q.verdict.as_str()))
            .collect()
    };
    let cases = |r: &RunReport| -> BTreeMap<String, &'static str> {
        r.cases.iter().map(|c| (c.id.clone(), c.outcome.as_str())).collect()
    };
    let mut entries = compare("requirement", &reqs(old), &reqs(new));
    entries.extend(compare("case", &cases(old), &cases(new)));
    let mut notes = Vec::new();
    if (old.run.thorough, old.run.differential) != (new.run.thorough, new.run.differential) {
        notes.push("scenario modes differ (--thorough / --differential): scenario cases drew other schedules".into());
    }
    ReportDiff {
        verdict: (old.verdict, new.verdict),
        scope_verdict: (old.scope_verdict(), new.scope_verdict()),
        score: (old.score, new.score),
        entries,
        notes,
    }
}

impl ReportDiff {
    /// Whether anything got worse (the verdict, a requirement or a case).
    pub fn has_regression(&self) -> bool {
        self.verdict == (Verdict::Conformant, Verdict::NotConformant)
            || self.scope_verdict == (Verdict::Conformant, Verdict::NotConformant)
            || self.entries.iter().any(|e| e.change == Change::Regressed)
    }

    /// JSON rendering for CI tools: verdicts, scores, counts per change, every entry and the notes.
    pub fn to_json(&self) -> String {
        let count = |c: Change| self.entries.iter().filter(|e| e.change == c).count();
        let value = serde_json::json!({
            "regression": self.has_regression(),
            "verdict": {"old": self.verdict.0, "new": self.verdict.1},
            "scope_verdict": {"old": self.scope_verdict.0, "new": self.scope_verdict.1},
            "score": {"old": self.score.0, "new": self.score.1},
            "counts": {
                "regressed": count(Change::Regressed),
                "fixed": count(Change::Fixed),
                "changed": count(Change::Changed),
            },
            "entries": self.entries,
            "notes": self.notes,
        });
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Plain-text rendering, grouped by change.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "verdict: {} -> {}\nscore:   {:.1}% -> {:.1}%",
            label(self.verdict.0, self.scope_verdict.0),
            label(self.verdict.1, self.scope_verdict.1),
            self.score.0 * 100.0,
            self.score.1 * 100.0
        );
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        for (change, title) in [
            (Change::Regressed, "REGRESSED"),
            (Change::Fixed, "FIXED"),
            (Change::Changed, "CHANGED"),
        ] {
            let group: Vec<&Entry> = self.entries.iter().filter(|e| e.change == change).collect();
            let _ = writeln!(out, "\n{title} ({})", group.len());
            for e in group {
                let _ = writeln!(out, "  {:<11} {:<48} {} -> {}", e.kind, e.id, e.old, e.new);
            }
        }
        let _ = writeln!(
            out,
            "\n{}",
            if self.has_regression() {
                "result: regression"
            } else {
                "result: no regression"
            }
        );
        out
    }
}

fn label(verdict: Verdict, within: Verdict) -> String {
    match verdict {
        Verdict::Partial => format!("PARTIAL ({} within scope)", within.as_str()),
        v => v.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let table = [
            ("pass", "pass", None),
            ("pass", "fail", Some(Change::Regressed)),
            ("pass", "waived", Some(Change::Regressed)),
            ("pass", "untested", Some(Change::Regressed)),
            ("untested", "fail", Some(Change::Regressed)),
            ("waived", "fail", Some(Change::Regressed)),
            ("error", "fail", Some(Change::Regressed)),
            ("absent", "fail", Some(Change::Regressed)),
            ("fail", "pass", Some(Change::Fixed)),
            ("absent", "pass", Some(Change::Changed)),
            ("pass", "absent", Some(Change::Changed)),
            ("fail", "waived", Some(Change::Changed)),
            ("fail", "error", Some(Change::Changed)),
            ("unsupported", "untested", Some(Change::Changed)),
        ];
        for (old, new, want) in table {
            assert_eq!(classify(old, new), want, "{old} -> {new}");
        }
    }
}
