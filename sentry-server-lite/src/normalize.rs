//! Normalization: turns an event's facts ([`EventFacts`]) into the values the server
//! indexes — id, time, level, platform, release, environment, tags, title, culprit —
//! with the defaults and clamps of the protocol reference (§5.2, §6.1, §8.4 "Issue
//! title").

use sentry_client::protocol::Event;
use serde_json::Value;
use uuid::Uuid;

use crate::ingest::facts::EventFacts;

const MAX_FUTURE_MS: i64 = 60_000;
const MAX_PAST_MS: i64 = 30 * 86_400_000;

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
    /// `error` when the event has an exception, a security report's type (`csp`, ...),
    /// else `default`.
    pub issue_type: String,
    /// Issue metadata (type, value, function, filename or title).
    pub metadata: Value,
}

/// Normalizes `event` (computing its facts). `header_id` is the envelope header's event
/// id, which wins over the payload's (protocol §3.2); with neither, a new id is made.
pub fn normalize(event: &Event, header_id: Option<Uuid>, received_ms: i64) -> Normalized {
    from_facts(EventFacts::new(event), header_id, received_ms)
}

/// Normalizes an event from its already computed facts (what ingest does, so that
/// grouping reads the same facts).
pub fn from_facts(facts: EventFacts<'_>, header_id: Option<Uuid>, received_ms: i64) -> Normalized {
    let event = facts.event;
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
    let platform = event
        .platform
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "other".to_owned());
    Normalized {
        event_id: id.simple().to_string(),
        timestamp_ms,
        level: facts.level.as_str().to_owned(),
        platform,
        release: event.release.clone().filter(|s| !s.is_empty()),
        environment: event.environment.clone().filter(|s| !s.is_empty()),
        tags: facts.tags,
        title: facts.title,
        culprit: facts.culprit,
        message: facts.message,
        issue_type: facts.issue_type.to_owned(),
        metadata: facts.metadata,
    }
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
