//! Performance tracing as code written for the official crate uses it: sampling by rate,
//! sampler and parent decision, trace continuation through `sentry-trace`/`baggage`,
//! spans in their transaction, the scope's span on events, the span cap, and
//! `before_send_transaction` with its client report.

use sentry_client::protocol::{DataCategory, Envelope, Event, ItemType, SpanStatus};
use sentry_client::test::{with_captured_envelopes_options, TEST_DSN};
use sentry_client::{ClientOptions, Level, TransactionContext, TransactionOrSpan};

fn transactions(envelopes: &[Envelope]) -> Vec<Event> {
    envelopes
        .iter()
        .flat_map(|e| e.items.iter())
        .filter(|i| *i.ty() == ItemType::Transaction)
        .map(|i| i.event().expect("a transaction reads"))
        .collect()
}

fn events(envelopes: &[Envelope]) -> Vec<Event> {
    envelopes
        .iter()
        .filter_map(|e| e.event())
        .map(|e| e.expect("an event reads"))
        .collect()
}

fn run(options: ClientOptions, f: impl FnOnce()) -> Vec<Envelope> {
    with_captured_envelopes_options(f, options)
}

#[test]
fn the_sample_rate_decides_unless_a_parent_did() {
    let off = run(ClientOptions::new(), || {
        sentry_client::start_transaction(TransactionContext::new("off", "task")).finish();
    });
    assert!(transactions(&off).is_empty(), "tracing is off by default");

    let on = run(ClientOptions::new().traces_sample_rate(1.0), || {
        sentry_client::start_transaction(TransactionContext::new("on", "task")).finish();
        let parent_said_no = [(
            "sentry-trace",
            "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-0",
        )];
        let ctx = TransactionContext::continue_from_headers("vetoed", "http", parent_said_no);
        assert_eq!(ctx.sampled(), Some(false));
        sentry_client::start_transaction(ctx).finish();
    });
    let names: Vec<_> = transactions(&on)
        .into_iter()
        .filter_map(|t| t.transaction)
        .collect();
    assert_eq!(names, ["on"]);

    let rate_zero_parent_yes = run(ClientOptions::new(), || {
        let parent_said_yes = [(
            "sentry-trace",
            "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-1",
        )];
        let ctx = TransactionContext::continue_from_headers("kept", "http", parent_said_yes);
        sentry_client::start_transaction(ctx).finish();
    });
    assert_eq!(transactions(&rate_zero_parent_yes).len(), 1);
}

#[test]
fn a_sampler_decides_by_context() {
    let options = ClientOptions::new()
        .traces_sample_rate(0.0)
        .traces_sampler(|ctx| if ctx.name() == "wanted" { 1.0 } else { 0.0 });
    let envelopes = run(options, || {
        for name in ["wanted", "unwanted", "wanted"] {
            sentry_client::start_transaction(TransactionContext::new(name, "task")).finish();
        }
    });
    let names: Vec<_> = transactions(&envelopes)
        .into_iter()
        .filter_map(|t| t.transaction)
        .collect();
    assert_eq!(names, ["wanted", "wanted"]);
}

