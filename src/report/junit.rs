//! JUnit XML: one testsuite per vector family, one testcase per case, classname = the case's first requirement.

use super::RunReport;
use crate::outcome::Outcome;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::time::Duration;

/// Render the report as JUnit XML.
pub fn render(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new(format!("conformance {}", report.run.profile));
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for case in &report.cases {
        let suite = suites.entry(case.family.as_str()).or_insert_with(|| {
            let mut s = TestSuite::new(case.family.as_str());
            s.add_property(Property::new("profile", report.run.profile.as_str()));
            s.add_property(Property::new("profile_version", report.run.profile_version.as_str()));
            s.add_property(Property::new("target", report.run.target.as_str()));
            s.add_property(Property::new("seed", report.run.seed.to_string()));
            s
        });
        let message = || {
            format!(
                "expected {}; observed {}",
                case.expected.as_deref().unwrap_or("-"),
                case.observed.as_deref().unwrap_or("-")
            )
        };
        let status = match case.outcome {
            Outcome::Pass => TestCaseStatus::success(),
            Outcome::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(message())
                    .set_type(case.requirements.join(" "))
                    .set_description(format!("{}\nreplay: {}", message(), case.replay));
                s
            }
            Outcome::Error => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(message())
                    .set_description(format!("replay: {}", case.replay));
                s
            }
            Outcome::Unsupported => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("unsupported: {}", case.observed.as_deref().unwrap_or("")));
                s
            }
            Outcome::Waived => {
                let mut s = TestCaseStatus::skipped();
                let why = report.waiver_of(&case.id).map(|w| {
                    format!(
                        "{} (approved by {}, expires {})",
                        w.entry.justification, w.entry.approver, w.entry.expires
                    )
                });
                s.set_message(format!("waived: {}", why.unwrap_or_default()))
                    .set_description(format!("{}\nreplay: {}", message(), case.replay));
                s
            }
        };
        let mut tc = TestCase::new(case.id.as_str(), status);
        tc.set_classname(case.requirements.first().map(String::as_str).unwrap_or("unassigned"))
            .set_time(Duration::from_secs_f64(case.duration_ms.max(0.0) / 1000.0));
        tc.add_property(Property::new("requirements", case.requirements.join(" ")));
        tc.add_property(Property::new("replay", case.replay.as_str()));
        if !case.unstable.is_empty() {
            tc.add_property(Property::new("unstable", super::outcomes_line(&case.unstable)));
        }
        for (i, f) in case.failures.iter().enumerate() {
            tc.add_property(Property::new(
                format!("distinct_failure.{}", i + 1),
                format!(
                    "schedule {} ({} time(s)): {}; replay: {}",
                    f.schedule,
                    f.occurrences,
                    super::first_line(&f.observed),
                    f.replay
                ),
            ));
        }
        suite.add_test_case(tc);
    }
    junit.add_test_suites(suites.into_values());
    junit.to_string()
}
