//! What the issue page shows of one event, built from the protocol's typed
//! [`Event`]: exception chain with stack frames and source context, thread stacks,
//! breadcrumbs, contexts, request, user, SDK, tags and extra data. A stored body is read
//! once by [`Event::from_slice_lenient`], so odd stored data never makes the page fail:
//! a field that does not read is left out (an unreadable body shows an empty event).

use sentry_client::protocol::{
    Breadcrumb, Event, Exception, Frame, LogEntry, Mechanism, Message, Stacktrace, Thread, ThreadId,
};
use serde_json::{Map, Value};

use super::timefmt;

/// One line of source context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    /// Line number, when known.
    pub lineno: Option<u64>,
    /// The code.
    pub code: String,
    /// Whether this is the frame's line.
    pub current: bool,
}

/// A stack frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameView {
    /// Function (or `<unknown>`).
    pub function: String,
    /// `file:line:column`, as far as known.
    pub location: String,
    /// Module or package.
    pub module: String,
    /// Application code (expanded) or a library's (collapsed).
    pub in_app: bool,
    /// Source lines around the frame's line.
    pub context: Vec<SourceLine>,
    /// Local variables.
    pub vars: Vec<(String, String)>,
}

/// A stack: frames innermost (the crash site) first.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StackView {
    /// Frames, innermost first.
    pub frames: Vec<FrameView>,
}

impl StackView {
    /// Number of library (not in-app) frames.
    pub fn library_frames(&self) -> usize {
        self.frames.iter().filter(|f| !f.in_app).count()
    }
}

/// One exception of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionView {
    /// Type, e.g. `ValueError` or `panic`.
    pub ty: String,
    /// Message.
    pub value: String,
    /// Module of the type.
    pub module: String,
    /// Mechanism, e.g. `panic (unhandled)`.
    pub mechanism: String,
    /// Its stack.
    pub stack: StackView,
}

/// A thread's stack (for events without an exception stack).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadView {
    /// Name or id.
    pub name: String,
    /// Whether it crashed.
    pub crashed: bool,
    /// Its stack.
    pub stack: StackView,
}

/// A breadcrumb.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crumb {
    /// Time, `HH:MM:SS` UTC (with the date in `exact`).
    pub time: String,
    /// Full time.
    pub exact: String,
    /// Type / category, e.g. `http` or `navigation`.
    pub category: String,
    /// Level.
    pub level: String,
    /// Message, or the data when there is no message.
    pub message: String,
}

/// A titled list of key/value pairs (a context, the user, the request headers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Title.
    pub title: String,
    /// Pairs, in the order sent.
    pub pairs: Vec<(String, String)>,
}

/// The request an event was captured in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RequestView {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body, when sent.
    pub data: String,
}

/// Everything the page shows of one event.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventView {
    /// The log message (logentry / message).
    pub message: String,
    /// The exception chain, outermost first.
    pub exceptions: Vec<ExceptionView>,
    /// Thread stacks, when the exceptions have none.
    pub threads: Vec<ThreadView>,
    /// The event's own stack (`attach_stacktrace` on messages).
    pub stack: Option<StackView>,
    /// Breadcrumbs, oldest first.
    pub breadcrumbs: Vec<Crumb>,
    /// Contexts (os, runtime, device, ...).
    pub contexts: Vec<Section>,
    /// The request.
    pub request: Option<RequestView>,
    /// The user.
    pub user: Vec<(String, String)>,
    /// `name version` of the SDK.
    pub sdk: String,
    /// The event's tags.
    pub tags: Vec<(String, String)>,
    /// Release.
    pub release: String,
    /// Environment.
    pub environment: String,
    /// Extra data.
    pub extra: Vec<(String, String)>,
    /// The template being rendered (raven-era template errors), as a one-frame stack.
    pub template: Option<StackView>,
    /// A browser security report (CSP, Expect-CT, ...): its fields.
    pub report: Option<Section>,
    /// Parts of the event that were invalid and removed at ingest, as `(path, reason)`.
    pub removed: Vec<(String, String)>,
}

impl EventView {
    /// "2 fields of this event were invalid and removed" (empty when none were).
    pub fn removed_summary(&self) -> String {
        match self.removed.len() {
            0 => String::new(),
            1 => "1 field of this event was invalid and removed:".to_owned(),
            n => format!("{n} fields of this event were invalid and removed:"),
        }
    }
}

