//! The builder form of `ClientOptions` (the official crate's setters): each setter sets
//! its field, and an event captured with builder-form options carries them.
#![cfg(feature = "client")]

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use sentry_client as sentry;
use sentry_client::integrations::Integration;
use sentry_client::test::{with_captured_events_options, TestTransport};
use sentry_client::{Breadcrumb, ClientOptions, Level};

struct Named(&'static str);

impl Integration for Named {
    fn name(&self) -> &'static str {
        self.0
    }
}

#[test]
fn each_setter_sets_its_field() {
    let o = ClientOptions::new()
        .debug(true)
        .dsn("https://public@sentry.invalid/1")
        .release("app@1.2.3")
        .environment("staging")
        .dist("x86")
        .sample_rate(0.25)
        .max_breadcrumbs(7)
        .attach_stacktrace(true)
        .send_default_pii(true)
        .server_name("web-1")
        .in_app_include(["my_app"])
        .in_app_exclude(vec!["vendored", "gen"])
        .source_context(true)
        .default_integrations(false)
        .http_proxy("http://proxy:3128")
        .https_proxy(String::from("http://sproxy:3128"))
        .shutdown_timeout(Duration::from_millis(250))
        .transport_channel_capacity(0)
        .spool_dir("/tmp/spool");
    assert_eq!(
        o.dsn.as_ref().map(|d| d.to_string()).as_deref(),
        Some("https://public@sentry.invalid/1")
    );
    assert!(o.debug);
    assert_eq!(o.release.as_deref(), Some("app@1.2.3"));
    assert_eq!(o.environment.as_deref(), Some("staging"));
    assert_eq!(o.dist.as_deref(), Some("x86"));
    assert_eq!(o.sample_rate, 0.25);
    assert_eq!(o.max_breadcrumbs, 7);
    assert!(o.attach_stacktrace);
    assert!(o.send_default_pii);
    assert_eq!(o.server_name.as_deref(), Some("web-1"));
    assert_eq!(o.in_app_include, vec!["my_app"]);
    assert_eq!(o.in_app_exclude, vec!["vendored", "gen"]);
    assert!(o.source_context);
    assert!(!o.default_integrations);
    assert_eq!(o.http_proxy.as_deref(), Some("http://proxy:3128"));
    assert_eq!(o.https_proxy.as_deref(), Some("http://sproxy:3128"));
    assert_eq!(o.shutdown_timeout, Duration::from_millis(250));
    assert_eq!(o.max_queue_size, 1, "a capacity of 0 reads as 1");
    assert_eq!(
        o.spool_dir.as_deref(),
        Some(std::path::Path::new("/tmp/spool"))
    );
    assert_eq!(ClientOptions::new().max_queue_size(5).max_queue_size, 5);

    let o = ClientOptions::new()
        .accept_invalid_certs(true)
        .user_agent("my-app/1.0")
        .traces_sample_rate(0.5)
        .auto_session_tracking(false);
    assert!(o.accept_invalid_certs);
    assert_eq!(o.user_agent, "my-app/1.0");
    assert_eq!(o.traces_sample_rate, 0.5);
    assert!(!o.auto_session_tracking);
    let d = ClientOptions::default();
    // Off by default, as in the official crate (it starts sessions now).
    assert!(!d.accept_invalid_certs && !d.auto_session_tracking);
    assert_eq!(d.session_mode, sentry_client::SessionMode::Application);
    assert!(d.user_agent.starts_with("sentry.rust.lite/"));
}

#[test]
fn callbacks_transport_and_integrations() {
    let transport = TestTransport::new();
    let o = ClientOptions::new()
        .before_send(|mut e| {
            e.server_name = Some("edited".into());
            Some(e)
        })
        .before_breadcrumb(|_| None)
        .transport(transport)
        .integrations([Arc::new(Named("a")) as Arc<dyn Integration>])
        .add_integration(Named("b"));
    assert!(o.before_send.is_some());
    assert!(o
        .before_breadcrumb
        .as_ref()
        .is_some_and(|f| f(Breadcrumb::default()).is_none()));
    assert!(o.transport.is_some());
    let names: Vec<_> = o.integrations.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["a", "b"]);
    // `integrations` replaces the list.
    let o = o.integrations(Vec::new());
    assert!(o.integrations.is_empty());
}

#[test]
fn maybe_release_sample_rate_and_a_bad_dsn() {
    let none: Option<&'static str> = None;
    let o = ClientOptions::new().release("kept").maybe_release(none);
    assert_eq!(o.release.as_deref(), Some("kept"));
    let o = o.maybe_release(sentry::release_name!());
    assert_eq!(
        o.release,
        Some(Cow::Borrowed(concat!(
            "sentry-client@",
            env!("CARGO_PKG_VERSION")
        )))
    );
    assert_eq!(ClientOptions::new().sample_rate(3.0).sample_rate, 1.0);
    assert_eq!(ClientOptions::new().sample_rate(-1.0).sample_rate, 0.0);
    assert_eq!(ClientOptions::new().sample_rate(f32::NAN).sample_rate, 0.0);
    // An invalid DSN disables the client rather than panicking.
    assert!(ClientOptions::new().dsn("not a dsn").dsn.is_none());
    assert!(ClientOptions::new().dsn("").dsn.is_none());
}

#[test]
fn the_old_with_setters_are_aliases() {
    let o = ClientOptions::new()
        .with_dsn("https://public@sentry.invalid/1")
        .with_release("r")
        .with_environment("e")
        .with_sample_rate(0.5)
        .with_attach_stacktrace(true)
        .with_debug(true)
        .with_shutdown_timeout(Duration::from_secs(1));
    assert!(o.dsn.is_some());
    assert_eq!(o.release.as_deref(), Some("r"));
    assert_eq!(o.environment.as_deref(), Some("e"));
    assert_eq!(o.sample_rate, 0.5);
    assert!(o.attach_stacktrace && o.debug);
    assert_eq!(o.shutdown_timeout, Duration::from_secs(1));
}

#[test]
fn an_event_carries_builder_form_options() {
    let events = with_captured_events_options(
        || {
            sentry::add_breadcrumb(Breadcrumb {
                message: Some("dropped".into()),
                ..Default::default()
            });
            sentry::capture_message("hello", Level::Warning);
        },
        ClientOptions::new()
            .release("app@2.0.0")
            .environment("staging")
            .server_name("web-7")
            .dist("arm64")
            .before_breadcrumb(|_| None)
            .before_send(|mut e| {
                e.tags.insert("seen", "yes");
                Some(e)
            }),
    );
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.release.as_deref(), Some("app@2.0.0"));
    assert_eq!(e.environment.as_deref(), Some("staging"));
    assert_eq!(e.server_name.as_deref(), Some("web-7"));
    assert_eq!(e.dist.as_deref(), Some("arm64"));
    assert_eq!(e.tags.get("seen"), Some("yes"));
    assert!(e.breadcrumbs.values.is_empty());
}

#[test]
fn a_sample_rate_of_zero_drops_every_event() {
    let events = with_captured_events_options(
        || {
            sentry::capture_message("a", Level::Error);
            sentry::capture_message("b", Level::Error);
        },
        ClientOptions::new().sample_rate(0.0),
    );
    assert!(events.is_empty());
}
