//! Envelopes captured from the official SDKs, checked field by field through the typed
//! model (one test per case); see `fixtures.rs` for how they are made and the round
//! trips.

use sentry_client::protocol::{
    Envelope, Event, Exception, Frame, ItemType, Level, Message, Stacktrace,
};
use serde_json::Value;

mod fixture_support;
use fixture_support::{event_of, json, line_of, parse};

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
