//! `tracing` spans as performance spans: a root span is a transaction, nested spans are
//! its children, events inside carry the innermost span's trace, the span filter and
//! the `sentry.*` fields work as with the official layer, and nothing is recorded when
//! the client does not trace.

use sentry_client::protocol::{Envelope, Event, ItemType};
use sentry_client::test::with_captured_envelopes_options;
use sentry_client::ClientOptions;
use tracing_subscriber::prelude::*;

fn items(envelopes: &[Envelope], ty: ItemType) -> Vec<Event> {
    envelopes
        .iter()
        .flat_map(|e| e.items.iter())
        .filter(|i| *i.ty() == ty)
        .map(|i| i.event().expect("reads"))
        .collect()
}

fn traced(
    options: ClientOptions,
    layer: sentry_log::tracing::SentryLayer,
    f: impl FnOnce(),
) -> Vec<Envelope> {
    with_captured_envelopes_options(
        || {
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::with_default(subscriber, f);
        },
        options,
    )
}

#[test]
fn a_root_span_is_a_transaction_and_nested_spans_are_its_children() {
    let envelopes = traced(
        ClientOptions::new().traces_sample_rate(1.0),
        sentry_log::tracing::layer(),
        || {
            let root = tracing::info_span!("checkout", cart = 7);
            let _root = root.enter();
            {
                let db = tracing::info_span!("load", sentry.op = "db.query", table = "carts");
                let _db = db.enter();
                tracing::error!(code = 3, "cart not found");
                db.record("table", "carts_v2");
            }
            // Below the default span filter: not a span.
            let quiet = tracing::debug_span!("quiet");
            let _quiet = quiet.enter();
        },
    );
    let transactions = items(&envelopes, ItemType::Transaction);
    assert_eq!(transactions.len(), 1, "{transactions:#?}");
    let t = &transactions[0];
    assert_eq!(t.transaction.as_deref(), Some("checkout"));
    let trace = &t.contexts["trace"];
    assert_eq!(trace["op"], "tracing_spans::checkout");
    assert_eq!(trace["origin"], "auto.tracing");
    assert_eq!(trace["data"]["cart"], 7);
    let spans = t.spans.as_ref().and_then(|s| s.as_array()).expect("spans");
    assert_eq!(spans.len(), 1, "the debug span is not recorded: {spans:#?}");
    let db = &spans[0];
    assert_eq!(db["op"], "db.query");
    assert_eq!(db["description"], "load");
    assert_eq!(db["parent_span_id"], trace["span_id"]);
    assert_eq!(db["data"]["table"], "carts_v2", "recorded values are kept");
    assert!(db["data"]["code.lineno"].is_number());

    let events = items(&envelopes, ItemType::Event);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].contexts["trace"]["span_id"], db["span_id"]);
    assert_eq!(events[0].contexts["trace"]["trace_id"], trace["trace_id"]);
}

#[test]
fn the_span_filter_and_sentry_fields_decide() {
    let layer = sentry_log::tracing::layer().span_filter(|md| md.name() != "skipped");
    let envelopes = traced(ClientOptions::new().traces_sample_rate(1.0), layer, || {
        let root = tracing::debug_span!(
            "job",
            sentry.name = "nightly export",
            sentry.trace = "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-1"
        );
        let _root = root.enter();
        let skipped = tracing::info_span!("skipped");
        let _skipped = skipped.enter();
    });
    let transactions = items(&envelopes, ItemType::Transaction);
    assert_eq!(transactions.len(), 1);
    let t = &transactions[0];
    assert_eq!(t.transaction.as_deref(), Some("nightly export"));
    assert_eq!(
        t.contexts["trace"]["trace_id"],
        "09e04486820349518ac7b5d2adbf6ba5"
    );
    assert_eq!(t.contexts["trace"]["parent_span_id"], "9cf635fa5b870b3a");
    assert!(t
        .spans
        .as_ref()
        .and_then(|s| s.as_array())
        .is_none_or(|s| s.is_empty()));
}

#[test]
fn without_tracing_spans_cost_nothing_and_send_nothing() {
    let envelopes = traced(ClientOptions::new(), sentry_log::tracing::layer(), || {
        let root = tracing::info_span!("checkout");
        let _root = root.enter();
        tracing::error!("failed");
    });
    assert!(items(&envelopes, ItemType::Transaction).is_empty());
    let events = items(&envelopes, ItemType::Event);
    assert_eq!(events.len(), 1);
    assert!(events[0].contexts.get("trace").is_none());
}
