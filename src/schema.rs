//! JSON Schemas generated from the Rust types: one per vector family, the catalog, the profile and the run
//! report. They are committed under `docs/schemas/`; a test fails when the committed files drift.

use crate::family::Family;
use crate::report::RunReport;
use crate::requirements::{CatalogFile, ProfileFile};

/// Every schema: its path under `docs/schemas/` and its pretty JSON text.
pub fn all() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Family::ALL
        .iter()
        .map(|f| (format!("vectors/{}.schema.json", f.as_str()), pretty(&f.schema())))
        .collect();
    out.push((
        "requirements.schema.json".into(),
        pretty(&schemars::schema_for!(CatalogFile)),
    ));
    out.push((
        "profile.schema.json".into(),
        pretty(&schemars::schema_for!(ProfileFile)),
    ));
    out.push(("report.schema.json".into(), pretty(&schemars::schema_for!(RunReport))));
    out.push((
        "matrix.schema.json".into(),
        pretty(&schemars::schema_for!(crate::matrix::MatrixReport)),
    ));
    out
}

fn pretty(schema: &schemars::Schema) -> String {
    serde_json::to_string_pretty(schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The committed schemas match the types. Regenerate with `cargo run -- schema`.
    #[test]
    fn committed_schemas_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
        let mut stale = Vec::new();
        for (path, text) in super::all() {
            if std::fs::read_to_string(dir.join(&path)).ok().as_deref() != Some(text.as_str()) {
                stale.push(path);
            }
        }
        assert!(stale.is_empty(), "stale schemas {stale:?}: run `cargo run -- schema`");
    }
}
