//! Envelopes captured from the official SDKs (Python `sentry-sdk`, `@sentry/node` and the
//! `sentry` crate) by `scripts/gen-fixtures`: every one must parse, keep every field
//! through a parse → write → parse round trip, and yield the fields a server needs
//! through the typed model.
//!
//! Expected line numbers are looked up in the case programs under `scripts/fixtures/`
//! (and `examples/official_sentry_fixtures.rs`), so editing a case without regenerating
//! the fixtures fails here.

use std::io::Read;
use std::path::{Path, PathBuf};

use sentry_client::protocol::encoding::{decoder, decompress};
use sentry_client::protocol::{
    Auth, ContentEncoding, DecodeError, Envelope, EnvelopeHeaders, EnvelopeReader, Event,
    Exception, Frame, ItemHeaders, ItemType, Level, Limits, Message, Stacktrace,
};
use serde_json::Value;

const CASES: &[(&str, &str)] = &[
    ("python", "message"),
    ("python", "error"),
    ("python", "unhandled"),
    ("python", "gzipped"),
    ("node", "message"),
    ("node", "error"),
    ("node", "unhandled"),
    ("node", "session"),
    ("node", "large"),
    ("rust", "message"),
    ("rust", "error"),
    ("rust", "panic"),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate lives in the workspace")
        .to_path_buf()
}

fn fixture_bytes(sdk: &str, case: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sdk)
        .join(format!("{case}.envelope"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The 1-based number of the first line of `file` (relative to the repo root) that
/// contains `needle`.
fn line_of(file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(repo_root().join(file)).expect("case source");
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {file}"));
    index as u64 + 1
}

/// One line or payload of an envelope, as split by an independent minimal splitter.
struct RawItem {
    header: Value,
    payload: Vec<u8>,
}

/// Splits a well-formed envelope without our reader, as an oracle for it.
fn split(bytes: &[u8]) -> (Value, Vec<RawItem>) {
    let line_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| from + p)
    };
    let end = line_end(0);
    let header: Value = serde_json::from_slice(&bytes[..end]).expect("envelope header");
    let mut items = Vec::new();
    let mut pos = end + 1;
    while pos < bytes.len() {
        let end = line_end(pos);
        let item_header: Value = serde_json::from_slice(&bytes[pos..end]).expect("item header");
        let start = end + 1;
        let stop = match item_header.get("length").and_then(Value::as_u64) {
            Some(len) => start + len as usize,
            None => line_end(start.min(bytes.len())),
        };
        items.push(RawItem {
            header: item_header,
            payload: bytes[start.min(bytes.len())..stop].to_vec(),
        });
        pos = stop + 1;
    }
    (header, items)
}

