//! The event payload: [`Event`] and the interfaces it carries (exceptions, stack traces,
//! threads, breadcrumbs, user, request, SDK, debug meta).
//!
//! Every struct keeps unknown keys in `other`, so reading and writing an event from any
//! SDK loses nothing. Reading is lenient (see the `wire` module); use [`Event::from_slice`]
//! to get a [`EventError`] that names the path of a bad field.

use serde::de::{Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::lenient::Report;
use super::values::{Level, PairList, ThreadId, Timestamp, Values};
use super::wire::{protocol_struct, Wire};

/// An event that could not be read, with the JSON path of the offending field.
#[derive(Debug, thiserror::Error)]
#[error("invalid event at `{path}`: {message}")]
pub struct EventError {
    /// The path of the field, such as `exception.values[0].stacktrace.frames[2].lineno`
    /// (`.` for the top level).
    pub path: String,
    /// What was wrong.
    pub message: String,
}

/// Reads JSON into `T`, reporting the path of the first bad field.
pub(crate) fn from_slice_with_path<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, EventError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    #[cfg(feature = "error-paths")]
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| EventError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    #[cfg(not(feature = "error-paths"))]
    let value = T::deserialize(&mut *de).map_err(|e| EventError {
        path: ".".into(),
        message: e.to_string(),
    })?;
    de.end().map_err(|e| EventError {
        path: ".".into(),
        message: e.to_string(),
    })?;
    Ok(value)
}

protocol_struct! {
    /// An error or message event, the unit an SDK sends and a server groups.
    pub struct Event {
        /// Unique id (32 hex on the wire). Nil means "not set".
        event_id: Uuid = "event_id",
        /// When the event happened.
        timestamp: Option<Timestamp> = "timestamp",
        /// Transactions only: when the transaction started.
        start_timestamp: Option<Timestamp> = "start_timestamp",
        /// Platform, e.g. `native`, `python`, `node`. Servers default it to `other`.
        platform: Option<String> = "platform",
        /// Severity; servers default it to `error`.
        level: Option<Level> = "level",
        /// Logger name.
        logger: Option<String> = "logger",
        /// Route or task name; also the culprit fallback.
        transaction: Option<String> = "transaction",
        /// Host name.
        server_name: Option<String> = "server_name",
        /// Release, e.g. `app@1.2.3`.
        release: Option<String> = "release",
        /// Build variant of the release.
        dist: Option<String> = "dist",
        /// Environment, e.g. `production`.
        environment: Option<String> = "environment",
        /// The legacy message field: a string or a log entry object.
        message: Option<Message> = "message",
        /// Structured log message with template and parameters.
        logentry: Option<LogEntry> = "logentry",
        /// Exception chain, oldest first (the raised one last).
        exception: Values<Exception> = "exception",
        /// Threads (for `attach_stacktrace` on messages, crashes).
        threads: Values<Thread> = "threads",
        /// Breadcrumbs, oldest first.
        breadcrumbs: Values<Breadcrumb> = "breadcrumbs",
        /// Contexts by name (`os`, `runtime`, `device`, `trace`, ...).
        contexts: Map<String, Value> = "contexts",
        /// Tags, string to string.
        tags: PairList = "tags",
        /// Arbitrary extra data.
        extra: Map<String, Value> = "extra",
        /// The user the event happened to.
        user: Option<User> = "user",
        /// The HTTP request being handled.
        request: Option<Request> = "request",
        /// Grouping override; `{{ default }}` stands for the default grouping.
        fingerprint: Option<Vec<String>> = "fingerprint",
        /// Loaded packages and their versions.
        modules: Map<String, Value> = "modules",
        /// The SDK that sent the event.
        sdk: Option<Sdk> = "sdk",
        /// Debug images for native symbolication.
        debug_meta: Option<DebugMeta> = "debug_meta",
        /// Processing errors.
        errors: Vec<Value> = "errors",
        /// Deprecated culprit sent by some SDKs.
        culprit: Option<String> = "culprit",
        /// Event type: `error`, `default`, `transaction`, `csp`, ...
        ty: Option<String> = "type",
        /// Legacy top-level stack trace (old clients); servers treat it as a thread's.
        stacktrace: Option<Stacktrace> = "stacktrace",
        /// The template being rendered when the error happened (raven-era Django,
        /// Jinja2 and Rails clients).
        template: Option<Template> = "template",
        /// Transactions only.
        spans: Option<Value> = "spans",
        /// Transactions only.
        measurements: Option<Value> = "measurements",
    }
}

