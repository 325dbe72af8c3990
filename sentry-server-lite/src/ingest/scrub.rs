//! Server-side data scrubbing, applied at ingest before an event is stored (always on):
//! what an SDK sent as credentials never reaches the database, the JSON API or the UI.
//!
//! - **Sensitive keys**: a key whose name contains one of [`SENSITIVE_KEY_PARTS`]
//!   (ASCII case-insensitive, as a substring: `X-Api-Key`, `sessionid`,
//!   `db_password` all match) has its value replaced by [`FILTERED`], at any depth of
//!   the request (headers, cookies, body data, query string, URL query, env), `extra`,
//!   `contexts`, `user.data`, breadcrumb data and stack frame `vars`. Lists of
//!   `[key, value]` pairs and `k=v&…` query strings are read by key too.
//! - **Card numbers**: in every string of those places (and breadcrumb messages),
//!   13–19 digits, optionally separated by single spaces or dashes, that pass the Luhn
//!   check become [`FILTERED`].
//!
//! - **Per project** ([`ScrubSettings`], the project's settings page and API):
//!   `dataScrubber` off skips the two rules above; `sensitiveFields` adds key parts
//!   scrubbed like the defaults; `safeFields` names keys (whole, case-insensitive) that
//!   are never scrubbed; `scrubIPAddresses` removes `user.ip_address` and filters
//!   `REMOTE_ADDR` (request env) and the forwarding headers (`X-Forwarded-For`,
//!   `X-Real-IP`, `Forwarded`, ...).
//!
//! The settings come with the project key from the key cache (`auth::KeyInfo`), so
//! the ingest path reads no more from the database for them.

use std::sync::LazyLock;

use regex::Regex;
use sentry_client::protocol::{Event, PairList, Stacktrace};
use serde_json::{Map, Value};

use crate::store::ScrubSettings;

/// What a scrubbed value becomes.
pub const FILTERED: &str = "[Filtered]";

/// Parts of key names whose values are credentials (matched lowercase, as substrings).
pub const SENSITIVE_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "mysql_pwd",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "private_key",
    "privatekey",
    "token",
    "auth",
    "credentials",
    "session",
    "cookie",
    "csrf",
    "xsrf",
];

/// Whether a key's value must be scrubbed by the default rules.
pub fn is_sensitive_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SENSITIVE_KEY_PARTS.iter().any(|p| lower.contains(p))
}

/// Header and env names that carry a client's IP address.
const IP_KEYS: &[&str] = &[
    "remote_addr",
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "true-client-ip",
    "cf-connecting-ip",
    "x-client-ip",
];

/// Scrubs `event` in place by the default settings; returns how many values were
/// replaced.
pub fn scrub_event(event: &mut Event) -> usize {
    scrub_event_with(event, &ScrubSettings::default())
}

/// Scrubs `event` in place by a project's `settings`; returns how many values were
/// replaced or removed.
pub fn scrub_event_with(event: &mut Event, settings: &ScrubSettings) -> usize {
    let mut s = Scrubber::new(settings);
    if let Some(r) = event.request.as_mut() {
        s.pairs(&mut r.headers);
        for v in [&mut r.cookies, &mut r.data, &mut r.query_string]
            .into_iter()
            .flatten()
        {
            s.field(v);
        }
        if let Some(cookies) = r.cookies.as_mut() {
            // The field is named `cookies`: its value is a credential as a whole.
            if s.settings.data_scrubber {
                s.filter(cookies);
            }
        }
        if let Some(url) = r.url.as_mut() {
            if let Some((base, query)) = url.split_once('?') {
                let scrubbed = s.query(query);
                if scrubbed != query {
                    *url = format!("{base}?{scrubbed}");
                }
            }
        }
        s.map(&mut r.env);
    }
    s.map(&mut event.extra);
    s.map(&mut event.contexts);
    if let Some(u) = event.user.as_mut() {
        s.map(&mut u.data);
        if settings.scrub_ip_addresses && u.ip_address.take().is_some() {
            s.n += 1;
        }
    }
    for b in event.breadcrumbs.values.iter_mut() {
        s.map(&mut b.data);
        if let Some(m) = b.message.as_mut() {
            s.cards(m);
        }
    }
    let mut stacks: Vec<&mut Stacktrace> = Vec::new();
    for e in event.exception.values.iter_mut() {
        stacks.extend(e.stacktrace.as_mut());
        stacks.extend(e.raw_stacktrace.as_mut());
    }
    for t in event.threads.values.iter_mut() {
        stacks.extend(t.stacktrace.as_mut());
        stacks.extend(t.raw_stacktrace.as_mut());
    }
    stacks.extend(event.stacktrace.as_mut());
    for st in stacks {
        for f in st.frames.iter_mut() {
            s.map(&mut f.vars);
        }
    }
    s.n
}

