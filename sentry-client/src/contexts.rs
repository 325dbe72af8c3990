//! The contexts attached to every event: `os`, `rust` (the runtime context: rustc
//! version and channel, captured at build time), `device` (architecture, CPU count) and
//! `app` (start time, name).
//!
//! They are computed once, on the background worker, the first time they are needed, so
//! neither `init` nor a capture call pays for reading `/etc/os-release`.

use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::protocol::Timestamp;

/// The rustc version that built this crate (from `build.rs`).
pub const RUSTC_VERSION: &str = env!("SENTRY_CLIENT_RUSTC_VERSION");
/// The rustc release channel that built this crate: `stable`, `beta` or `nightly`.
pub const RUSTC_CHANNEL: &str = env!("SENTRY_CLIENT_RUSTC_CHANNEL");

/// Builds the default contexts. `start` is when the client was created.
pub(crate) fn default_contexts(start: SystemTime) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("os".into(), os_context());
    map.insert(
        "rust".into(),
        json!({
            "type": "runtime",
            "name": "rustc",
            "version": RUSTC_VERSION,
            "channel": RUSTC_CHANNEL,
        }),
    );
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    map.insert(
        "device".into(),
        json!({
            "type": "device",
            "arch": std::env::consts::ARCH,
            "family": std::env::consts::FAMILY,
            "processor_count": cpus,
        }),
    );
    let mut app = json!({
        "type": "app",
        "app_start_time": Timestamp::from(start).to_rfc3339(),
    });
    if let Some(name) = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
    {
        app["app_name"] = Value::String(name);
    }
    map.insert("app".into(), app);
    map
}

fn os_context() -> Value {
    let mut os = json!({ "type": "os", "name": os_name() });
    if let Ok(text) = std::fs::read_to_string("/etc/os-release") {
        let field = |key: &str| {
            text.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.strip_prefix('='))
                    .map(|v| v.trim_matches('"').to_owned())
            })
        };
        if let Some(v) = field("VERSION_ID") {
            os["version"] = Value::String(v);
        }
        if let Some(v) = field("PRETTY_NAME") {
            os["raw_description"] = Value::String(v);
        }
        if let Some(v) = field("ID") {
            os["distribution_name"] = Value::String(v);
        }
    }
    if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        os["kernel_version"] = Value::String(kernel.trim().to_owned());
    }
    os
}

fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        "freebsd" => "FreeBSD",
        "android" => "Android",
        "ios" => "iOS",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_documented_contexts() {
        let c = default_contexts(SystemTime::now());
        assert_eq!(c["rust"]["type"], "runtime");
        assert_eq!(c["rust"]["name"], "rustc");
        assert!(c["rust"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")));
        assert_eq!(c["device"]["arch"], std::env::consts::ARCH);
        assert!(c["device"]["processor_count"]
            .as_u64()
            .is_some_and(|n| n >= 1));
        assert!(c["app"]["app_start_time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
        assert_eq!(c["os"]["type"], "os");
        if cfg!(target_os = "linux") {
            assert_eq!(c["os"]["name"], "Linux");
            assert!(c["os"]["kernel_version"].is_string());
        }
    }
}
