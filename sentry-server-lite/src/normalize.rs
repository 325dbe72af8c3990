//! Normalization: turns a parsed event into the values the server indexes — id, time,
//! level, platform, tags, title, culprit — with the defaults and clamps of the protocol
//! reference (§5.2, §6.1, §8.4 "Issue title").

use sentry_client::protocol::{Event, Exception, Frame};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::grouping::{chosen_exceptions, frame_location, grouping_frames, thread_stacktrace};

const MAX_FUTURE_MS: i64 = 60_000;
const MAX_PAST_MS: i64 = 30 * 86_400_000;
const MAX_TAGS: usize = 50;
const MAX_TAG_KEY: usize = 200;
const MAX_TAG_VALUE: usize = 200;
const MAX_TITLE: usize = 256;

/// The indexed values of an event.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalized {
    /// 32 lowercase hex.
    pub event_id: String,
    /// Event time, Unix ms (the receive time when missing or absurd).
    pub timestamp_ms: i64,
    /// Level name (default `error`).
    pub level: String,
    /// Platform (default `other`).
    pub platform: String,
    /// Release.
    pub release: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Tags: the event's own, then derived ones (`level`, `environment`, `os.name`, ...).
    pub tags: Vec<(String, String)>,
    /// Issue title.
    pub title: String,
    /// Culprit.
    pub culprit: String,
    /// Searchable text.
    pub message: String,
    /// `error` when the event has an exception, else `default`.
    pub issue_type: String,
    /// Issue metadata (type, value, function, filename or title).
    pub metadata: Value,
}

/// Normalizes `event`. `header_id` is the envelope header's event id, which wins over
/// the payload's (protocol §3.2); with neither, a new id is made.
pub fn normalize(event: &Event, header_id: Option<Uuid>, received_ms: i64) -> Normalized {
    let id = header_id
        .filter(|u| !u.is_nil())
        .or(Some(event.event_id).filter(|u| !u.is_nil()))
        .unwrap_or_else(Uuid::new_v4);
    let timestamp_ms = event
        .timestamp
        .as_ref()
        .map(|t| (t.as_unix() * 1000.0) as i64)
        .filter(|t| *t <= received_ms + MAX_FUTURE_MS && *t >= received_ms - MAX_PAST_MS)
        .unwrap_or(received_ms);
    let level = event.level_or_default().as_str().to_owned();
    let platform = event
        .platform
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "other".to_owned());
    let (title, metadata) = title_and_metadata(event);
    let culprit = culprit(event);
    let message = match (event.message_text(), event.exception.values.last()) {
        (Some(m), _) => truncate(m, 8192),
        (None, Some(e)) => exception_summary(e),
        (None, None) => String::new(),
    };
    Normalized {
        event_id: id.simple().to_string(),
        timestamp_ms,
        level: level.clone(),
        platform,
        release: event.release.clone().filter(|s| !s.is_empty()),
        environment: event.environment.clone().filter(|s| !s.is_empty()),
        tags: tags(event, &level),
        title,
        culprit,
        message,
        issue_type: if event.exception.is_empty() {
            "default"
        } else {
            "error"
        }
        .to_owned(),
        metadata,
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn exception_summary(e: &Exception) -> String {
    let ty = e.ty.as_deref().unwrap_or("");
    match e.value.as_deref().map(first_line).filter(|v| !v.is_empty()) {
        Some(v) if !ty.is_empty() => format!("{ty}: {v}"),
        Some(v) => v.to_owned(),
        None => ty.to_owned(),
    }
}

/// The innermost frame that counts: the last in-app frame, else the last frame.
fn innermost_frame(frames: &[Frame]) -> Option<&Frame> {
    grouping_frames(frames).last().copied()
}

fn event_frames(event: &Event) -> Option<&[Frame]> {
    if let Some(e) = chosen_exceptions(event).last() {
        return e
            .stacktrace
            .as_ref()
            .or(e.raw_stacktrace.as_ref())
            .map(|s| s.frames.as_slice());
    }
    thread_stacktrace(event).map(|s| s.frames.as_slice())
}

fn title_and_metadata(event: &Event) -> (String, Value) {
    let frame = event_frames(event).and_then(innermost_frame);
    let function = frame.and_then(|f| f.function.clone()).unwrap_or_default();
    let filename = frame.and_then(|f| f.filename.clone()).unwrap_or_default();
    if let Some(e) = event.exception.values.last() {
        let synthetic = e
            .mechanism
            .as_ref()
            .and_then(|m| m.synthetic)
            .unwrap_or(false);
        let title = if synthetic && !function.is_empty() {
            function.clone()
        } else {
            exception_summary(e)
        };
        let title = if title.is_empty() {
            "<unknown error>".to_owned()
        } else {
            title
        };
        let meta = json!({
            "type": e.ty.clone().unwrap_or_default(),
            "value": truncate(e.value.as_deref().unwrap_or(""), 1024),
            "function": function,
            "filename": filename,
        });
        return (truncate(&title, MAX_TITLE), meta);
    }
    let title = event
        .message_text()
        .map(first_line)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| "<unlabeled event>".to_owned());
    let title = truncate(&title, MAX_TITLE);
    (title.clone(), json!({ "title": title }))
}

