//! Grouping: which issue an event belongs to. Implements the "g1" algorithm of the
//! protocol reference (§8.4), documented for users in `docs/grouping.md`. It reads the
//! event's facts ([`EventFacts`]: the exceptions that count, the thread stack, the
//! frames that count, frame locations), computed once at ingest and shared with
//! normalization; the string normalizations of function names and messages are here.
//!
//! The result is `hex(sha256("g1" + components))`, where each component is a list of
//! strings. It never uses line numbers, addresses or exception values when frames exist,
//! so a redeploy or a different message for the same crash lands in the same issue.
//!
//! ```
//! use sentry_client::protocol::Event;
//! use sentry_server_lite::grouping::group;
//!
//! let a = Event::from_slice(br#"{"message":"user 17 not found"}"#).unwrap();
//! let b = Event::from_slice(br#"{"message":"user 42 not found"}"#).unwrap();
//! assert_eq!(group(&a).hash, group(&b).hash);
//! assert_eq!(group(&a).components, vec![vec!["msg".to_string(), "user <int> not found".to_string()]]);
//! ```

use std::sync::LazyLock;

use regex::Regex;
use sentry_client::protocol::{Event, Exception, Frame, Level, Message, Stacktrace};
use sha2::{Digest, Sha256};

pub use crate::ingest::facts::normalize_path;
use crate::ingest::facts::{frame_location, grouping_frames, EventFacts};

/// The algorithm version stored with every issue.
pub const VERSION: &str = "g1";

const MAX_FRAME_TOKENS: usize = 50;
const MAX_MESSAGE_CHARS: usize = 1024;

/// The grouping of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// The algorithm version (`g1`).
    pub version: &'static str,
    /// Hex sha256 of the canonical encoding of `components`.
    pub hash: String,
    /// The components that were hashed (kept for explanations and tests).
    pub components: Vec<Vec<String>>,
}

/// Groups an event: fingerprint, else exceptions/threads with frames, else the message
/// template, else a fallback on level and logger.
pub fn group(event: &Event) -> Grouping {
    group_facts(&EventFacts::new(event))
}

/// Groups an event from its already computed facts (what ingest does, so that
/// normalization reads the same facts).
pub fn group_facts(facts: &EventFacts<'_>) -> Grouping {
    let default = default_components(facts);
    // A fingerprint, else the checksum of a raven-era client, overrides the default.
    let components = match fingerprint_component(facts.event, facts.level, &default) {
        Some(fp) => vec![fp],
        None => match legacy_checksum(facts.event) {
            Some(checksum) => vec![vec!["checksum".to_owned(), checksum.to_owned()]],
            None => default,
        },
    };
    Grouping {
        version: VERSION,
        hash: hash_components(&components),
        components,
    }
}

/// `hex(sha256(canonical encoding))`.
pub fn hash_components(components: &[Vec<String>]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(VERSION.as_bytes());
    for component in components {
        hasher.update([0x1e]);
        for (i, s) in component.iter().enumerate() {
            if i > 0 {
                hasher.update([0x1f]);
            }
            // The separators are single bytes in UTF-8 (never inside a multi-byte
            // character): most strings have none and are hashed without a copy.
            if s.bytes().any(|b| b == 0x1e || b == 0x1f) {
                let clean: String = s
                    .chars()
                    .filter(|c| *c != '\u{1e}' && *c != '\u{1f}')
                    .collect();
                hasher.update(clean.as_bytes());
            } else {
                hasher.update(s.as_bytes());
            }
        }
    }
    hex::encode(hasher.finalize())
}

fn is_default_marker(s: &str) -> bool {
    let squeezed: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    squeezed == "{{default}}"
}

