//! The independence rule of docs/adding-a-family.md, checked over the source tree so that it stays true: the
//! independent side (every family's `verify.rs`, `src/verify/`, the wire monitor) uses nothing of the reference
//! library, the reference provider or a generator; a family's check (`mod.rs`) uses neither its generator nor
//! the reference; a generator does not use its own family's verifier (a shared bug would then agree with itself).
//! Comments and `#[cfg(test)]` code are not looked at (tests may compare both sides).

use std::path::{Path, PathBuf};

/// Paths the independent side must not name.
const NOT_INDEPENDENT: [&str; 4] = ["wacore_libsignal", "crate::reference", "crate::generate", "generate::"];

/// Paths a family's check must not name.
const NOT_IN_A_CHECK: [&str; 3] = ["crate::reference", "crate::generate", "generate::"];

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A file's code lines before its first `#[cfg(test)]`, without comment lines and one-line string literals
/// (a message may name a test's path), with their line numbers.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.split('"').step_by(2).collect::<Vec<_>>().join("\"\"")))
        .collect()
}

/// Each line of `path` that names one of `forbidden`, as `file:line: text`.
fn naming(path: &Path, forbidden: &[&str]) -> Vec<String> {
    code_lines(path)
        .into_iter()
        .filter(|(_, l)| forbidden.iter().any(|f| l.contains(f)))
        .map(|(n, l)| format!("{}:{n}: {}", path.display(), l.trim()))
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The family folders, by name.
fn families() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(src().join("family"))
        .expect("src/family")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().expect("folder name").to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    out
}

#[test]
fn the_independent_side_names_neither_the_reference_nor_a_generator() {
    let mut files = rust_files(&src().join("verify"));
    files.extend(
        rust_files(&src().join("monitor"))
            .into_iter()
            .filter(|p| !p.ends_with("tests.rs")),
    );
    for (_, dir) in families() {
        files.extend([dir.join("verify.rs")].into_iter().filter(|p| p.exists()));
        if dir.join("verify").is_dir() {
            files.extend(rust_files(&dir.join("verify")));
        }
    }
    assert!(
        files.iter().any(|p| p.ends_with("sender_keys/verify.rs")),
        "the walk found the family verifiers"
    );
    let found: Vec<String> = files.iter().flat_map(|p| naming(p, &NOT_INDEPENDENT)).collect();
    assert!(
        found.is_empty(),
        "the independent side names the reference or a generator:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_check_names_neither_its_generator_nor_the_reference() {
    let found: Vec<String> = families()
        .iter()
        .map(|(_, dir)| dir.join("mod.rs"))
        .flat_map(|p| naming(&p, &NOT_IN_A_CHECK))
        .collect();
    assert!(
        found.is_empty(),
        "a family check names its generator or the reference:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_generator_does_not_use_its_own_verifier() {
    let mut found = Vec::new();
    for (name, dir) in families() {
        let mut files: Vec<PathBuf> = [dir.join("generate.rs")].into_iter().filter(|p| p.exists()).collect();
        if dir.join("generate").is_dir() {
            files.extend(rust_files(&dir.join("generate")));
        }
        let own = format!("crate::family::{name}::verify");
        for p in files {
            found.extend(naming(&p, &["super::verify", own.as_str()]));
        }
    }
    assert!(
        found.is_empty(),
        "a generator uses its own family's verifier:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rule_sees_a_violation() {
    let dir = std::env::temp_dir().join(format!("independence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("verify.rs");
    std::fs::write(
        &file,
        "//! uses crate::reference in a comment only\nuse crate::reference::ReferenceProvider;\n\
         const S: &str = \"crate::reference in a message\";\n#[cfg(test)]\nuse wacore_libsignal::protocol;\n",
    )
    .expect("write");
    let found = naming(&file, &NOT_INDEPENDENT);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with(":2: use crate::reference::ReferenceProvider;"),
        "{found:?}"
    );
}