/// A reader that hands out at most `step` bytes per call, to exercise the streaming path.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The paths at which two JSON values differ (object key order does not matter).
fn json_diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => json_diff(v, w, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: only on the left ({v})")),
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    out.push(format!("{path}.{k}: only on the right ({w})"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                json_diff(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} != {b}")),
    }
}

/// Asserts JSON equality, listing every differing path on failure.
fn assert_json_eq(written: &Value, original: &Value, ctx: &str) {
    let mut diffs = Vec::new();
    json_diff(written, original, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{ctx}: written (left) differs from original (right):\n{}",
        diffs.join("\n")
    );
    assert_eq!(written, original, "{ctx}");
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn parse(sdk: &str, case: &str) -> Envelope {
    Envelope::from_slice(&fixture_bytes(sdk, case), &Limits::default())
        .unwrap_or_else(|e| panic!("{sdk}/{case}: {e}"))
}

fn event_of(sdk: &str, case: &str) -> (Envelope, Event) {
    let envelope = parse(sdk, case);
    let event = envelope
        .event()
        .unwrap_or_else(|| panic!("{sdk}/{case}: no event item"))
        .unwrap_or_else(|e| panic!("{sdk}/{case}: {e}"));
    (envelope, event)
}

/// Rebuilds the envelope through the typed model: every header and every event payload
/// is written from its parsed form.
fn rewrite_typed(envelope: &Envelope) -> Vec<u8> {
    let mut out = envelope.clone();
    for item in &mut out.items {
        if matches!(item.headers.ty, ItemType::Event | ItemType::Transaction) {
            let event = item.event().expect("event payload");
            item.payload = event.to_json_vec();
        }
    }
    out.to_vec()
}

#[test]
fn every_fixture_is_committed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found = Vec::new();
    for sdk in ["python", "node", "rust"] {
        for entry in std::fs::read_dir(dir.join(sdk)).expect("fixture dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8");
            if let Some(case) = name.strip_suffix(".envelope") {
                found.push((sdk.to_owned(), case.to_owned()));
            }
        }
    }
    found.sort();
    let mut expected: Vec<(String, String)> = CASES
        .iter()
        .map(|(s, c)| (s.to_string(), c.to_string()))
        .collect();
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn reader_agrees_with_an_independent_splitter() {
    for &(sdk, case) in CASES {
        let bytes = fixture_bytes(sdk, case);
        let envelope = parse(sdk, case);
        let (header, raw) = split(&bytes);
        assert_eq!(
            serde_json::to_value(&envelope.headers).expect("headers"),
            header,
            "{sdk}/{case}"
        );
        assert_eq!(envelope.items.len(), raw.len(), "{sdk}/{case}");
        for (item, raw) in envelope.items.iter().zip(&raw) {
            assert_eq!(item.payload, raw.payload, "{sdk}/{case}");
            assert_eq!(
                serde_json::to_value(&item.headers).expect("item headers"),
                raw.header,
                "{sdk}/{case}"
            );
        }
        // Streaming in small pieces gives the same envelope.
        for step in [1, 7, 4096] {
            let streamed = EnvelopeReader::new(Trickle { data: &bytes, step }, Limits::default())
                .and_then(EnvelopeReader::read_all)
                .unwrap_or_else(|e| panic!("{sdk}/{case} step {step}: {e}"));
            assert_eq!(streamed, envelope, "{sdk}/{case} step {step}");
        }
    }
}

#[test]
fn every_fixture_round_trips_at_the_json_level() {
    for &(sdk, case) in CASES {
        let original = fixture_bytes(sdk, case);
        let envelope = parse(sdk, case);
        let (orig_header, orig_items) = split(&original);

        for (what, written) in [
            ("raw write", envelope.to_vec()),
            ("typed write", rewrite_typed(&envelope)),
        ] {
            let ctx = format!("{sdk}/{case} {what}");
            let reparsed = Envelope::from_slice(&written, &Limits::default())
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let (header, items) = split(&written);
            assert_json_eq(&header, &orig_header, &format!("{ctx}: envelope header"));
            assert_eq!(items.len(), orig_items.len(), "{ctx}: item count");
            for (i, (new, old)) in items.iter().zip(&orig_items).enumerate() {
                // `length` is the byte length of what was written, so it can only be
                // compared with the payload it describes; everything else must be equal.
                let strip = |v: &Value| {
                    let mut v = v.clone();
                    v.as_object_mut().map(|m| m.remove("length"));
                    v
                };
                assert_json_eq(
                    &strip(&new.header),
                    &strip(&old.header),
                    &format!("{ctx}: item {i} header"),
                );
                assert_eq!(
                    new.header.get("length").is_some(),
                    old.header.get("length").is_some(),
                    "{ctx}: item {i} keeps its length form"
                );
                if let Some(len) = new.header.get("length").and_then(Value::as_u64) {
                    assert_eq!(len as usize, new.payload.len(), "{ctx}: item {i} length");
                }
                assert_json_eq(
                    &json(&new.payload),
                    &json(&old.payload),
                    &format!("{ctx}: item {i} payload"),
                );
            }
            // And the typed model reads the written form back to the same values.
            assert_eq!(reparsed.headers, envelope.headers, "{ctx}");
            for (new, old) in reparsed.items.iter().zip(&envelope.items) {
                assert_eq!(new.headers.ty, old.headers.ty, "{ctx}");
                if new.headers.ty == ItemType::Event {
                    assert_eq!(new.event().expect("event"), old.event().expect("event"));
                }
            }
        }

        // Header types alone round-trip too.
        let h: EnvelopeHeaders = serde_json::from_value(orig_header.clone()).expect("headers");
        assert_eq!(
            serde_json::to_value(&h).expect("write"),
            orig_header,
            "{sdk}/{case}"
        );
        for raw in &orig_items {
            let h: ItemHeaders = serde_json::from_value(raw.header.clone()).expect("item");
            assert_eq!(serde_json::to_value(&h).expect("write"), raw.header);
        }
    }
}

#[test]
fn recorded_requests_authenticate_and_name_their_encoding() {
    for &(sdk, case) in CASES {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(sdk)
            .join(format!("{case}.headers.json"));
        let sidecar: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("sidecar")).expect("sidecar JSON");
        let header = |name: &str| {
            sidecar["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .find(|pair| {
                    pair[0]
                        .as_str()
                        .is_some_and(|k| k.eq_ignore_ascii_case(name))
                })
                .and_then(|pair| pair[1].as_str())
        };
        let request_path = sidecar["path"].as_str().expect("path");
        let (route, query) = request_path.split_once('?').unwrap_or((request_path, ""));
        assert_eq!(route, "/api/42/envelope/", "{sdk}/{case}");
        // Python and Rust authenticate with the header, @sentry/node in the query string.
        let auth = match header("x-sentry-auth") {
            Some(value) => Auth::from_header(value),
            None => Auth::from_query(query),
        }
        .unwrap_or_else(|e| panic!("{sdk}/{case}: {e}"));
        assert_eq!(auth.key, "a3f1c2d4e5b60718293a4b5c6d7e8f90", "{sdk}/{case}");
        assert_eq!(auth.version, 7);
        let client = auth.client.expect("sentry_client");
        let expected = match sdk {
            "python" => "sentry.python/",
            "node" => "sentry.javascript.node/",
            _ => "sentry.rust/",
        };
        assert!(client.starts_with(expected), "{sdk}/{case}: {client}");
        // The recorded Content-Encoding is one we decode: sentry-python sends br (gzip
        // without brotli), @sentry/node gzips bodies over 32 KiB, sentry-rust never
        // compresses.
        let encoding = header("content-encoding").unwrap_or("");
        let encoding = ContentEncoding::from_header(encoding).expect("supported encoding");
        let expected = match (sdk, case) {
            ("python", "gzipped") | ("node", "large") => ContentEncoding::Gzip,
            ("python", _) => ContentEncoding::Brotli,
            _ => ContentEncoding::Identity,
        };
        assert_eq!(encoding, expected, "{sdk}/{case}");
        if encoding != ContentEncoding::Identity {
            // The body as it came over the wire decodes to the envelope, also streamed,
            // and not one byte more than the cap is produced.
            let body_path = path.with_file_name(format!("{case}.body.{}", encoding.as_str()));
            let body = std::fs::read(&body_path).expect("compressed body");
            let envelope = fixture_bytes(sdk, case);
            let decoded = decompress(encoding, &body, envelope.len()).expect("decode");
            assert_eq!(decoded, envelope, "{sdk}/{case}");
            assert!(matches!(
                decompress(encoding, &body, envelope.len() - 1),
                Err(DecodeError::TooLarge { .. })
            ));
            let streamed = EnvelopeReader::new(decoder(encoding, &body), Limits::default())
                .and_then(EnvelopeReader::read_all)
                .expect("streamed decode");
            assert_eq!(streamed, parse(sdk, case));
        }
    }
}