#[test]
fn a_continued_trace_keeps_its_ids_and_hands_them_on() {
    let incoming = [(
        "sentry-trace",
        "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-1",
    )];
    let options = ClientOptions::new()
        .traces_sample_rate(1.0)
        .release("app@1.0");
    let mut outgoing = Vec::new();
    let envelopes = run(options, || {
        let ctx = TransactionContext::continue_from_headers("GET /", "http.server", incoming);
        let transaction = sentry_client::start_transaction(ctx);
        let span = transaction.start_child("http.client", "GET http://next/");
        outgoing = span.iter_headers().collect();
        span.finish();
        transaction.finish();
    });
    let t = &transactions(&envelopes)[0];
    let trace = &t.contexts["trace"];
    assert_eq!(trace["trace_id"], "09e04486820349518ac7b5d2adbf6ba5");
    assert_eq!(trace["parent_span_id"], "9cf635fa5b870b3a");
    assert_eq!(trace["op"], "http.server");
    assert_eq!(
        t.release.as_deref(),
        Some("app@1.0"),
        "the client's defaults apply"
    );
    let span = &t.spans.as_ref().expect("spans")[0];
    assert_eq!(span["parent_span_id"], trace["span_id"]);
    let (name, value) = &outgoing[0];
    assert_eq!(*name, "sentry-trace");
    assert_eq!(
        value,
        &format!(
            "09e04486820349518ac7b5d2adbf6ba5-{}-1",
            span["span_id"].as_str().expect("span id")
        )
    );
    let baggage = &outgoing
        .iter()
        .find(|(n, _)| *n == "baggage")
        .expect("a baggage header")
        .1;
    assert!(baggage.contains("sentry-trace_id=09e04486820349518ac7b5d2adbf6ba5"));
    assert!(baggage.contains("sentry-public_key=public"), "{baggage}");
    assert!(baggage.contains("sentry-release=app@1.0"), "{baggage}");
    assert!(baggage.contains("sentry-sampled=true"), "{baggage}");
    assert!(TEST_DSN.contains("public@"));
}

#[test]
fn events_under_a_span_carry_its_trace_and_spans_nest() {
    let envelopes = run(ClientOptions::new().traces_sample_rate(1.0), || {
        let transaction = sentry_client::start_transaction(TransactionContext::new("job", "task"));
        transaction.set_tag("queue", "default");
        let parent = transaction.start_child("step", "outer");
        let child = parent.start_child("db.query", "SELECT 1");
        sentry_client::configure_scope(|scope| {
            scope.set_span(Some(TransactionOrSpan::from(child.clone())));
        });
        sentry_client::capture_message("inside", Level::Warning);
        child.set_status(SpanStatus::InternalError);
        let span_id = child.get_span_id();
        child.finish();
        parent.finish();
        sentry_client::configure_scope(|scope| {
            assert!(scope.get_span().is_some());
            assert_eq!(
                scope.iter_trace_propagation_headers().count(),
                2,
                "sentry-trace and baggage"
            );
            scope.set_span(None);
        });
        transaction.finish();
        assert_eq!(span_id.to_string().len(), 16);
    });
    let event = &events(&envelopes)[0];
    let t = &transactions(&envelopes)[0];
    let spans = t.spans.as_ref().and_then(|s| s.as_array()).expect("spans");
    assert_eq!(spans.len(), 2);
    let child = spans.iter().find(|s| s["op"] == "db.query").expect("child");
    let parent = spans.iter().find(|s| s["op"] == "step").expect("parent");
    assert_eq!(child["parent_span_id"], parent["span_id"]);
    assert_eq!(parent["parent_span_id"], t.contexts["trace"]["span_id"]);
    assert_eq!(child["status"], "internal_error");
    assert_eq!(event.contexts["trace"]["span_id"], child["span_id"]);
    assert_eq!(
        event.contexts["trace"]["trace_id"],
        t.contexts["trace"]["trace_id"]
    );
    assert_eq!(t.tags.get("queue"), Some("default"));
    assert!(t.start_timestamp.is_some() && t.timestamp.is_some());
}

#[test]
fn spans_past_the_cap_are_counted_and_a_transaction_is_sent_once() {
    let envelopes = run(ClientOptions::new().traces_sample_rate(1.0), || {
        let transaction = sentry_client::start_transaction(TransactionContext::new("big", "task"));
        for _ in 0..sentry_client::performance::MAX_SPANS + 5 {
            transaction.start_child("op", "").finish();
        }
        let late = transaction.start_child("late", "");
        transaction.clone().finish();
        transaction.finish();
        late.finish();
    });
    let sent = transactions(&envelopes);
    assert_eq!(sent.len(), 1, "finishing twice sends once");
    let spans = sent[0]
        .spans
        .as_ref()
        .and_then(|s| s.as_array())
        .expect("spans");
    assert_eq!(spans.len(), sentry_client::performance::MAX_SPANS);
    assert_eq!(sent[0].extra["dropped_spans"], 5);
}