impl Event {
    /// A new event with a random id and the current time.
    pub fn new() -> Self {
        Event {
            event_id: super::span_id::random_uuid(),
            timestamp: Some(Timestamp::now()),
            ..Default::default()
        }
    }

    /// Reads an event from JSON bytes; a bad field is reported with its path.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EventError> {
        from_slice_with_path(bytes)
    }

    /// Reads an event that may hold odd data (a body stored long ago, by another
    /// version): never fails. Parts that do not read are left out of the typed fields;
    /// a struct field that does not read is kept as raw JSON in its struct's `other`
    /// (so that writing the event still gives back what was read). Bytes that are not a
    /// JSON object give an empty event. See [`Event::read_lenient`] for what a server
    /// reads at ingest (which also reports what it removed).
    pub fn from_slice_lenient(bytes: &[u8]) -> Event {
        if let Ok(event) = serde_json::from_slice::<Event>(bytes) {
            return event;
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => Event::from_value_lenient(value, super::lenient::Report::keeping())
                .map(|read| read.event)
                .unwrap_or_default(),
            Err(_) => Event::default(),
        }
    }

    /// Writes the event as compact JSON.
    pub fn to_json_vec(&self) -> Vec<u8> {
        // Serializing our own types into a Vec cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The level, defaulting to `error` as servers do.
    pub fn level_or_default(&self) -> Level {
        self.level.unwrap_or(Level::Error)
    }

    /// The human-readable message: `logentry.formatted`, else the message text, else the
    /// log entry template.
    pub fn message_text(&self) -> Option<&str> {
        fn from_entry(e: &LogEntry) -> Option<&str> {
            e.formatted.as_deref().or(e.message.as_deref())
        }
        self.logentry
            .as_ref()
            .and_then(from_entry)
            .or_else(|| match &self.message {
                Some(Message::Text(s)) => Some(s.as_str()),
                Some(Message::Entry(e)) => from_entry(e),
                None => None,
            })
    }
}

/// The `message` field: plain text (what most SDKs send) or a log entry object.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A plain message string.
    Text(String),
    /// A structured log entry.
    Entry(LogEntry),
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl Wire for Message {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Message;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a log entry object")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Message, E> {
                Ok(Message::Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Message, E> {
                Ok(Message::Text(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Message, A::Error> {
                LogEntry::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Message::Entry)
            }
        }
        d.deserialize_any(V)
    }
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Message::Text(t) => s.serialize_str(t),
            Message::Entry(e) => e.serialize(s),
        }
    }
    fn lenient(value: &Value, report: &mut Report) -> Option<Self> {
        match value {
            Value::Object(_) => LogEntry::lenient(value, report).map(Message::Entry),
            other => String::lenient(other, report).map(Message::Text),
        }
    }
}

protocol_struct! {
    /// A log message with its template and parameters.
    pub struct LogEntry {
        /// The template, with `%s` or `{}` placeholders.
        message: Option<String> = "message",
        /// Parameters, a list or an object.
        params: Option<Value> = "params",
        /// The final formatted text.
        formatted: Option<String> = "formatted",
    }
}

protocol_struct! {
    /// One exception of a chain.
    pub struct Exception {
        /// The exception's type name, e.g. `ValueError` or `ParseIntError`.
        ty: Option<String> = "type",
        /// The exception's message.
        value: Option<String> = "value",
        /// Module or package of the type.
        module: Option<String> = "module",
        /// The thread it was raised on.
        thread_id: Option<ThreadId> = "thread_id",
        /// How it was captured.
        mechanism: Option<Mechanism> = "mechanism",
        /// Where it was raised.
        stacktrace: Option<Stacktrace> = "stacktrace",
        /// The unprocessed stack trace, when `stacktrace` was rewritten.
        raw_stacktrace: Option<Stacktrace> = "raw_stacktrace",
    }
}

