//! Trace metrics through the worker: what a `trace_metric` item holds (type, value, unit,
//! attributes, the active span's trace), `enable_metrics` and `before_send_metric`,
//! batches of at most 100, a `trace_metric` rate limit, and the wire shape against the
//! official crate's `sentry::protocol::Metric`.

#[path = "support/limiting.rs"]
mod limiting;

use std::sync::Arc;
use std::time::Duration;

use limiting::Limiting;
use sentry_client::metrics;
use sentry_client::protocol::{
    read_metric_item, DataCategory, DiscardReason, Envelope, Item, ItemType, Metric, MetricLimits,
    MetricType, Unit,
};
use sentry_client::test::{
    metrics_of, with_captured_envelopes_options, with_captured_metrics_options,
};
use sentry_client::{Client, ClientOptions, Hub, TransactionContext, User};

fn trace_metric_items(envelopes: &[Envelope]) -> Vec<&Item> {
    envelopes
        .iter()
        .flat_map(|e| e.items.iter())
        .filter(|i| *i.ty() == ItemType::TraceMetric)
        .collect()
}

#[test]
fn the_three_kinds_arrive_in_one_item_with_the_span_trace_and_attributes() {
    let mut ids = None;
    let options = ClientOptions::new()
        .release("shop@1.2.3")
        .environment("staging")
        .server_name("web-1")
        .send_default_pii(true);
    let envelopes = with_captured_envelopes_options(
        || {
            sentry_client::configure_scope(|s| {
                s.set_user(Some(User {
                    id: Some("42".into()),
                    username: Some("ada".into()),
                    ..Default::default()
                }))
            });
            let tx = sentry_client::start_transaction(TransactionContext::new("checkout", "http"));
            let trace = tx.get_trace_context();
            ids = Some((trace.trace_id, trace.span_id));
            sentry_client::configure_scope(|s| s.set_span(Some(tx.clone().into())));
            metrics::counter("orders.placed", 1)
                .attribute("payment", "card")
                .capture();
            metrics::gauge("cart.items", 3)
                .unit("items")
                .attribute("vip", true)
                .capture();
            metrics::distribution("checkout.duration", 187.5)
                .unit(Unit::Millisecond)
                .attribute("retries", 2)
                .attribute("ratio", 0.25)
                .capture();
            tx.finish();
        },
        options,
    );
    let items = trace_metric_items(&envelopes);
    assert_eq!(items.len(), 1, "one item for the three metrics");
    assert_eq!(items[0].headers.item_count, Some(3));
    assert_eq!(
        items[0].headers.content_type.as_deref(),
        Some("application/vnd.sentry.items.trace-metric+json")
    );
    let sent = read_metric_item(&items[0].payload, &MetricLimits::default())
        .expect("reads")
        .metrics;
    let (trace_id, span_id) = ids.expect("ids");
    let kinds: Vec<_> = sent
        .iter()
        .map(|m| (m.r#type, m.name.as_ref(), m.value))
        .collect();
    assert_eq!(
        kinds,
        [
            (MetricType::Counter, "orders.placed", 1.0),
            (MetricType::Gauge, "cart.items", 3.0),
            (MetricType::Distribution, "checkout.duration", 187.5),
        ]
    );
    let units: Vec<_> = sent.iter().map(|m| m.unit.clone()).collect();
    assert_eq!(
        units,
        [
            None,
            Some(Unit::Other("items".into())),
            Some(Unit::Millisecond)
        ]
    );
    for m in &sent {
        assert_eq!(m.trace_id, trace_id);
        assert_eq!(m.span_id, Some(span_id));
        assert_eq!(m.attribute_str("sentry.release"), Some("shop@1.2.3"));
        assert_eq!(m.attribute_str("sentry.environment"), Some("staging"));
        assert_eq!(m.attribute_str("server.address"), Some("web-1"));
        assert_eq!(
            m.attribute_str("sentry.sdk.name"),
            Some(sentry_client::SDK_NAME)
        );
        assert_eq!(
            m.attribute_str("sentry.sdk.version"),
            Some(sentry_client::SDK_VERSION)
        );
        assert_eq!(m.attribute_str("user.id"), Some("42"));
        assert_eq!(m.attribute_str("user.name"), Some("ada"));
    }
    assert_eq!(sent[0].attribute_str("payment"), Some("card"));
    assert_eq!(sent[1].attributes["vip"].0, true);
    assert_eq!(sent[2].attributes["retries"].0, 2);
    assert_eq!(sent[2].attributes["ratio"].0, 0.25);
    // Typed on the wire as logs' attributes are.
    let raw: serde_json::Value = serde_json::from_slice(&items[0].payload).expect("json");
    assert_eq!(
        raw["items"][2]["attributes"]["retries"],
        serde_json::json!({"value": 2, "type": "integer"})
    );
    assert_eq!(raw["items"][2]["type"], "distribution");
    assert_eq!(raw["items"][2]["unit"], "millisecond");
    assert!(raw["items"][0].get("unit").is_none());
}

#[test]
fn a_metric_outside_a_span_carries_the_client_trace() {
    let sent = sentry_client::test::with_captured_metrics(|| {
        metrics::counter("a", 1).capture();
        metrics::counter("b", 1).capture();
    });
    assert_eq!(sent.len(), 2);
    assert_ne!(
        sent[0].trace_id,
        "00000000000000000000000000000000".parse().expect("id")
    );
    assert_eq!(sent[0].trace_id, sent[1].trace_id);
    assert_eq!(sent[0].span_id, None);
}

#[test]
fn enable_metrics_false_sends_nothing() {
    let envelopes = with_captured_envelopes_options(
        || {
            metrics::counter("off", 1).capture();
            metrics::gauge("off", 1).capture();
            Hub::current().capture_metric(metrics::distribution("off", 1));
        },
        ClientOptions::new().enable_metrics(false),
    );
    assert!(trace_metric_items(&envelopes).is_empty());
    assert!(
        envelopes.is_empty(),
        "not even a client report: {envelopes:?}"
    );
}

#[test]
fn before_send_metric_changes_and_drops() {
    let envelopes = with_captured_envelopes_options(
        || {
            metrics::counter("drop.me", 1).capture();
            metrics::counter("keep.me", 1).capture();
        },
        ClientOptions::new().before_send_metric(|mut m: Metric| {
            if m.name == "drop.me" {
                return None;
            }
            m.value *= 10.0;
            m.attributes.insert("edited".into(), true.into());
            Some(m)
        }),
    );
    let sent = metrics_of(&envelopes);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].name, "keep.me");
    assert_eq!(sent[0].value, 10.0);
    assert_eq!(sent[0].attributes["edited"].0, true);
    let report = envelopes
        .iter()
        .find_map(|e| e.item(&ItemType::ClientReport))
        .and_then(|i| i.client_report().ok())
        .expect("a client report");
    assert_eq!(
        report.count(DiscardReason::BeforeSend, DataCategory::TraceMetric),
        1
    );
}

