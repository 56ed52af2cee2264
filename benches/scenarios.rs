//! Scenario throughput: messages per second through the `scenario.exactly-once` and `scenario.duplicates`
//! exchanges (encrypt by one side, decrypt by the other, judged), with the provider in-process and then served
//! over loopback HTTP (the harness peer stays in-process, as in a real run), each with the wire monitor on and
//! off in the same run; then `explore`'s message rate in process beside the raw library's ping-pong (one DH ratchet
//! per message), measured in the same run, and the thorough scenarios' rate beside it. Rates are given by wall time
//! and by the process's CPU time (from /proc/self/stat): on a machine shared with other builds the CPU-time ratio
//! is the steadier one. `cargo bench --bench scenarios`.

use interop_conformance::campaign::{self, ExploreRequest, Limit};
use interop_conformance::execute::{self, RunRequest};
use interop_conformance::http::client::{HttpOptions, HttpProvider};
use interop_conformance::http::server;
use interop_conformance::provider::Provider;
use interop_conformance::reference::ReferenceProvider;
use rand::SeedableRng;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod raw;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let served = runtime
        .block_on(server::spawn_loopback(Arc::new(ReferenceProvider::new()), None))
        .expect("serve the reference on loopback");
    let http: Arc<dyn Provider> = Arc::new(HttpProvider::new(&HttpOptions::new(served.url())).expect("HTTP client"));
    let targets: [(&str, Arc<dyn Provider>); 2] =
        [("in-process", Arc::new(ReferenceProvider::new())), ("over HTTP", http)];
    // The same cases with the wire monitor on (as every run) and off, to show what it costs.
    let mut rates: Vec<(String, bool, f64)> = Vec::new();
    let mut thorough_rate = None;
    for (((label, thorough), (where_, provider)), monitor) in [("default", false), ("thorough", true)]
        .into_iter()
        .flat_map(|mode| targets.iter().map(move |t| (mode, t)))
        .flat_map(|run| [true, false].map(move |m| (run, m)))
    {
        let mut request = RunRequest::embedded(1);
        request.monitor = monitor;
        request.plan.vectors = vec!["scenario.exactly-once".into(), "scenario.duplicates".into()];
        request.plan.scenarios.thorough = thorough;
        if *where_ == "over HTTP" {
            request.target_args = format!("--target {}", served.url());
        }
        let started = Instant::now();
        let cpu = cpu_seconds();
        let output = runtime
            .block_on(execute::run(&request, provider.clone(), false))
            .expect("run");
        let seconds = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu).map(|(b, a)| b - a);
        let failed = output
            .report
            .cases
            .iter()
            .filter(|c| c.outcome != interop_conformance::outcome::Outcome::Pass)
            .count();
        assert_eq!(
            failed, 0,
            "scenario cases did not pass ({where_}): the rate would be meaningless"
        );
        // Each schedule sends on average (min + max) / 2 messages; count them from the scenario parameters.
        let plan = interop_conformance::plan::Plan::build(&request.plan).expect("plan");
        let mut messages = 0.0;
        for case in &plan.cases {
            if let interop_conformance::family::Check::Scenario(check) = &case.check {
                let m = check.scenario.parameters.messages;
                messages += f64::from(check.cases) * f64::from(m.min + m.max) / 2.0;
            }
        }
        let with = if monitor { "with monitor" } else { "without monitor" };
        println!(
            "scenarios ({label}, {where_}, {with}): {} cases, ~{messages:.0} messages in {seconds:.3}s = ~{:.0} messages/s",
            output.report.cases.len(),
            messages / seconds
        );
        rates.push((format!("{label}, {where_}"), monitor, messages / seconds));
        if thorough_run(label, where_, monitor) {
            thorough_rate = Some(Rate::new(messages, seconds, cpu));
        }
    }
    explore_beside_raw(&runtime, thorough_rate);
    for pair in rates.chunks(2) {
        if let [(run, true, on), (_, false, off)] = pair {
            println!(
                "wire monitor cost ({run}): {on:.0} vs {off:.0} messages/s, {:.2}x the unmonitored rate",
                on / off
            );
        }
    }
}

