//! Release-health sessions and cron check-ins through a real client and an in-memory
//! transport: what the worker sends for application and request mode, `capture_check_in`
//! and the `monitor` helper (a panicking job reports `error`, then keeps panicking).

use std::sync::Arc;

use sentry::protocol::{
    Envelope, ItemType, MonitorCheckIn, MonitorCheckInStatus, MonitorConfig, MonitorIntervalUnit,
    MonitorSchedule, SessionAggregates, SessionStatus, SessionUpdate,
};
use sentry::test::{TestTransport, TEST_DSN};
use sentry::{Client, ClientOptions, Hub, SessionMode};
use sentry_client as sentry;

fn hub_with(options: ClientOptions) -> (Arc<Hub>, Arc<Client>, Arc<TestTransport>) {
    let transport = TestTransport::new();
    let options = options
        .dsn(TEST_DSN)
        .release("app@2.0.0")
        .environment("production")
        .transport(transport.clone());
    let client = Arc::new(Client::from_config(options));
    let hub = Arc::new(Hub::new(Some(client.clone()), Default::default()));
    (hub, client, transport)
}

fn items(envelopes: &[Envelope], ty: ItemType) -> Vec<Vec<u8>> {
    envelopes
        .iter()
        .flat_map(|e| e.items.iter())
        .filter(|i| *i.ty() == ty)
        .map(|i| i.payload.clone())
        .collect()
}

#[test]
fn application_session_counts_errors_and_ends_once() {
    let (hub, client, transport) = hub_with(ClientOptions::new());
    Hub::run(hub.clone(), || {
        sentry::configure_scope(|s| {
            s.set_user(Some(sentry::User {
                id: Some("u-1".into()),
                ..Default::default()
            }))
        });
        sentry::start_session();
        sentry::capture_message("just info", sentry::Level::Info);
        sentry::capture_message("bad", sentry::Level::Error);
        sentry::end_session_with_status(SessionStatus::Abnormal);
        // Ended: no more updates.
        sentry::capture_message("after", sentry::Level::Error);
    });
    assert!(client.flush(None));
    let envelopes = transport.fetch_and_clear_envelopes();
    let updates: Vec<SessionUpdate> = items(&envelopes, ItemType::Session)
        .iter()
        .map(|p| SessionUpdate::from_slice(p).expect("session"))
        .collect();
    assert_eq!(updates.len(), 3, "{updates:#?}");
    assert!(updates[0].init && updates[0].errors == 0);
    assert_eq!(updates[1].errors, 1);
    let last = &updates[2];
    assert_eq!(last.status, SessionStatus::Abnormal);
    assert_eq!(last.errors, 1);
    assert!(!last.init);
    assert_eq!(last.distinct_id.as_deref(), Some("u-1"));
    assert_eq!(last.attributes.environment.as_deref(), Some("production"));
}

#[test]
fn no_release_no_session() {
    let transport = TestTransport::new();
    let client = Arc::new(Client::from_config(
        ClientOptions::new()
            .dsn(TEST_DSN)
            .transport(transport.clone()),
    ));
    let hub = Arc::new(Hub::new(Some(client.clone()), Default::default()));
    Hub::run(hub, || {
        sentry::start_session();
        sentry::capture_message("bad", sentry::Level::Error);
        sentry::end_session();
    });
    client.flush(None);
    let envelopes = transport.fetch_and_clear_envelopes();
    assert_eq!(envelopes.len(), 1);
    assert!(items(&envelopes, ItemType::Session).is_empty());
}