/// Step 0: a non-default fingerprint becomes the only component.
fn fingerprint_component(
    event: &Event,
    level: Level,
    default: &[Vec<String>],
) -> Option<Vec<String>> {
    let fp = event.fingerprint.as_ref()?;
    if fp.is_empty() || (fp.len() == 1 && is_default_marker(&fp[0])) {
        return None;
    }
    let mut component = vec!["fingerprint".to_owned()];
    // The default hash is computed once, however often `{{default}}` appears.
    let mut default_hash: Option<String> = None;
    for entry in fp {
        let squeezed: String = entry
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        let value = match squeezed.as_str() {
            "{{default}}" => default_hash
                .get_or_insert_with(|| hash_components(default))
                .clone(),
            "{{transaction}}" => event.transaction.clone().unwrap_or_default(),
            "{{type}}" | "{{error.type}}" => event
                .exception
                .values
                .last()
                .and_then(|e| e.ty.clone())
                .unwrap_or_default(),
            "{{level}}" => level.as_str().to_owned(),
            "{{logger}}" => event.logger.clone().unwrap_or_default(),
            _ => entry.clone(),
        };
        component.push(value);
    }
    Some(component)
}

/// Steps 1 to 4.
fn default_components(facts: &EventFacts<'_>) -> Vec<Vec<String>> {
    let event = facts.event;
    if !event.exception.is_empty() {
        if let Some(c) = exception_components(&facts.exceptions) {
            return c;
        }
    } else if let Some(stack) = facts.thread_stack {
        let tokens = frame_tokens(&stack.frames);
        if !tokens.is_empty() {
            let mut c = vec!["thread".to_owned()];
            c.extend(tokens);
            return vec![c];
        }
    }
    if let Some(msg) = message_component(event) {
        return vec![vec!["msg".to_owned(), msg]];
    }
    if let Some(report) = &facts.security {
        let mut c = vec!["security".to_owned()];
        c.extend(report.group.iter().cloned());
        return vec![c];
    }
    vec![vec![
        "fallback".to_owned(),
        facts.level.as_str().to_owned(),
        event.logger.clone().unwrap_or_default(),
    ]]
}

/// The `checksum` raven-era clients could send to name the group themselves.
fn legacy_checksum(event: &Event) -> Option<&str> {
    let c = event.other.get("checksum")?.as_str()?.trim();
    (!c.is_empty()).then_some(c)
}

fn exception_stack(e: &Exception) -> Option<&Stacktrace> {
    e.stacktrace
        .as_ref()
        .filter(|s| !s.frames.is_empty())
        .or(e.raw_stacktrace.as_ref())
}

fn is_synthetic(e: &Exception) -> bool {
    e.mechanism
        .as_ref()
        .and_then(|m| m.synthetic)
        .unwrap_or(false)
}

fn exception_components(exceptions: &[&Exception]) -> Option<Vec<Vec<String>>> {
    let mut components = Vec::new();
    let mut anything = false;
    for e in exceptions.iter().copied() {
        let mut type_part = if is_synthetic(e) {
            String::new()
        } else {
            e.ty.as_deref().unwrap_or("").trim().to_owned()
        };
        if let Some(module) = e.module.as_deref().filter(|m| !m.is_empty()) {
            if !type_part.is_empty() && !type_part.contains('.') && !type_part.contains("::") {
                type_part = format!("{module}.{type_part}");
            }
        }
        let tokens = exception_stack(e)
            .map(|s| frame_tokens(&s.frames))
            .unwrap_or_default();
        let mut c = vec!["exc".to_owned(), type_part.clone()];
        if tokens.is_empty() {
            let value = e
                .value
                .as_deref()
                .map(normalize_message)
                .unwrap_or_default();
            if !type_part.is_empty() || !value.is_empty() {
                anything = true;
            }
            if !value.is_empty() {
                c.push("value".to_owned());
                c.push(value);
            }
        } else {
            anything = true;
            c.extend(tokens);
        }
        components.push(c);
    }
    anything.then_some(components)
}

