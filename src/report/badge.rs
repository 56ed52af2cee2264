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

/// The badge for a report: green when CONFORMANT, orange when only MUST waivers made it so, red otherwise.
pub fn badge(report: &RunReport) -> Badge {
    let color = match report.verdict {
        Verdict::Conformant if report.waiver_notice.is_some() => "orange",
        Verdict::Conformant => "brightgreen",
        Verdict::NotConformant => "red",
    };
    let waived = if report.waiver_notice.is_some() {
        " (MUST waived)"
    } else {
        ""
    };
    Badge {
        schema_version: 1,
        label: format!("{} conformance", report.run.profile),
        message: format!("{} {:.1}%{waived}", report.verdict.as_str(), report.score * 100.0),
        color: color.into(),
    }
}

/// `badge.json` text.
pub fn render(report: &RunReport) -> String {
    serde_json::to_string_pretty(&badge(report)).unwrap_or_default() + "\n"
}
