//! Part of the `conformance` binary (not the library): the `conformance report ...` subcommands, thin wrappers
//! over [`interop_conformance::certificate`] and [`interop_conformance::report::diff`].

use chrono::{TimeDelta, Utc};
use clap::Subcommand;
use interop_conformance::certificate::{self, CertError};
use interop_conformance::execute;
use interop_conformance::exit;
use interop_conformance::report::{diff, merge, terminal};
use interop_conformance::sanitize;
use std::path::{Path, PathBuf};

/// `conformance report ...`.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// Write a new Ed25519 key pair: PREFIX (private, keep secret) and PREFIX.pub.
    Keygen {
        /// Path prefix of the key files.
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
    /// Sign a report file: writes the detached certificate REPORT.sig (exact bytes, expiry, signer).
    Sign {
        /// The report to sign (usually report.json).
        report: PathBuf,
        /// The private key file written by `report keygen`.
        #[arg(long, value_name = "PREFIX")]
        key: PathBuf,
        /// Days until the certificate expires (1 to 36500).
        #[arg(long, value_name = "DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in: u32,
    },
    /// Check a report against its REPORT.sig offline: exit 0 if valid, 1 if changed, wrongly signed or expired.
    Verify {
        /// The signed report.
        report: PathBuf,
        /// The signer's public key file (PREFIX.pub).
        #[arg(long, value_name = "FILE")]
        pubkey: PathBuf,
        /// The certificate (default: REPORT.sig).
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
    },
    /// Compare two report.json files: exit 1 on any regression, 0 otherwise, 2 on unreadable input or runs that
    /// are not comparable (other profile version, vector files or scope).
    Diff {
        /// The earlier report.
        old: PathBuf,
        /// The later report.
        new: PathBuf,
        /// `text` for people, `json` for CI tools.
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
    /// Merge the reports of `run --shard K/N` (all N shards) into one report, scored as a single run: exit by the
    /// merged verdict; 2 when shards are missing, duplicated or from different runs.
    Merge(MergeArgs),
}

/// `report merge` arguments.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The shards' output folders (each with report.json), all N of them.
    #[arg(required = true, value_name = "DIR")]
    shards: Vec<PathBuf>,
    /// Where to write the merged report.json, junit.xml, report.html, summary.md and badge.json.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Folder of profiles the shards used (default: ./suites, else the one shipped with the source).
    #[arg(long, value_name = "DIR")]
    suites: Option<PathBuf>,
    /// Vector folder the shards used with `--vectors`.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Print only the verdict line.
    #[arg(long, short)]
    quiet: bool,
}

/// How `report diff` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DiffFormat {
    /// Grouped plain text.
    Text,
    /// One JSON document.
    Json,
}

/// Run one `report` subcommand; returns the exit code.
pub fn run(command: ReportCommand) -> i32 {
    let result = match command {
        ReportCommand::Keygen { out } => keygen(&out),
        ReportCommand::Sign {
            report,
            key,
            expires_in,
        } => sign(&report, &key, expires_in),
        ReportCommand::Verify {
            report,
            pubkey,
            signature,
        } => verify(&report, &pubkey, signature),
        ReportCommand::Diff { old, new, format } => return diff_reports(&old, &new, format),
        ReportCommand::Merge(args) => return merge_reports(&args),
    };
    match result {
        Ok(()) => exit::CONFORMANT,
        Err(CertError::Invalid(message)) => {
            // The message may quote certificate fields: whoever wrote the file chose them.
            eprintln!(
                "conformance: verification FAILED: {}",
                sanitize::visible(&message, false)
            );
            exit::NOT_CONFORMANT
        }
        Err(e) => {
            eprintln!("conformance: error: {e}");
            exit::INPUT_ERROR
        }
    }
}

fn keygen(prefix: &Path) -> Result<(), CertError> {
    let fp = certificate::keygen(prefix)?;
    println!("private key: {} (keep it secret)", prefix.display());
    println!("public key:  {}", certificate::public_path(prefix).display());
    println!("fingerprint: {fp}");
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    interop_conformance::yaml::read_input(path).map_err(|e| CertError::Input {
        path: path.to_path_buf(),
        message: e.message,
    })
}

