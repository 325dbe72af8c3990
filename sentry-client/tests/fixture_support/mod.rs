//! Helpers shared by the fixture tests (`fixtures.rs`, `fixtures_typed.rs`): where the
//! captured envelopes and the case programs are, and reading an envelope's event.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sentry_client::protocol::{Envelope, Event, Limits};
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate lives in the workspace")
        .to_path_buf()
}

pub fn fixture_bytes(sdk: &str, case: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sdk)
        .join(format!("{case}.envelope"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The 1-based number of the first line of `file` (relative to the repo root) that
/// contains `needle`.
pub fn line_of(file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(repo_root().join(file)).expect("case source");
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {file}"));
    index as u64 + 1
}

/// The envelope of a fixture.
pub fn parse(sdk: &str, case: &str) -> Envelope {
    Envelope::from_slice(&fixture_bytes(sdk, case), &Limits::default())
        .unwrap_or_else(|e| panic!("{sdk}/{case}: {e}"))
}

/// The envelope of a fixture and its event.
pub fn event_of(sdk: &str, case: &str) -> (Envelope, Event) {
    let envelope = parse(sdk, case);
    let event = envelope
        .event()
        .unwrap_or_else(|| panic!("{sdk}/{case}: no event item"))
        .unwrap_or_else(|e| panic!("{sdk}/{case}: {e}"));
    (envelope, event)
}

/// Bytes as JSON.
pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}
