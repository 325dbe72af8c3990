//! Trimming: the caps of [`NormalizeLimits`] applied to an event before normalization,
//! grouping and storage read it, so that each of those steps does work linear in a
//! bounded size (long names, deep stacks, long exception chains, many breadcrumbs,
//! fingerprints and tags cost no more than the caps allow).
//!
//! An event under every cap is left exactly as it was. What was cut is counted per
//! kind ([`Trimmed`]) and recorded in the stored event under the top-level key
//! `_trimmed` (an object such as `{"frames": 9750, "strings": 2}`), which the JSON API
//! returns with the rest of the event.

use std::collections::BTreeMap;

use sentry_client::protocol::{Event, Exception, Frame, PairList, Stacktrace};
use serde_json::Value;

use crate::config::NormalizeLimits;

/// The key of the stored event that records what was trimmed.
pub const TRIMMED_KEY: &str = "_trimmed";

/// What was cut from one event, by kind: `exceptions`, `threads`, `frames`,
/// `breadcrumbs`, `fingerprint`, `tags` (entries dropped) and `strings` (values
/// shortened).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trimmed(pub BTreeMap<&'static str, u64>);

impl Trimmed {
    fn add(&mut self, kind: &'static str, n: usize) {
        if n > 0 {
            *self.0.entry(kind).or_insert(0) += n as u64;
        }
    }

    /// Whether nothing was cut.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `_trimmed` note.
    pub fn to_value(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect(),
        )
    }
}

/// Applies the caps to `event` in place and says what was cut (also recorded in the
/// event's `_trimmed` key when anything was).
pub fn trim_event(event: &mut Event, limits: &NormalizeLimits) -> Trimmed {
    let mut t = Trimmed::default();
    let exceptions = &mut event.exception.values;
    let extra = exceptions.len().saturating_sub(limits.max_exceptions);
    exceptions.drain(..extra);
    t.add("exceptions", extra);
    for e in exceptions.iter_mut() {
        trim_exception(e, limits, &mut t);
    }
    let threads = &mut event.threads.values;
    t.add("threads", threads.len().saturating_sub(limits.max_threads));
    threads.truncate(limits.max_threads);
    for th in threads.iter_mut() {
        for s in [&mut th.stacktrace, &mut th.raw_stacktrace]
            .into_iter()
            .flatten()
        {
            trim_stack(s, limits, &mut t);
        }
    }
    if let Some(s) = event.stacktrace.as_mut() {
        trim_stack(s, limits, &mut t);
    }
    let crumbs = &mut event.breadcrumbs.values;
    let extra = crumbs.len().saturating_sub(limits.max_breadcrumbs);
    crumbs.drain(..extra);
    t.add("breadcrumbs", extra);
    if let Some(fp) = event.fingerprint.as_mut() {
        t.add(
            "fingerprint",
            fp.len().saturating_sub(limits.max_fingerprint_entries),
        );
        fp.truncate(limits.max_fingerprint_entries);
        for entry in fp.iter_mut() {
            cap_string(entry, limits.max_fingerprint_chars, &mut t);
        }
    }
    trim_tags(&mut event.tags, limits, &mut t);
    if !t.is_empty() {
        event.other.insert(TRIMMED_KEY.to_owned(), t.to_value());
    }
    t
}

fn trim_exception(e: &mut Exception, limits: &NormalizeLimits, t: &mut Trimmed) {
    for s in [&mut e.ty, &mut e.module].into_iter().flatten() {
        cap_string(s, limits.max_name_chars, t);
    }
    for s in [&mut e.stacktrace, &mut e.raw_stacktrace]
        .into_iter()
        .flatten()
    {
        trim_stack(s, limits, t);
    }
}