/// The parts ingest removed, from the event's `errors` (`invalid_data` entries).
fn removed_parts(event: &Event) -> Vec<(String, String)> {
    event
        .errors
        .iter()
        .filter(|e| e.get("type").and_then(Value::as_str) == Some("invalid_data"))
        .map(|e| {
            let field = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            (field("name"), field("reason"))
        })
        .collect()
}

/// The template of a template error, shown like a frame with its source lines.
fn template(event: &Event) -> Option<StackView> {
    let t = event.template.as_ref()?;
    let f = Frame {
        filename: t.filename.clone(),
        abs_path: t.abs_path.clone(),
        lineno: t.lineno,
        pre_context: t.pre_context.clone(),
        context_line: t.context_line.clone(),
        post_context: t.post_context.clone(),
        in_app: Some(true),
        function: Some("(template)".to_owned()),
        ..Frame::default()
    };
    Some(StackView {
        frames: vec![frame(&f)],
    })
}

/// The report a security event carries, under the key its type names.
fn security_report(event: &Event) -> Option<Section> {
    let ty = event.ty.as_deref()?;
    let title = match ty {
        "csp" => "Content Security Policy report",
        "expectct" => "Expect-CT report",
        "expectstaple" => "Expect-Staple report",
        "hpkp" => "HPKP report",
        _ => return None,
    };
    let report = event.other.get(ty)?.as_object()?;
    Some(Section {
        title: title.to_owned(),
        pairs: map_pairs(report),
    })
}

/// A value as text: strings as they are, everything else as compact JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What a page shows instead of a credential.
pub const FILTERED: &str = "[Filtered]";

/// Request headers that carry credentials of the application's users (their values
/// are never shown: issue pages can be public or shared by link).
fn is_credential_header(name: &str) -> bool {
    const NAMES: [&str; 7] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "x-csrf-token",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name.trim()))
}

/// An object's pairs or an array of `[key, value]` pairs.
fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(o)) => map_pairs(o),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|p| match p.as_array().map(Vec::as_slice) {
                Some([k, v]) => Some((text(k), text(v))),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn map_pairs(m: &Map<String, Value>) -> Vec<(String, String)> {
    m.iter().map(|(k, v)| (k.clone(), text(v))).collect()
}

fn or_empty(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn frame(f: &Frame) -> FrameView {
    let file = [&f.filename, &f.abs_path, &f.package]
        .into_iter()
        .map(or_empty)
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let lineno = f.lineno;
    let mut location = file;
    if let Some(l) = lineno {
        location.push_str(&format!(":{l}"));
        if let Some(c) = f.colno {
            location.push_str(&format!(":{c}"));
        }
    }
    let mut context = Vec::new();
    if let Some(line) = f.context_line.as_deref() {
        let pre = &f.pre_context;
        for (i, l) in pre.iter().enumerate() {
            context.push(SourceLine {
                lineno: lineno.and_then(|n| n.checked_sub((pre.len() - i) as u64)),
                code: l.clone(),
                current: false,
            });
        }
        context.push(SourceLine {
            lineno,
            code: line.to_owned(),
            current: true,
        });
        for (i, l) in f.post_context.iter().enumerate() {
            context.push(SourceLine {
                lineno: lineno.map(|n| n + 1 + i as u64),
                code: l.clone(),
                current: false,
            });
        }
    }
    FrameView {
        function: f
            .function
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "<unknown>".to_owned()),
        location,
        module: or_empty(&f.module),
        in_app: f.in_app.unwrap_or(false),
        context,
        vars: map_pairs(&f.vars),
    }
}

fn stack(s: &Stacktrace) -> StackView {
    // Sentry lists frames outermost first; the page shows the crash site first.
    StackView {
        frames: s.frames.iter().rev().map(frame).collect(),
    }
}

fn mechanism(m: Option<&Mechanism>) -> String {
    let Some(m) = m else {
        return String::new();
    };
    let ty = or_empty(&m.ty);
    match m.handled {
        Some(false) => format!("{ty} (unhandled)"),
        Some(true) => format!("{ty} (handled)"),
        None => ty,
    }
}

fn exception(e: &Exception) -> ExceptionView {
    ExceptionView {
        ty: or_empty(&e.ty),
        value: or_empty(&e.value),
        module: or_empty(&e.module),
        mechanism: mechanism(e.mechanism.as_ref()),
        stack: e.stacktrace.as_ref().map(stack).unwrap_or_default(),
    }
}

fn thread(t: &Thread) -> Option<ThreadView> {
    let stack = stack(t.stacktrace.as_ref()?);
    let id = match &t.id {
        Some(ThreadId::Int(n)) => n.to_string(),
        Some(ThreadId::String(s)) => s.clone(),
        None => String::new(),
    };
    let name = [or_empty(&t.name), id]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "thread".to_owned());
    Some(ThreadView {
        name,
        crashed: t.crashed.unwrap_or(false),
        stack,
    })
}

