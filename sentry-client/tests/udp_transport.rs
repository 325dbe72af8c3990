//! The UDP transport against a real UDP socket: a burst arrives whole, an oversized event
//! arrives shrunk, framing is one (gzipped or plain) envelope with its DSN per datagram.
#![cfg(feature = "client")]

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use sentry_client::protocol::{encoding, ContentEncoding, Envelope, Event, Limits};
use sentry_client::{Breadcrumb, Client, ClientOptions, Hub, Level};

/// Receives datagrams on a thread until `n` arrived or nothing came for a while.
fn receiver(n: usize) -> (String, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let addr = socket.local_addr().expect("addr");
    let handle = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while out.len() < n {
            match socket.recv(&mut buf) {
                Ok(len) => out.push(buf[..len].to_vec()),
                Err(_) => break,
            }
        }
        out
    });
    let dsn = format!("udp://0123456789abcdef0123456789abcdef@{addr}/1");
    (dsn, handle)
}

fn decode(datagram: &[u8]) -> Envelope {
    let plain = if datagram.starts_with(&[0x1f, 0x8b]) {
        encoding::decompress(ContentEncoding::Gzip, datagram, 10 << 20).expect("gunzip")
    } else {
        assert_eq!(
            datagram.first(),
            Some(&b'{'),
            "plain envelopes start with a JSON header"
        );
        datagram.to_vec()
    };
    Envelope::from_slice(&plain, &Limits::default()).expect("one envelope per datagram")
}

fn event(env: &Envelope) -> Event {
    env.event().expect("event item").expect("event parses")
}

#[test]
fn udp_burst_arrives_whole() {
    const N: usize = 2_000;
    let (dsn, rx) = receiver(N);
    let client = Arc::new(Client::from_config(
        ClientOptions {
            udp_max_per_second: 5_000,
            ..Default::default()
        }
        .with_dsn(&dsn),
    ));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || {
        for i in 0..N {
            sentry_client::capture_message(&format!("udp {i}"), Level::Info);
        }
    });
    assert!(client.flush(Some(Duration::from_secs(30))));
    let datagrams = rx.join().expect("receiver");
    assert_eq!(datagrams.len(), N);
    let mut seen = Vec::new();
    for d in &datagrams {
        let env = decode(d);
        assert_eq!(
            env.headers.dsn.as_deref(),
            Some(dsn.as_str()),
            "auth travels in the header"
        );
        assert!(env.headers.sent_at.is_some());
        seen.push(
            event(&env).message_text().expect("text")[4..]
                .parse::<usize>()
                .expect("n"),
        );
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), N);
    assert!(client.pending_discards().is_empty());
    client.close(None);
}

/// Text that gzip cannot squeeze much (so the datagram really is too big).
fn noise(seed: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            char::from(b'!' + (*seed % 90) as u8)
        })
        .collect()
}

#[test]
fn oversized_event_arrives_shrunk() {
    let (dsn, rx) = receiver(1);
    let client = Arc::new(Client::from_config(
        ClientOptions {
            max_breadcrumbs: 400,
            ..Default::default()
        }
        .with_dsn(&dsn),
    ));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    Hub::run(hub, || {
        for _ in 0..400 {
            sentry_client::add_breadcrumb(Breadcrumb {
                message: Some(noise(&mut seed, 400)),
                ..Default::default()
            });
        }
        sentry_client::configure_scope(|s| s.set_extra("small", serde_json::json!("kept")));
        sentry_client::capture_message("too big for one datagram", Level::Error);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let datagrams = rx.join().expect("receiver");
    assert_eq!(datagrams.len(), 1, "shrunk, not lost");
    assert!(datagrams[0].len() <= 65_507);
    let e = event(&decode(&datagrams[0]));
    assert_eq!(e.message_text(), Some("too big for one datagram"));
    assert!(e.breadcrumbs.is_empty(), "breadcrumbs went first");
    assert_eq!(
        e.extra["small"],
        serde_json::json!("kept"),
        "extra was not needed"
    );
    assert!(client.pending_discards().is_empty());
    client.close(None);
}

#[test]
fn event_too_big_even_shrunk_is_dropped_and_counted() {
    let (dsn, rx) = receiver(1);
    let client = Arc::new(Client::from_config(ClientOptions::default().with_dsn(&dsn)));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    let mut seed = 42;
    Hub::run(hub, || {
        let msg = noise(&mut seed, 100_000);
        sentry_client::capture_message(&msg, Level::Error);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    assert_eq!(
        client.pending_discards(),
        vec![(
            sentry_client::protocol::DiscardReason::SendError,
            sentry_client::protocol::DataCategory::Error,
            1
        )]
    );
    client.close(Some(Duration::from_secs(2)));
    // The client report (small) does arrive over UDP.
    let datagrams = rx.join().expect("receiver");
    assert_eq!(datagrams.len(), 1);
    let env = decode(&datagrams[0]);
    let report = env.items[0].client_report().expect("report");
    assert_eq!(
        report.count(
            sentry_client::protocol::DiscardReason::SendError,
            sentry_client::protocol::DataCategory::Error
        ),
        1
    );
}