fn sign(report: &Path, key: &Path, days: u32) -> Result<(), CertError> {
    let key = certificate::read_signing_key(key)?;
    let bytes = read(report)?;
    let now = Utc::now();
    let name = report
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expires = TimeDelta::try_days(i64::from(days))
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| CertError::Input {
            path: report.to_path_buf(),
            message: format!("--expires-in {days} days is past the last date the calendar can hold"),
        })?;
    let sig = certificate::sign(&key, &name, &bytes, now, expires);
    let path = certificate::signature_path(report);
    let text = serde_json::to_string_pretty(&sig).unwrap_or_default() + "\n";
    std::fs::write(&path, text).map_err(|e| CertError::Input {
        path: path.clone(),
        message: format!("cannot write: {e}"),
    })?;
    println!(
        "signed {} ({} bytes, sha256 {}) with key {}, expires {}",
        report.display(),
        sig.size,
        sig.sha256,
        sig.key_fingerprint,
        sig.expires_at
    );
    println!("certificate: {}", path.display());
    print_verdict(&bytes);
    Ok(())
}

/// What a signed report says, printed beside the certificate: a partial run's certificate vouches for its bytes,
/// never for the whole profile, and says so.
fn print_verdict(bytes: &[u8]) {
    let Ok(report) = serde_json::from_slice::<interop_conformance::report::RunReport>(bytes) else {
        return;
    };
    println!("verdict: {}", report.verdict_label());
    if report.is_partial() {
        println!(
            "PARTIAL: {}; this certificate vouches for the report's bytes, not for conformance to the whole profile",
            report.partial_note()
        );
    }
}

fn verify(report: &Path, pubkey: &Path, signature: Option<PathBuf>) -> Result<(), CertError> {
    let key = certificate::read_verifying_key(pubkey)?;
    let bytes = read(report)?;
    let sig_path = signature.unwrap_or_else(|| certificate::signature_path(report));
    let sig_text = String::from_utf8_lossy(&read(&sig_path)?).into_owned();
    let ok = certificate::verify(&sig_text, &bytes, &key, Utc::now())?;
    println!(
        "OK: {} is signed as `{}` by key {} (signed {}, valid until {})",
        report.display(),
        sanitize::visible(&ok.file, false),
        ok.key_fingerprint,
        ok.signed_at,
        ok.expires_at
    );
    print_verdict(&bytes);
    Ok(())
}

fn merge_reports(args: &MergeArgs) -> i32 {
    let data = merge::MergeData {
        suites_dir: args.suites.clone(),
        vectors_dir: args.vectors.clone(),
    };
    let report = match merge::merge(&args.shards, &data) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conformance: error: {e}");
            return exit::INPUT_ERROR;
        }
    };
    if let Err(e) = execute::claim_given_folder(&args.out).and_then(|dir| execute::write_reports(&report, &dir)) {
        eprintln!("conformance: error: {e}");
        return e.exit_code();
    }
    if args.quiet {
        println!("verdict: {}", report.verdict_label());
    } else {
        println!("merged {} shards: {} cases", args.shards.len(), report.cases.len());
        print!("{}", terminal::render(&report));
    }
    println!("reports: {}", args.out.display());
    execute::verdict_exit_code(report.scope_verdict())
}

fn diff_reports(old: &Path, new: &Path, format: DiffFormat) -> i32 {
    let (old, new) = match (diff::load(old), diff::load(new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("conformance: error: {e}");
            return exit::INPUT_ERROR;
        }
    };
    if let Err(why) = diff::comparable(&old, &new) {
        eprintln!("conformance: error: cannot compare these reports: {why}");
        return exit::INPUT_ERROR;
    }
    let d = diff::diff(&old, &new);
    match format {
        DiffFormat::Text => print!("{}", d.render()),
        DiffFormat::Json => print!("{}", d.to_json()),
    }
    if d.has_regression() {
        exit::NOT_CONFORMANT
    } else {
        exit::CONFORMANT
    }
}