fn crumb(c: &Breadcrumb) -> Crumb {
    let (time, exact) = match &c.timestamp {
        Some(t) => {
            let exact = timefmt::absolute((t.as_unix() * 1000.0) as i64);
            (exact.get(11..19).unwrap_or_default().to_owned(), exact)
        }
        None => (String::new(), String::new()),
    };
    let category = [or_empty(&c.category), or_empty(&c.ty)]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let mut message = or_empty(&c.message);
    if message.is_empty() && !c.data.is_empty() {
        message = Value::Object(c.data.clone()).to_string();
    }
    Crumb {
        time,
        exact,
        category,
        level: c.level.as_str().to_owned(),
        message,
    }
}

fn query_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::String(s)) => s
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (p.to_owned(), String::new()),
            })
            .collect(),
        other => pairs(other),
    }
}

fn section(title: &str, v: &Map<String, Value>) -> Section {
    Section {
        title: title.to_owned(),
        pairs: v
            .iter()
            .filter(|(k, _)| k.as_str() != "type")
            .map(|(k, v)| (k.clone(), text(v)))
            .collect(),
    }
}

/// A log entry's text: the formatted message, else the template.
fn entry_text(e: &LogEntry) -> String {
    e.formatted
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| or_empty(&e.message))
}

impl EventView {
    /// Reads a stored event body leniently (see the module docs).
    pub fn parse(body: &[u8]) -> EventView {
        EventView::from_event(&Event::from_slice_lenient(body))
    }