fn frame_tokens(frames: &[Frame]) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for f in grouping_frames(frames) {
        let Some(token) = frame_token(f) else {
            continue;
        };
        if tokens.last() != Some(&token) {
            tokens.push(token);
        }
    }
    let start = tokens.len().saturating_sub(MAX_FRAME_TOKENS);
    tokens.split_off(start)
}

fn frame_token(f: &Frame) -> Option<String> {
    let module_or_file = frame_location(f);
    let func = f
        .function
        .as_deref()
        .or(f.raw_function.as_deref())
        .map(normalize_function)
        .unwrap_or_default();
    if module_or_file.is_empty() && func.is_empty() {
        let line = f.context_line.as_deref().unwrap_or("").trim();
        return (!line.is_empty()).then(|| line.to_owned());
    }
    Some(format!("{module_or_file}|{func}"))
}

static RUST_HASH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"::h[0-9a-f]{16}$").expect("regex"));
static CLOSURE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{closure\}\}|\{closure#\d+\}").expect("regex"));
static JAVA_LAMBDA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\$Lambda\$[0-9a-zA-Z/$.]*").expect("regex"));
static LAMBDA_DOLLAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"lambda\$([A-Za-z0-9_]*)\$\d+").expect("regex"));
static RUBY_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"block (?:\(\d+ levels\) )?in ").expect("regex"));
static NUMERIC_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([$_])\d+$").expect("regex"));
static WHITESPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("regex"));

/// Normalizes a function name so that builds, generics and anonymous helpers do not
/// change it (see `docs/grouping.md` for the exact rules).
pub fn normalize_function(func: &str) -> String {
    // Each rewrite runs only when its marker is present: most names need none of them,
    // and this runs for every frame of every event.
    let mut f = func.trim().to_owned();
    if f.contains("::h") {
        f = RUST_HASH.replace(&f, "").into_owned();
    }
    if f.contains("closure") {
        f = CLOSURE.replace_all(&f, "{closure}").into_owned();
    }
    if f.contains('<') {
        f = f
            .replace("<lambda>", "{lambda}")
            .replace("<anonymous>", "{anonymous}");
    }
    if f.contains("$$Lambda") {
        f = JAVA_LAMBDA.replace_all(&f, "{lambda}").into_owned();
    }
    if f.contains("lambda$") {
        f = LAMBDA_DOLLAR.replace_all(&f, "lambda$$${1}").into_owned();
    }
    if f.contains("block ") {
        f = RUBY_BLOCK.replace_all(&f, "{block} in ").into_owned();
    }
    if f.contains('<') {
        f = strip_generics(&strip_leading_wrapper(&f));
    }
    if f.ends_with(|c: char| c.is_ascii_digit()) {
        f = NUMERIC_SUFFIX.replace(&f, "${1}{n}").into_owned();
    }
    if f.contains(char::is_whitespace) {
        f = WHITESPACE.replace_all(f.trim(), " ").into_owned();
    }
    f
}

/// `_<T as Trait>::f` / `<T as Trait>::f` / `<impl T>::f` become `T::f`.
fn strip_leading_wrapper(f: &str) -> String {
    let s = f
        .strip_prefix('_')
        .filter(|r| r.starts_with('<'))
        .unwrap_or(f);
    if !s.starts_with('<') {
        return f.to_owned();
    }
    let Some(end) = matching_angle(s, 0) else {
        return f.to_owned();
    };
    let inner = &s[1..end];
    let inner = inner.strip_prefix("impl ").unwrap_or(inner);
    let self_ty = match inner.find(" as ") {
        Some(i) => &inner[..i],
        None => inner,
    };
    let self_ty = match self_ty.find(" for ") {
        Some(i) => &self_ty[i + 5..],
        None => self_ty,
    };
    format!("{}{}", self_ty.trim(), &s[end + 1..])
}

