//! The facts of one event, each computed once at ingest and read by both
//! [`crate::normalize`] (the indexed values) and [`crate::grouping`] (the issue hash):
//! which exceptions count, which stack stands for the event when there is none, the
//! frame that says where it happened, and the title, culprit, metadata, message, issue
//! type and tags derived from them (protocol reference §5.2, §6.1, §8.4).
//!
//! ```
//! use sentry_client::protocol::Event;
//! use sentry_server_lite::ingest::facts::EventFacts;
//!
//! let event = Event::from_slice(br#"{"exception":[{"type":"E","value":"bad\nmore",
//!     "stacktrace":{"frames":[{"module":"app","function":"run","in_app":true}]}}]}"#).unwrap();
//! let facts = EventFacts::new(&event);
//! assert_eq!(facts.title, "E: bad");
//! assert_eq!(facts.culprit, "app in run");
//! assert_eq!(facts.exceptions.len(), 1);
//! ```

use std::sync::LazyLock;

use regex::Regex;
use sentry_client::protocol::{Event, Exception, Frame, Level, Stacktrace};
use serde_json::{json, Value};

use super::security::{self, Described};
use crate::config::NormalizeLimits;

/// Exceptions that count: the last five of the chain.
const MAX_EXCEPTIONS: usize = 5;
const MAX_TAGS: usize = 50;
const MAX_TAG_KEY: usize = NormalizeLimits::DEFAULT.max_tag_key_chars;
const MAX_TAG_VALUE: usize = NormalizeLimits::DEFAULT.max_tag_value_chars;
const MAX_TITLE: usize = 256;
const MAX_CULPRIT: usize = 200;
const MAX_MESSAGE: usize = 8192;
const MAX_METADATA_VALUE: usize = 1024;

/// What ingest knows about one event.
#[derive(Clone, Debug, PartialEq)]
pub struct EventFacts<'a> {
    /// The event.
    pub event: &'a Event,
    /// Its level (`error` when it has none).
    pub level: Level,
    /// The exceptions that count: the last five, without exception-group wrappers
    /// (empty when the event has no exception).
    pub exceptions: Vec<&'a Exception>,
    /// When the event has no exception: the crashed thread's stack, else the current
    /// one's, else the only thread's; else a legacy top-level `stacktrace`.
    pub thread_stack: Option<&'a Stacktrace>,
    /// Where it happened: the innermost frame that counts (see [`grouping_frames`]) of
    /// the last counted exception's stack, or of [`EventFacts::thread_stack`].
    pub culprit_frame: Option<&'a Frame>,
    /// Issue title (at most 256 characters).
    pub title: String,
    /// Issue metadata: type, value, function, filename of the last exception, or the
    /// title of a message event.
    pub metadata: Value,
    /// Culprit: the transaction, else the culprit frame's location and function.
    pub culprit: String,
    /// Searchable text: the message, else a summary of the last exception.
    pub message: String,
    /// `error` when the event has an exception, the report type of a security report
    /// (`csp`, ...), else `default`.
    pub issue_type: &'static str,
    /// Tags: the event's own, then derived ones (`level`, `environment`, `os.name`, ...),
    /// trimmed, clamped, the first of each key kept.
    pub tags: Vec<(String, String)>,
    /// A browser security report's title, culprit and grouping parts (events of type
    /// `csp`, `expectct`, `expectstaple`, `hpkp`).
    pub security: Option<Described>,
}

impl<'a> EventFacts<'a> {
    /// Computes every fact of `event`.
    pub fn new(event: &'a Event) -> Self {
        let level = event.level_or_default();
        let exceptions = chosen_exceptions(event);
        let thread_stack = if exceptions.is_empty() {
            thread_stacktrace(event)
        } else {
            None
        };
        let frames = match exceptions.last() {
            Some(e) => e
                .stacktrace
                .as_ref()
                .or(e.raw_stacktrace.as_ref())
                .map(|s| s.frames.as_slice()),
            None => thread_stack.map(|s| s.frames.as_slice()),
        };
        let culprit_frame = frames.and_then(|f| grouping_frames(f).last().copied());
        let security = security::describe(event);
        let (title, metadata) = title_and_metadata(event, culprit_frame, security.as_ref());
        let message = match (event.message_text(), event.exception.values.last()) {
            (Some(m), _) => truncate(m, MAX_MESSAGE),
            (None, Some(e)) => exception_summary(e),
            (None, None) => String::new(),
        };
        EventFacts {
            event,
            level,
            culprit: culprit(event, culprit_frame, security.as_ref()),
            tags: tags_at(event, level.as_str()),
            issue_type: match &security {
                Some(report) => report.ty,
                None if event.exception.is_empty() => "default",
                None => "error",
            },
            exceptions,
            thread_stack,
            culprit_frame,
            title,
            metadata,
            message,
            security,
        }
    }
}

/// The exceptions that count: the last five, without exception-group wrappers (unless
/// nothing else is left).
fn chosen_exceptions(event: &Event) -> Vec<&Exception> {
    let all = &event.exception.values;
    let start = all.len().saturating_sub(MAX_EXCEPTIONS);
    let last: Vec<&Exception> = all[start..].iter().collect();
    let is_group = |e: &&Exception| {
        e.mechanism
            .as_ref()
            .and_then(|m| m.is_exception_group)
            .unwrap_or(false)
    };
    if last.iter().any(is_group) {
        let kept: Vec<&Exception> = last.iter().copied().filter(|e| !is_group(e)).collect();
        if !kept.is_empty() {
            return kept;
        }
    }
    last
}