#[test]
fn request_mode_aggregates_until_flush() {
    let (hub, client, transport) =
        hub_with(ClientOptions::new().session_mode(SessionMode::Request));
    for i in 0..5 {
        let request = Arc::new(Hub::new_from_top(&*hub));
        Hub::run(request.clone(), || {
            sentry::start_session();
            if i == 1 {
                sentry::capture_message("request failed", sentry::Level::Error);
            }
            if i == 2 {
                sentry::capture_event(sentry::protocol::Event {
                    exception: vec![sentry::protocol::Exception {
                        ty: Some("panic".into()),
                        mechanism: Some(sentry::protocol::Mechanism {
                            handled: Some(false),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]
                    .into(),
                    ..Default::default()
                });
            }
            sentry::end_session();
        });
    }
    assert!(client.flush(None));
    let envelopes = transport.fetch_and_clear_envelopes();
    assert!(items(&envelopes, ItemType::Session).is_empty());
    let mut totals = (0, 0, 0);
    for payload in items(&envelopes, ItemType::Sessions) {
        let agg = SessionAggregates::from_slice(&payload).expect("aggregates");
        assert_eq!(agg.attributes.release, "app@2.0.0");
        for b in agg.aggregates {
            totals.0 += b.exited;
            totals.1 += b.errored;
            totals.2 += b.crashed;
        }
    }
    assert_eq!(totals, (3, 1, 1));
}

fn config() -> MonitorConfig {
    MonitorConfig {
        schedule: MonitorSchedule::Interval {
            value: 1,
            unit: MonitorIntervalUnit::Minute,
        },
        checkin_margin: Some(1),
        max_runtime: Some(1),
        timezone: None,
        failure_issue_threshold: None,
        recovery_threshold: None,
    }
}

#[test]
fn check_ins_and_the_monitor_helper() {
    let (hub, client, transport) = hub_with(ClientOptions::new());
    let id = Hub::run(hub.clone(), || {
        sentry::capture_check_in(MonitorCheckIn {
            check_in_id: sentry::Uuid::new_v4(),
            monitor_slug: "direct".into(),
            status: MonitorCheckInStatus::Ok,
            environment: None,
            duration: Some(0.5),
            monitor_config: Some(config()),
        })
    });
    assert!(!id.is_nil());
    let out: Result<u8, String> = Hub::run(hub.clone(), || {
        sentry::monitor("failing", config(), || Err("nope".to_owned()))
    });
    assert!(out.is_err());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Hub::run(hub.clone(), || {
            sentry::monitor("panicking", None, || -> () { panic!("job panicked") })
        })
    }));
    assert!(panicked.is_err(), "the panic continues");
    assert!(client.flush(None));
    let check_ins: Vec<MonitorCheckIn> =
        items(&transport.fetch_and_clear_envelopes(), ItemType::CheckIn)
            .iter()
            .map(|p| MonitorCheckIn::from_slice(p).expect("check-in"))
            .collect();
    let summary: Vec<(&str, MonitorCheckInStatus)> = check_ins
        .iter()
        .map(|c| (c.monitor_slug.as_str(), c.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("direct", MonitorCheckInStatus::Ok),
            ("failing", MonitorCheckInStatus::InProgress),
            ("failing", MonitorCheckInStatus::Error),
            ("panicking", MonitorCheckInStatus::InProgress),
            ("panicking", MonitorCheckInStatus::Error),
        ]
    );
    assert_eq!(check_ins[1].check_in_id, check_ins[2].check_in_id);
    assert!(check_ins[1].monitor_config.is_some() && check_ins[2].monitor_config.is_none());
    assert!(check_ins[2].duration.is_some());
    assert!(check_ins
        .iter()
        .all(|c| c.environment.as_deref() == Some("production")));
}

#[test]
fn reads_the_node_sdk_session_fixture() {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/node/session.envelope"
    ))
    .expect("fixture");
    let envelope =
        sentry::protocol::Envelope::from_slice(&raw, &Default::default()).expect("envelope");
    let item = envelope.item(&ItemType::Session).expect("a session item");
    let update = SessionUpdate::from_slice(&item.payload).expect("reads");
    assert!(update.init);
    assert_eq!(update.status, SessionStatus::Ok);
    assert_eq!(update.errors, 1);
    assert_eq!(update.distinct_id.as_deref(), Some("42"));
    assert_eq!(update.attributes.release, "fixtures@1.0.0");
    assert_eq!(update.attributes.environment.as_deref(), Some("fixtures"));
}

#[test]
fn a_transaction_is_no_error_of_the_session() {
    let (hub, client, transport) = hub_with(ClientOptions::new().traces_sample_rate(1.0));
    Hub::run(hub, || {
        sentry::start_session();
        let t = sentry::start_transaction(sentry::TransactionContext::new("job", "task"));
        t.finish();
        sentry::end_session();
    });
    assert!(client.flush(None));
    let envelopes = transport.fetch_and_clear_envelopes();
    assert!(
        envelopes
            .iter()
            .flat_map(|e| e.items.iter())
            .any(|i| *i.ty() == ItemType::Transaction),
        "the transaction was sent"
    );
    let updates: Vec<SessionUpdate> = items(&envelopes, ItemType::Session)
        .iter()
        .map(|p| SessionUpdate::from_slice(p).expect("session"))
        .collect();
    let last = updates.last().expect("the final update");
    assert_eq!((last.status, last.errors), (SessionStatus::Exited, 0));
}
