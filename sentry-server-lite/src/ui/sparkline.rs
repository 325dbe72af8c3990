//! Event-count sparklines as inline SVG bars, drawn on the server.

use std::fmt::Write;

use crate::store::{EventScope, Store, StoreResult};

/// One hour and one day in milliseconds.
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A time window of a sparkline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// 24 hourly bars.
    Day,
    /// 14 daily bars.
    TwoWeeks,
}

impl Window {
    fn bucket_ms(self) -> i64 {
        match self {
            Window::Day => HOUR_MS,
            Window::TwoWeeks => DAY_MS,
        }
    }
    fn buckets(self) -> usize {
        match self {
            Window::Day => 24,
            Window::TwoWeeks => 14,
        }
    }
    /// "24 hours" / "14 days".
    pub fn label(self) -> &'static str {
        match self {
            Window::Day => "last 24 hours",
            Window::TwoWeeks => "last 14 days",
        }
    }
}

/// The event counts of `scope` in `window` ending with the bucket holding `now_ms`.
pub fn counts(
    store: &dyn Store,
    scope: EventScope,
    window: Window,
    now_ms: i64,
) -> StoreResult<Vec<u64>> {
    let bucket = window.bucket_ms();
    // Align to whole buckets so the bars do not shift with every page load.
    let end = (now_ms / bucket + 1) * bucket;
    let start = end - bucket * window.buckets() as i64;
    store.event_histogram(scope, start, bucket, window.buckets())
}

/// SVG bars for `counts` (the tallest bar is full height), with a text alternative.
/// The result is inserted into pages unescaped: `label` is escaped here.
pub fn svg(counts: &[u64], label: &str) -> String {
    let label = escape(label);
    const BAR: usize = 4;
    const GAP: usize = 1;
    const HEIGHT: u64 = 24;
    let width = counts.len() * (BAR + GAP);
    let max = counts.iter().copied().max().unwrap_or(0);
    let total: u64 = counts.iter().sum();
    let mut out = String::with_capacity(64 + counts.len() * 64);
    let _ = write!(
        out,
        "<svg class=\"spark\" width=\"{width}\" height=\"{HEIGHT}\" viewBox=\"0 0 {width} {HEIGHT}\" \
         role=\"img\" aria-label=\"{total} events, {label}\"><title>{total} events, {label}</title>"
    );
    for (i, &c) in counts.iter().enumerate() {
        // Non-empty buckets get at least one pixel so that a lone event is visible.
        let h = if max == 0 || c == 0 {
            0
        } else {
            (c * HEIGHT).div_ceil(max).max(1)
        };
        let x = i * (BAR + GAP);
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"{BAR}\" height=\"{h}\"></rect>",
            HEIGHT - h
        );
    }
    out.push_str("</svg>");
    out
}

/// `label` safe inside an attribute value and element text.
fn escape(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_tallest() {
        let s = svg(&[0, 1, 4, 2], "last 4 hours");
        assert!(s.starts_with("<svg class=\"spark\" width=\"20\""));
        assert!(s.contains("aria-label=\"7 events, last 4 hours\""));
        assert!(s.contains("<rect x=\"0\" y=\"24\" width=\"4\" height=\"0\">"));
        assert!(s.contains("<rect x=\"5\" y=\"18\" width=\"4\" height=\"6\">"));
        assert!(s.contains("<rect x=\"10\" y=\"0\" width=\"4\" height=\"24\">"));
        assert!(s.contains("<rect x=\"15\" y=\"12\" width=\"4\" height=\"12\">"));
        assert_eq!(svg(&[], "x").matches("<rect").count(), 0);
        let s = svg(&[1], "\"><script>x</script>");
        assert!(!s.contains("<script>") && !s.contains("\"><script"), "{s}");
        assert!(s.contains("&quot;&gt;&lt;script&gt;"), "{s}");
    }
}