/// The crashed thread's stack, else the current one's, else the only thread's; else a
/// legacy top-level `stacktrace`.
fn thread_stacktrace(event: &Event) -> Option<&Stacktrace> {
    let threads = &event.threads.values;
    let thread = threads
        .iter()
        .find(|t| t.crashed == Some(true))
        .or_else(|| threads.iter().find(|t| t.current == Some(true)))
        .or_else(|| (threads.len() == 1).then(|| &threads[0]));
    match thread {
        Some(t) => t
            .stacktrace
            .as_ref()
            .filter(|s| !s.frames.is_empty())
            .or(t.raw_stacktrace.as_ref()),
        None => event.stacktrace.as_ref(),
    }
}

/// The frames that count: the in-app ones when any frame is in-app, else all.
pub fn grouping_frames(frames: &[Frame]) -> Vec<&Frame> {
    if frames.iter().any(|f| f.in_app == Some(true)) {
        frames.iter().filter(|f| f.in_app == Some(true)).collect()
    } else {
        frames.iter().collect()
    }
}

/// The frame's module, else its normalized filename (or abs_path).
pub fn frame_location(f: &Frame) -> String {
    if let Some(m) = f.module.as_deref().filter(|m| !m.is_empty()) {
        return m.to_owned();
    }
    f.filename
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(f.abs_path.as_deref())
        .map(normalize_path)
        .unwrap_or_default()
}

static HASHLIKE_SEGMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[0-9a-fA-F]{8,}|v?\d+(?:\.\d+)+)$").expect("regex"));

/// Normalizes a frame's file path: `/` separators, no scheme/host/query, no leading
/// `./`, hash- or version-like segments replaced by `<v>`, lowercase on Windows paths.
pub fn normalize_path(path: &str) -> String {
    let windows = path.contains('\\')
        || (path.len() >= 2
            && path.as_bytes()[1] == b':'
            && path.as_bytes()[0].is_ascii_alphabetic());
    let mut p = path.replace('\\', "/");
    if let Some(idx) = p.find("://") {
        let rest = &p[idx + 3..];
        p = match rest.find('/') {
            Some(slash) => rest[slash..].to_owned(),
            None => String::new(),
        };
    }
    if let Some(q) = p.find(['?', '#']) {
        p.truncate(q);
    }
    let mut s = p.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    let out = s
        .split('/')
        .map(|seg| {
            if HASHLIKE_SEGMENT.is_match(seg) {
                "<v>"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    if windows {
        out.to_lowercase()
    } else {
        out
    }
}

/// At most `max` characters of `s`.
pub fn truncate(s: &str, max: usize) -> String {
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

fn title_and_metadata(
    event: &Event,
    frame: Option<&Frame>,
    security: Option<&Described>,
) -> (String, Value) {
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
            "value": truncate(e.value.as_deref().unwrap_or(""), MAX_METADATA_VALUE),
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
        .or_else(|| security.map(|s| s.title.clone()))
        // Events of other types (`generic`, ...) may carry a title of their own.
        .or_else(|| {
            let own = event
                .other
                .get("title")
                .and_then(Value::as_str)
                .map(first_line);
            own.filter(|t| !t.is_empty()).map(str::to_owned)
        })
        .unwrap_or_else(|| "<unlabeled event>".to_owned());
    let title = truncate(&title, MAX_TITLE);
    (title.clone(), json!({ "title": title }))
}

/// The culprit, as Sentry picks it: the one an (old) client sent, else the transaction,
/// else where the culprit frame is, else the template of a template error, else a
/// security report's directive or host.
fn culprit(event: &Event, frame: Option<&Frame>, security: Option<&Described>) -> String {
    let sent = event
        .culprit
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let transaction = event.transaction.as_deref().filter(|t| !t.is_empty());
    if let Some(c) = sent.or(transaction) {
        return truncate(c, MAX_CULPRIT);
    }
    let Some(frame) = frame else {
        let template = event
            .template
            .as_ref()
            .and_then(|t| t.filename.as_deref().or(t.abs_path.as_deref()));
        let own = template
            .or(security.map(|s| s.culprit.as_str()))
            .unwrap_or("");
        return truncate(own, MAX_CULPRIT);
    };
    let location = frame_location(frame);
    let function = frame.function.as_deref().unwrap_or("");
    let out = match (location.is_empty(), function.is_empty()) {
        (false, false) => format!("{location} in {function}"),
        (false, true) => location,
        (true, false) => function.to_owned(),
        (true, true) => String::new(),
    };
    truncate(&out, MAX_CULPRIT)
}

fn context_str<'a>(event: &'a Event, ctx: &str, field: &str) -> Option<&'a str> {
    event.contexts.get(ctx)?.get(field)?.as_str()
}

/// The tags of an event (what [`EventFacts::tags`] holds), for readers that need no
/// other fact.
pub fn tags(event: &Event) -> Vec<(String, String)> {
    tags_at(event, event.level_or_default().as_str())
}

fn tags_at(event: &Event, level: &str) -> Vec<(String, String)> {
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
    let fields = [
        ("environment", event.environment.as_deref()),
        ("release", event.release.as_deref()),
        ("dist", event.dist.as_deref()),
        ("server_name", event.server_name.as_deref()),
        ("logger", event.logger.as_deref()),
        ("transaction", event.transaction.as_deref()),
        ("os.name", context_str(event, "os", "name")),
        (
            "runtime.name",
            context_str(event, "runtime", "name").or(context_str(event, "rust", "name")),
        ),
        ("browser.name", context_str(event, "browser", "name")),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            push(k, v);
        }
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