// --- per-case checks through the typed model ---------------------------------------------

fn frame<'a>(stacktrace: Option<&'a Stacktrace>, function: &str) -> &'a Frame {
    stacktrace
        .expect("a stack trace")
        .frames
        .iter()
        .find(|f| f.function.as_deref() == Some(function))
        .unwrap_or_else(|| panic!("no frame for {function}"))
}

fn assert_exception(e: &Exception, ty: &str, value: &str) {
    assert_eq!(e.ty.as_deref(), Some(ty));
    assert_eq!(e.value.as_deref(), Some(value));
}

fn assert_mechanism(e: &Exception, ty: &str, handled: bool) {
    let m = e.mechanism.as_ref().expect("mechanism");
    assert_eq!(m.ty.as_deref(), Some(ty));
    assert_eq!(m.handled, Some(handled));
}

/// What every case of every SDK carries: ids, SDK, user, tags, breadcrumbs, contexts,
/// extra and the request.
fn assert_common(envelope: &Envelope, event: &Event, sdk_name: &str, platform: &str) {
    // Python and Node send 32 hex digits, the Rust SDK the dashed form: both normalize.
    assert!(!event.event_id.is_nil());
    assert_eq!(envelope.headers.event_uuid(), Some(event.event_id));
    assert_eq!(
        event.sdk.as_ref().and_then(|s| s.name.as_deref()),
        Some(sdk_name)
    );
    assert_eq!(event.platform.as_deref(), Some(platform));
    assert_eq!(event.release.as_deref(), Some("fixtures@1.0.0"));
    assert_eq!(event.environment.as_deref(), Some("fixtures"));
    assert_eq!(event.server_name.as_deref(), Some("fixture-host"));
    // Captured in the 2020s, whatever form the timestamp came in.
    let ts = event.timestamp.as_ref().expect("timestamp").as_unix();
    assert!((1.6e9..2.2e9).contains(&ts), "timestamp {ts}");

    let user = event.user.as_ref().expect("user");
    assert_eq!(user.id.as_deref(), Some("42"));
    assert_eq!(user.email.as_deref(), Some("jane@example.com"));
    assert_eq!(user.username.as_deref(), Some("jane"));

    assert_eq!(event.tags.get("tenant"), Some("acme"));
    assert_eq!(event.tags.get("feature"), Some("checkout"));
    assert_eq!(event.contexts["order"]["id"], 1001);
    assert_eq!(event.extra["cart_size"], 3);

    let crumbs = &event.breadcrumbs.values;
    assert_eq!(crumbs.len(), 2, "{sdk_name}: breadcrumbs");
    assert_eq!(crumbs[0].category.as_deref(), Some("auth"));
    assert_eq!(crumbs[0].message.as_deref(), Some("user logged in"));
    // Info is the default level; the Rust SDK leaves it out, and it reads as info.
    assert_eq!(crumbs[0].level, Level::Info);
    assert_eq!(crumbs[1].ty.as_deref(), Some("http"));
    assert_eq!(crumbs[1].data["status_code"], 200);
    assert!(crumbs.iter().all(|c| c.timestamp.is_some()));

    let request = event.request.as_ref().expect("request");
    assert_eq!(request.method.as_deref(), Some("POST"));
    assert_eq!(
        request.url.as_deref(),
        Some("http://shop.example/api/orders")
    );
    assert_eq!(request.query_string, Some(Value::from("page=2&sort=desc")));
    assert_eq!(
        request.headers.get_ignore_case("user-agent"),
        Some("fixture-agent/1.0")
    );
    assert_eq!(request.env["REMOTE_ADDR"], "192.0.2.10");
    assert!(request.data.is_some());
}