fn culprit(event: &Event) -> String {
    if let Some(t) = event.transaction.as_deref().filter(|t| !t.is_empty()) {
        return truncate(t, 200);
    }
    let Some(frame) = event_frames(event).and_then(innermost_frame) else {
        return String::new();
    };
    let location = frame_location(frame);
    let function = frame.function.as_deref().unwrap_or("");
    let out = match (location.is_empty(), function.is_empty()) {
        (false, false) => format!("{location} in {function}"),
        (false, true) => location,
        (true, false) => function.to_owned(),
        (true, true) => String::new(),
    };
    truncate(&out, 200)
}

fn context_str<'a>(event: &'a Event, ctx: &str, field: &str) -> Option<&'a str> {
    event.contexts.get(ctx)?.get(field)?.as_str()
}

fn tags(event: &Event, level: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: &str| {
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty()
            || v.is_empty()
            || out.len() >= MAX_TAGS
            || out.iter().any(|(ek, _)| ek == k)
        {
            return;
        }
        out.push((truncate(k, MAX_TAG_KEY), truncate(v, MAX_TAG_VALUE)));
    };
    for (k, v) in event.tags.iter() {
        push(k, v);
    }
    push("level", level);
    if let Some(v) = event.environment.as_deref() {
        push("environment", v);
    }
    if let Some(v) = event.release.as_deref() {
        push("release", v);
    }
    if let Some(v) = event.dist.as_deref() {
        push("dist", v);
    }
    if let Some(v) = event.server_name.as_deref() {
        push("server_name", v);
    }
    if let Some(v) = event.logger.as_deref() {
        push("logger", v);
    }
    if let Some(v) = event.transaction.as_deref() {
        push("transaction", v);
    }
    if let Some(v) = context_str(event, "os", "name") {
        push("os.name", v);
    }
    if let Some(v) = context_str(event, "runtime", "name").or(context_str(event, "rust", "name")) {
        push("runtime.name", v);
    }
    if let Some(v) = context_str(event, "browser", "name") {
        push("browser.name", v);
    }
    if let Some(m) = event
        .exception
        .values
        .last()
        .and_then(|e| e.mechanism.as_ref())
    {
        if let Some(h) = m.handled {
            push("handled", if h { "yes" } else { "no" });
        }
        if let Some(t) = m.ty.as_deref() {
            push("mechanism", t);
        }
    }
    if let Some(u) = &event.user {
        let user =
            u.id.as_deref()
                .map(|v| format!("id:{v}"))
                .or_else(|| u.email.as_deref().map(|v| format!("email:{v}")))
                .or_else(|| u.username.as_deref().map(|v| format!("username:{v}")))
                .or_else(|| {
                    u.ip_address
                        .as_deref()
                        .filter(|ip| *ip != "{{auto}}")
                        .map(|v| format!("ip:{v}"))
                });
        if let Some(user) = user {
            push("user", &user);
        }
    }
    if let Some(url) = event.request.as_ref().and_then(|r| r.url.as_deref()) {
        let url = url.split(['?', '#']).next().unwrap_or(url);
        push("url", url);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> Event {
        Event::from_slice(json.as_bytes()).expect("event")
    }

    #[test]
    fn defaults_and_header_id_wins() {
        let header = Uuid::parse_str("22d00b3f-d1b1-4b5d-8d20-49d138cd8a9c").expect("uuid");
        let n = normalize(
            &ev(r#"{"event_id":"5c2d1b7e9a4f4e08b3f1c6a2d7e90b14","message":"hi"}"#),
            Some(header),
            1_000_000,
        );
        assert_eq!(n.event_id, "22d00b3fd1b14b5d8d2049d138cd8a9c");
        assert_eq!(n.level, "error");
        assert_eq!(n.platform, "other");
        assert_eq!(n.timestamp_ms, 1_000_000);
        assert_eq!(n.title, "hi");
        assert_eq!(n.issue_type, "default");
        let generated = normalize(&ev("{}"), None, 5);
        assert_eq!(generated.event_id.len(), 32);
    }

    #[test]
    fn timestamps_are_clamped() {
        let now = 1_717_243_200_000;
        let ok = normalize(&ev(r#"{"timestamp":1717243190.5}"#), None, now);
        assert_eq!(ok.timestamp_ms, 1_717_243_190_500);
        let future = normalize(&ev(r#"{"timestamp":1717253200}"#), None, now);
        assert_eq!(future.timestamp_ms, now);
        let old = normalize(&ev(r#"{"timestamp":"2001-01-01T00:00:00Z"}"#), None, now);
        assert_eq!(old.timestamp_ms, now);
    }

    #[test]
    fn title_culprit_tags() {
        let n = normalize(
            &ev(
                r#"{"level":"fatal","environment":"prod","release":"a@1","tags":{"region":"eu","level":"x"},
                "contexts":{"os":{"name":"Linux"}},"user":{"id":"7"},
                "request":{"url":"https://h/p?q=1"},
                "exception":[{"type":"ValueError","value":"bad\nmore","mechanism":{"type":"generic","handled":true},
                "stacktrace":{"frames":[{"module":"app.views","function":"index","in_app":true},
                {"module":"lib","function":"x","in_app":false}]}}]}"#,
            ),
            None,
            0,
        );
        assert_eq!(n.title, "ValueError: bad");
        assert_eq!(n.culprit, "app.views in index");
        assert_eq!(n.issue_type, "error");
        assert_eq!(n.metadata["function"], "index");
        let tag = |k: &str| {
            n.tags
                .iter()
                .find(|(tk, _)| tk == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(tag("region"), Some("eu"));
        assert_eq!(tag("level"), Some("x"), "the event's own tags come first");
        assert_eq!(tag("environment"), Some("prod"));
        assert_eq!(tag("os.name"), Some("Linux"));
        assert_eq!(tag("user"), Some("id:7"));
        assert_eq!(tag("handled"), Some("yes"));
        assert_eq!(tag("url"), Some("https://h/p"));
        let t = normalize(&ev(r#"{"transaction":"/checkout","message":"m"}"#), None, 0);
        assert_eq!(t.culprit, "/checkout");
        let s = normalize(
            &ev(
                r#"{"exception":[{"type":"SIGSEGV","mechanism":{"type":"signal","synthetic":true},
                "stacktrace":{"frames":[{"function":"crash_here","filename":"a.c"}]}}]}"#,
            ),
            None,
            0,
        );
        assert_eq!(s.title, "crash_here");
        assert_eq!(s.culprit, "a.c in crash_here");
    }
}
