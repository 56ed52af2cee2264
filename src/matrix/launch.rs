//! Adapters the matrix starts itself: from a YAML file listing each adapter's folder, start command and URL
//! (with `{port}` replaced by a free loopback port), started without a shell, waited for until
//! `GET /v1/capabilities` answers, and stopped (killed) when its run ends. Its output goes to `adapter.log`
//! in its run folder.

use crate::yaml::{self, InputError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Default wait for an adapter to answer after start.
const DEFAULT_READY_SECONDS: f64 = 30.0;

/// The adapters file: `adapters: [{name, dir, start, url, ready_timeout}]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptersFile {
    /// The adapters, in column order.
    pub adapters: Vec<AdapterEntry>,
}

/// One adapter as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterEntry {
    /// Column name.
    pub name: String,
    /// Working folder, relative to the file.
    pub dir: PathBuf,
    /// Program and arguments; `{port}` is replaced by a free port.
    pub start: Vec<String>,
    /// Base URL; `{port}` is replaced.
    pub url: String,
    /// Seconds to wait for readiness.
    #[serde(default)]
    pub ready_timeout: Option<f64>,
}

/// An adapter ready to start.
#[derive(Debug, Clone)]
pub struct AdapterSpec {
    /// Column name.
    pub name: String,
    /// Working folder (resolved).
    pub dir: PathBuf,
    /// Program and arguments, `{port}` not yet replaced.
    pub start: Vec<String>,
    /// URL template.
    pub url: String,
    /// Readiness wait.
    pub ready_timeout: Duration,
}

/// Read an adapters file; paths are taken relative to it.
pub fn load(path: &Path) -> Result<Vec<AdapterSpec>, InputError> {
    let file: AdaptersFile = yaml::load(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, a) in file.adapters.into_iter().enumerate() {
        let at = |key: &str| format!("adapters[{i}].{key}");
        if a.name.is_empty()
            || !a
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(InputError::file(path, "a name of letters, digits, - and _").at_key(at("name")));
        }
        if a.start.is_empty() {
            return Err(InputError::file(path, "the start command is empty").at_key(at("start")));
        }
        let ready = a.ready_timeout.unwrap_or(DEFAULT_READY_SECONDS);
        let ready_timeout = Duration::try_from_secs_f64(ready)
            .ok()
            .filter(|d| !d.is_zero() && d.as_secs() <= 600)
            .ok_or_else(|| InputError::file(path, "between 0 and 600 seconds").at_key(at("ready_timeout")))?;
        out.push(AdapterSpec {
            name: a.name,
            dir: base.join(a.dir),
            start: a.start,
            url: a.url,
            ready_timeout,
        });
    }
    Ok(out)
}

/// A started adapter; killed on [`Running::stop`] or drop.
pub struct Running {
    child: Child,
    /// Its base URL.
    pub url: String,
}

impl Running {
    /// Stop the adapter.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Start `spec` (output to `log_dir/adapter.log`) and wait until it answers `GET /v1/capabilities`.
pub async fn start(spec: &AdapterSpec, log_dir: &Path, request_timeout: Duration) -> Result<Running, String> {
    let port = free_port()?.to_string();
    let args: Vec<String> = spec.start.iter().map(|a| a.replace("{port}", &port)).collect();
    let url = spec.url.replace("{port}", &port);
    std::fs::create_dir_all(log_dir).map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;
    let log_path = log_dir.join("adapter.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let err = log
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
    let child = Command::new(&args[0])
        .args(&args[1..])
        .current_dir(&spec.dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start `{}` in {}: {e}", args.join(" "), spec.dir.display()))?;
    let mut running = Running { child, url };
    crate::http::client::install_crypto();
    let client = reqwest::Client::builder()
        .timeout(request_timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let ready_url = format!("{}/v1/capabilities", running.url.trim_end_matches('/'));
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = running.child.try_wait() {
            return Err(format!(
                "adapter {} exited ({status}) before answering; see {}",
                spec.name,
                log_path.display()
            ));
        }
        if let Ok(r) = client.get(&ready_url).send().await
            && r.status().is_success()
        {
            return Ok(running);
        }
        if started.elapsed() > spec.ready_timeout {
            return Err(format!(
                "adapter {} did not answer GET /v1/capabilities at {} within {:.0}s; see {}",
                spec.name,
                running.url,
                spec.ready_timeout.as_secs_f64(),
                log_path.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