protocol_struct! {
    /// How an exception was captured.
    pub struct Mechanism {
        /// `generic` for explicit captures, `panic` for Rust panics, and so on.
        ty: Option<String> = "type",
        /// `false` when the exception crashed the program or reached a global handler.
        handled: Option<bool> = "handled",
        /// The type and value carry no meaning (group and title by location instead).
        synthetic: Option<bool> = "synthetic",
        /// Human description.
        description: Option<String> = "description",
        /// Documentation link.
        help_link: Option<String> = "help_link",
        /// Id in an exception tree.
        exception_id: Option<u64> = "exception_id",
        /// Parent id in an exception tree.
        parent_id: Option<u64> = "parent_id",
        /// Whether this is an exception group.
        is_exception_group: Option<bool> = "is_exception_group",
        /// Where in the parent it came from, e.g. `__cause__`.
        source: Option<String> = "source",
        /// Free-form data.
        data: Map<String, Value> = "data",
        /// OS-level information (signal, errno, ...).
        meta: Option<Value> = "meta",
    }
}

protocol_struct! {
    /// A stack trace, frames ordered caller first and the crashing frame last.
    pub struct Stacktrace {
        /// The frames.
        frames: Vec<Frame> = "frames",
        /// Register values.
        registers: Map<String, Value> = "registers",
        /// Language hint.
        lang: Option<String> = "lang",
        /// Frames omitted from the middle, as `[start, end]`.
        frames_omitted: Option<Value> = "frames_omitted",
    }
}

protocol_struct! {
    /// One stack frame.
    pub struct Frame {
        /// Function name (demangled, possibly shortened).
        function: Option<String> = "function",
        /// The original function name when `function` was shortened.
        raw_function: Option<String> = "raw_function",
        /// The mangled symbol.
        symbol: Option<String> = "symbol",
        /// Module path, e.g. `myapp::handlers`.
        module: Option<String> = "module",
        /// Package: crate, assembly or shared library.
        package: Option<String> = "package",
        /// Path relative to the project root.
        filename: Option<String> = "filename",
        /// Absolute path or URL.
        abs_path: Option<String> = "abs_path",
        /// 1-based line number.
        lineno: Option<u64> = "lineno",
        /// 1-based column number.
        colno: Option<u64> = "colno",
        /// Source lines before `lineno`.
        pre_context: Vec<String> = "pre_context",
        /// The source line at `lineno`.
        context_line: Option<String> = "context_line",
        /// Source lines after `lineno`.
        post_context: Vec<String> = "post_context",
        /// Whether the frame belongs to the application.
        in_app: Option<bool> = "in_app",
        /// Local variables.
        vars: Map<String, Value> = "vars",
        /// Instruction address, `0x` hex.
        instruction_addr: Option<String> = "instruction_addr",
        /// Symbol start address, `0x` hex.
        symbol_addr: Option<String> = "symbol_addr",
        /// Image base address, `0x` hex.
        image_addr: Option<String> = "image_addr",
        /// Address mode: `abs`, `rel:<index>`.
        addr_mode: Option<String> = "addr_mode",
        /// Per-frame platform.
        platform: Option<String> = "platform",
        /// Start of an async sub-trace.
        stack_start: Option<bool> = "stack_start",
        /// Link to the source.
        source_link: Option<String> = "source_link",
    }
}

protocol_struct! {
    /// The template and line being rendered when an error happened.
    pub struct Template {
        /// Template path relative to the template directory.
        filename: Option<String> = "filename",
        /// Absolute path of the template.
        abs_path: Option<String> = "abs_path",
        /// 1-based line number.
        lineno: Option<u64> = "lineno",
        /// Lines before `lineno`.
        pre_context: Vec<String> = "pre_context",
        /// The line at `lineno`.
        context_line: Option<String> = "context_line",
        /// Lines after `lineno`.
        post_context: Vec<String> = "post_context",
    }
}

protocol_struct! {
    /// A thread and, optionally, its stack.
    pub struct Thread {
        /// Thread id.
        id: Option<ThreadId> = "id",
        /// Thread name.
        name: Option<String> = "name",
        /// Whether this thread crashed.
        crashed: Option<bool> = "crashed",
        /// Whether this thread was the current one.
        current: Option<bool> = "current",
        /// Whether this is the main thread.
        main: Option<bool> = "main",
        /// Thread state.
        state: Option<String> = "state",
        /// Locks held.
        held_locks: Option<Value> = "held_locks",
        /// The thread's stack.
        stacktrace: Option<Stacktrace> = "stacktrace",
        /// The unprocessed stack.
        raw_stacktrace: Option<Stacktrace> = "raw_stacktrace",
    }
}

