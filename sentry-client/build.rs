//! Records the compiler's version and channel for the `rust` context of events.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    // "rustc 1.85.0 (4d91de4e4 2025-02-17)" or "rustc 1.87.0-nightly (...)".
    let version = out.split_whitespace().nth(1).unwrap_or("unknown");
    let channel = if version.contains("nightly") || version.contains("-dev") {
        "nightly"
    } else if version.contains("beta") {
        "beta"
    } else {
        "stable"
    };
    println!("cargo:rustc-env=SENTRY_CLIENT_RUSTC_VERSION={version}");
    println!("cargo:rustc-env=SENTRY_CLIENT_RUSTC_CHANNEL={channel}");
}
