//! The byte budget of decoding (issue #17): the decodes on the blocking pool hold at
//! most `decode_budget_bytes` of inflated data together; a body that finds no budget
//! within the wait is answered 503 with `Retry-After`, and nothing is stored.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use common::{envelope, new_id, request, TestServer};

const MIB: usize = 1024 * 1024;

fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.limits.max_decompressed_bytes = 4 * MIB;
        c.limits.envelope.max_envelope_bytes = 4 * MIB;
        c.limits.envelope.max_attachment_bytes = 4 * MIB;
        c.limits.decode_budget_bytes = 4 * MIB;
        c.limits.decode_slots = 8;
        c.limits.decode_wait = Duration::from_millis(200);
    })
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn post_gzip(s: &TestServer, body: &[u8]) -> common::Response {
    let auth = s.auth_header();
    request(
        s.addr,
        "POST",
        &s.envelope_path(),
        &[("X-Sentry-Auth", &auth), ("Content-Encoding", "gzip")],
        &gzip(body),
    )
}

/// An event with a 2.5 MiB attachment: it inflates past the first reservation (1 MiB)
/// and needs the full 4 MiB.
fn event_with_attachment(message: &str) -> Vec<u8> {
    let mut body = envelope(
        &format!(r#"{{"event_id":"{}"}}"#, new_id()),
        &format!(r#"{{"message":"{message}"}}"#),
    );
    let attachment = vec![b'a'; 5 * MIB / 2];
    body.extend_from_slice(
        format!(
            "{{\"type\":\"attachment\",\"length\":{},\"filename\":\"a.bin\"}}\n",
            attachment.len()
        )
        .as_bytes(),
    );
    body.extend_from_slice(&attachment);
    body.push(b'\n');
    body
}

#[test]
fn bodies_beyond_the_byte_budget_wait_then_get_503() {
    let s = server();
    let gate = &s.ingestor.decode;
    assert_eq!(gate.budget(), 4 * MIB);
    // Four decodes in flight hold the whole budget (1 MiB each) but only half the slots.
    let mut held: Vec<_> = (0..4).map(|_| gate.try_acquire().expect("slot")).collect();
    assert!(gate.try_acquire().is_none(), "the budget is spent");
    let r = post_gzip(&s, &event_with_attachment("waits"));
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.detail().contains("busy"), "{}", r.detail());
    assert_eq!(s.event_count(), 0, "nothing stored half-way");
    assert_eq!(request(s.addr, "GET", "/healthz", &[], b"").status, 200);

    // With 2 MiB free the first reservation (1 MiB) fits but cannot grow to the 4 MiB
    // needed.
    held.truncate(2);
    let r = post_gzip(&s, &event_with_attachment("cannot grow"));
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(s.event_count(), 0);

    // With the budget free it grows (1 MiB first, 3 more), and the event is stored.
    held.clear();
    let r = post_gzip(&s, &event_with_attachment("grows"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.event_count(), 1);
    drop(held);
    assert!(gate.peak_reserved() <= gate.budget());
    assert_eq!(gate.reserved(), 0, "every reservation given back");
}

#[test]
fn parallel_bombs_never_hold_more_than_the_budget() {
    let s = Arc::new(server());
    // 3 MiB of blank lines after an envelope header, gzip-compressed to a few KB.
    let mut bomb = b"{}\n".to_vec();
    bomb.resize(3 * MIB, b'\n');
    let bomb = Arc::new(gzip(&bomb));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (s, bomb) = (s.clone(), bomb.clone());
            std::thread::spawn(move || {
                let auth = s.auth_header();
                let r = request(
                    s.addr,
                    "POST",
                    &s.envelope_path(),
                    &[("X-Sentry-Auth", &auth), ("Content-Encoding", "gzip")],
                    &bomb,
                );
                if r.status == 503 {
                    assert_eq!(r.header("retry-after"), Some("1"));
                }
                r.status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().expect("bomb"))
        .collect();
    // Refused by the envelope reader once inflated (400/413), or 503 while the budget
    // was held by another bomb.
    assert!(
        statuses.iter().all(|s| [400, 413, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|s| *s != 503),
        "some bomb was decoded: {statuses:?}"
    );
    let gate = &s.ingestor.decode;
    assert!(
        gate.peak_reserved() <= gate.budget(),
        "{} reserved at once, budget {}",
        gate.peak_reserved(),
        gate.budget()
    );
    assert_eq!(gate.reserved(), 0);
    assert_eq!(s.event_count(), 0);
    // Honest traffic is served afterwards.
    let ok = envelope(
        &format!(r#"{{"event_id":"{}"}}"#, new_id()),
        r#"{"message":"after the bombs"}"#,
    );
    assert_eq!(s.post_envelope(&ok).status, 200);
}