protocol_struct! {
    /// Something that happened before the event.
    pub struct Breadcrumb {
        /// When it happened.
        timestamp: Option<Timestamp> = "timestamp",
        /// `default`, `http`, `navigation`, `error`, `debug`, `query`, `ui`, `user`, `info`.
        ty: Option<String> = "type",
        /// Category, e.g. `ui.click` or a logger name.
        category: Option<String> = "category",
        /// Message.
        message: Option<String> = "message",
        /// Level; a missing level reads as the default, `info`.
        level: Level = "level",
        /// Data, e.g. `{url, method, status_code}` for `http`.
        data: Map<String, Value> = "data",
    }
}

impl Breadcrumb {
    /// A breadcrumb stamped with the current time.
    pub fn new() -> Self {
        Breadcrumb {
            timestamp: Some(Timestamp::now()),
            ..Default::default()
        }
    }
}

protocol_struct! {
    /// The user affected by the event.
    pub struct User {
        /// Application user id.
        id: Option<String> = "id",
        /// E-mail address.
        email: Option<String> = "email",
        /// User name.
        username: Option<String> = "username",
        /// IP address, or `{{auto}}` for the server to fill in.
        ip_address: Option<String> = "ip_address",
        /// Display name.
        name: Option<String> = "name",
        /// Geographic location.
        geo: Option<Value> = "geo",
        /// Extra user data.
        data: Map<String, Value> = "data",
    }
}

protocol_struct! {
    /// The HTTP request being handled when the event happened.
    pub struct Request {
        /// HTTP method.
        method: Option<String> = "method",
        /// URL (the query string may be in `query_string` instead).
        url: Option<String> = "url",
        /// Query string: a string, an object or a list of pairs.
        query_string: Option<Value> = "query_string",
        /// Request body.
        data: Option<Value> = "data",
        /// Cookies: a string, an object or a list of pairs.
        cookies: Option<Value> = "cookies",
        /// Headers.
        headers: PairList = "headers",
        /// CGI-style environment, e.g. `REMOTE_ADDR`.
        env: Map<String, Value> = "env",
        /// URL fragment.
        fragment: Option<String> = "fragment",
        /// Body size in bytes.
        body_size: Option<u64> = "body_size",
        /// API target, e.g. `graphql`.
        api_target: Option<String> = "api_target",
    }
}

protocol_struct! {
    /// The SDK that produced an event or envelope.
    pub struct Sdk {
        /// `entity.ecosystem[.flavor]`, e.g. `sentry.rust`.
        name: Option<String> = "name",
        /// Semver version.
        version: Option<String> = "version",
        /// Enabled integrations.
        integrations: Vec<String> = "integrations",
        /// Packages that make up the SDK.
        packages: Vec<SdkPackage> = "packages",
    }
}

protocol_struct! {
    /// A package of an SDK, e.g. `cargo:sentry-client`.
    pub struct SdkPackage {
        /// `source:identifier`.
        name: Option<String> = "name",
        /// Version.
        version: Option<String> = "version",
    }
}

protocol_struct! {
    /// Debug information for native symbolication.
    pub struct DebugMeta {
        /// Loaded images.
        images: Vec<DebugImage> = "images",
        /// SDK information.
        sdk_info: Option<Value> = "sdk_info",
    }
}

