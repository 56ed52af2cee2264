//! Property-based session scenarios: randomised, replayable schedules between the provider under test and
//! the harness's reference peer, shrunk to a minimal failing schedule.
//!
//! A scenario file ([`definition`]) names its requirements, property, parameters and case counts; it becomes
//! one case of the plan (family `scenario`), so `--only`, `--vector`, scoring, reports and replay work as
//! for vectors. [`strategy`] builds proptest strategies from the parameters, [`exchange`] plays a schedule
//! against the provider and judges every step, [`special`] adds the prekey-reuse and identity-change steps,
//! and [`explore`] draws, shrinks and reports. Everything goes through [`crate::provider::Provider`], so
//! scenarios run in-process and over HTTP alike.

pub mod definition;
pub mod exchange;
pub mod explore;
mod load;
pub mod special;
pub mod strategy;

pub use explore::{Check, run};
pub use load::{ScenarioMode, load_profile_scenarios};
