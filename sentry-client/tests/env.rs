//! `SENTRY_DSN`, `SENTRY_RELEASE` and `SENTRY_ENVIRONMENT` fill options left unset in
//! code; an empty or invalid DSN gives a disabled client. (One test: the environment is
//! process-wide.)
#![cfg(feature = "client")]

use std::sync::Arc;
use std::time::Duration;

use sentry_client::test::TestTransport;
use sentry_client::{Client, ClientOptions, Hub, Level};

#[test]
fn environment_variables_fill_unset_options() {
    // SAFETY of the environment edits: this binary runs a single test.
    unsafe {
        std::env::set_var("SENTRY_DSN", "https://abc@sentry.invalid/7");
        std::env::set_var("SENTRY_RELEASE", "env-app@3.1");
        std::env::set_var("SENTRY_ENVIRONMENT", "staging");
    }
    let transport = TestTransport::new();
    let client = Arc::new(Client::from_config(ClientOptions {
        transport: Some(Arc::new(Arc::clone(&transport))),
        environment: Some("from-code".into()),
        ..Default::default()
    }));
    assert!(client.is_enabled());
    assert_eq!(
        client.options().dsn.as_ref().map(|d| d.project_id()),
        Some(7)
    );
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || sentry_client::capture_message("hi", Level::Info));
    client.flush(Some(Duration::from_secs(10)));
    let events = transport.fetch_and_clear_events();
    assert_eq!(events[0].release.as_deref(), Some("env-app@3.1"));
    assert_eq!(
        events[0].environment.as_deref(),
        Some("from-code"),
        "code wins over the environment"
    );
    assert!(events[0].server_name.is_some(), "host name by default");
    client.close(None);

    // An invalid DSN (here from the environment) disables the client, as does none.
    unsafe { std::env::set_var("SENTRY_DSN", "not a dsn") };
    let disabled = Client::from_config(ClientOptions::default());
    assert!(!disabled.is_enabled());
    unsafe { std::env::remove_var("SENTRY_DSN") };
    let guard = sentry_client::init("");
    assert!(!guard.is_enabled());
    assert!(sentry_client::capture_message("nowhere", Level::Error).is_nil());
}
