//! Strict YAML loading: every failure names file, line, column and key path, and never panics.

use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

/// A YAML (or other input) file that could not be read or understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file at fault.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// Key path inside the document, e.g. `groups[1].tests[0].signature`.
    pub key_path: Option<String>,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
}

impl InputError {
    /// An error about a whole file, with no position.
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: None,
            column: None,
            key_path: None,
            message: message.into(),
        }
    }

    /// Attach a key path (used by semantic checks after parsing).
    pub fn at_key(mut self, key_path: impl Into<String>) -> Self {
        self.key_path = Some(key_path.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key_path {
            write!(f, ": at `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

/// Largest input file read (vectors, catalogs, profiles, scenarios, waivers, reports, certificates, keys).
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Read an input file: only a regular file (a symlink is followed to one), at most [`MAX_INPUT_BYTES`]. A FIFO
/// would hang the run and `/dev/zero` would fill memory, so neither is ever opened for reading.
pub fn read_input(path: &Path) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    let error = |message: String| InputError::file(path, message);
    let meta = std::fs::metadata(path).map_err(|e| error(format!("cannot read file: {e}")))?;
    if !meta.is_file() {
        return Err(error(
            "not a regular file (FIFOs, devices and folders are not read)".into(),
        ));
    }
    let too_large = |size: u64| {
        error(format!(
            "file of {size} bytes is larger than the {MAX_INPUT_BYTES}-byte limit"
        ))
    };
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_large(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| error(format!("cannot read file: {e}")))?;
    let mut bytes = Vec::new();
    // Bounded again while reading: the file may grow or be swapped after the check.
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("cannot read file: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_input`] as UTF-8 text.
pub fn read_input_text(path: &Path) -> Result<String, InputError> {
    String::from_utf8(read_input(path)?).map_err(|_| InputError::file(path, "file is not UTF-8"))
}

/// Read and parse one YAML file into `T`, strictly (the types deny unknown keys).
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, InputError> {
    parse(path, &read_input_text(path)?)
}

/// Parse YAML text that came from `path` into `T`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    let key_path: RefCell<Option<String>> = RefCell::new(None);
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
            let p = e.path().to_string();
            if p != "." && !p.is_empty() {
                *key_path.borrow_mut() = Some(p);
            }
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let location = e.location();
        let message = first_line(&e.without_snippet().to_string());
        InputError {
            path: path.to_path_buf(),
            line: location.map(|l| l.line()).filter(|l| *l > 0),
            column: location.map(|l| l.column()).filter(|c| *c > 0),
            key_path: key_path.into_inner(),
            message,
        }
    })
}

/// saphyr's message starts with its own "line N column M:" prefix; keep only the reason.
fn first_line(rendered: &str) -> String {
    let line = rendered.lines().next().unwrap_or("invalid YAML").trim();
    let reason = match line.find(": ") {
        Some(i) if line.starts_with("line ") => &line[i + 2..],
        _ => line,
    };
    // The position is reported separately; drop saphyr's trailing copy of it.
    match reason.rfind(" at line ") {
        Some(i) if reason[i..].contains("column") => reason[..i].to_string(),
        _ => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[allow(dead_code)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        data: crate::bytes::Bytes,
    }

    fn err(text: &str) -> InputError {
        parse::<Doc>(Path::new("t.yaml"), text).unwrap_err()
    }

    #[test]
    fn misspelt_key_names_line_column_and_path() {
        let e = err("items:\n  - name: a\n    data: '00'\n  - name: b\n    dta: '01'\n");
        assert_eq!((e.line, e.column), (Some(5), Some(5)), "{e}");
        assert_eq!(e.key_path.as_deref(), Some("items[1].dta"), "{e}");
        assert!(!e.message.contains("line 5"), "{e}");
        assert!(e.message.contains("dta"), "{e}");
    }

    #[test]
    fn bad_hex_names_the_field() {
        let e = err("items:\n  - name: a\n    data: 'zz'\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.key_path.as_deref(), Some("items[0].data"), "{e}");
        assert!(e.message.contains("invalid hex"), "{e}");
    }

    #[test]
    fn wrong_indent_is_a_located_error() {
        let e = err("items:\n  - name: a\n     data: '00'\n");
        assert!(e.line.is_some() && e.column.is_some(), "{e}");
        assert!(e.to_string().starts_with("t.yaml:"), "{e}");
    }
}
