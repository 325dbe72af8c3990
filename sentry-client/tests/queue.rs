//! The bounded queue: when the worker cannot keep up, captures drop (never block, never
//! grow memory) and every drop is counted as `queue_overflow`.
#![cfg(feature = "client")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sentry_client::protocol::{DataCategory, DiscardReason, Envelope, ItemType};
use sentry_client::transport::{AsyncTransport, SendFuture, SendResult};
use sentry_client::{Client, ClientOptions, Hub, Level};

/// A transport that takes 20 ms per envelope and counts what it got.
#[derive(Default)]
struct Slow {
    events: AtomicUsize,
    reports: std::sync::Mutex<Vec<Envelope>>,
}

impl AsyncTransport for Slow {
    fn send(&self, envelope: Arc<Envelope>) -> SendFuture {
        if envelope.item(&ItemType::Event).is_some() {
            self.events.fetch_add(1, Ordering::SeqCst);
        }
        if envelope.item(&ItemType::ClientReport).is_some() {
            self.reports.lock().expect("lock").push((*envelope).clone());
        }
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            SendResult::Sent { rate_limits: None }
        })
    }
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let transport = Arc::new(Slow::default());
    let client = Arc::new(Client::from_config(ClientOptions {
        dsn: sentry_client::test::TEST_DSN.parse().ok(),
        transport: Some(Arc::new(Arc::clone(&transport))),
        max_queue_size: 10,
        ..Default::default()
    }));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    let queued = Hub::run(hub, || {
        (0..500)
            .filter(|i| !sentry_client::capture_message(&format!("m{i}"), Level::Info).is_nil())
            .count()
    });
    // Had a capture waited for room in the queue, all 500 would have been queued.
    assert!(queued < 500, "the queue of 10 overflowed");
    let dropped = 500 - queued;
    assert_eq!(
        client.pending_discards(),
        vec![(
            DiscardReason::QueueOverflow,
            DataCategory::Error,
            dropped as u64
        )]
    );
    assert!(client.flush(Some(Duration::from_secs(30))));
    assert_eq!(transport.events.load(Ordering::SeqCst), queued);
    client.close(Some(Duration::from_secs(5)));
    let reports = transport.reports.lock().expect("lock");
    let report = reports[0]
        .item(&ItemType::ClientReport)
        .expect("report")
        .client_report()
        .expect("parses");
    assert_eq!(
        report.count(DiscardReason::QueueOverflow, DataCategory::Error),
        dropped as u64
    );
}
