//! Every accepted form of ingestion: auth sources, endpoints, encodings, CORS, UDP,
//! duplicates, non-event items; plus health, metrics and API pagination.

mod common;

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use common::{envelope, new_id, request, wait_for, TestServer};

fn message_event(id: &str, msg: &str) -> String {
    format!(r#"{{"event_id":"{id}","message":"{msg}","level":"warning","platform":"python"}}"#)
}

#[test]
fn auth_sources_and_endpoints() {
    let s = TestServer::start();
    let key = s.key.public_key.clone();
    let pid = s.project.id;

    // X-Sentry-Auth, dashed event id in the header (as sentry-rust writes it).
    let id = uuid::Uuid::new_v4();
    let r = s.post_envelope(&envelope(
        &format!(r#"{{"event_id":"{}"}}"#, id.hyphenated()),
        &message_event(&id.simple().to_string(), "a"),
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], id.simple().to_string());

    // Query string, without a trailing slash.
    let id = new_id();
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{pid}/envelope?sentry_key={key}&sentry_version=7&sentry_client=x%2F1"),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        &envelope("{}", &message_event(&id, "b")),
    );
    assert_eq!(
        (r.status, r.json()["id"].as_str()),
        (200, Some(id.as_str()))
    );

    // The envelope's own dsn (tunnel style), no HTTP auth.
    let id = new_id();
    let header = format!(r#"{{"event_id":"{id}","dsn":"http://{key}@example.com/{pid}"}}"#);
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{pid}/envelope/"),
        &[],
        &envelope(&header, &message_event(&id, "c")),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Authorization: Basic and Authorization: Sentry.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    let r = request(
        s.addr,
        "POST",
        &s.envelope_path(),
        &[("Authorization", &format!("Basic {basic}"))],
        &envelope("{}", &message_event(&new_id(), "d")),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(
        s.addr,
        "POST",
        &s.envelope_path(),
        &[("Authorization", &s.auth_header())],
        &envelope("{}", &message_event(&new_id(), "e")),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Legacy store endpoint: raw JSON, base64(zlib(json)) and zlib with Content-Encoding: deflate.
    let id = new_id();
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{pid}/store/"),
        &[("X-Sentry-Auth", &s.auth_header())],
        message_event(&id, "f").as_bytes(),
    );
    assert_eq!(
        (r.status, r.json()["id"].as_str()),
        (200, Some(id.as_str()))
    );
    let zlib = zlib(message_event(&new_id(), "g").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&zlib);
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{pid}/store"),
        &[("X-Sentry-Auth", &s.auth_header())],
        b64.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let zlib = self::zlib(message_event(&new_id(), "h").as_bytes());
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{pid}/store/"),
        &[
            ("X-Sentry-Auth", &s.auth_header()),
            ("Content-Encoding", "deflate"),
        ],
        &zlib,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // A store body without event_id gets one.
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{pid}/store/"),
        &[("X-Sentry-Auth", &s.auth_header())],
        br#"{"message":"i"}"#,
    );
    assert_eq!(r.json()["id"].as_str().map(str::len), Some(32));

    assert_eq!(s.event_count(), 9);
}

#[test]
fn encodings_duplicates_and_other_items() {
    let s = TestServer::start();
    let auth = s.auth_header();
    let path = s.envelope_path();
    let plain = envelope("{}", &message_event(&new_id(), "zstd body"));
    let zstd = zstd::stream::encode_all(&plain[..], 3).expect("zstd");
    let r = request(
        s.addr,
        "POST",
        &path,
        &[("X-Sentry-Auth", &auth), ("Content-Encoding", "zstd")],
        &zstd,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let plain = envelope("{}", &message_event(&new_id(), "gzip body"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    let r = request(
        s.addr,
        "POST",
        &path,
        &[("X-Sentry-Auth", &auth), ("Content-Encoding", "x-gzip")],
        &gz.finish().expect("gz"),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // The same event id twice (an SDK retry) is stored and counted once.
    let id = new_id();
    let body = envelope(
        &format!(r#"{{"event_id":"{id}"}}"#),
        &message_event(&id, "retry me"),
    );
    assert_eq!(s.post_envelope(&body).status, 200);
    assert_eq!(s.post_envelope(&body).status, 200);
    assert_eq!(s.issue_by_title("retry me")["count"], "1");

    // Items that are not stored are accepted: implicit length, unknown types, client
    // reports, trace metrics (counted under their own label, not stored).
    let body = format!(
        "{{\"event_id\":\"{id2}\"}}\n{{\"type\":\"session\"}}\n{{\"started\":\"2020-02-07T14:16:00Z\"}}\n\
         {{\"type\":\"client_report\"}}\n{{\"discarded_events\":[{{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":3}}]}}\n\
         {{\"type\":\"trace_metric\",\"item_count\":1,\"content_type\":\"application/vnd.sentry.items.trace-metric+json\"}}\n\
         {{\"items\":[{{\"timestamp\":1700000000.5,\"trace_id\":\"0123456789abcdef0123456789abcdef\",\"name\":\"jobs\",\"value\":1.0,\"type\":\"counter\"}}]}}\n\
         {{\"type\":\"some_future_item\",\"length\":3}}\nabc\n\
         {{\"type\":\"transaction\",\"length\":2}}\n{{}}",
        id2 = new_id()
    );
    let r = s.post_envelope(body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.event_count(), 3);

    // An attachment rides along with its event and is stored beside it (issue #22).
    let id3 = new_id();
    let attachment = vec![b'a'; 300 * 1024];
    let mut body = format!(
        "{{\"event_id\":\"{id3}\"}}\n{{\"type\":\"attachment\",\"length\":{},\"filename\":\"log.txt\"}}\n",
        attachment.len()
    )
    .into_bytes();
    body.extend_from_slice(&attachment);
    body.extend_from_slice(
        format!(
            "\n{{\"type\":\"event\"}}\n{}\n",
            message_event(&id3, "with attachment")
        )
        .as_bytes(),
    );
    let r = s.post_envelope(&body);
    assert_eq!(
        (r.status, r.json()["id"].as_str()),
        (200, Some(id3.as_str())),
        "{}",
        r.text()
    );
    assert_eq!(s.event_count(), 4);
    let files = s.api(&format!(
        "/api/0/projects/team/proj/events/{id3}/attachments/"
    ));
    assert_eq!(files[0]["name"], "log.txt", "{files}");
    assert_eq!(files[0]["size"], 300 * 1024);

    let metrics = request(s.addr, "GET", "/metrics", &[], b"").text();
    for line in [
        "sentry_lite_events_accepted_total 4",
        "sentry_lite_events_duplicate_total 1",
        "sentry_lite_items_not_stored_total{type=\"session\"} 1",
        "sentry_lite_items_not_stored_total{type=\"trace_metric\"} 1",
        // An item type the protocol does not name counts under the fixed `other` label.
        "sentry_lite_items_not_stored_total{type=\"other\"} 1",
        "sentry_lite_client_discarded_total{reason=\"queue_overflow\",category=\"error\"} 3",
        "sentry_lite_writer_queue_depth 0",
    ] {
        assert!(metrics.contains(line), "missing {line:?} in\n{metrics}");
    }
    assert!(metrics.contains("sentry_lite_writer_commit_seconds_count"));
    let health = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
}

#[test]
fn cors_and_origins() {
    let s = TestServer::start();
    let r = request(
        s.addr,
        "OPTIONS",
        &s.envelope_path(),
        &[
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert!(r
        .header("access-control-allow-headers")
        .expect("allow-headers")
        .contains("X-Sentry-Auth"));
    assert_eq!(r.header("access-control-max-age"), Some("3600"));
    let r = request(
        s.addr,
        "POST",
        &format!("{}?sentry_key={}", s.envelope_path(), s.key.public_key),
        &[("Origin", "https://app.example.com")],
        &envelope("{}", &message_event(&new_id(), "browser")),
    );
    assert_eq!(r.status, 200, "default allowed origins are *");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
}

#[test]
fn udp_datagrams() {
    let s = TestServer::start_with(|c| c.udp_bind = Some("127.0.0.1:0".parse().expect("addr")));
    let udp = s.udp_addr.expect("udp on");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let dsn = format!("udp://{}@{}/{}", s.key.public_key, udp, s.project.id);
    let plain = envelope(
        &format!(r#"{{"dsn":"{dsn}"}}"#),
        &message_event(&new_id(), "over udp"),
    );
    sock.send_to(&plain, udp).expect("send");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&envelope(
        &format!(r#"{{"dsn":"{dsn}"}}"#),
        &message_event(&new_id(), "gzip udp"),
    ))
    .expect("gz");
    sock.send_to(&gz.finish().expect("gz"), udp).expect("send");
    // raven-era layout: auth header, blank line, base64(zlib(json)).
    let raven = format!(
        "{}\n\n{}",
        s.auth_header(),
        base64::engine::general_purpose::STANDARD
            .encode(zlib(message_event(&new_id(), "raven udp").as_bytes()))
    );
    sock.send_to(raven.as_bytes(), udp).expect("send");
    // Dropped silently: wrong key, no dsn.
    let bad = envelope(
        r#"{"dsn":"udp://0000@127.0.0.1:1/1"}"#,
        &message_event(&new_id(), "bad"),
    );
    sock.send_to(&bad, udp).expect("send");
    sock.send_to(&envelope("{}", &message_event(&new_id(), "no dsn")), udp)
        .expect("send");
    let got = wait_for(Duration::from_secs(10), || {
        (s.event_count() == 3).then_some(())
    });
    assert!(
        got.is_some(),
        "3 datagrams should be stored, have {}",
        s.event_count()
    );
    let titles: Vec<String> = s
        .issues()
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_owned())
        .collect();
    for t in ["over udp", "gzip udp", "raven udp"] {
        assert!(titles.contains(&t.to_owned()), "{t} in {titles:?}");
    }
    let metrics = request(s.addr, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("sentry_lite_udp_datagrams_total 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("reason=\"forbidden\"} 1")
            && metrics.contains("reason=\"unauthorized\"} 1"),
        "{metrics}"
    );
}

#[test]
fn api_reads_and_pagination() {
    let s = TestServer::start();
    for i in 0..5 {
        // Distinct messages that do not parameterize together: five issues.
        let msg = ["alpha", "beta", "gamma", "delta", "epsilon"][i];
        assert_eq!(
            s.post_envelope(&envelope("{}", &message_event(&new_id(), msg)))
                .status,
            200
        );
    }
    // Anonymous callers see public projects only; this one is private.
    let anonymous = request(s.addr, "GET", "/api/0/projects/", &[], b"");
    assert_eq!(anonymous.status, 200);
    assert_eq!(anonymous.body, b"[]");
    let bad_token = request(
        s.addr,
        "GET",
        "/api/0/projects/",
        &[("Authorization", "Bearer nope")],
        b"",
    );
    assert_eq!(bad_token.status, 401);

    let projects = s.api("/api/0/projects/");
    assert_eq!(projects[0]["slug"], "proj");
    assert_eq!(projects[0]["team"]["slug"], "team");

    let first = s.api_raw("GET", "/api/0/projects/team/proj/issues/?limit=2", b"");
    assert_eq!(first.status, 200);
    assert_eq!(first.json().as_array().map(Vec::len), Some(2));
    let link = first.header("link").expect("Link").to_owned();
    assert!(
        link.contains(r#"rel="next"; results="true"; cursor="0:2:0""#),
        "{link}"
    );
    assert!(
        link.contains(r#"rel="previous"; results="false""#),
        "{link}"
    );
    let last = s.api_raw(
        "GET",
        "/api/0/projects/team/proj/issues/?limit=2&cursor=0:4:0",
        b"",
    );
    assert_eq!(last.json().as_array().map(Vec::len), Some(1));
    assert!(last
        .header("link")
        .expect("Link")
        .contains(r#"rel="next"; results="false""#));

    let found = s.api("/api/0/projects/team/proj/issues/?query=gamma");
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let by_tag = s.api("/api/0/projects/team/proj/issues/?query=level:warning");
    assert_eq!(by_tag.as_array().map(Vec::len), Some(5));
    assert_eq!(
        s.api_raw("GET", "/api/0/projects/other/proj/issues/", b"")
            .status,
        404
    );

    let issue = &found[0];
    let id = issue["id"].as_str().expect("id");
    let detail = s.api(&format!("/api/0/issues/{id}/"));
    assert_eq!(detail["title"], "gamma");
    assert_eq!(detail["level"], "warning");
    assert!(detail["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .any(|t| t["key"] == "level"));
    let events = s.api(&format!("/api/0/issues/{id}/events/"));
    let event_id = events[0]["eventID"].as_str().expect("event id").to_owned();
    let latest = s.api(&format!("/api/0/issues/{id}/events/latest/"));
    assert_eq!(latest["eventID"], event_id.as_str());
    assert_eq!(latest["entries"][0]["type"], "message");
    let by_id = s.api(&format!("/api/0/projects/team/proj/events/{event_id}/"));
    assert_eq!(by_id["groupID"], id);
    assert_eq!(s.api_raw("GET", "/api/0/issues/999999/", b"").status, 404);

    let bad = s.api_raw(
        "PUT",
        &format!("/api/0/issues/{id}/"),
        br#"{"status":"fixed"}"#,
    );
    assert_eq!(bad.status, 400);
    let ok = s.api_raw(
        "PUT",
        &format!("/api/0/issues/{id}/"),
        br#"{"status":"resolved"}"#,
    );
    assert_eq!(ok.json()["status"], "resolved");
    // Without a query only unresolved issues are listed (Sentry's default).
    let open = s.api("/api/0/projects/team/proj/issues/");
    assert_eq!(open.as_array().map(Vec::len), Some(4));
    let resolved = s.api("/api/0/projects/team/proj/issues/?query=is:resolved");
    assert_eq!(resolved[0]["id"], id);
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}