#[test]
fn python_message() {
    let (envelope, event) = event_of("python", "message");
    assert_common(&envelope, &event, "sentry.python", "python");
    assert_eq!(event.message_text(), Some("order 1001 could not be priced"));
    assert!(matches!(event.message, Some(Message::Text(_))));
    assert_eq!(event.level, Some(Level::Warning));
    assert!(event.exception.is_empty());
    // sentry-python: RFC 3339 timestamps, `sent_at` in the header, content types.
    assert!(envelope.headers.sent_at.is_some());
    let item = envelope.item(&ItemType::Event).expect("event item");
    assert_eq!(
        item.headers.content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(item.headers.length, Some(item.payload.len() as u64));
    assert_eq!(
        event
            .request
            .as_ref()
            .expect("req")
            .data
            .as_ref()
            .expect("data")["qty"],
        3
    );
}

#[test]
fn python_gzipped_message() {
    let (envelope, event) = event_of("python", "gzipped");
    assert_common(&envelope, &event, "sentry.python", "python");
    assert_eq!(event.message_text(), Some("order 1001 could not be priced"));
}

#[test]
fn python_error_with_cause_chain() {
    let (envelope, event) = event_of("python", "error");
    assert_common(&envelope, &event, "sentry.python", "python");
    let chain = &event.exception.values;
    assert_eq!(chain.len(), 2, "cause first, raised exception last");
    assert_exception(
        &chain[0],
        "ValueError",
        "invalid literal for int() with base 10: 'three'",
    );
    assert_exception(&chain[1], "RuntimeError", "order 1001 has a bad quantity");
    assert_mechanism(&chain[1], "generic", true);

    let file = "scripts/fixtures/python/error.py";
    let f = frame(chain[0].stacktrace.as_ref(), "parse_quantity");
    assert_eq!(f.module.as_deref(), Some("__main__"));
    assert_eq!(f.filename.as_deref(), Some("error.py"));
    assert_eq!(f.lineno, Some(line_of(file, "return int(text)")));
    assert_eq!(f.in_app, Some(true));
    assert_eq!(f.context_line.as_deref(), Some("    return int(text)"));
    assert_eq!(f.vars["text"], "'three'");

    let f = frame(chain[1].stacktrace.as_ref(), "load_order");
    assert_eq!(f.lineno, Some(line_of(file, "raise RuntimeError")));
    assert_eq!(f.in_app, Some(true));
    assert!(f
        .abs_path
        .as_deref()
        .is_some_and(|p| p.ends_with("/error.py")));
}

#[test]
fn python_unhandled_exception() {
    let (envelope, event) = event_of("python", "unhandled");
    assert_common(&envelope, &event, "sentry.python", "python");
    let chain = &event.exception.values;
    assert_eq!(chain.len(), 1);
    assert_exception(
        &chain[0],
        "OverflowError",
        "amount 99.5 exceeds the card limit",
    );
    assert_mechanism(&chain[0], "excepthook", false);
    let f = frame(chain[0].stacktrace.as_ref(), "charge");
    assert_eq!(f.module.as_deref(), Some("__main__"));
    assert_eq!(f.filename.as_deref(), Some("unhandled.py"));
    assert_eq!(
        f.lineno,
        Some(line_of(
            "scripts/fixtures/python/unhandled.py",
            "raise OverflowError"
        ))
    );
    assert_eq!(f.in_app, Some(true));
    // The crashing frame is last.
    let frames = &chain[0].stacktrace.as_ref().expect("st").frames;
    assert_eq!(
        frames.last().and_then(|f| f.function.as_deref()),
        Some("charge")
    );
}

#[test]
fn node_message() {
    let (envelope, event) = event_of("node", "message");
    assert_common(&envelope, &event, "sentry.javascript.node", "node");
    assert_eq!(event.message_text(), Some("order 1001 could not be priced"));
    assert_eq!(event.level, Some(Level::Warning));
    // @sentry/node puts its SDK in the envelope header too, and sends the event item
    // without `length` (newline-terminated).
    assert_eq!(
        envelope
            .headers
            .sdk
            .as_ref()
            .and_then(|s| s.version.as_deref()),
        Some("11.12.0")
    );
    let item = envelope.item(&ItemType::Event).expect("event item");
    assert_eq!(item.headers.length, None);
    // It attaches a synthetic exception holding the call site.
    let synthetic = &event.exception.values[0];
    assert_eq!(
        synthetic.mechanism.as_ref().and_then(|m| m.synthetic),
        Some(true)
    );
    let f = frame(synthetic.stacktrace.as_ref(), "Object.?");
    assert_eq!(
        f.lineno,
        Some(line_of(
            "scripts/fixtures/node/message.cjs",
            "Sentry.captureMessage("
        ))
    );
    // Bare lists: breadcrumbs arrive as `[...]` and are written back that way.
    assert!(event.breadcrumbs.bare);
}

#[test]
fn node_error_with_cause_chain() {
    let (envelope, event) = event_of("node", "error");
    assert_common(&envelope, &event, "sentry.javascript.node", "node");
    let chain = &event.exception.values;
    assert_eq!(chain.len(), 2);
    assert_exception(&chain[0], "TypeError", "not a number: three");
    assert_exception(&chain[1], "Error", "order 1001 has a bad quantity");
    assert_mechanism(&chain[1], "generic", true);
    let cause = chain[0].mechanism.as_ref().expect("mechanism");
    assert_eq!(cause.ty.as_deref(), Some("chained"));
    assert_eq!(cause.source.as_deref(), Some("cause"));
    assert_eq!((cause.exception_id, cause.parent_id), (Some(1), Some(0)));

    let file = "scripts/fixtures/node/error.cjs";
    let f = frame(chain[0].stacktrace.as_ref(), "parseQuantity");
    assert_eq!(f.module.as_deref(), Some("error"));
    assert!(f
        .filename
        .as_deref()
        .is_some_and(|p| p.ends_with("/error.cjs")));
    assert_eq!(f.lineno, Some(line_of(file, "throw new TypeError")));
    assert!(f.colno.is_some());
    assert_eq!(f.in_app, Some(true));
    let f = frame(chain[1].stacktrace.as_ref(), "loadOrder");
    assert_eq!(f.lineno, Some(line_of(file, "throw new Error")));
    // Node internals are not in-app.
    let internal = frame(chain[1].stacktrace.as_ref(), "Module._compile");
    assert_eq!(internal.in_app, Some(false));
}

#[test]
fn node_unhandled_exception() {
    let (envelope, event) = event_of("node", "unhandled");
    assert_common(&envelope, &event, "sentry.javascript.node", "node");
    assert_eq!(event.level, Some(Level::Fatal));
    let chain = &event.exception.values;
    assert_eq!(chain.len(), 1);
    assert_exception(
        &chain[0],
        "RangeError",
        "amount 99.5 exceeds the card limit",
    );
    assert_mechanism(&chain[0], "auto.node.onuncaughtexception", false);
    let f = frame(chain[0].stacktrace.as_ref(), "charge");
    assert_eq!(f.module.as_deref(), Some("unhandled"));
    assert_eq!(
        f.lineno,
        Some(line_of(
            "scripts/fixtures/node/unhandled.cjs",
            "throw new RangeError"
        ))
    );
    assert_eq!(f.in_app, Some(true));
}

#[test]
fn node_large_gzipped_event() {
    let (envelope, event) = event_of("node", "large");
    assert_common(&envelope, &event, "sentry.javascript.node", "node");
    assert_eq!(event.message_text(), Some("order 1001 could not be priced"));
    let blob = event.extra["blob"].as_str().expect("blob");
    assert_eq!(blob.len(), 48 * 1024);
    assert!(blob.starts_with("0123456789abcdef"));
}

#[test]
fn node_session_envelope() {
    let envelope = parse("node", "session");
    assert_eq!(envelope.headers.event_id, None);
    assert!(envelope.headers.sent_at.is_some());
    assert_eq!(envelope.items.len(), 1);
    let item = &envelope.items[0];
    assert_eq!(item.headers.ty, ItemType::Session);
    assert_eq!(item.headers.length, None, "implicit length");
    let session = json(&item.payload);
    assert_eq!(session["did"], "42");
    assert_eq!(session["attrs"]["release"], "fixtures@1.0.0");
    assert!(envelope.event().is_none());
}

#[test]
fn rust_message() {
    let (envelope, event) = event_of("rust", "message");
    assert_common(&envelope, &event, "sentry.rust", "native");
    assert_eq!(event.message_text(), Some("order 1001 could not be priced"));
    assert_eq!(event.level, Some(Level::Warning));
    // sentry-rust: dashed id in the header, 32 hex in the payload, float timestamps,
    // `length` but no content type.
    let header_id = envelope.headers.event_id.as_deref().expect("header id");
    assert_eq!(header_id.len(), 36);
    assert_eq!(
        header_id.replace('-', ""),
        event.event_id.simple().to_string()
    );
    let item = envelope.item(&ItemType::Event).expect("event item");
    assert_eq!(item.headers.content_type, None);
    assert!(item.headers.length.is_some());
    assert_eq!(event.contexts["os"]["type"], "os");
}

#[test]
fn rust_error_with_source_chain() {
    let (envelope, event) = event_of("rust", "error");
    assert_common(&envelope, &event, "sentry.rust", "native");
    let chain = &event.exception.values;
    assert_eq!(chain.len(), 2, "source first, outer error last");
    assert_exception(&chain[0], "ParseIntError", "invalid digit found in string");
    assert_exception(&chain[1], "QuantityError", "order 1001 has a bad quantity");
    // capture_error has no backtrace of its own; attach_stacktrace adds the thread's.
    let thread = &event.threads.values[0];
    assert_eq!(thread.current, Some(true));
    assert_eq!(thread.name.as_deref(), Some("main"));
    let f = frame(thread.stacktrace.as_ref(), "official_sentry_fixtures::main");
    assert_eq!(f.package.as_deref(), Some("official_sentry_fixtures"));
    assert_eq!(f.filename.as_deref(), Some("official_sentry_fixtures.rs"));
    assert_eq!(
        f.lineno,
        Some(line_of(
            "sentry-client/examples/official_sentry_fixtures.rs",
            "sentry::capture_error(&e);"
        ))
    );
    assert_eq!(f.in_app, Some(true));
    assert!(f
        .instruction_addr
        .as_deref()
        .is_some_and(|a| a.starts_with("0x")));
}

#[test]
fn rust_panic() {
    let (envelope, event) = event_of("rust", "panic");
    assert_common(&envelope, &event, "sentry.rust", "native");
    assert_eq!(event.level, Some(Level::Fatal));
    let chain = &event.exception.values;
    assert_eq!(chain.len(), 1);
    assert_exception(&chain[0], "panic", "amount 99.5 exceeds the card limit");
    assert_mechanism(&chain[0], "panic", false);
    let st = chain[0].stacktrace.as_ref();
    let f = frame(st, "official_sentry_fixtures::charge");
    assert_eq!(f.package.as_deref(), Some("official_sentry_fixtures"));
    assert!(f
        .abs_path
        .as_deref()
        .is_some_and(|p| p.ends_with("sentry-client/examples/official_sentry_fixtures.rs")));
    assert_eq!(
        f.lineno,
        Some(line_of(
            "sentry-client/examples/official_sentry_fixtures.rs",
            "panic!(\"amount"
        ))
    );
    assert_eq!(f.in_app, Some(true));
    let std_frame = frame(st, "std::rt::lang_start");
    assert_eq!(std_frame.in_app, Some(false));
}
