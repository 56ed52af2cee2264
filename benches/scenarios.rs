//! Scenario throughput in-process: messages per second through the `scenario.exactly-once` exchange
//! (encrypt by one side, decrypt by the other, judged), with the embedded reference on both sides.
//! Run with `cargo bench --bench scenarios`; over HTTP, point the same run at an adapter once that lands.

use interop_conformance::execute::{self, RunRequest};
use interop_conformance::reference::ReferenceProvider;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (label, thorough) in [("default", false), ("thorough", true)] {
        let mut request = RunRequest::embedded(1);
        request.plan.vectors = vec!["scenario.exactly-once".into(), "scenario.duplicates".into()];
        request.plan.scenarios.thorough = thorough;
        let started = Instant::now();
        let output = runtime
            .block_on(execute::run(&request, Arc::new(ReferenceProvider::new()), false))
            .expect("run");
        let seconds = started.elapsed().as_secs_f64();
        // Each schedule sends on average (min + max) / 2 messages; count them from the scenario parameters.
        let plan = interop_conformance::plan::Plan::build(&request.plan).expect("plan");
        let mut messages = 0.0;
        for case in &plan.cases {
            if let interop_conformance::family::Check::Scenario(check) = &case.check {
                let m = check.scenario.parameters.messages;
                messages += f64::from(check.cases) * f64::from(m.min + m.max) / 2.0;
            }
        }
        println!(
            "scenarios ({label}): {} cases, ~{messages:.0} messages in {seconds:.3}s = ~{:.0} messages/s in-process",
            output.report.cases.len(),
            messages / seconds
        );
    }
}
