//! `summary.md`: a short Markdown summary for a CI step summary (`$GITHUB_STEP_SUMMARY`) or a pull-request
//! comment. The full detail stays in `report.html` and `report.json`; this shows one failing case per
//! requirement, with its replay command.

use super::{RunReport, Summary};
use std::fmt::{self, Write};

/// Escape text for Markdown prose and table cells (GitHub-flavoured): markup characters, pipes and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span that survives any backticks inside `text` (CommonMark: a longer fence).
pub fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    let flat = text.replace(['\n', '\r'], " ");
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// Render the summary.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, report);
    out
}

fn write_summary(out: &mut String, report: &RunReport) -> fmt::Result {
    let run = &report.run;
    if let Some(notice) = &report.waiver_notice {
        writeln!(out, "> **{}**\n", escape(notice))?;
    }
    let icon = match report.verdict {
        crate::scoring::Verdict::Conformant => "✅",
        crate::scoring::Verdict::NotConformant => "❌",
        crate::scoring::Verdict::Partial => "🟡",
    };
    writeln!(
        out,
        "## {icon} {} &middot; score {:.1}%\n",
        report.verdict_label(),
        report.score * 100.0
    )?;
    writeln!(
        out,
        "Profile {} v{} against {}, seed {}{}.\n",
        code(&run.profile),
        escape(&run.profile_version),
        code(&run.target),
        run.seed,
        if report.is_partial() {
            format!(
                " ({}; the verdict covers only the requirements in scope)",
                escape(&report.partial_note())
            )
        } else {
            String::new()
        }
    )?;
    let s = &report.summary;
    writeln!(out, "| | {} |", Summary::COLUMNS.join(" | "))?;
    writeln!(out, "|---|{}", "---:|".repeat(Summary::COLUMNS.len()))?;
    for (name, row) in [("requirements", s.requirement_row()), ("cases", s.case_row())] {
        let cells: Vec<String> = row
            .iter()
            .map(|c| c.map_or_else(|| "-".to_string(), |n| n.to_string()))
            .collect();
        writeln!(out, "| {name} | {} |", cells.join(" | "))?;
    }
    writeln!(out)?;
    let causes = report.root_causes();
    if !causes.is_empty() {
        writeln!(out, "### Root causes ({})\n", causes.len())?;
        for g in &causes {
            let first = g.first();
            let also = if g.blocks.is_empty() {
                String::new()
            } else {
                format!("; also blocks: {}", escape(&g.blocks.join(", ")))
            };
            writeln!(
                out,
                "- fails **{}** in {} case(s), e.g. {}{also}",
                escape(&g.fails.join(", ")),
                g.cases.len(),
                code(&first.id)
            )?;
            writeln!(out, "  - observed: {}", code(first.observed.as_deref().unwrap_or("-")))?;
        }
        writeln!(out)?;
    }
    let failing: Vec<_> = report.failing_requirements().collect();
    if !failing.is_empty() {
        writeln!(out, "### Failing requirements ({})\n", failing.len())?;
        for r in failing {
            let cases: Vec<_> = report.failing_cases(&r.id).collect();
            writeln!(
                out,
                "- **{}** ({}, {}): {}",
                code(&r.id),
                r.level.as_str(),
                r.verdict.as_str(),
                escape(&r.title)
            )?;
            match cases.first() {
                Some(first) => {
                    let more = match cases.len() - 1 {
                        0 => String::new(),
                        n => format!(" and {n} more"),
                    };
                    writeln!(out, "  - case {} ({}){more}", code(&first.id), first.outcome.as_str())?;
                    writeln!(out, "  - expected: {}", code(first.expected.as_deref().unwrap_or("-")))?;
                    writeln!(out, "  - observed: {}", code(first.observed.as_deref().unwrap_or("-")))?;
                    writeln!(out, "  - replay: {}", code(&first.replay))?;
                }
                None if !r.blocked_by.is_empty() => writeln!(
                    out,
                    "  - blocked: its steps were never reached in {}",
                    escape(&r.blocked_by.join("; "))
                )?,
                None => writeln!(out, "  - no case ran for it")?,
            }
        }
        writeln!(out)?;
    }
    let unstable: Vec<_> = report.unstable_cases().collect();
    if !unstable.is_empty() {
        writeln!(
            out,
            "### Unstable cases ({}): the outcome changed between repetitions\n",
            unstable.len()
        )?;
        for c in unstable {
            writeln!(out, "- {}: {}", code(&c.id), escape(&super::outcomes_line(&c.unstable)))?;
        }
        writeln!(out)?;
    }
    for c in report.cases_with_distinct_failures() {
        writeln!(out, "### Distinct failures of {} ({})\n", code(&c.id), c.failures.len())?;
        for f in &c.failures {
            writeln!(
                out,
                "- schedule {} ({} time(s)): {}\n  - replay: {}",
                f.schedule,
                f.occurrences,
                code(super::first_line(&f.observed)),
                code(&f.replay)
            )?;
        }
        writeln!(out)?;
    }
    if !report.waivers.is_empty() {
        writeln!(out, "### Waived ({})\n", report.waivers.len())?;
        for w in &report.waivers {
            writeln!(
                out,
                "- {}{}: {} case(s); approved by {}, expires {}: {}",
                escape(&w.entry.target()),
                if w.must { " (MUST)" } else { "" },
                w.waived.len(),
                escape(&w.entry.approver),
                escape(&w.entry.expires),
                escape(&w.entry.justification)
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "<sub>{} &middot; interop-conformance {} &middot; replay: {}</sub>",
        escape(&report.score_formula),
        escape(&run.tool_version),
        code(&run.command)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_and_code_spans() {
        assert_eq!(escape("a|b *c* <d>"), "a\\|b \\*c\\* &lt;d&gt;");
        assert_eq!(code("run --x"), "`run --x`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }
}
