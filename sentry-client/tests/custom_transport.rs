//! A transport written the official crate's way (`send_envelope(Envelope)`, `flush`,
//! `shutdown`) gets every envelope once, through the background worker; the client's
//! flush and close reach its `flush` and `shutdown`; a panicking transport costs the
//! envelope, not the worker. A factory closure builds one per client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sentry_client::{ClientOptions, Envelope, Level, Transport};

#[derive(Default)]
struct Official {
    envelopes: Mutex<Vec<Envelope>>,
    flushes: AtomicUsize,
    shutdowns: AtomicUsize,
    panic_on: Mutex<Option<String>>,
}

impl Transport for Official {
    fn send_envelope(&self, envelope: Envelope) {
        let message = envelope
            .event()
            .and_then(Result::ok)
            .and_then(|e| e.message_text().map(str::to_owned));
        let panic_on = self.panic_on.lock().expect("lock").clone();
        if message.is_some() && message == panic_on {
            panic!("the transport broke");
        }
        self.envelopes.lock().expect("lock").push(envelope);
    }

    fn flush(&self, _timeout: Duration) -> bool {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        true
    }

    fn shutdown(&self, _timeout: Duration) -> bool {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
        true
    }
}

fn messages(t: &Official) -> Vec<String> {
    t.envelopes
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|e| e.event())
        .filter_map(Result::ok)
        .filter_map(|e| e.message_text().map(str::to_owned))
        .collect()
}

#[test]
fn an_official_shape_transport_gets_each_envelope_and_the_flushes() {
    let transport = Arc::new(Official::default());
    *transport.panic_on.lock().expect("lock") = Some("poison".into());
    let client = Arc::new(sentry_client::Client::from_config(
        ClientOptions::new()
            .dsn("https://public@sentry.invalid/1")
            .transport(Arc::clone(&transport)),
    ));
    let hub = Arc::new(sentry_client::Hub::new(
        Some(Arc::clone(&client)),
        Default::default(),
    ));
    sentry_client::Hub::run(hub, || {
        sentry_client::capture_message("one", Level::Info);
        sentry_client::capture_message("poison", Level::Info);
        sentry_client::capture_message("two", Level::Info);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    assert_eq!(
        messages(&transport),
        ["one", "two"],
        "the panic cost one envelope"
    );
    assert!(transport.flushes.load(Ordering::SeqCst) >= 1);
    assert!(client.close(Some(Duration::from_secs(10))));
    assert_eq!(transport.shutdowns.load(Ordering::SeqCst), 1);
}

#[test]
fn a_factory_closure_builds_the_transport() {
    let made = Arc::new(Official::default());
    let for_factory = Arc::clone(&made);
    let options = ClientOptions::new()
        .dsn("https://public@sentry.invalid/1")
        .transport(move |options: &ClientOptions| {
            assert!(options.dsn.is_some());
            Arc::clone(&for_factory) as Arc<dyn Transport>
        });
    let client = sentry_client::Client::from_config(options);
    client.capture_event(
        sentry_client::Event {
            message: Some("built".into()),
            ..Default::default()
        },
        None,
    );
    assert!(client.flush(Some(Duration::from_secs(10))));
    assert_eq!(messages(&made), ["built"]);
}
