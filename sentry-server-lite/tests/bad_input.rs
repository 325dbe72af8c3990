//! Bad input: each refusal has the right status and a `detail` that names the problem,
//! and nothing is stored.

mod common;

use std::io::Write;

use common::{envelope, new_id, request, TestServer};
use sentry_server_lite::store::RateLimit;

const EVENT: &str = r#"{"message":"hello","level":"error"}"#;

fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.limits.max_body_bytes = 64 * 1024;
        c.limits.max_decompressed_bytes = 1024 * 1024;
        c.limits.envelope.max_envelope_bytes = 1024 * 1024;
        c.limits.envelope.max_event_bytes = 100 * 1024;
    })
}

fn good_envelope() -> Vec<u8> {
    envelope(&format!(r#"{{"event_id":"{}"}}"#, new_id()), EVENT)
}

fn assert_refused(s: &TestServer, r: &common::Response, status: u16, detail_part: &str) {
    assert_eq!(r.status, status, "body: {}", r.text());
    let detail = r.detail();
    assert!(
        detail.to_lowercase().contains(&detail_part.to_lowercase()),
        "detail {detail:?} should mention {detail_part:?}"
    );
    assert!(r.header("x-sentry-error").is_some());
    assert_eq!(s.event_count(), 0, "nothing may be stored");
}

#[test]
fn key_problems() {
    let s = server();
    let path = s.envelope_path();
    let body = good_envelope();

    let r = request(s.addr, "POST", &path, &[], &body);
    assert_refused(&s, &r, 401, "missing authentication");

    let unknown = format!("Sentry sentry_key={}, sentry_version=7", "0".repeat(32));
    let r = request(s.addr, "POST", &path, &[("X-Sentry-Auth", &unknown)], &body);
    assert_refused(&s, &r, 403, "unknown public key");

    let other_team = s.store.create_team("other", "Other", None).expect("team");
    let other = s
        .store
        .create_project(other_team.id, "other", "Other", None)
        .expect("project");
    let other_key = s.store.create_key(other.id, "Default").expect("key");
    let auth = format!(
        "Sentry sentry_key={}, sentry_version=7",
        other_key.public_key
    );
    let r = request(s.addr, "POST", &path, &[("X-Sentry-Auth", &auth)], &body);
    assert_refused(&s, &r, 403, "another project");

    let revoked = s.store.create_key(s.project.id, "Old").expect("key");
    s.store.set_key_active(revoked.id, false).expect("revoke");
    let auth = format!("Sentry sentry_key={}, sentry_version=7", revoked.public_key);
    let r = request(s.addr, "POST", &path, &[("X-Sentry-Auth", &auth)], &body);
    assert_refused(&s, &r, 403, "revoked");

    let r = request(
        s.addr,
        "POST",
        &format!("{path}?sentry_key={}", other_key.public_key),
        &[("X-Sentry-Auth", &s.auth_header())],
        &body,
    );
    assert_refused(&s, &r, 401, "multiple authorization");

    let bad_secret = format!("{}, sentry_secret=wrong", s.auth_header());
    let r = request(
        s.addr,
        "POST",
        &path,
        &[("X-Sentry-Auth", &bad_secret)],
        &body,
    );
    assert_refused(&s, &r, 403, "secret");

    let dsn_other = format!("http://{}@h/{}", other_key.public_key, other.id);
    let r = s.post_envelope(&envelope(&format!(r#"{{"dsn":"{dsn_other}"}}"#), EVENT));
    assert_refused(&s, &r, 401, "does not match");

    let r = request(
        s.addr,
        "POST",
        "/api/abc/envelope/",
        &[("X-Sentry-Auth", &s.auth_header())],
        &body,
    );
    assert_refused(&s, &r, 400, "invalid project id");

    let future = format!("Sentry sentry_key={}, sentry_version=99", s.key.public_key);
    let r = request(s.addr, "POST", &path, &[("X-Sentry-Auth", &future)], &body);
    assert_refused(&s, &r, 400, "unsupported protocol version");

    // The same request with the right key is stored.
    assert_eq!(s.post_envelope(&body).status, 200);
    assert_eq!(s.event_count(), 1);
}

#[test]
fn malformed_envelopes() {
    let s = server();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"".to_vec(), 400, "empty envelope"),
        (b"not json\n".to_vec(), 400, "invalid envelope header"),
        (
            // Declares 500 bytes, has 35: truncated.
            format!("{{}}\n{{\"type\":\"event\",\"length\":500}}\n{EVENT}\n").into_bytes(),
            400,
            "truncated",
        ),
        (
            // Declares 10 bytes of a 35-byte payload: the next byte is not a newline.
            format!("{{}}\n{{\"type\":\"event\",\"length\":10}}\n{EVENT}\n").into_bytes(),
            400,
            "wrong length",
        ),
        (
            envelope("{}", r#"{"message": "unterminated"#),
            400,
            "item 0 (event)",
        ),
        (envelope("{}", r#"[1,2]"#), 400, "event"),
        (b"{}\n{\"length\":2}\n{}\n".to_vec(), 400, "no type"),
    ];
    for (body, status, detail) in cases {
        let r = s.post_envelope(&body);
        assert_refused(&s, &r, status, detail);
    }
    // A bad event after a good one: the whole envelope is refused, nothing stored.
    let mut two = good_envelope();
    two.extend_from_slice(b"{\"type\":\"event\",\"length\":3}\n{x}\n");
    assert_refused(&s, &s.post_envelope(&two), 400, "item 1 (event)");
    // An event one part of which does not read is not refused (issue #18): the part is
    // removed and recorded on the stored event.
    let r = s.post_envelope(&envelope("{}", r#"{"level": 42, "message": "odd level"}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.event_count(), 1);
}

#[test]
fn size_limits_and_encodings() {
    let s = server();
    let path = s.envelope_path();
    let auth = s.auth_header();

    // Over the body limit (64 KiB here).
    let big_message = "x".repeat(80 * 1024);
    let body = envelope("{}", &format!(r#"{{"message":"{big_message}"}}"#));
    let r = request(s.addr, "POST", &path, &[("X-Sentry-Auth", &auth)], &body);
    assert_refused(&s, &r, 413, "exceeds the limit");

    // An event item over the per-item limit (100 KiB), sent compressed under the body limit.
    let body = envelope(
        "{}",
        &format!(r#"{{"message":"{}"}}"#, "y".repeat(150 * 1024)),
    );
    let gz = gzip(&body);
    let r = request(
        s.addr,
        "POST",
        &path,
        &[("X-Sentry-Auth", &auth), ("Content-Encoding", "gzip")],
        &gz,
    );
    assert_refused(&s, &r, 413, "size limit");

    // A gzip bomb: 40 MiB of zeros in ~40 KiB; the decompressed cap is 1 MiB.
    let bomb = gzip_level(&vec![0u8; 40 * 1024 * 1024], flate2::Compression::best());
    assert!(bomb.len() < 64 * 1024);
    let r = request(
        s.addr,
        "POST",
        &path,
        &[("X-Sentry-Auth", &auth), ("Content-Encoding", "gzip")],
        &bomb,
    );
    assert_refused(&s, &r, 413, "decompressed body exceeds");

    // Corrupt gzip and an unknown encoding.
    let r = request(
        s.addr,
        "POST",
        &path,
        &[("X-Sentry-Auth", &auth), ("Content-Encoding", "gzip")],
        b"\x1f\x8bnope",
    );
    assert_refused(&s, &r, 400, "gzip");
    let r = request(
        s.addr,
        "POST",
        &path,
        &[("X-Sentry-Auth", &auth), ("Content-Encoding", "compress")],
        b"x",
    );
    assert_refused(&s, &r, 415, "unsupported content encoding");
}

#[test]
fn rate_limit_per_key() {
    let s = server();
    s.store
        .set_key_rate_limit(
            s.key.id,
            Some(RateLimit {
                count: 2,
                window_secs: 3600,
            }),
        )
        .expect("limit");
    assert_eq!(s.post_envelope(&good_envelope()).status, 200);
    assert_eq!(s.post_envelope(&good_envelope()).status, 200);
    let r = s.post_envelope(&good_envelope());
    assert_eq!(r.status, 429, "{}", r.text());
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("integer");
    assert!((1..=3600).contains(&retry));
    let limits = r
        .header("x-sentry-rate-limits")
        .expect("X-Sentry-Rate-Limits");
    assert_eq!(
        limits,
        format!("{retry}:error;default;security:key:key_quota")
    );
    assert!(r.detail().contains("rate limit"));
    assert_eq!(s.event_count(), 2, "the refused event is not stored");
    // Envelopes without events (sessions, client reports, unknown items) are limited
    // too, and told to hold back every category.
    let session = b"{}\n{\"type\":\"session\"}\n{\"started\":\"2020-02-07T14:16:00Z\"}\n";
    let r = s.post_envelope(session);
    assert_eq!(r.status, 429, "{}", r.text());
    let retry = r.header("retry-after").expect("Retry-After");
    assert_eq!(
        r.header("x-sentry-rate-limits"),
        Some(format!("{retry}::key:key_quota").as_str())
    );
    assert_eq!(
        s.post_envelope(b"{}\n").status,
        429,
        "an empty envelope too"
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_level(data, flate2::Compression::fast())
}

fn gzip_level(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

/// The latest stored event of the only issue, as the JSON API returns it.
fn latest_event(s: &TestServer) -> serde_json::Value {
    let issues = s.issues();
    let id = issues[0]["id"].as_str().expect("issue id").to_owned();
    s.api(&format!("/api/0/issues/{id}/events/latest/"))
}

#[test]
fn oversized_event_parts_are_trimmed_and_recorded() {
    // Quadratic inputs of old: 80,000 unmatched `<` in a function name, a fingerprint of
    // 20,000 `{{default}}`, 3,000 frames. They are cut to the documented caps, the event
    // is stored, and the API says what was cut.
    let s = TestServer::start();
    let frames: Vec<String> = (0..3000)
        .map(|i| format!(r#"{{"function":"f{i}","module":"m"}}"#))
        .collect();
    let fp = vec![r#""{{default}}""#; 20_000].join(",");
    let event = format!(
        r#"{{"exception":{{"values":[{{"type":"E","stacktrace":{{"frames":[{},{{"function":"{}"}}]}}}}]}},"fingerprint":[{fp}]}}"#,
        frames.join(","),
        "<".repeat(80_000)
    );
    let r = s.post_envelope(&envelope("{}", &event));
    assert_eq!(r.status, 200, "{}", r.text());
    let latest = latest_event(&s);
    let trimmed = &latest["trimmed"];
    assert_eq!(trimmed["frames"], 3001 - 250, "{trimmed}");
    assert_eq!(trimmed["fingerprint"], 20_000 - 64);
    assert_eq!(trimmed["strings"], 1);
    let stored_frames = &latest["data"]["exception"]["values"][0]["stacktrace"]["frames"];
    let stored_frames = stored_frames.as_array().expect("frames");
    assert_eq!(stored_frames.len(), 250);
    assert_eq!(stored_frames[0]["function"], "f0", "the outer end is kept");
    assert_eq!(
        stored_frames[249]["function"].as_str().map(str::len),
        Some(512),
        "the crashing end is kept, its name cut"
    );
    assert_eq!(
        latest["data"]["fingerprint"].as_array().map(Vec::len),
        Some(64)
    );

    // An event under the caps is stored as sent, with nothing recorded.
    let small = r#"{"message":"small","fingerprint":["a"]}"#;
    let r = s.post_envelope(&envelope("{}", small));
    assert_eq!(r.status, 200, "{}", r.text());
    let small_issue = s.issue_by_title("small");
    let id = small_issue["id"].as_str().expect("id").to_owned();
    let latest = s.api(&format!("/api/0/issues/{id}/events/latest/"));
    assert!(latest["trimmed"].is_null(), "{}", latest["trimmed"]);
}

#[test]
fn credentials_are_scrubbed_before_storing() {
    let s = TestServer::start();
    let event = r#"{"message":"scrub me","request":{"url":"https://h/p?access_token=SECRET-URL&q=1",
        "headers":{"Authorization":"Bearer SECRET-AUTH","Cookie":"sid=SECRET-COOKIE","X-Api-Key":"SECRET-APIKEY","User-Agent":"curl/8"},
        "cookies":{"sessionid":"SECRET-SESSION"},"data":{"password":"SECRET-PASSWORD","card":"4111 1111 1111 1111"},
        "query_string":"page=2&token=SECRET-QUERY"},
        "extra":{"api_key":"SECRET-EXTRA","note":"kept"},"contexts":{"db":{"db_password":"SECRET-CONTEXT"}},
        "breadcrumbs":[{"message":"login","data":{"auth_token":"SECRET-CRUMB"}}],
        "threads":[{"crashed":true,"stacktrace":{"frames":[{"function":"f","vars":{"secret":"SECRET-VAR","i":1}}]}}]}"#;
    let r = s.post_envelope(&envelope("{}", event));
    assert_eq!(r.status, 200, "{}", r.text());
    let latest = latest_event(&s);
    let text = latest.to_string();
    assert!(!text.contains("SECRET"), "a secret reached the API: {text}");
    assert!(!text.contains("4111 1111 1111 1111"), "{text}");
    assert!(text.contains("[Filtered]"));
    assert!(
        text.contains("curl/8") && text.contains("kept"),
        "other values stay: {text}"
    );
}

/// `data` zstd-compressed, then bytes that do not decode: a body whose whole
/// decompression fails, but whose first line reads.
fn zstd_with_garbage_tail(data: &[u8]) -> Vec<u8> {
    let mut body = zstd::bulk::compress(data, 3).expect("zstd");
    body.extend_from_slice(b"\x00not a zstd frame at all");
    body
}

#[test]
fn bodies_without_a_valid_key_are_not_decompressed() {
    let s = TestServer::start();
    let pid = s.project.id;
    let zstd = [("Content-Encoding", "zstd")];
    let path = format!("/api/{pid}/envelope/");
    // No key anywhere: refused after the header line, before the rest is inflated
    // (which would fail: the tail is garbage).
    let body =
        zstd_with_garbage_tail(format!("{{}}\n{{\"type\":\"event\"}}\n{EVENT}\n").as_bytes());
    let r = request(s.addr, "POST", &path, &zstd, &body);
    assert_refused(&s, &r, 401, "missing authentication");
    // A key named only in the envelope's dsn is checked first too.
    let header = format!(r#"{{"dsn":"http://0123456789abcdef0123456789abcdef@h/{pid}"}}"#);
    let body =
        zstd_with_garbage_tail(format!("{header}\n{{\"type\":\"event\"}}\n{EVENT}\n").as_bytes());
    let r = request(s.addr, "POST", &path, &zstd, &body);
    assert_refused(&s, &r, 403, "unknown public key");
    // A store body cannot name a key: without request credentials it is not decoded.
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{pid}/store/"),
        &[],
        b"%%% not base64 %%%",
    );
    assert_refused(&s, &r, 401, "missing authentication");

    // The blank-line bomb: 3 KB of zstd inflating to 64 MiB of newlines.
    let mut bomb = b"{}\n".to_vec();
    bomb.resize(64 * 1024 * 1024, b'\n');
    let compressed = zstd::bulk::compress(&bomb, 19).expect("zstd");
    drop(bomb);
    assert!(compressed.len() < 10_000, "{}", compressed.len());
    let r = request(s.addr, "POST", &path, &zstd, &compressed);
    assert_refused(&s, &r, 401, "missing authentication");
    // With a key it is inflated and refused at the first run of padding past the cap.
    let r = request(
        s.addr,
        "POST",
        &s.envelope_path(),
        &[("X-Sentry-Auth", &s.auth_header()), zstd[0]],
        &compressed,
    );
    assert_refused(&s, &r, 413, "blank bytes");
    // The server still answers everyone else.
    assert_eq!(s.post_envelope(&good_envelope()).status, 200);
}

#[test]
fn decoding_is_bounded_by_its_slots() {
    let s = TestServer::start_with(|c| c.limits.decode_wait = std::time::Duration::from_millis(50));
    // Every decode slot taken (as by slow bodies): a new body waits briefly, then 503.
    let held: Vec<_> = std::iter::from_fn(|| s.ingestor.decode.try_acquire()).collect();
    assert_eq!(held.len(), 4, "the default number of slots");
    // A body past the inline budget (64 KiB as sent) can only be decoded in a slot.
    let big_event = format!(
        r#"{{"message":"big","extra":{{"blob":"{}"}}}}"#,
        "x".repeat(100_000)
    );
    let big = envelope(&format!(r#"{{"event_id":"{}"}}"#, new_id()), &big_event);
    let r = s.post_envelope(&big);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.detail().contains("busy"), "{}", r.detail());
    assert_eq!(s.event_count(), 0, "nothing stored half-way");
    // Requests that decode nothing are still served.
    assert_eq!(request(s.addr, "GET", "/healthz", &[], b"").status, 200);
    // A small body from an authenticated sender is decoded inline, within its budget.
    assert_eq!(s.post_envelope(&good_envelope()).status, 200);
    drop(held);
    let r = s.post_envelope(&big);
    assert_eq!(r.status, 200, "{}", r.text());
}
