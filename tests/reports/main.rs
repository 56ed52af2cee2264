//! Tests of the auditor-facing reports: HTML (rendered in headless Chromium when installed), Markdown, badge,
//! waivers, signed certificates and run diffs. One binary with topic modules, so the library links once.

mod certificates;
mod chromium;
mod cli;
mod renderers;
mod shards;
mod support;
mod waivers;
