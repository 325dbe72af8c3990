//! Structured logs through the worker: the scope's span gives a log its trace and span;
//! rate limits on `log_item` drop log batches and count their logs; a full queue counts
//! `queue_overflow` for `log_item`.

#[path = "support/limiting.rs"]
mod limiting;

use std::sync::Arc;
use std::time::Duration;

use limiting::Limiting;
use sentry_client::protocol::{DataCategory, DiscardReason, ItemType};
use sentry_client::test::{logs_of, with_captured_logs};
use sentry_client::{logger_info, Client, ClientOptions, Hub, TransactionContext};

#[test]
fn a_log_under_a_span_carries_its_trace_and_span() {
    let mut ids = None;
    let logs = with_captured_logs(|| {
        let tx = sentry_client::start_transaction(TransactionContext::new("job", "task"));
        let trace = tx.get_trace_context();
        ids = Some((trace.trace_id, trace.span_id));
        sentry_client::configure_scope(|s| s.set_span(Some(tx.clone().into())));
        logger_info!("inside the job");
        tx.finish();
    });
    let (trace_id, span_id) = ids.expect("ids");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].trace_id, Some(trace_id));
    assert_eq!(logs[0].span_id(), Some(span_id));
}

#[test]
fn a_log_item_rate_limit_drops_logs_and_counts_them() {
    let transport = Arc::new(Limiting::new("log_item"));
    let mut options = ClientOptions::new()
        .dsn(sentry_client::test::TEST_DSN)
        .transport(Arc::clone(&transport));
    // Keep the counts here rather than sent along.
    options.send_client_reports = false;
    let client = Arc::new(Client::from_config(options));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(Arc::clone(&hub), || logger_info!("first"));
    assert!(client.flush(Some(Duration::from_secs(10))));
    Hub::run(hub, || {
        for i in 0..7 {
            logger_info!("limited {}", i);
        }
        sentry_client::capture_message("events still go", sentry_client::Level::Info);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let discards = client.pending_discards();
    assert!(
        discards.contains(&(DiscardReason::RatelimitBackoff, DataCategory::LogItem, 7)),
        "{discards:?}"
    );
    let sent = transport.sent.lock().expect("lock").clone();
    assert_eq!(logs_of(&sent).len(), 1, "only the first log went");
    assert!(sent.iter().any(|e| e.item(&ItemType::Event).is_some()));
}

#[test]
fn a_full_queue_counts_logs_as_queue_overflow() {
    let client = Arc::new(Client::from_config(
        ClientOptions::new()
            .dsn(sentry_client::test::TEST_DSN)
            .transport(Arc::new(Limiting::new("log_item")))
            .max_queue_size(1),
    ));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || {
        for i in 0..2_000 {
            logger_info!("burst {}", i);
        }
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let overflowed: u64 = client
        .pending_discards()
        .iter()
        .filter(|(r, c, _)| *r == DiscardReason::QueueOverflow && *c == DataCategory::LogItem)
        .map(|(_, _, n)| n)
        .sum();
    assert!(overflowed > 0, "{:?}", client.pending_discards());
}