fn thorough_run(label: &str, where_: &str, monitor: bool) -> bool {
    label == "thorough" && where_ == "in-process" && monitor
}

/// The process's CPU time (user + system, all threads) in seconds, from /proc/self/stat (Linux; clock ticks of
/// 1/100 s); `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (in parentheses, which may hold spaces): utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Messages per second by wall time and by CPU time.
#[derive(Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: Option<f64>,
}

impl Rate {
    fn new(messages: f64, seconds: f64, cpu: Option<f64>) -> Self {
        Self {
            wall: messages / seconds,
            cpu: cpu.filter(|c| *c > 0.0).map(|c| messages / c),
        }
    }

    fn ratio(&self, raw: &Rate) -> String {
        let cpu = match self.cpu.zip(raw.cpu) {
            Some((a, b)) => format!(", by CPU time {:.2}", a / b),
            None => String::new(),
        };
        format!("by wall time {:.2}{cpu}", self.wall / raw.wall)
    }

    fn shown(&self) -> String {
        let cpu = self.cpu.map(|c| format!(", {c:.0} per CPU second")).unwrap_or_default();
        format!("{:.0} messages/s{cpu}", self.wall)
    }
}

/// Raw ping-pong for `seconds`: (messages, wall seconds, CPU seconds).
fn raw_ping_pong(runtime: &tokio::runtime::Runtime, seconds: u64) -> (f64, f64, Option<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut pair = runtime.block_on(raw::Pair::new(&mut rng));
    let payload = [0x42u8; 32];
    let cpu = cpu_seconds();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        runtime.block_on(pair.ping_pong(&payload));
        rounds += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    (2.0 * rounds as f64, wall, cpu_seconds().zip(cpu).map(|(b, a)| b - a))
}

/// explore's messages/s in process (every scenario, fresh seeds, the wire monitor on, as a campaign runs) beside
/// raw wacore-libsignal sending 32-byte messages ping-pong, so that every message takes a DH ratchet step.
fn explore_beside_raw(runtime: &tokio::runtime::Runtime, thorough: Option<Rate>) {
    // The raw rate is measured before and after explore and pooled, so that a change of load on a shared
    // machine weighs on both sides alike.
    let before = raw_ping_pong(runtime, 2);
    let request = ExploreRequest {
        plan: interop_conformance::plan::PlanOptions {
            profile: interop_conformance::plan::DEFAULT_PROFILE.into(),
            ..Default::default()
        },
        seed: 1,
        limit: Limit::Schedules(4000),
        out_dir: None,
        target_args: String::new(),
        case_timeout: Duration::from_secs(600),
        progress: false,
        until_found: false,
    };
    let cpu = cpu_seconds();
    let out = runtime
        .block_on(campaign::explore(&request, Arc::new(ReferenceProvider::new()), false))
        .expect("explore");
    let cpu = cpu_seconds().zip(cpu).map(|(b, a)| b - a);
    assert!(
        out.run
            .report
            .cases
            .iter()
            .all(|c| c.outcome == interop_conformance::outcome::Outcome::Pass),
        "the clean reference must hold every schedule: the rate would be meaningless"
    );
    let explore = Rate::new(out.campaign.messages as f64, out.campaign.seconds, cpu);
    let after = raw_ping_pong(runtime, 2);
    let raw = Rate::new(
        before.0 + after.0,
        before.1 + after.1,
        before.2.zip(after.2).map(|(a, b)| a + b),
    );
    println!(
        "explore (in-process, with monitor): {} schedules, {} messages in {:.3}s = {}",
        out.campaign.schedules,
        out.campaign.messages,
        out.campaign.seconds,
        explore.shown()
    );
    println!(
        "raw wacore-libsignal ping-pong (one DH ratchet per message, before and after explore): {}",
        raw.shown()
    );
    println!("explore/raw: {}", explore.ratio(&raw));
    if let Some(t) = thorough {
        println!("thorough scenarios (in-process, with monitor)/raw: {}", t.ratio(&raw));
    }
}