#[test]
fn before_send_transaction_drops_and_the_drop_is_reported() {
    let options = ClientOptions::new()
        .traces_sample_rate(1.0)
        .before_send_transaction(|t| (t.transaction.as_deref() != Some("health")).then_some(t));
    let envelopes = run(options, || {
        sentry_client::start_transaction(TransactionContext::new("health", "http")).finish();
        sentry_client::start_transaction(TransactionContext::new("GET /a", "http")).finish();
    });
    let names: Vec<_> = transactions(&envelopes)
        .into_iter()
        .filter_map(|t| t.transaction)
        .collect();
    assert_eq!(names, ["GET /a"]);
    let report = envelopes
        .iter()
        .filter_map(|e| e.item(&ItemType::ClientReport))
        .map(|i| i.client_report().expect("report"))
        .next()
        .expect("a client report");
    assert!(report
        .discarded_events
        .iter()
        .any(|d| d.category == DataCategory::Transaction.as_str() && d.quantity == 1));
}

#[test]
fn another_organizations_trace_is_not_continued() {
    let header = "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-1";
    let start = |baggage: Option<&str>| {
        let mut headers = vec![("sentry-trace", header)];
        if let Some(b) = baggage {
            headers.push(("baggage", b));
        }
        TransactionContext::continue_from_headers("GET /", "http.server", headers)
    };
    let trace_ids = |options: ClientOptions, baggage: Vec<Option<&'static str>>| {
        let envelopes = run(options, || {
            for b in &baggage {
                sentry_client::start_transaction(start(*b)).finish();
            }
        });
        transactions(&envelopes)
            .iter()
            .map(|t| t.contexts["trace"]["trace_id"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let ours = Some("09e04486820349518ac7b5d2adbf6ba5".to_owned());
    let lenient = ClientOptions::new().traces_sample_rate(1.0).org_id(7);
    let got = trace_ids(
        lenient,
        vec![Some("sentry-org_id=7"), Some("sentry-org_id=8"), None],
    );
    assert_eq!(got[0], ours, "same organization");
    assert_ne!(got[1], ours, "another organization starts a new trace");
    assert_eq!(got[2], ours, "unknown organization, not strict");
    let strict = ClientOptions::new()
        .traces_sample_rate(1.0)
        .org_id(7)
        .strict_trace_continuation(true);
    let got = trace_ids(strict, vec![Some("sentry-org_id=7"), None]);
    assert_eq!(got[0], ours);
    assert_ne!(
        got[1], ours,
        "strict: an unknown organization is not continued"
    );
    assert!(sentry_client::MaxRequestBodySize::Small.is_within_size_limit(1_000));
    assert!(!sentry_client::MaxRequestBodySize::None.is_within_size_limit(0));
}

#[test]
fn a_transaction_envelope_carries_its_sampling_context() {
    let envelopes = run(
        ClientOptions::new()
            .traces_sample_rate(1.0)
            .release("app@2.0"),
        || sentry_client::start_transaction(TransactionContext::new("GET /b", "http")).finish(),
    );
    let envelope = envelopes
        .iter()
        .find(|e| e.items().any(|i| *i.ty() == ItemType::Transaction))
        .expect("a transaction envelope");
    let trace = envelope.headers.trace.as_ref().expect("a trace header");
    let t = &transactions(&envelopes)[0];
    assert_eq!(trace["trace_id"], t.contexts["trace"]["trace_id"]);
    assert_eq!(trace["public_key"], "public");
    assert_eq!(trace["release"], "app@2.0");
    assert_eq!(trace["transaction"], "GET /b");
    assert_eq!(trace["sampled"], true);
}