/// One scrubbing pass: the settings, their lower-cased field lists, and the count.
struct Scrubber<'a> {
    settings: &'a ScrubSettings,
    sensitive: Vec<String>,
    safe: Vec<String>,
    n: usize,
}

impl<'a> Scrubber<'a> {
    fn new(settings: &'a ScrubSettings) -> Self {
        let lower = |l: &[String]| l.iter().map(|f| f.trim().to_ascii_lowercase()).collect();
        Scrubber {
            settings,
            sensitive: lower(&settings.sensitive_fields),
            safe: lower(&settings.safe_fields),
            n: 0,
        }
    }

    /// Whether the value of `key` is scrubbed under these settings.
    fn sensitive(&self, key: &str) -> bool {
        let lower = key.to_ascii_lowercase();
        if self.safe.contains(&lower) {
            return false;
        }
        (self.settings.data_scrubber && is_sensitive_key(key))
            || self.sensitive.iter().any(|f| lower.contains(f.as_str()))
            || (self.settings.scrub_ip_addresses && IP_KEYS.contains(&lower.as_str()))
    }

    fn filter(&mut self, v: &mut Value) {
        if !v.is_null() && v.as_str() != Some(FILTERED) {
            *v = Value::String(FILTERED.to_owned());
            self.n += 1;
        }
    }

    /// A request field that may be a query-like string, an object or a list of pairs.
    fn field(&mut self, v: &mut Value) {
        match v {
            Value::String(s) if s.contains('=') => {
                let scrubbed = self.query(s);
                *s = scrubbed;
            }
            other => self.value(other),
        }
    }

    fn map(&mut self, map: &mut Map<String, Value>) {
        for (k, v) in map.iter_mut() {
            if self.sensitive(k) {
                self.filter(v);
            } else {
                self.value(v);
            }
        }
    }

    fn value(&mut self, v: &mut Value) {
        match v {
            Value::Object(map) => self.map(map),
            Value::Array(items) => {
                let pair_key = match items.as_slice() {
                    [Value::String(k), _] => Some(self.sensitive(k)),
                    _ => None,
                };
                match pair_key {
                    Some(true) => self.filter(&mut items[1]),
                    _ => items.iter_mut().for_each(|i| self.value(i)),
                }
            }
            Value::String(s) => self.cards(s),
            _ => {}
        }
    }

    /// `a=1&password=x` becomes `a=1&password=[Filtered]`; cards in values are masked.
    fn query(&mut self, query: &str) -> String {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if self.sensitive(k) && !v.is_empty() && v != FILTERED => {
                    self.n += 1;
                    format!("{k}={FILTERED}")
                }
                Some((k, v)) => {
                    let mut v = v.to_owned();
                    self.cards(&mut v);
                    format!("{k}={v}")
                }
                None => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    fn pairs(&mut self, pairs: &mut PairList) {
        let cards = self.settings.data_scrubber;
        let needs = pairs
            .iter()
            .any(|(k, v)| (self.sensitive(k) && v != FILTERED) || (cards && CARD.is_match(v)));
        if !needs {
            return;
        }
        let scrubbed = pairs
            .iter()
            .map(|(k, v)| {
                if self.sensitive(k) && v != FILTERED {
                    self.n += 1;
                    (k.to_owned(), FILTERED.to_owned())
                } else {
                    let mut v = v.to_owned();
                    self.cards(&mut v);
                    (k.to_owned(), v)
                }
            })
            .collect();
        *pairs = scrubbed;
    }

    /// Card numbers in `s`, when the default rules are on.
    fn cards(&mut self, s: &mut String) {
        if self.settings.data_scrubber {
            mask_cards(s, &mut self.n);
        }
    }
}

static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)\d(?:[ -]?\d){12,18}(?-u:\b)").expect("regex"));