/// The index of the `>` closing the `<` at `open`, if balanced.
fn matching_angle(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s[open..].char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Removes balanced `<...>` argument lists (unbalanced text is kept), in one pass: a
/// stack of open `<` pairs each `>` with its `<` (the pairs `matching_angle` would
/// find), so unmatched `<` cost nothing more than their byte.
fn strip_generics(f: &str) -> String {
    let bytes = f.as_bytes();
    // closes[i]: the index of the `>` closing the `<` at byte i.
    let mut closes: Vec<Option<usize>> = vec![None; bytes.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'<' => open.push(i),
            b'>' => {
                if let Some(o) = open.pop() {
                    closes[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(f.len());
    let mut i = 0;
    while i < f.len() {
        if let Some(end) = closes[i] {
            i = end + 1;
            continue;
        }
        let Some(c) = f[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Step 3's source text and whether it is a template (templates skip parameterizing).
fn message_source(event: &Event) -> Option<(&str, bool)> {
    let entry_msg = event.logentry.as_ref().and_then(|l| l.message.as_deref());
    if let Some(m) = entry_msg.filter(|m| !m.trim().is_empty()) {
        return Some((m, true));
    }
    if let Some(Message::Entry(e)) = &event.message {
        if let Some(m) = e.message.as_deref().filter(|m| !m.trim().is_empty()) {
            return Some((m, true));
        }
    }
    let formatted = event
        .logentry
        .as_ref()
        .and_then(|l| l.formatted.as_deref())
        .or(match &event.message {
            Some(Message::Entry(e)) => e.formatted.as_deref(),
            Some(Message::Text(t)) => Some(t.as_str()),
            None => None,
        });
    formatted
        .filter(|m| !m.trim().is_empty())
        .map(|m| (m, false))
}

fn message_component(event: &Event) -> Option<String> {
    let (text, template) = message_source(event)?;
    let out = if template {
        first_lines(text)
    } else {
        normalize_message(text)
    };
    (!out.is_empty()).then_some(out)
}

fn first_lines(text: &str) -> String {
    let joined = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    truncate_chars(&joined, MAX_MESSAGE_CHARS)
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

static PARAMETERS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", "<email>"),
        (r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s]+", "<url>"),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "<ip>"),
        (r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
        (r"(?i)\b[0-9a-f]{12}[1-8][0-9a-f]{3}[89ab][0-9a-f]{15}\b", "<uuid>"),
        (r"(?i)\b[0-9a-f]{40}\b", "<sha1>"),
        (r"(?i)\b[0-9a-f]{32}\b", "<md5>"),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
            "<date>",
        ),
        (r"\b(?:\d+ms|\d+(?:\.\d+)?s)\b", "<duration>"),
        (r"(?i)\b0x[0-9a-f]+\b", "<hex>"),
        (r"\b\d+\.\d+\b", "<float>"),
        (r"\b\d+\b", "<int>"),
    ]
    .into_iter()
    .map(|(re, token)| (Regex::new(re).expect("regex"), token))
    .collect()
});

static IPV6_CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)[0-9a-f:]*:[0-9a-f:]*:[0-9a-f:]*").expect("regex"));

/// Replaces the variable parts of a formatted message with placeholders (`<int>`,
/// `<uuid>`, ...), keeping its first two non-blank lines and at most 1024 characters.
pub fn normalize_message(text: &str) -> String {
    let mut s = first_lines(text);
    for (i, (re, token)) in PARAMETERS.iter().enumerate() {
        if i == 3 {
            // IPv6 after IPv4: only text that really parses as an address (so `a::b`
            // paths and `12:30:45` times stay untouched).
            s = IPV6_CANDIDATE
                .replace_all(&s, |c: &regex::Captures| {
                    let m = &c[0];
                    let digits = m.bytes().any(|b| b.is_ascii_digit());
                    if digits && m.parse::<std::net::Ipv6Addr>().is_ok() {
                        "<ip>".to_owned()
                    } else {
                        m.to_owned()
                    }
                })
                .into_owned();
        }
        s = re.replace_all(&s, *token).into_owned();
    }
    truncate_chars(&s, MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests;
