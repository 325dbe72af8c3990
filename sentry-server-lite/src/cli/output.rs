//! Printing command results: plain text for people, one JSON object for scripts.

use std::io::Write;

use serde_json::Value;

/// Where and how a command prints.
pub struct Output {
    /// JSON instead of text.
    pub json: bool,
}

impl Output {
    /// Prints `text` or, with `--json`, `value` as one line; flushes at once so that a
    /// parent process reading the pipe sees it before the server starts serving.
    pub fn print(&self, text: &str, value: &Value) {
        let mut stdout = std::io::stdout().lock();
        let _ = if self.json {
            writeln!(stdout, "{value}")
        } else {
            writeln!(stdout, "{text}")
        };
        let _ = stdout.flush();
    }
}
