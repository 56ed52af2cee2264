//! The terminal rendering: requirement table, failures with replay commands, verdict.

use super::{RunReport, Summary};
use std::fmt::Write;

/// A multi-line field with its continuation lines indented under the field, so no line of case text (which
/// may quote the provider) can pass for a line of the suite's own, such as the verdict.
fn indented(text: &str) -> String {
    text.replace('\n', "\n            ")
}

/// Render the report as plain text for a terminal.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let run = &report.run;
    if let Some(notice) = &report.waiver_notice {
        let _ = writeln!(out, "{notice}");
    }
    let _ = writeln!(
        out,
        "profile {} v{}  target {}  seed {}",
        run.profile, run.profile_version, run.target, run.seed
    );
    let _ = writeln!(out, "implementation: {}", run.implementation);
    if report.is_partial() {
        let _ = writeln!(
            out,
            "{}; the verdict covers {} requirement(s) in scope",
            report.partial_note(),
            report.requirements.len()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<14} {:<6} {:<12} {:>7}  TITLE",
        "REQUIREMENT", "LEVEL", "VERDICT", "CASES"
    );
    for r in &report.requirements {
        let cases = format!(
            "{}/{}",
            r.counts.pass,
            r.counts.applicable() + r.counts.unsupported + r.counts.blocked
        );
        let _ = writeln!(
            out,
            "{:<14} {:<6} {:<12} {:>7}  {}",
            r.id,
            r.level.as_str(),
            r.verdict.as_str(),
            cases,
            truncate(&r.title, 60)
        );
    }
    let causes = report.root_causes();
    if !causes.is_empty() {
        let cases: usize = causes.iter().map(|g| g.cases.len()).sum();
        let _ = writeln!(
            out,
            "\nFAILURES AND ERRORS ({cases} case(s), {} root cause(s))",
            causes.len()
        );
        for g in &causes {
            let c = g.first();
            let _ = writeln!(
                out,
                "\n{} {}  [{}]",
                c.outcome.as_str().to_uppercase(),
                c.id,
                g.fails.join(", ")
            );
            if !c.comment.is_empty() {
                let _ = writeln!(out, "  why:      {}", c.comment);
            }
            let _ = writeln!(out, "  expected: {}", indented(c.expected.as_deref().unwrap_or("-")));
            let _ = writeln!(out, "  observed: {}", indented(c.observed.as_deref().unwrap_or("-")));
            if g.cases.len() > 1 {
                let others: Vec<&str> = g.cases[1..].iter().map(|c| c.id.as_str()).collect();
                let _ = writeln!(out, "  same in:  {}", truncate(&others.join(", "), 300));
            }
            if !g.blocks.is_empty() {
                let _ = writeln!(out, "  also blocks: {}", g.blocks.join(", "));
            }
            let _ = writeln!(out, "  replay:   {}", c.replay);
        }
    }
    for c in report.cases_with_distinct_failures() {
        let _ = writeln!(
            out,
            "\nDISTINCT FAILURES of {} ({}; each replays alone)",
            c.id,
            c.failures.len()
        );
        for f in &c.failures {
            let charged = if f.charged.is_empty() {
                String::new()
            } else {
                format!(" [{}]", f.charged.join(", "))
            };
            let _ = writeln!(
                out,
                "  schedule {} ({} time(s)){charged}: {}\n    replay: {}",
                f.schedule,
                f.occurrences,
                super::first_line(&f.observed),
                f.replay
            );
        }
    }
    let unstable: Vec<_> = report.unstable_cases().collect();
    if !unstable.is_empty() {
        let _ = writeln!(
            out,
            "\nUNSTABLE: the outcome changed between repetitions (a flaky provider or hidden state)"
        );
        for c in unstable {
            let _ = writeln!(out, "  {:<40} {}", c.id, super::outcomes_line(&c.unstable));
        }
    }
    let blocked: Vec<_> = report
        .requirements
        .iter()
        .filter(|r| !r.blocked_by.is_empty())
        .collect();
    if !blocked.is_empty() {
        let _ = writeln!(
            out,
            "\nBLOCKED: steps never reached because an earlier step failed (not tested, never pass)"
        );
        for r in blocked {
            let _ = writeln!(out, "  {:<14} {}", r.id, r.blocked_by.join("; "));
        }
    }
    if !report.waivers.is_empty() {
        let _ = writeln!(out, "\nWAIVED ({} waiver(s); waived is not pass)", report.waivers.len());
        for w in &report.waivers {
            let _ = writeln!(
                out,
                "\n{}{}  approved by {}, expires {}\n  why:      {}",
                w.entry.target(),
                if w.must { " (MUST)" } else { "" },
                w.entry.approver,
                w.entry.expires,
                w.entry.justification
            );
            for x in &w.waived {
                let _ = writeln!(out, "  waived:   {} (was {})", x.case, x.outcome.as_str());
            }
        }
    }
    let s = &report.summary;
    // The count table as prose: "N pass, N fail, ..." over the columns a row has, the total apart.
    let prose = |row: [Option<usize>; 9]| {
        let parts: Vec<String> = Summary::COLUMNS[..8]
            .iter()
            .zip(row)
            .filter_map(|(name, n)| n.map(|n| format!("{n} {name}")))
            .collect();
        parts.join(", ")
    };
    let _ = writeln!(
        out,
        "\nrequirements: {} (of {})",
        prose(s.requirement_row()),
        s.requirements
    );
    let _ = writeln!(out, "cases: {}", prose(s.case_row()));
    let _ = writeln!(
        out,
        "score: {:.1}% ({})",
        report.score * 100.0,
        score_version(&report.score_formula)
    );
    if let Some(n) = report.run.repeat {
        let _ = writeln!(
            out,
            "repeat: every case ran {n} times; {} changed outcome",
            report.unstable_cases().count()
        );
    }
    let _ = writeln!(out, "verdict: {}", report.verdict_label());
    out
}

fn score_version(formula: &str) -> &str {
    formula.split(':').next().unwrap_or(formula)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