/// Masks card-like numbers (13–19 digits passing Luhn) in `s`.
fn mask_cards(s: &mut String, n: &mut usize) {
    if !CARD.is_match(s) {
        return;
    }
    let masked = CARD.replace_all(s, |c: &regex::Captures| {
        let m = &c[0];
        if luhn(m) {
            *n += 1;
            FILTERED.to_owned()
        } else {
            m.to_owned()
        }
    });
    *s = masked.into_owned();
}

fn luhn(number: &str) -> bool {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, dd) if dd > 9 => dd - 9,
            (true, dd) => dd,
            (false, _) => *d,
        })
        .sum();
    (13..=19).contains(&digits.len()) && sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_cards() {
        assert!(is_sensitive_key("X-Api-Key") && is_sensitive_key("sessionid"));
        assert!(is_sensitive_key("Set-Cookie") && is_sensitive_key("DB_PASSWORD"));
        assert!(!is_sensitive_key("user_agent"));
        let mut s = "card 4111 1111 1111 1111, order 1234567890123, 4111-1111-1111-1111".to_owned();
        let mut n = 0;
        mask_cards(&mut s, &mut n);
        assert_eq!(s, "card [Filtered], order 1234567890123, [Filtered]");
        assert_eq!(n, 2);
        let defaults = ScrubSettings::default();
        assert_eq!(
            Scrubber::new(&defaults).query("a=1&access_token=xyz&b"),
            "a=1&access_token=[Filtered]&b"
        );
    }

    #[test]
    fn event_areas() {
        let json = r#"{"request":{"url":"https://h/p?token=t1&q=2","headers":[["Authorization","Bearer t2"],["Accept","*/*"]],
            "cookies":"sid=t3","data":{"user":{"password":"t4"},"list":[["api_key","t5"]]},"query_string":"x=1&secret=t6"},
            "extra":{"Session-Id":"t7","ok":"fine"},"contexts":{"db":{"db_passwd":"t8"}},
            "breadcrumbs":[{"data":{"auth":"t9"},"message":"paid 4111111111111111"}],
            "exception":[{"type":"E","stacktrace":{"frames":[{"vars":{"credentials":{"a":"t10"},"n":1}}]}}]}"#;
        let mut event = Event::from_slice(json.as_bytes()).expect("event");
        assert_eq!(scrub_event(&mut event), 11);
        let out = String::from_utf8(event.to_json_vec()).expect("utf8");
        for i in 1..=10 {
            assert!(!out.contains(&format!("\"t{i}\"")) && !out.contains(&format!("=t{i}")));
        }
        assert!(!out.contains("4111111111111111"));
        assert!(out.contains("fine") && out.contains("*/*"), "{out}");
        assert_eq!(
            scrub_event(&mut event),
            0,
            "scrubbing twice changes nothing"
        );
    }

    #[test]
    fn project_settings() {
        let json = r#"{"user":{"ip_address":"10.1.2.3","data":{"pin":"1234","session_hint":"keep"}},
            "request":{"headers":[["X-Forwarded-For","10.1.2.3"],["Accept","*/*"]],"env":{"REMOTE_ADDR":"10.1.2.3"}},
            "extra":{"mysekret":"t1","password":"t2","card":"4111111111111111"}}"#;
        let settings = ScrubSettings {
            data_scrubber: true,
            sensitive_fields: vec!["MySekret".into(), "pin".into()],
            safe_fields: vec!["Session_Hint".into()],
            scrub_ip_addresses: true,
        };
        let mut event = Event::from_slice(json.as_bytes()).expect("event");
        assert_eq!(scrub_event_with(&mut event, &settings), 7);
        let out = String::from_utf8(event.to_json_vec()).expect("utf8");
        assert!(!out.contains("10.1.2.3") && !out.contains("t1") && !out.contains("1234"));
        assert!(out.contains("keep") && out.contains("*/*"), "{out}");

        // Off: nothing of the defaults, and IPs kept.
        let off = ScrubSettings {
            data_scrubber: false,
            ..ScrubSettings::default()
        };
        let mut event = Event::from_slice(json.as_bytes()).expect("event");
        assert_eq!(scrub_event_with(&mut event, &off), 0);
        let out = String::from_utf8(event.to_json_vec()).expect("utf8");
        assert!(out.contains("10.1.2.3") && out.contains("t2") && out.contains("4111111111111111"));
    }
}
