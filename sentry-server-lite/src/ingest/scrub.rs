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
//! Not done here (they need per-project settings): extra safe or sensitive fields, and
//! scrubbing IP addresses.

use std::sync::LazyLock;

use regex::Regex;
use sentry_client::protocol::{Event, PairList, Stacktrace};
use serde_json::{Map, Value};

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

/// Whether a key's value must be scrubbed.
pub fn is_sensitive_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SENSITIVE_KEY_PARTS.iter().any(|p| lower.contains(p))
}

/// Scrubs `event` in place; returns how many values were replaced.
pub fn scrub_event(event: &mut Event) -> usize {
    let mut n = 0;
    if let Some(r) = event.request.as_mut() {
        scrub_pairs(&mut r.headers, &mut n);
        for v in [&mut r.cookies, &mut r.data, &mut r.query_string]
            .into_iter()
            .flatten()
        {
            scrub_field(v, &mut n);
        }
        if let Some(cookies) = r.cookies.as_mut() {
            // The field is named `cookies`: its value is a credential as a whole.
            filter(cookies, &mut n);
        }
        if let Some(url) = r.url.as_mut() {
            if let Some((base, query)) = url.split_once('?') {
                let scrubbed = scrub_query(query, &mut n);
                if scrubbed != query {
                    *url = format!("{base}?{scrubbed}");
                }
            }
        }
        scrub_map(&mut r.env, &mut n);
    }
    scrub_map(&mut event.extra, &mut n);
    scrub_map(&mut event.contexts, &mut n);
    if let Some(u) = event.user.as_mut() {
        scrub_map(&mut u.data, &mut n);
    }
    for b in event.breadcrumbs.values.iter_mut() {
        scrub_map(&mut b.data, &mut n);
        if let Some(m) = b.message.as_mut() {
            mask_cards(m, &mut n);
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
    for s in stacks {
        for f in s.frames.iter_mut() {
            scrub_map(&mut f.vars, &mut n);
        }
    }
    n
}

fn filter(v: &mut Value, n: &mut usize) {
    if !v.is_null() && v.as_str() != Some(FILTERED) {
        *v = Value::String(FILTERED.to_owned());
        *n += 1;
    }
}

/// A request field that may be a query-like string, an object or a list of pairs.
fn scrub_field(v: &mut Value, n: &mut usize) {
    match v {
        Value::String(s) if s.contains('=') => {
            let scrubbed = scrub_query(s, n);
            *s = scrubbed;
        }
        other => scrub_value(other, n),
    }
}

fn scrub_map(map: &mut Map<String, Value>, n: &mut usize) {
    for (k, v) in map.iter_mut() {
        if is_sensitive_key(k) {
            filter(v, n);
        } else {
            scrub_value(v, n);
        }
    }
}

fn scrub_value(v: &mut Value, n: &mut usize) {
    match v {
        Value::Object(map) => scrub_map(map, n),
        Value::Array(items) => {
            let pair_key = match items.as_slice() {
                [Value::String(k), _] => Some(is_sensitive_key(k)),
                _ => None,
            };
            match pair_key {
                Some(true) => filter(&mut items[1], n),
                _ => items.iter_mut().for_each(|i| scrub_value(i, n)),
            }
        }
        Value::String(s) => mask_cards(s, n),
        _ => {}
    }
}

/// `a=1&password=x` becomes `a=1&password=[Filtered]`; cards in values are masked.
fn scrub_query(query: &str, n: &mut usize) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_sensitive_key(k) && !v.is_empty() && v != FILTERED => {
                *n += 1;
                format!("{k}={FILTERED}")
            }
            Some((k, v)) => {
                let mut v = v.to_owned();
                mask_cards(&mut v, n);
                format!("{k}={v}")
            }
            None => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn scrub_pairs(pairs: &mut PairList, n: &mut usize) {
    let needs = pairs
        .iter()
        .any(|(k, v)| (is_sensitive_key(k) && v != FILTERED) || CARD.is_match(v));
    if !needs {
        return;
    }
    *pairs = pairs
        .iter()
        .map(|(k, v)| {
            if is_sensitive_key(k) && v != FILTERED {
                *n += 1;
                (k.to_owned(), FILTERED.to_owned())
            } else {
                let mut v = v.to_owned();
                mask_cards(&mut v, n);
                (k.to_owned(), v)
            }
        })
        .collect();
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
        assert_eq!(
            scrub_query("a=1&access_token=xyz&b", &mut n),
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
}
