//! `report.html`: one self-contained page for auditors (inline CSS, no script, no external asset, works offline).
//!
//! Hand-written with `write!` and one [`escape`] function rather than a template engine: the page is fixed, and a
//! template engine would add build time (minijinja: about 47 s of release build) for no user-facing gain.
//! Every piece of text from the report passes through [`escape`].

use super::{RequirementReport, RunReport, Summary};
use crate::runner::CaseResult;
use crate::scoring::{RequirementVerdict, Verdict};
use crate::transcript::Transcript;
use std::fmt::{self, Write};

/// Escape text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0;
  background: #f6f8fa; }
main { max-width: 1200px; margin: 0 auto; padding: 0 24px 48px; }
.notice { background: #fff8c5; border-bottom: 3px solid var(--warn); padding: 12px 24px; font-weight: 700; }
.banner { color: #fff; padding: 28px 24px; }
.banner.conformant { background: var(--ok); }
.banner.not-conformant { background: var(--bad); }
.banner.partial { background: var(--muted); }
.banner h1 { margin: 0; font-size: 34px; letter-spacing: .04em; }
.banner p { margin: 4px 0 0; font-size: 16px; opacity: .95; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 20px 0; padding: 4px 20px 16px; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 6px; }
.score { font-size: 44px; font-weight: 700; margin: 0; }
.formula { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
table.matrix { table-layout: fixed; }
th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; white-space: nowrap; }
.v { font-weight: 700; text-transform: uppercase; font-size: 13px; white-space: nowrap; }
.v-pass { color: var(--ok); }
.v-fail, .v-error { color: var(--bad); }
.v-waived, .v-untested, .v-unsupported, .v-not_applicable, .v-blocked { color: var(--warn); }
.case { border-left: 4px solid var(--bad); padding: 2px 12px; margin: 12px 0; background: #fff5f5; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 8px 0; }
dt { font-weight: 600; color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
h3 code, h4 code { font-size: inherit; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: 6px 8px; margin: 0; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.transcript pre { max-height: 480px; overflow: auto; }
footer { color: var(--muted); font-size: 13px; }
"#;

/// Render the report as one HTML page.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_page(&mut out, report);
    out
}

fn write_page(out: &mut String, report: &RunReport) -> fmt::Result {
    let run = &report.run;
    let verdict = escape(&report.verdict_label());
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>{verdict}: {} v{} conformance report</title>",
        escape(&run.profile),
        escape(&run.profile_version)
    )?;
    writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>")?;
    if let Some(notice) = &report.waiver_notice {
        writeln!(out, "<div class=\"notice\" id=\"notice\">{}</div>", escape(notice))?;
    }
    let class = match (report.verdict, report.scope_verdict()) {
        (Verdict::Conformant, _) => "conformant",
        (Verdict::Partial, Verdict::Conformant) => "partial",
        _ => "not-conformant",
    };
    writeln!(
        out,
        "<header class=\"banner {class}\" id=\"verdict\">\n<h1>{verdict}</h1>"
    )?;
    writeln!(
        out,
        "<p>profile {} v{} &middot; target {} &middot; score {:.1}%</p>",
        escape(&run.profile),
        escape(&run.profile_version),
        escape(&run.target),
        report.score * 100.0
    )?;
    if report.is_partial() {
        writeln!(
            out,
            "<p id=\"partial\">{}; the verdict covers only the {} requirement(s) in scope.</p>",
            escape(&report.partial_note()),
            report.requirements.len()
        )?;
    }
    writeln!(out, "</header>\n<main>")?;
    write_score(out, report)?;
    write_matrix(out, report)?;
    write_root_causes(out, report)?;
    write_unstable(out, report)?;
    write_failures(out, report)?;
    write_waivers(out, report)?;
    write_run(out, report)?;
    writeln!(
        out,
        "<footer>report schema version {} &middot; generated by interop-conformance {}</footer>",
        report.schema_version,
        escape(&run.tool_version)
    )?;
    writeln!(out, "</main>\n</body>\n</html>")
}

fn write_score(out: &mut String, report: &RunReport) -> fmt::Result {
    let s = &report.summary;
    writeln!(out, "<section id=\"score\">\n<h2>Score</h2>")?;
    writeln!(out, "<p class=\"score\">{:.1}%</p>", report.score * 100.0)?;
    writeln!(out, "<p class=\"formula\">{}</p>", escape(&report.score_formula))?;
    write!(out, "<table>\n<tr><th></th>")?;
    for column in Summary::COLUMNS {
        write!(out, "<th>{column}</th>")?;
    }
    writeln!(out, "</tr>")?;
    for (name, row) in [("requirements", s.requirement_row()), ("cases", s.case_row())] {
        write!(out, "<tr><th>{name}</th>")?;
        for cell in row {
            match cell {
                Some(n) => write!(out, "<td class=\"num\">{n}</td>")?,
                None => write!(out, "<td class=\"num\">-</td>")?,
            }
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</table>\n</section>")
}

fn verdict_cell(v: RequirementVerdict) -> String {
    format!("<span class=\"v v-{0}\">{0}</span>", v.as_str())
}

fn is_failing(r: &RequirementReport) -> bool {
    matches!(
        r.verdict,
        RequirementVerdict::Fail
            | RequirementVerdict::Error
            | RequirementVerdict::Blocked
            | RequirementVerdict::Untested
    )
}

fn write_matrix(out: &mut String, report: &RunReport) -> fmt::Result {
    writeln!(out, "<section id=\"matrix\">\n<h2>Requirements</h2>")?;
    let mut areas: Vec<&str> = Vec::new();
    for r in &report.requirements {
        if !areas.contains(&r.area.as_str()) {
            areas.push(&r.area);
        }
    }
    for area in areas {
        writeln!(out, "<h3>{}</h3>\n<table class=\"matrix\">", escape(area))?;
        writeln!(
            out,
            "<colgroup><col style=\"width:11%\"><col style=\"width:20%\"><col style=\"width:8%\">\
             <col style=\"width:9%\"><col style=\"width:8%\"><col style=\"width:12%\"><col></colgroup>"
        )?;
        writeln!(
            out,
            "<tr><th>requirement</th><th>title</th><th>level</th><th>verdict</th>"
        )?;
        writeln!(out, "<th>cases passed</th><th>evidence</th><th>source</th></tr>")?;
        for r in report.requirements.iter().filter(|r| r.area == area) {
            let id = if is_failing(r) {
                format!("<a href=\"#req-{0}\">{0}</a>", escape(&r.id))
            } else {
                escape(&r.id)
            };
            let evidence = serde_json::to_value(r.evidence)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            writeln!(
                out,
                "<tr><td><code>{id}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}/{}</td>\
                 <td>{}</td><td class=\"muted\">{}</td></tr>",
                escape(&r.title),
                r.level.as_str(),
                verdict_cell(r.verdict),
                r.counts.pass,
                r.counts.applicable() + r.counts.unsupported + r.counts.blocked,
                escape(&evidence),
                escape(&r.source)
            )?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</section>")
}

fn write_failures(out: &mut String, report: &RunReport) -> fmt::Result {
    let failing: Vec<&RequirementReport> = report.failing_requirements().collect();
    writeln!(
        out,
        "<section id=\"failures\">\n<h2>Failing requirements ({})</h2>",
        failing.len()
    )?;
    if failing.is_empty() {
        writeln!(out, "<p>None.</p>")?;
    }
    for r in failing {
        writeln!(
            out,
            "<article id=\"req-{0}\">\n<h3><code>{0}</code> {1}</h3>",
            escape(&r.id),
            escape(&r.title)
        )?;
        writeln!(
            out,
            "<p>{} &middot; {} &middot; {}/{} cases passed &middot; <span class=\"muted\">{}</span></p>",
            r.level.as_str(),
            verdict_cell(r.verdict),
            r.counts.pass,
            r.counts.applicable() + r.counts.unsupported + r.counts.blocked,
            escape(&r.source)
        )?;
        if r.verdict == RequirementVerdict::Untested {
            writeln!(
                out,
                "<p>No case ran for this requirement: it is untested, never passed.</p>"
            )?;
        }
        if !r.blocked_by.is_empty() {
            writeln!(
                out,
                "<p>Blocked, not tested: these cases stopped at an earlier step before reaching this requirement: {}.</p>",
                escape(&r.blocked_by.join("; "))
            )?;
        }
        for c in report.failing_cases(&r.id) {
            write_case(out, c)?;
        }
        writeln!(out, "</article>")?;
    }
    writeln!(out, "</section>")
}

fn write_root_causes(out: &mut String, report: &RunReport) -> fmt::Result {
    let causes = report.root_causes();
    if causes.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"root-causes\">\n<h2>Root causes ({})</h2>\n<p>Failed and errored cases grouped by what \
         went wrong at their first failing step: one bug reads as one bug.</p>",
        causes.len()
    )?;
    for (i, g) in causes.iter().enumerate() {
        writeln!(
            out,
            "<article>\n<h3>{}. fails {} &middot; {} case(s)</h3>",
            i + 1,
            escape(&g.fails.join(", ")),
            g.cases.len()
        )?;
        if !g.blocks.is_empty() {
            writeln!(out, "<p>Also blocks: {}</p>", escape(&g.blocks.join(", ")))?;
        }
        if g.cases.len() > 1 {
            let others: Vec<String> = g.cases[1..]
                .iter()
                .map(|c| format!("<code>{}</code>", escape(&c.id)))
                .collect();
            writeln!(out, "<p>Same in: {}</p>", others.join(", "))?;
        }
        write_case(out, g.first())?;
        writeln!(out, "</article>")?;
    }
    writeln!(out, "</section>")
}

/// `--repeat N`: the cases whose outcome changed between repetitions.
fn write_unstable(out: &mut String, report: &RunReport) -> fmt::Result {
    let unstable: Vec<_> = report.unstable_cases().collect();
    if unstable.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"unstable\">\n<h2>Unstable cases ({})</h2>\n<p>The outcome changed between the {} \
         repetitions: a flaky provider or hidden state.</p>\n<ul>",
        unstable.len(),
        report.run.repeat.unwrap_or(1)
    )?;
    for c in unstable {
        writeln!(
            out,
            "<li><code>{}</code>: {}</li>",
            escape(&c.id),
            escape(&super::outcomes_line(&c.unstable))
        )?;
    }
    writeln!(out, "</ul>\n</section>")
}

fn write_case(out: &mut String, c: &CaseResult) -> fmt::Result {
    writeln!(
        out,
        "<div class=\"case\">\n<h4><code>{}</code> <span class=\"v v-{1}\">{1}</span></h4>\n<dl>",
        escape(&c.id),
        c.outcome.as_str()
    )?;
    if !c.comment.is_empty() {
        writeln!(out, "<dt>why</dt><dd>{}</dd>", escape(&c.comment))?;
    }
    writeln!(
        out,
        "<dt>requirements</dt><dd>{}</dd>",
        escape(&c.requirements.join(", "))
    )?;
    if !c.charged.is_empty() {
        writeln!(out, "<dt>charged to</dt><dd>{}</dd>", escape(&c.charged.join(", ")))?;
    }
    if !c.blocked.is_empty() {
        writeln!(out, "<dt>blocks</dt><dd>{}</dd>", escape(&c.blocked.join(", ")))?;
    }
    for note in &c.class_mismatch {
        writeln!(out, "<dt>class</dt><dd>{}</dd>", escape(note))?;
    }
    writeln!(out, "<dt>vector file</dt><dd><code>{}</code></dd>", escape(&c.file))?;
    let dash = |v: &Option<String>| escape(v.as_deref().unwrap_or("-"));
    writeln!(out, "<dt>expected</dt><dd><pre>{}</pre></dd>", dash(&c.expected))?;
    writeln!(out, "<dt>observed</dt><dd><pre>{}</pre></dd>", dash(&c.observed))?;
    writeln!(out, "<dt>replay</dt><dd><pre>{}</pre></dd>", escape(&c.replay))?;
    if !c.unstable.is_empty() {
        writeln!(
            out,
            "<dt>unstable</dt><dd>outcome changed between repetitions: {}</dd>",
            escape(&super::outcomes_line(&c.unstable))
        )?;
    }
    if !c.failures.is_empty() {
        writeln!(out, "<dt>distinct failures</dt><dd><ol>")?;
        for f in &c.failures {
            writeln!(
                out,
                "<li>schedule {} ({} time(s)){}<pre>{}</pre><pre>{}</pre></li>",
                f.schedule,
                f.occurrences,
                if f.charged.is_empty() {
                    String::new()
                } else {
                    format!(", charged to {}", escape(&f.charged.join(", ")))
                },
                escape(&f.observed),
                escape(&f.replay)
            )?;
        }
        writeln!(out, "</ol></dd>")?;
    }
    if let Some(t) = &c.transcript {
        write_transcript(out, t)?;
    }
    writeln!(out, "</dl>\n</div>")
}

/// The case's adapter exchanges in order (`run --transcript`), folded.
fn write_transcript(out: &mut String, t: &Transcript) -> fmt::Result {
    let dropped = if t.dropped > 0 {
        format!(", {} more not kept", t.dropped)
    } else {
        String::new()
    };
    writeln!(
        out,
        "<dt>transcript</dt><dd><details class=\"transcript\"><summary>{} exchanges{dropped}</summary><pre>",
        t.exchanges.len()
    )?;
    for (n, x) in t.exchanges.iter().enumerate() {
        writeln!(
            out,
            "#{n} &rarr; {} {} {}",
            escape(&x.method),
            escape(&x.path),
            escape(&x.request)
        )?;
        let status = x.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        writeln!(out, "#{n} &larr; {status} {} ({:.1} ms)", escape(&x.response), x.ms)?;
        if let Some(e) = &x.error {
            writeln!(out, "#{n} !! {}", escape(e))?;
        }
    }
    writeln!(out, "</pre></details></dd>")
}

fn write_waivers(out: &mut String, report: &RunReport) -> fmt::Result {
    if report.waivers.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"waivers\">\n<h2>Waived ({})</h2>",
        report.waivers.len()
    )?;
    writeln!(
        out,
        "<p>Waived failures are not passes: they are accepted exceptions with an expiry.</p>"
    )?;
    writeln!(
        out,
        "<table>\n<tr><th>waiver</th><th>MUST</th><th>justification</th><th>approver</th>"
    )?;
    writeln!(
        out,
        "<th>expires</th><th>cases waived (outcome before the waiver)</th></tr>"
    )?;
    for w in &report.waivers {
        let cases: Vec<String> = w
            .waived
            .iter()
            .map(|x| format!("<code>{}</code> ({})", escape(&x.case), x.outcome.as_str()))
            .collect();
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&w.entry.target()),
            if w.must { "yes" } else { "no" },
            escape(&w.entry.justification),
            escape(&w.entry.approver),
            escape(&w.entry.expires),
            cases.join("<br>")
        )?;
    }
    writeln!(out, "</table>\n</section>")
}

fn write_run(out: &mut String, report: &RunReport) -> fmt::Result {
    let run = &report.run;
    writeln!(out, "<section id=\"run\">\n<h2>Run</h2>\n<dl>")?;
    let rows = [
        ("tool version", run.tool_version.clone()),
        ("profile", format!("{} v{}", run.profile, run.profile_version)),
        ("target", run.target.clone()),
        ("implementation", run.implementation.clone()),
        ("seed", run.seed.to_string()),
        ("started", run.started_at.clone()),
        ("finished", run.finished_at.clone()),
        ("filtered", run.filtered.to_string()),
        (
            "scope",
            if run.scope.complete {
                "the whole profile".to_string()
            } else {
                report.partial_note()
            },
        ),
        ("plan digest", run.scope.plan_digest.clone()),
    ];
    for (k, v) in rows {
        writeln!(out, "<dt>{k}</dt><dd>{}</dd>", escape(&v))?;
    }
    if !run.only.is_empty() {
        writeln!(out, "<dt>--only</dt><dd>{}</dd>", escape(&run.only.join(", ")))?;
    }
    if !run.vector_filter.is_empty() {
        writeln!(
            out,
            "<dt>--vector</dt><dd>{}</dd>",
            escape(&run.vector_filter.join(", "))
        )?;
    }
    writeln!(
        out,
        "<dt>replay</dt><dd><pre>{}</pre></dd>\n</dl>",
        escape(&run.command)
    )?;
    writeln!(
        out,
        "<h3>Vector files</h3>\n<table>\n<tr><th>file</th><th>cases</th><th>SHA-256</th></tr>"
    )?;
    for v in &run.vectors {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
            escape(&v.path),
            v.cases,
            escape(&v.sha256)
        )?;
    }
    writeln!(out, "</table>\n</section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert('x&y')</script> "q""#),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt; &quot;q&quot;"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }
}
