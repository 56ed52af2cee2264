//! Transcripts (`run --transcript`): every adapter request and response of a case, in order, as exchanged
//! on the wire: the exact bytes behind a verdict. The HTTP client records into the case's recorder (a
//! task-local set by the runner around each case), so concurrent cases never mix. Headers are never
//! recorded, so the bearer token is not either; a body that echoes it has it replaced. Bodies are bounded
//! and control characters escaped: what the provider sent stays data.

use crate::sanitize::{self, Sanitizer};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Longest body kept per request or response, in bytes; the rest is cut with a marker.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most exchanges kept per case; later ones are counted, not kept.
pub const MAX_EXCHANGES: usize = 2_000;

/// One request and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Exchange {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, `/v1/encrypt`.
    pub path: String,
    /// The request body as sent (JSON text), empty for GET.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request: String,
    /// The HTTP status, when a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The response body as received (lossy UTF-8, bounded).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response: String,
    /// A transport failure instead of (or after) a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds from sending to the end of the response.
    pub ms: f64,
}

/// A case's transcript: the exchanges kept and how many were dropped past [`MAX_EXCHANGES`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transcript {
    /// The exchanges, in the order they completed.
    pub exchanges: Vec<Exchange>,
    /// Exchanges not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Collects one case's exchanges.
#[derive(Debug, Default, Clone)]
pub struct Recorder(Arc<Mutex<Transcript>>);

impl Recorder {
    /// What was recorded so far.
    pub fn take(&self) -> Transcript {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn push(&self, exchange: Exchange) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if t.exchanges.len() < MAX_EXCHANGES {
            t.exchanges.push(exchange);
        } else {
            t.dropped += 1;
        }
    }
}

tokio::task_local! {
    static CURRENT: Recorder;
}

/// Run `future` with `recorder` receiving every exchange made from this task.
pub async fn scope<F: std::future::Future>(recorder: Recorder, future: F) -> F::Output {
    CURRENT.scope(recorder, future).await
}

/// Whether the current task records (so callers skip the copying when not).
pub fn active() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

/// Record an exchange in the current case's transcript, if any, through the client's sanitizer (the token
/// redacted wherever a body repeats it).
pub fn record(mut exchange: Exchange, sanitizer: &Sanitizer) {
    exchange.request = bounded(&exchange.request, sanitizer);
    exchange.response = bounded(&exchange.response, sanitizer);
    exchange.error = exchange.error.map(|e| bounded(&e, sanitizer));
    let _ = CURRENT.try_with(|r| r.push(exchange));
}

/// Redact, make control characters visible (a JSON body has none unescaped), cut at [`MAX_BODY_BYTES`].
pub fn bounded(text: &str, sanitizer: &Sanitizer) -> String {
    sanitize::cut(&sanitize::visible(&sanitizer.redact(text), false), MAX_BODY_BYTES)
}

/// One line of `transcript.jsonl`.
#[derive(Debug, Serialize)]
struct Line<'a> {
    case: &'a str,
    seq: usize,
    #[serde(flatten)]
    exchange: &'a Exchange,
}

/// Write `transcript.jsonl`: one line per exchange (`case`, `seq` from 0, then the exchange), cases in
/// report order; a case with dropped exchanges ends with a line `{"case", "dropped"}`.
pub fn write_jsonl<'a>(
    out: &mut impl Write,
    cases: impl IntoIterator<Item = (&'a str, &'a Transcript)>,
) -> std::io::Result<()> {
    for (case, transcript) in cases {
        for (seq, exchange) in transcript.exchanges.iter().enumerate() {
            serde_json::to_writer(&mut *out, &Line { case, seq, exchange })?;
            out.write_all(b"\n")?;
        }
        if transcript.dropped > 0 {
            let line = serde_json::json!({ "case": case, "dropped": transcript.dropped });
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(response: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            path: "/v1/encrypt".into(),
            request: r#"{"client":"a"}"#.into(),
            status: Some(200),
            response: response.into(),
            error: None,
            ms: 1.0,
        }
    }

    #[tokio::test]
    async fn records_only_inside_a_scope_and_redacts_the_token() {
        let sanitizer = Sanitizer::new(["s3cret".to_string()]);
        record(exchange("outside"), &sanitizer);
        let recorder = Recorder::default();
        scope(recorder.clone(), async {
            assert!(active());
            record(exchange("echo s3cret\u{1b}[2J"), &sanitizer);
        })
        .await;
        assert!(!active());
        let t = recorder.take();
        assert_eq!(t.exchanges.len(), 1);
        assert_eq!(t.exchanges[0].response, "echo <redacted>\\u{1b}[2J");
    }

    #[test]
    fn bodies_and_counts_are_bounded() {
        let long = "x".repeat(MAX_BODY_BYTES * 2);
        let kept = bounded(&long, &Sanitizer::new([]));
        assert!(
            kept.len() < MAX_BODY_BYTES + 100 && kept.contains("bytes cut"),
            "{}",
            kept.len()
        );
        let recorder = Recorder::default();
        for _ in 0..MAX_EXCHANGES + 3 {
            recorder.push(exchange("{}"));
        }
        let t = recorder.take();
        assert_eq!((t.exchanges.len(), t.dropped), (MAX_EXCHANGES, 3));
        let mut out = Vec::new();
        write_jsonl(&mut out, [("case.a", &t)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), MAX_EXCHANGES + 1);
        assert!(
            text.lines()
                .next()
                .unwrap()
                .starts_with(r#"{"case":"case.a","seq":0,"method":"POST""#)
        );
        assert!(text.lines().last().unwrap().contains(r#""dropped":3"#));
    }
}
