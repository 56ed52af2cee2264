//! The matrix's renderings: a self-contained HTML page (inline CSS, no script) and Markdown, plus the reading
//! of a committed matrix.md's verdict cells for `matrix --check`. Every text from an implementation was
//! bounded and sanitized when the matrix was built, and is escaped here.

use super::{Cell, MatrixReport};
use crate::report::html::escape;
use crate::scoring::RequirementVerdict;
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = r#"
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0 24px 48px;
  background: #f6f8fa; }
h1 { margin: 18px 0 4px; }
table { border-collapse: collapse; background: #fff; margin: 12px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.title { color: var(--muted); max-width: 320px; }
.v { font-weight: 700; text-transform: uppercase; font-size: 12px; white-space: nowrap; }
.v-pass { color: var(--ok); } .v-fail, .v-error, .v-not-run { color: var(--bad); }
.v-waived, .v-untested, .v-unsupported { color: var(--warn); }
td.cell-pass { background: #eaf7ee; } td.cell-fail, td.cell-error { background: #fff0f0; }
td.cell-unsupported, td.cell-untested { background: #fff8e5; }
details { margin-top: 4px; } summary { cursor: pointer; color: var(--muted); font-size: 12px; }
pre { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere;
  background: #f6f8fa; border: 1px solid var(--line); padding: 4px 6px; margin: 4px 0; max-width: 420px; }
.note { font-size: 12px; max-width: 420px; }
.muted { color: var(--muted); }
"#;

fn verdict_word(cell: &Cell) -> &'static str {
    cell.verdict.map(|v| v.as_str()).unwrap_or("not-run")
}

/// The matrix page.
pub fn html(m: &MatrixReport) -> String {
    let mut out = String::new();
    let _ = write_html(&mut out, m);
    out
}

fn write_html(out: &mut String, m: &MatrixReport) -> std::fmt::Result {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Interop matrix: {} {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        escape(&m.profile),
        escape(&m.profile_version)
    )?;
    writeln!(
        out,
        "<h1>Interop matrix</h1>\n<p>profile <code>{}</code> {} &middot; seed {} &middot; interop-conformance {}</p>",
        escape(&m.profile),
        escape(&m.profile_version),
        m.seed,
        escape(&m.tool_version)
    )?;
    writeln!(
        out,
        "<table id=\"matrix\">\n<thead><tr><th>requirement</th><th>level</th>"
    )?;
    for imp in &m.implementations {
        let verdict = imp.verdict.map(|v| v.as_str()).unwrap_or("NOT RUN");
        let head = match &imp.report {
            Some(r) => format!("<a href=\"{}\">{}</a>", escape(r), escape(&imp.name)),
            None => escape(&imp.name),
        };
        write!(
            out,
            "<th>{head}<br><span class=\"muted\">{}</span><br><span class=\"v\">{}</span>",
            escape(&imp.implementation),
            escape(verdict)
        )?;
        if let Some(e) = &imp.error {
            write!(out, "<pre>{}</pre>", escape(e))?;
        }
        writeln!(out, "</th>")?;
    }
    writeln!(out, "</tr></thead>\n<tbody>")?;
    for row in &m.requirements {
        writeln!(
            out,
            "<tr id=\"{0}\"><td><code>{0}</code><br><span class=\"muted\">{1}</span></td><td>{2}</td>",
            escape(&row.id),
            escape(&row.title),
            row.level.as_str()
        )?;
        for (imp, cell) in m.implementations.iter().zip(&row.cells) {
            let word = verdict_word(cell);
            write!(out, "<td class=\"cell-{word}\">")?;
            let label = format!(
                "<span class=\"v v-{word}\">{word}</span> {}/{}",
                cell.passed, cell.cases
            );
            match &imp.report {
                Some(r) => write!(out, "<a href=\"{}#req-{}\">{label}</a>", escape(r), escape(&row.id))?,
                None => write!(out, "{label}")?,
            }
            for note in &cell.notes {
                write!(out, "<div class=\"note\">{}</div>", escape(note))?;
            }
            if !cell.failing.is_empty() {
                write!(
                    out,
                    "<details><summary>{} failing case(s): expected vs observed</summary>",
                    cell.failing.len()
                )?;
                for f in &cell.failing {
                    write!(
                        out,
                        "<div><code>{}</code> ({})<pre>expected: {}\nobserved: {}</pre></div>",
                        escape(&f.id),
                        escape(&f.outcome),
                        escape(&f.expected),
                        escape(&f.observed)
                    )?;
                }
                write!(out, "</details>")?;
            }
            writeln!(out, "</td>")?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody>\n</table>\n</body>\n</html>")
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The matrix in Markdown: the table, then each implementation's non-pass requirements with their
/// explanations. No timings: the file is committed and compared.
pub fn markdown(m: &MatrixReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Interop matrix: {} {}\n\nGenerated by `conformance matrix` (seed {}); do not edit the table by hand. \
         Verdicts per requirement; `n/m` is cases passed of cases run. Deviations are explained below the table, \
         one line each, from `adapters/deviations.yaml`.\n",
        md_cell(&m.profile),
        md_cell(&m.profile_version),
        m.seed
    );
    let _ = write!(out, "| requirement | level |");
    for imp in &m.implementations {
        let _ = write!(out, " {} |", md_cell(&imp.name));
    }
    let _ = write!(out, "\n|---|---|");
    for _ in &m.implementations {
        let _ = write!(out, "---|");
    }
    out.push('\n');
    let _ = write!(out, "| **verdict** | |");
    for imp in &m.implementations {
        let v = imp.verdict.map(|v| v.as_str()).unwrap_or("NOT_RUN");
        let _ = write!(out, " **{v}** |");
    }
    out.push('\n');
    for row in &m.requirements {
        let _ = write!(out, "| {} | {} |", md_cell(&row.id), row.level.as_str());
        for cell in &row.cells {
            let _ = write!(out, " {} {}/{} |", verdict_word(cell), cell.passed, cell.cases);
        }
        out.push('\n');
    }
    for (i, imp) in m.implementations.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n## {}\n\n{}{}\n",
            md_cell(&imp.name),
            if imp.implementation.is_empty() {
                String::new()
            } else {
                format!("`{}` ", md_cell(&imp.implementation))
            },
            imp.error
                .as_ref()
                .map(|e| format!("did not run: {}", md_cell(e)))
                .unwrap_or_default()
        );
        let mut any = false;
        for row in &m.requirements {
            let cell = &row.cells[i];
            if cell.verdict.is_none_or(|v| v == RequirementVerdict::Pass) {
                continue;
            }
            any = true;
            let _ = writeln!(
                out,
                "- **{}** ({}, {} {}/{}): {}",
                md_cell(&row.id),
                row.level.as_str(),
                verdict_word(cell),
                cell.passed,
                cell.cases,
                md_cell(&row.title)
            );
            if cell.notes.is_empty() {
                let _ = writeln!(out, "  - *not explained yet*");
            }
            for note in &cell.notes {
                let _ = writeln!(out, "  - {}", md_cell(note));
            }
        }
        if !any && imp.error.is_none() {
            let _ = writeln!(out, "Every requirement passes.");
        }
    }
    out
}

/// The verdict cells of a matrix.md table: `(implementation, requirement) -> verdict word`.
pub fn read_cells(markdown: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let mut header: Vec<String> = Vec::new();
    for line in markdown.lines() {
        let Some(inner) = line.trim().strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
            continue;
        };
        let cols: Vec<String> = inner.split(" |").map(|c| c.trim().to_string()).collect();
        if cols.first().map(String::as_str) == Some("requirement") {
            header = cols;
            continue;
        }
        if header.is_empty() || cols.len() != header.len() || cols[0].starts_with("---") {
            continue;
        }
        let row = if cols[0] == "**verdict**" {
            "verdict".to_string()
        } else {
            cols[0].clone()
        };
        for (name, cell) in header.iter().zip(&cols).skip(2) {
            let word = cell
                .trim_matches('*')
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            out.insert((name.clone(), row.clone()), word);
        }
    }
    out
}

/// Cells whose verdict differs between a committed matrix.md and a fresh one: `imp requirement: old -> new`.
pub fn differences(committed: &str, fresh: &str) -> Vec<String> {
    let (old, new) = (read_cells(committed), read_cells(fresh));
    let mut out = Vec::new();
    for (key, word) in &new {
        match old.get(key) {
            Some(w) if w == word => {}
            Some(w) => out.push(format!("{} {}: {w} -> {word}", key.0, key.1)),
            None => out.push(format!("{} {}: missing -> {word}", key.0, key.1)),
        }
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        out.push(format!("{} {}: no longer in the matrix", key.0, key.1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "| requirement | level | reference | lib |\n|---|---|---|---|\n| **verdict** | | **CONFORMANT** | **NOT_CONFORMANT** |\n| RO-A | MUST | pass 3/3 | fail 1/3 |\n";

    #[test]
    fn verdict_cells_are_read_and_counts_ignored() {
        let cells = read_cells(TABLE);
        assert_eq!(cells[&("lib".to_string(), "RO-A".to_string())], "fail");
        assert_eq!(cells[&("reference".to_string(), "verdict".to_string())], "CONFORMANT");
        let recounted = TABLE.replace("fail 1/3", "fail 2/3");
        assert!(differences(TABLE, &recounted).is_empty());
        let changed = TABLE.replace("fail 1/3", "pass 3/3");
        assert_eq!(differences(TABLE, &changed), vec!["lib RO-A: fail -> pass".to_string()]);
    }
}
