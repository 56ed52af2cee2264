//! The shields.io endpoint badge (`badge.json`): <https://shields.io/badges/endpoint-badge>.
//!
//! A README shows it with `https://img.shields.io/endpoint?url=<where badge.json is served>`.

use super::RunReport;
use crate::scoring::Verdict;
use serde::Serialize;

/// The endpoint JSON shields.io reads (`schemaVersion` 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Badge {
    /// Always 1.
    pub schema_version: u32,
    /// Left-hand text.
    pub label: String,
    /// Right-hand text: verdict and score.
    pub message: String,
    /// Right-hand colour.
    pub color: String,
}

/// The badge for a report: green when CONFORMANT, orange when only MUST waivers made it so, grey for a partial
/// run with nothing failed in scope (never green: it is no certification), red otherwise.
pub fn badge(report: &RunReport) -> Badge {
    let color = match (report.verdict, report.scope_verdict()) {
        (Verdict::Conformant, _) if report.waiver_notice.is_some() => "orange",
        (Verdict::Conformant, _) => "brightgreen",
        (Verdict::Partial, Verdict::Conformant) => "lightgrey",
        _ => "red",
    };
    let waived = if report.waiver_notice.is_some() {
        " (MUST waived)"
    } else {
        ""
    };
    Badge {
        schema_version: 1,
        label: format!("{} conformance", report.run.profile),
        message: format!("{} {:.1}%{waived}", report.verdict_label(), report.score * 100.0),
        color: color.into(),
    }
}

/// `badge.json` text.
pub fn render(report: &RunReport) -> String {
    serde_json::to_string_pretty(&badge(report)).unwrap_or_default() + "\n"
}