protocol_struct! {
    /// One loaded image (executable or library).
    pub struct DebugImage {
        /// `elf`, `macho`, `pe`, `symbolic`, ...
        ty: Option<String> = "type",
        /// Path of the image file.
        code_file: Option<String> = "code_file",
        /// Code identifier.
        code_id: Option<String> = "code_id",
        /// Debug identifier.
        debug_id: Option<String> = "debug_id",
        /// Debug file path.
        debug_file: Option<String> = "debug_file",
        /// Load address, `0x` hex.
        image_addr: Option<String> = "image_addr",
        /// Size in bytes.
        image_size: Option<u64> = "image_size",
        /// Preferred load address, `0x` hex.
        image_vmaddr: Option<String> = "image_vmaddr",
        /// CPU architecture.
        arch: Option<String> = "arch",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breadcrumb_level_defaults_to_info_and_round_trips() {
        let read = |raw: &str| serde_json::from_str::<Breadcrumb>(raw).expect(raw);
        let write = |b: &Breadcrumb| serde_json::to_string(b).expect("write");
        assert_eq!(Breadcrumb::default().level, Level::Info);
        assert_eq!(write(&Breadcrumb::default()), "{}");
        assert_eq!(read(r#"{"message":"m"}"#).level, Level::Info);
        assert_eq!(read(r#"{"level":null}"#).level, Level::Info);
        for raw in [
            r#"{"message":"m"}"#,
            r#"{"level":"info"}"#,
            r#"{"level":"warning"}"#,
            r#"{"level":null}"#,
        ] {
            assert_eq!(write(&read(raw)), raw);
        }
        let warn = Breadcrumb {
            level: Level::Warning,
            ..Default::default()
        };
        assert_eq!(write(&warn), r#"{"level":"warning"}"#);
        assert_eq!(Event::default().level_or_default(), Level::Error);
    }

    #[test]
    fn lenient_reading_keeps_what_reads_and_the_rest_raw() {
        let raw = br#"{"message":[5],"level":"warning","exception":[{"type":"E","stacktrace":7}],"user":"x"}"#;
        assert!(Event::from_slice(raw).is_err());
        let e = Event::from_slice_lenient(raw);
        assert_eq!(e.level, Some(Level::Warning));
        assert_eq!(e.exception.values[0].ty.as_deref(), Some("E"));
        assert_eq!(e.exception.values[0].other["stacktrace"], 7);
        assert!(e.message.is_none() && e.user.is_none());
        assert_eq!(e.other.get("message"), Some(&serde_json::json!([5])));
        let back: Value = serde_json::from_slice(&e.to_json_vec()).expect("json");
        assert_eq!(back, serde_json::from_slice::<Value>(raw).expect("json"));
        assert_eq!(Event::from_slice_lenient(b"not json"), Event::default());
        assert_eq!(Event::from_slice_lenient(b"[1]"), Event::default());
    }

    #[test]
    fn lenient_shapes() {
        let json = br#"{
            "event_id": "5C2D1B7E-9A4F-4E08-B3F1-C6A2D7E90B14",
            "timestamp": "2024-06-01T12:00:00.123456Z",
            "level": "warn",
            "message": {"message": "hi %s", "params": ["x"], "formatted": "hi x"},
            "exception": [{"type": "E", "stacktrace": {"frames": [{"lineno": "12"}]}}],
            "breadcrumbs": [{"timestamp": 1.5, "message": "b"}],
            "tags": [["k", "v"]],
            "user": null,
            "weird": {"kept": true}
        }"#;
        let e = Event::from_slice(json).expect("parse");
        assert_eq!(
            e.event_id.simple().to_string(),
            "5c2d1b7e9a4f4e08b3f1c6a2d7e90b14"
        );
        assert_eq!(e.level, Some(Level::Warning));
        assert_eq!(e.message_text(), Some("hi x"));
        assert_eq!(
            e.exception.values[0]
                .stacktrace
                .as_ref()
                .map(|s| s.frames[0].lineno),
            Some(Some(12))
        );
        assert_eq!(e.tags.get("k"), Some("v"));
        assert_eq!(e.user, None);
        assert_eq!(e.other["weird"]["kept"], Value::Bool(true));
    }

    #[test]
    fn bad_field_names_path() {
        let err = Event::from_slice(
            br#"{"exception":{"values":[{"stacktrace":{"frames":[{},{"lineno":"x"}]}}]}}"#,
        )
        .expect_err("bad lineno");
        assert_eq!(err.path, "exception.values[0].stacktrace.frames[1].lineno");
        let err = Event::from_slice(b"[1]").expect_err("not an object");
        assert_eq!(err.path, ".");
        let err = Event::from_slice(br#"{"level": 3}"#).expect_err("bad level");
        assert_eq!(err.path, "level");
    }
}