/// Keeps the first quarter and the last three quarters of the allowed frames.
fn trim_stack(s: &mut Stacktrace, limits: &NormalizeLimits, t: &mut Trimmed) {
    let max = limits.max_frames;
    let len = s.frames.len();
    if len > max {
        let head = max / 4;
        let tail = max - head;
        s.frames.drain(head..len - tail);
        t.add("frames", len - max);
    }
    for f in s.frames.iter_mut() {
        trim_frame(f, limits, t);
    }
}

fn trim_frame(f: &mut Frame, limits: &NormalizeLimits, t: &mut Trimmed) {
    for s in [
        &mut f.function,
        &mut f.raw_function,
        &mut f.symbol,
        &mut f.module,
        &mut f.package,
        &mut f.filename,
        &mut f.abs_path,
    ]
    .into_iter()
    .flatten()
    {
        cap_string(s, limits.max_name_chars, t);
    }
}

fn trim_tags(tags: &mut PairList, limits: &NormalizeLimits, t: &mut Trimmed) {
    let over_len = tags.iter().any(|(k, v)| {
        k.chars().nth(limits.max_tag_key_chars).is_some()
            || v.chars().nth(limits.max_tag_value_chars).is_some()
    });
    if tags.len() <= limits.max_tags && !over_len {
        return;
    }
    t.add("tags", tags.len().saturating_sub(limits.max_tags));
    let mut shortened = 0;
    let mut cap = |s: &str, max: usize| match s.char_indices().nth(max) {
        Some((i, _)) => {
            shortened += 1;
            s[..i].to_owned()
        }
        None => s.to_owned(),
    };
    let kept: PairList = tags
        .iter()
        .take(limits.max_tags)
        .map(|(k, v)| {
            (
                cap(k, limits.max_tag_key_chars),
                cap(v, limits.max_tag_value_chars),
            )
        })
        .collect();
    t.add("strings", shortened);
    *tags = kept;
}

/// Cuts `s` to `max` characters (on a character boundary).
fn cap_string(s: &mut String, max: usize, t: &mut Trimmed) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
        t.add("strings", 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> NormalizeLimits {
        NormalizeLimits {
            max_frames: 8,
            ..NormalizeLimits::DEFAULT
        }
    }

    #[test]
    fn under_the_caps_nothing_changes() {
        let json = r#"{"message":"m","tags":{"a":"b"},"fingerprint":["x","{{default}}"],
            "exception":[{"type":"E","stacktrace":{"frames":[{"function":"f"}]}}]}"#;
        let mut event = Event::from_slice(json.as_bytes()).expect("event");
        let before = event.clone();
        assert!(trim_event(&mut event, &limits()).is_empty());
        assert_eq!(event, before);
    }

    #[test]
    fn caps_keep_both_ends_and_are_recorded() {
        let frames: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"function":"f{i}"}}"#))
            .collect();
        let fp: Vec<String> = (0..20_000).map(|_| r#""{{default}}""#.to_owned()).collect();
        let json = format!(
            r#"{{"exception":[{{"type":"{}","stacktrace":{{"frames":[{}]}}}}],"fingerprint":[{}]}}"#,
            "T".repeat(600),
            frames.join(","),
            fp.join(",")
        );
        let mut event = Event::from_slice(json.as_bytes()).expect("event");
        let t = trim_event(&mut event, &limits());
        let names: Vec<&str> = event.exception.values[0]
            .stacktrace
            .as_ref()
            .expect("stack")
            .frames
            .iter()
            .filter_map(|f| f.function.as_deref())
            .collect();
        assert_eq!(
            names,
            ["f0", "f1", "f94", "f95", "f96", "f97", "f98", "f99"]
        );
        assert_eq!(
            event.exception.values[0].ty.as_deref().map(str::len),
            Some(512)
        );
        assert_eq!(event.fingerprint.as_ref().map(Vec::len), Some(64));
        assert_eq!(t.0["frames"], 92);
        assert_eq!(t.0["fingerprint"], 20_000 - 64);
        assert_eq!(t.0["strings"], 1);
        assert_eq!(event.other[TRIMMED_KEY]["frames"], 92);
    }
}