    /// What the page shows of an event.
    pub fn from_event(event: &Event) -> EventView {
        let message = match (&event.logentry, &event.message) {
            (Some(l), _) => entry_text(l),
            (None, Some(Message::Text(s))) => s.clone(),
            (None, Some(Message::Entry(e))) => entry_text(e),
            (None, None) => String::new(),
        };
        let contexts = event
            .contexts
            .iter()
            .filter_map(|(name, c)| c.as_object().map(|c| section(name, c)))
            .collect();
        let request = event.request.as_ref().map(|r| RequestView {
            method: or_empty(&r.method),
            url: or_empty(&r.url),
            query: query_pairs(r.query_string.as_ref()),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| {
                    let v = if is_credential_header(k) { FILTERED } else { v };
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
            data: r.data.as_ref().map(text).unwrap_or_default(),
        });
        let sdk = event
            .sdk
            .as_ref()
            .map(|s| format!("{} {}", or_empty(&s.name), or_empty(&s.version)))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        // The user in its wire form: its known fields, then whatever else was sent.
        let user = event
            .user
            .as_ref()
            .and_then(|u| serde_json::to_value(u).ok());
        EventView {
            message,
            // The chain is sent innermost cause first; the page shows the outermost first.
            exceptions: event.exception.iter().rev().map(exception).collect(),
            threads: event.threads.iter().filter_map(thread).collect(),
            stack: event.stacktrace.as_ref().map(stack),
            breadcrumbs: event.breadcrumbs.iter().map(crumb).collect(),
            contexts,
            request,
            user: pairs(user.as_ref()),
            sdk,
            tags: event
                .tags
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            release: or_empty(&event.release),
            environment: or_empty(&event.environment),
            extra: map_pairs(&event.extra),
            template: template(event),
            report: security_report(event),
            removed: removed_parts(event),
        }
    }

    /// Whether any exception has frames.
    pub fn has_exception_frames(&self) -> bool {
        self.exceptions.iter().any(|e| !e.stack.frames.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: &Value) -> Event {
        Event::from_slice_lenient(v.to_string().as_bytes())
    }

    #[test]
    fn reads_a_full_event() {
        let v = json!({
            "message": {"formatted": "boom happened"},
            "exception": {"values": [
                {"type": "IoError", "value": "disk", "stacktrace": {"frames": []}},
                {"type": "panic", "value": "boom", "mechanism": {"type": "panic", "handled": false},
                 "stacktrace": {"frames": [
                    {"function": "std::rt::lang_start", "in_app": false},
                    {"function": "app::main", "filename": "src/main.rs", "lineno": 10, "colno": 5,
                     "in_app": true, "pre_context": ["fn main() {"], "context_line": "    explode();",
                     "post_context": ["}"], "vars": {"x": 1}}
                 ]}}
            ]},
            "breadcrumbs": [{"timestamp": 1700000000.5, "category": "http", "message": "GET /"},
                            {"timestamp": "2024-01-01T10:11:12Z", "type": "default", "data": {"a": 1}}],
            "contexts": {"os": {"type": "os", "name": "Linux", "version": "6.1"}, "bad": 3},
            "request": {"method": "POST", "url": "http://x/y", "query_string": "a=1&b",
                        "headers": [["Host", "x"]], "data": {"k": "v"}},
            "user": {"id": "42", "email": "u@x.io"},
            "sdk": {"name": "sentry.rust", "version": "0.1.0"},
            "tags": {"server": "web-1"},
            "extra": {"n": [1, 2]},
            "release": "app@1", "environment": "prod"
        });
        let e = EventView::from_event(&event(&v));
        assert_eq!(e.message, "boom happened");
        assert_eq!(e.exceptions.len(), 2);
        let outer = &e.exceptions[0];
        assert_eq!(
            (outer.ty.as_str(), outer.mechanism.as_str()),
            ("panic", "panic (unhandled)")
        );
        let f = &outer.stack.frames[0];
        assert_eq!(f.function, "app::main");
        assert_eq!(f.location, "src/main.rs:10:5");
        assert!(f.in_app);
        assert_eq!(
            f.context
                .iter()
                .map(|l| (l.lineno, l.current))
                .collect::<Vec<_>>(),
            vec![(Some(9), false), (Some(10), true), (Some(11), false)]
        );
        assert_eq!(f.vars, vec![("x".to_owned(), "1".to_owned())]);
        assert_eq!(outer.stack.library_frames(), 1);
        assert!(e.has_exception_frames());
        assert_eq!(e.breadcrumbs[0].time, "22:13:20");
        assert_eq!(e.breadcrumbs[1].time, "10:11:12");
        assert_eq!(e.breadcrumbs[1].message, "{\"a\":1}");
        assert_eq!(e.contexts.len(), 1);
        assert_eq!(
            e.contexts[0].pairs,
            vec![
                ("name".to_owned(), "Linux".to_owned()),
                ("version".to_owned(), "6.1".to_owned())
            ]
        );
        let r = e.request.expect("request");
        assert_eq!(
            r.query,
            vec![("a".into(), "1".into()), ("b".into(), String::new())]
        );
        assert_eq!(r.headers, vec![("Host".into(), "x".into())]);
        assert_eq!(e.sdk, "sentry.rust 0.1.0");
        assert_eq!(e.tags, vec![("server".into(), "web-1".into())]);
        assert_eq!(e.extra, vec![("n".into(), "[1,2]".into())]);
    }

    #[test]
    fn credential_headers_are_not_shown() {
        let e = EventView::from_event(&event(
            &json!({"request": {"url": "https://a/", "headers": [
            ["Cookie", "session=secret"], ["authorization", "Bearer secret"],
            ["Proxy-Authorization", "Basic secret"], ["X-Api-Key", "secret"],
            ["Accept", "text/html"]]}}),
        ));
        let headers = e.request.expect("request").headers;
        assert!(
            headers.iter().all(|(_, v)| !v.contains("secret")),
            "{headers:?}"
        );
        assert_eq!(headers[0], ("Cookie".into(), FILTERED.into()));
        assert_eq!(headers[4], ("Accept".into(), "text/html".into()));
    }

    #[test]
    fn odd_shapes_are_skipped() {
        let e = EventView::parse(b"not json");
        assert_eq!(e, EventView::default());
        let e = EventView::from_event(&event(
            &json!({"exception": [{"type": "E"}], "message": [5],
            "threads": {"values": [{"id": 1, "crashed": true, "stacktrace": {"frames": [{}]}}]}}),
        ));
        assert_eq!(e.exceptions[0].ty, "E");
        assert!(!e.has_exception_frames());
        assert_eq!(e.threads[0].name, "1");
        assert_eq!(e.threads[0].stack.frames[0].function, "<unknown>");
        assert_eq!(e.message, "", "a message of an odd shape is left out");
        // A field that does not read leaves the others readable, down to the fields of
        // one breadcrumb.
        let e = EventView::parse(
            br#"{"release":"r@1","user":"nobody","breadcrumbs":[{"timestamp":true,"message":"kept"}]}"#,
        );
        assert_eq!(e.release, "r@1");
        assert!(e.user.is_empty());
        assert_eq!(e.breadcrumbs.len(), 1, "{:?}", e.breadcrumbs);
        assert_eq!(e.breadcrumbs[0].message, "kept");
    }
}
