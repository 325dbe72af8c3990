//! An event body (the JSON as the SDK sent it) read into what the issue page shows:
//! exception chain with stack frames and source context, thread stacks, breadcrumbs,
//! contexts, request, user, SDK, tags and extra data. Reading is lenient: a field of an
//! unexpected shape is skipped, never an error.

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
}

/// A value as text: strings as they are, everything else as compact JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).map(text).unwrap_or_default()
}

/// `{"values": [...]}` or a bare array.
fn values(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a,
        Some(Value::Object(o)) => match o.get("values") {
            Some(Value::Array(a)) => a,
            _ => &[],
        },
        _ => &[],
    }
}

/// An object's pairs or an array of `[key, value]` pairs.
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

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
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

fn frame(f: &Value) -> FrameView {
    let file = ["filename", "abs_path", "package"]
        .iter()
        .map(|k| str_of(f, k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let lineno = f.get("lineno").and_then(Value::as_u64);
    let mut location = file;
    if let Some(l) = lineno {
        location.push_str(&format!(":{l}"));
        if let Some(c) = f.get("colno").and_then(Value::as_u64) {
            location.push_str(&format!(":{c}"));
        }
    }
    let mut context = Vec::new();
    let pre = f.get("pre_context").and_then(Value::as_array);
    let post = f.get("post_context").and_then(Value::as_array);
    if let Some(line) = f.get("context_line").and_then(Value::as_str) {
        let pre = pre.map(Vec::as_slice).unwrap_or_default();
        for (i, l) in pre.iter().enumerate() {
            context.push(SourceLine {
                lineno: lineno.and_then(|n| n.checked_sub((pre.len() - i) as u64)),
                code: text(l),
                current: false,
            });
        }
        context.push(SourceLine {
            lineno,
            code: line.to_owned(),
            current: true,
        });
        for (i, l) in post
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            context.push(SourceLine {
                lineno: lineno.map(|n| n + 1 + i as u64),
                code: text(l),
                current: false,
            });
        }
    }
    let function = str_of(f, "function");
    FrameView {
        function: if function.is_empty() {
            "<unknown>".to_owned()
        } else {
            function
        },
        location,
        module: str_of(f, "module"),
        in_app: f.get("in_app").and_then(Value::as_bool).unwrap_or(false),
        context,
        vars: pairs(f.get("vars")),
    }
}

fn stack(v: Option<&Value>) -> Option<StackView> {
    let frames = v?.get("frames")?.as_array()?;
    // Sentry lists frames outermost first; the page shows the crash site first.
    Some(StackView {
        frames: frames.iter().rev().map(frame).collect(),
    })
}

fn mechanism(v: Option<&Value>) -> String {
    let Some(m) = v else {
        return String::new();
    };
    let ty = str_of(m, "type");
    match m.get("handled").and_then(Value::as_bool) {
        Some(false) => format!("{ty} (unhandled)"),
        Some(true) => format!("{ty} (handled)"),
        None => ty,
    }
}

fn crumb(c: &Value) -> Crumb {
    let (time, exact) = match c.get("timestamp") {
        Some(Value::Number(n)) => {
            let ms = (n.as_f64().unwrap_or(0.0) * 1000.0) as i64;
            let exact = timefmt::absolute(ms);
            (exact.get(11..19).unwrap_or_default().to_owned(), exact)
        }
        Some(Value::String(s)) => (s.get(11..19).unwrap_or(s.as_str()).to_owned(), s.clone()),
        _ => (String::new(), String::new()),
    };
    let category = [str_of(c, "category"), str_of(c, "type")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let mut message = str_of(c, "message");
    if message.is_empty() {
        if let Some(d) = c.get("data").filter(|d| !d.is_null()) {
            message = text(d);
        }
    }
    Crumb {
        time,
        exact,
        category,
        level: str_of(c, "level"),
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

impl EventView {
    /// Reads an event body; anything unreadable is left out.
    pub fn parse(body: &[u8]) -> EventView {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        EventView::from_value(&v)
    }

    /// Reads a parsed event body.
    pub fn from_value(v: &Value) -> EventView {
        let message = match (v.get("logentry"), v.get("message")) {
            (Some(l), _) if l.is_object() => {
                let f = str_of(l, "formatted");
                if f.is_empty() {
                    str_of(l, "message")
                } else {
                    f
                }
            }
            (_, Some(Value::String(s))) => s.clone(),
            (_, Some(m @ Value::Object(_))) => {
                let f = str_of(m, "formatted");
                if f.is_empty() {
                    str_of(m, "message")
                } else {
                    f
                }
            }
            _ => String::new(),
        };
        // The chain is sent innermost cause first; the page shows the outermost first.
        let exceptions: Vec<ExceptionView> = values(v.get("exception"))
            .iter()
            .rev()
            .map(|e| ExceptionView {
                ty: str_of(e, "type"),
                value: str_of(e, "value"),
                module: str_of(e, "module"),
                mechanism: mechanism(e.get("mechanism")),
                stack: stack(e.get("stacktrace")).unwrap_or_default(),
            })
            .collect();
        let threads = values(v.get("threads"))
            .iter()
            .filter_map(|t| {
                let stack = stack(t.get("stacktrace"))?;
                let name = [str_of(t, "name"), str_of(t, "id")]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or_else(|| "thread".to_owned());
                Some(ThreadView {
                    name,
                    crashed: t.get("crashed").and_then(Value::as_bool).unwrap_or(false),
                    stack,
                })
            })
            .collect();
        let contexts = v
            .get("contexts")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(name, c)| c.as_object().map(|c| section(name, c)))
                    .collect()
            })
            .unwrap_or_default();
        let request = v.get("request").filter(|r| r.is_object()).map(|r| {
            let data = r.get("data").map(text).unwrap_or_default();
            RequestView {
                method: str_of(r, "method"),
                url: str_of(r, "url"),
                query: query_pairs(r.get("query_string")),
                headers: pairs(r.get("headers"))
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if is_credential_header(&k) {
                            FILTERED.to_owned()
                        } else {
                            v
                        };
                        (k, v)
                    })
                    .collect(),
                data,
            }
        });
        let sdk = v
            .get("sdk")
            .map(|s| format!("{} {}", str_of(s, "name"), str_of(s, "version")))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        EventView {
            message,
            exceptions,
            threads,
            stack: stack(v.get("stacktrace")),
            breadcrumbs: values(v.get("breadcrumbs")).iter().map(crumb).collect(),
            contexts,
            request,
            user: pairs(v.get("user")),
            sdk,
            tags: pairs(v.get("tags")),
            release: str_of(v, "release"),
            environment: str_of(v, "environment"),
            extra: pairs(v.get("extra")),
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
        let e = EventView::from_value(&v);
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
        let e = EventView::from_value(&json!({"request": {"url": "https://a/", "headers": [
            ["Cookie", "session=secret"], ["authorization", "Bearer secret"],
            ["Proxy-Authorization", "Basic secret"], ["X-Api-Key", "secret"],
            ["Accept", "text/html"]]}}));
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
        let e = EventView::from_value(&json!({"exception": [{"type": "E"}], "message": 5,
            "threads": {"values": [{"id": 1, "crashed": true, "stacktrace": {"frames": [{}]}}]}}));
        assert_eq!(e.exceptions[0].ty, "E");
        assert!(!e.has_exception_frames());
        assert_eq!(e.threads[0].name, "1");
        assert_eq!(e.threads[0].stack.frames[0].function, "<unknown>");
    }
}
