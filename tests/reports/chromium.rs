//! `report.html` in a real browser: headless Chromium loads the page of a run with failures, logs no console
//! error, and its screenshot is not blank. Skipped (with a message) when `chromium` is not installed; CI
//! installs Debian's package in `.ci/run`.

use crate::support::{fresh_dir, run};
use interop_conformance::report::html;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Run Chromium headless on `page` with `extra` flags, killed after 90 s so a stuck browser cannot hang CI.
fn headless(browser: &Path, profile: &Path, page: &Path, extra: &[String]) -> Output {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium");
    let started = Instant::now();
    while child.try_wait().expect("wait for chromium").is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("chromium output")
}

/// Lines of Chromium's log written by the page's console (`INFO:CONSOLE:N] "message", source: ...`). The report
/// has no script, so any console line (an error, a CSP refusal, an uncaught exception) is a problem.
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("CONSOLE(") || l.contains("Uncaught"))
        .collect()
}

/// Load `page` and dump its DOM: no console error, no script, and every needle present.
fn loads_cleanly(browser: &Path, dir: &Path, page: &Path, needles: &[&str]) {
    let dom = headless(browser, &dir.join("profile-dom"), page, &["--dump-dom".into()]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(dom.status.success(), "chromium --dump-dom failed: {log}");
    assert_eq!(
        console_errors(&log),
        Vec::<&str>::new(),
        "console errors while loading {}",
        page.display()
    );
    for needle in needles {
        assert!(
            dom_text.contains(needle),
            "the loaded {} lacks {needle:?}",
            page.display()
        );
    }
    assert!(!dom_text.contains("<script"), "the page must need no script");
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not on PATH (CI installs it; `apt-get install chromium` to run this test)");
        return;
    };
    let dir = fresh_dir("chromium");
    let report = run(true, None).report;
    assert!(report.summary.cases.fail > 0, "the test needs a run with failures");
    let page = dir.join("report.html");
    std::fs::write(&page, html::render(&report)).expect("write page");

    loads_cleanly(
        &browser,
        &dir,
        &page,
        &[
            "NOT_CONFORMANT",
            "Failing requirements (2)",
            "RO-SIG-001",
            "xeddsa.key0.msg1.flip-r",
        ],
    );

    // The detector itself: a page that logs an error and throws must be caught.
    let bad = dir.join("bad.html");
    std::fs::write(
        &bad,
        "<html><body><script>console.error('boom'); missing();</script></body></html>",
    )
    .expect("write");
    let out = headless(&browser, &dir.join("profile-bad"), &bad, &["--dump-dom".into()]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        console_errors(&log).len(),
        2,
        "the console detector missed the bad page's errors: {log}"
    );

    let shot = dir.join("report.png");
    let out = headless(
        &browser,
        &dir.join("profile-shot"),
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".into(),
        ],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium --screenshot failed: {log}");
    assert_eq!(
        console_errors(&log),
        Vec::<&str>::new(),
        "console errors while taking the screenshot"
    );
    let (width, height, stats) = pixel_stats(&shot);
    eprintln!(
        "screenshot {} ({width}x{height}): {} distinct colours, {:.1}% non-white, {:.1}% banner red",
        shot.display(),
        stats.colours,
        stats.non_white * 100.0,
        stats.red * 100.0
    );
    assert_eq!((width, height), (1280, 2000));
    assert!(stats.colours > 20, "too few colours: blank page? {stats:?}");
    assert!(stats.non_white > 0.05, "almost all white: blank page? {stats:?}");
    assert!(
        stats.red > 0.01,
        "no NOT_CONFORMANT banner red in the screenshot: {stats:?}"
    );
}

#[derive(Debug)]
struct Stats {
    colours: usize,
    non_white: f64,
    red: f64,
}

/// Decode the PNG and measure it: distinct colours, share of non-white pixels, share of the banner's red.
fn pixel_stats(path: &Path) -> (u32, u32, Stats) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("open screenshot"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    assert!(
        channels >= 3 && info.bit_depth == png::BitDepth::Eight,
        "unexpected PNG format {info:?}"
    );
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let mut colours = std::collections::HashSet::new();
    let (mut non_white, mut red) = (0usize, 0usize);
    for p in &pixels {
        colours.insert((p[0], p[1], p[2]));
        if p[..3].iter().any(|&c| c < 240) {
            non_white += 1;
        }
        // The banner's background, #cf222e.
        if p[0] > 190 && p[1] < 60 && p[2] < 70 {
            red += 1;
        }
    }
    let n = pixels.len() as f64;
    (
        info.width,
        info.height,
        Stats {
            colours: colours.len(),
            non_white: non_white as f64 / n,
            red: red as f64 / n,
        },
    )
}

/// matrix.html (requirement x implementation, cells linking to each run's report) in a real browser: no
/// console error, no script, the cells and the failing case within reach, and a screenshot that is not blank.
#[test]
fn matrix_html_renders_in_headless_chromium() {
    use interop_conformance::http::server;
    use interop_conformance::matrix::{self, MatrixOptions};
    use interop_conformance::reference::{Fault, Faults, ReferenceProvider};
    use std::sync::Arc;
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not on PATH (CI installs it; `apt-get install chromium` to run this test)");
        return;
    };
    let dir = fresh_dir("chromium-matrix");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let m = rt.block_on(async {
        let faults = Faults([Fault::SkipMacCheck].into_iter().collect());
        let served = server::spawn_loopback(Arc::new(ReferenceProvider::with_faults(faults)), None)
            .await
            .expect("serve");
        let mut plan = interop_conformance::execute::RunRequest::embedded(7).plan;
        plan.only = vec!["RO-ENC-011".into(), "RO-ENC-009".into()];
        let options = MatrixOptions::reference_and("skip-mac", served.url(), plan, 7, dir.clone());
        matrix::run(&options).await.expect("matrix")
    });
    assert_eq!(m.implementations.len(), 2);
    let page = dir.join("matrix.html");
    loads_cleanly(
        &browser,
        &dir,
        &page,
        &[
            "RO-ENC-011",
            "skip-mac/report.html#req-RO-ENC-011",
            "session.mac-flipped",
            "expected: ",
        ],
    );
    let shot = dir.join("matrix.png");
    let out = headless(
        &browser,
        &dir.join("profile-shot"),
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,900".into(),
        ],
    );
    assert!(out.status.success(), "chromium --screenshot failed");
    let (_, _, stats) = pixel_stats(&shot);
    assert!(
        stats.colours > 20 && stats.non_white > 0.05,
        "blank matrix page? {stats:?}"
    );
}