#[test]
fn more_than_100_metrics_make_two_items() {
    let envelopes = with_captured_envelopes_options(
        || {
            for i in 0..150 {
                metrics::counter("n", i).capture();
            }
            let client = Hub::current().client().expect("client");
            assert!(client.flush(Some(Duration::from_secs(10))));
        },
        ClientOptions::new(),
    );
    let counts: Vec<_> = trace_metric_items(&envelopes)
        .iter()
        .map(|i| i.headers.item_count)
        .collect();
    assert_eq!(counts, [Some(100), Some(50)]);
    let sent = metrics_of(&envelopes);
    assert_eq!(sent.len(), 150);
    assert_eq!(sent[149].value, 149.0);
}

#[test]
fn metrics_go_on_flush_without_waiting_for_the_batch() {
    let sent = with_captured_metrics_options(
        || {
            metrics::gauge("g", 1).capture();
            let client = Hub::current().client().expect("client");
            assert!(client.flush(Some(Duration::from_secs(2))));
        },
        ClientOptions::new(),
    );
    assert_eq!(sent.len(), 1);
}

#[test]
fn a_trace_metric_rate_limit_drops_metrics_and_counts_them() {
    let transport = Arc::new(Limiting::new("trace_metric"));
    let mut options = ClientOptions::new()
        .dsn(sentry_client::test::TEST_DSN)
        .transport(Arc::clone(&transport));
    // Keep the counts here rather than sent along.
    options.send_client_reports = false;
    let client = Arc::new(Client::from_config(options));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(Arc::clone(&hub), || metrics::counter("first", 1).capture());
    assert!(client.flush(Some(Duration::from_secs(10))));
    Hub::run(hub, || {
        for i in 0..7 {
            metrics::counter("limited", i).capture();
        }
        sentry_client::logger_info!("logs still go");
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let discards = client.pending_discards();
    assert!(
        discards.contains(&(
            DiscardReason::RatelimitBackoff,
            DataCategory::TraceMetric,
            7
        )),
        "{discards:?}"
    );
    let sent = transport.sent.lock().expect("lock").clone();
    assert_eq!(metrics_of(&sent).len(), 1, "only the first metric went");
    assert_eq!(sentry_client::test::logs_of(&sent).len(), 1);
}

#[test]
fn reads_what_the_official_crate_writes_and_the_other_way() {
    let trace = "0123456789abcdef0123456789abcdef";
    let official = ::sentry::protocol::Metric {
        r#type: ::sentry::protocol::MetricType::Distribution,
        name: "http.response_time".into(),
        value: 187.5,
        timestamp: std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500),
        trace_id: trace.parse().expect("trace id"),
        span_id: Some("0011223344556677".parse().expect("span id")),
        unit: Some(::sentry::protocol::Unit::Millisecond),
        attributes: [
            ("http.route".into(), "/health".into()),
            (
                "status".into(),
                ::sentry::protocol::LogAttribute(200.into()),
            ),
        ]
        .into_iter()
        .collect(),
    };
    let mut envelope = ::sentry::Envelope::new();
    envelope.add_item(vec![official.clone()]);
    let mut raw = Vec::new();
    envelope.to_writer(&mut raw).expect("writes");
    let ours = Envelope::from_slice(&raw, &Default::default()).expect("reads");
    let item = ours
        .item(&ItemType::TraceMetric)
        .expect("a trace_metric item");
    assert_eq!(item.headers.item_count, Some(1));
    let read = read_metric_item(&item.payload, &MetricLimits::default()).expect("reads");
    assert_eq!(read.dropped, 0);
    let m = &read.metrics[0];
    assert_eq!(
        (m.r#type, m.name.as_ref()),
        (MetricType::Distribution, "http.response_time")
    );
    assert_eq!((m.value, m.unit.clone()), (187.5, Some(Unit::Millisecond)));
    assert_eq!(m.trace_id.to_string(), trace);
    assert_eq!(
        m.span_id.map(|s| s.to_string()).as_deref(),
        Some("0011223344556677")
    );
    assert_eq!(m.attribute_str("http.route"), Some("/health"));
    assert_eq!(m.attributes["status"].0, 200);
    assert_eq!(m.timestamp, official.timestamp);
    // Ours, written, reads back as the official type with the same content.
    let written = serde_json::to_value(m).expect("writes");
    let theirs: ::sentry::protocol::Metric =
        serde_json::from_value(written).expect("official reads");
    assert_eq!(theirs, official);
}
