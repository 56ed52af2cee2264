//! Live progress for long runs: cases (or an exploration's schedules) done of total, failures so far, rate and
//! time left, on one stderr line rewritten in place. Shown only when stdout is a terminal and the run is not `--quiet`
//! ([`wanted`]); pipes, CI logs and `--quiet` get nothing extra.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One progress line that several runs in parallel count into (`matrix`: every implementation's cases).
pub type Shared = Arc<Mutex<Progress>>;

/// How often the line is redrawn at most.
const REDRAW: Duration = Duration::from_millis(200);

/// Whether progress should be shown: stdout is a terminal and the user did not ask for quiet.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stdout().is_terminal()
}

/// The progress of one run.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
    drawn: Option<Instant>,
    enabled: bool,
    /// What is counted: `cases`, `schedules`.
    unit: &'static str,
    /// What the failure count counts.
    failed_label: &'static str,
    /// A time budget: the time left is what remains of it, not an estimate from the rate.
    budget: Option<Duration>,
}

impl Progress {
    /// Progress over `total` cases; `enabled` false makes every call a no-op.
    pub fn new(total: usize, enabled: bool) -> Self {
        Self {
            total,
            done: 0,
            failed: 0,
            started: Instant::now(),
            drawn: None,
            enabled,
            unit: "cases",
            failed_label: "failed",
            budget: None,
        }
    }

    /// Progress of an exploration: schedules judged of `total` (0: unknown) or within `budget`, distinct
    /// failures found.
    pub fn campaign(total: usize, budget: Option<Duration>, enabled: bool) -> Self {
        Self {
            unit: "schedules",
            failed_label: "distinct failures",
            budget,
            ..Self::new(total, enabled)
        }
    }

    /// One more case (or schedule) ended; `failed` when it failed or errored (for a campaign: a new failure).
    pub fn case_done(&mut self, failed: bool) {
        self.done += 1;
        self.failed += usize::from(failed);
        if self.enabled && self.drawn.is_none_or(|t| t.elapsed() >= REDRAW) {
            self.drawn = Some(Instant::now());
            // A closed stderr must not end the run: progress is a courtesy.
            let _ = write!(std::io::stderr(), "\r{}", self.line(self.started.elapsed()));
            let _ = std::io::stderr().flush();
        }
    }

    /// The line after `elapsed`: `123/783 cases  2 failed  150.3 cases/s  ~4s left`.
    pub fn line(&self, elapsed: Duration) -> String {
        let rate = self.done as f64 / elapsed.as_secs_f64().max(1e-3);
        let left = match self.budget {
            Some(budget) => budget.saturating_sub(elapsed).as_secs_f64(),
            None => (self.total - self.done.min(self.total)) as f64 / rate.max(1e-9),
        };
        let counted = if self.total == 0 {
            format!("{} {}", self.done, self.unit)
        } else {
            format!("{}/{} {}", self.done, self.total, self.unit)
        };
        format!(
            "{counted}  {} {}  {rate:.1} {}/s  ~{left:.0}s left ",
            self.failed, self.failed_label, self.unit
        )
    }

    /// Clear the line before the report is printed.
    pub fn finish(&mut self) {
        if self.enabled && self.drawn.is_some() {
            let width = self.line(self.started.elapsed()).len();
            let _ = write!(std::io::stderr(), "\r{}\r", " ".repeat(width));
            let _ = std::io::stderr().flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_rate_and_time_left() {
        let mut p = Progress::new(10, false);
        for i in 0..4 {
            p.case_done(i == 1);
        }
        assert_eq!(
            p.line(Duration::from_secs(2)),
            "4/10 cases  1 failed  2.0 cases/s  ~3s left "
        );
        let mut c = Progress::campaign(0, Some(Duration::from_secs(60)), false);
        c.case_done(true);
        c.case_done(false);
        assert_eq!(
            c.line(Duration::from_secs(10)),
            "2 schedules  1 distinct failures  0.2 schedules/s  ~50s left "
        );
    }
}
