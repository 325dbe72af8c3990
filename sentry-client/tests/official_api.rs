//! Code written the way the official `sentry` 0.49 crate is used compiles and behaves the
//! same here: hubs, scopes, `last_event_id`, integrations found by type, `IntoDsn`.
#![cfg(feature = "client")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sentry::protocol::{Event, Map, Value};
use sentry::test::with_captured_events;
use sentry::types::{Dsn, Uuid};
use sentry::{Hub, IntoDsn, Level, Scope, User};
use sentry_client as sentry;

#[derive(Default)]
struct Counter(AtomicUsize);

// Every method has a default.
impl sentry::Integration for Counter {}

#[test]
fn hub_stack_scopes_and_last_event_id() {
    let events = with_captured_events(|| {
        let hub = Hub::current();
        assert!(Hub::with_active(|h| h.client().is_some()));
        {
            let _guard = hub.push_scope();
            sentry::configure_scope(|scope: &mut Scope| {
                scope.set_level(Some(Level::Warning));
                scope.set_fingerprint(Some(&["fp"]));
                scope.set_tag("t", 1);
                scope.set_tag("gone", "x");
                scope.remove_tag("gone");
                scope.set_user(Some(User {
                    id: Some("7".into()),
                    ..Default::default()
                }));
                scope.set_extra("e", Value::from(2));
                let mut ctx = Map::new();
                ctx.insert("k".into(), Value::from("v"));
                scope.set_context("custom", Value::Object(ctx));
                scope.set_transaction(Some("tx"));
                scope.add_event_processor(|mut e: Event| {
                    e.tags.insert("processed", "1");
                    Some(e)
                });
            });
            let id = sentry::capture_event(Event {
                message: Some(sentry::protocol::Message::Text("pushed".into())),
                ..Default::default()
            });
            assert!(!id.is_nil());
            assert_eq!(sentry::last_event_id(), Some(id));
        }
        // The guard popped the scope.
        sentry::with_scope(
            |scope| scope.set_tag("inner", "yes"),
            || sentry::capture_message("inner", Level::Info),
        );
        sentry::configure_scope(|scope| {
            scope.set_tag("cleared", "x");
            scope.clear();
            scope.clear_breadcrumbs();
        });
        sentry::capture_message("plain", Level::Error);
    });
    assert_eq!(events.len(), 3);
    let e = &events[0];
    assert_eq!(e.level, Some(Level::Warning));
    assert_eq!(e.fingerprint.as_deref(), Some(&["fp".to_owned()][..]));
    assert_eq!(e.tags.get("t"), Some("1"));
    assert_eq!(e.tags.get("gone"), None);
    assert_eq!(e.tags.get("processed"), Some("1"));
    assert_eq!(e.user.as_ref().and_then(|u| u.id.as_deref()), Some("7"));
    assert_eq!(e.extra["e"], 2);
    assert_eq!(e.contexts["custom"]["k"], "v");
    assert_eq!(e.transaction.as_deref(), Some("tx"));
    assert_eq!(events[1].tags.get("inner"), Some("yes"));
    assert_eq!(events[1].tags.get("t"), None, "the pushed scope is gone");
    assert_eq!(events[2].tags.get("cleared"), None);
    assert_eq!(events[2].tags.get("inner"), None);
}

#[test]
fn hubs_made_from_the_top_and_run() {
    let events = with_captured_events(|| {
        sentry::configure_scope(|s| s.set_tag("from", "parent"));
        let child = Arc::new(Hub::new_from_top(Hub::current()));
        child.configure_scope(|s| s.set_tag("child", "only"));
        let id = Hub::run(Arc::clone(&child), || {
            assert!(Arc::ptr_eq(&Hub::current(), &child));
            sentry::capture_message("in child", Level::Info)
        });
        assert_eq!(child.last_event_id(), Some(id));
        sentry::capture_message("in parent", Level::Info);
    });
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].tags.get("from"), Some("parent"));
    assert_eq!(events[0].tags.get("child"), Some("only"));
    assert_eq!(events[1].tags.get("child"), None);
    assert!(Arc::ptr_eq(&Hub::main(), &Hub::main()));
}

#[test]
fn integrations_are_found_by_type() {
    let events = sentry::test::with_captured_events_options(
        || {
            let n = sentry::with_integration(|c: &Counter| c.0.fetch_add(1, Ordering::SeqCst) + 1);
            assert_eq!(n, 1);
            // Not registered: the default.
            struct Other;
            impl sentry::Integration for Other {}
            assert!(!Hub::current().with_integration(|_: &Other| true));
            sentry::capture_message("m", Level::Info);
        },
        sentry::ClientOptions::new().add_integration(Counter::default()),
    );
    assert_eq!(events.len(), 1);
    assert!(sentry::Integration::name(&Counter::default()).ends_with("Counter"));
    // Without a client nothing runs.
    assert_eq!(
        sentry::with_integration(|c: &Counter| c.0.load(Ordering::SeqCst) + 1),
        0
    );
}

#[test]
fn into_dsn_and_apply_to_event() {
    let dsn: Option<Dsn> = "https://public@sentry.invalid/1".into_dsn().expect("dsn");
    assert!(dsn.is_some());
    assert_eq!(().into_dsn().expect("none"), None);
    assert_eq!(None::<&str>.into_dsn().expect("none"), None);
    assert!(String::from("::").into_dsn().is_err());
    let options = sentry::ClientOptions {
        dsn: "".into_dsn().expect("empty"),
        ..Default::default()
    };
    assert!(options.dsn.is_none());

    let mut scope = Scope::default();
    scope.set_tag("a", "b");
    scope.add_event_processor(|e| (e.tags.get("drop").is_none()).then_some(e));
    let event = scope.apply_to_event(Event::new()).expect("kept");
    assert_eq!(event.tags.get("a"), Some("b"));
    let mut dropped = Event::new();
    dropped.tags.insert("drop", "1");
    assert!(scope.apply_to_event(dropped).is_none());
    assert!(!Uuid::new_v4().is_nil());
}

#[test]
fn captured_events_take_anything_init_takes() {
    let events = sentry::test::with_captured_events_options(
        || {
            sentry::capture_message("m", Level::Info);
        },
        (
            "https://public@sentry.invalid/1",
            sentry::ClientOptions::new().release("r@1"),
        ),
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].release.as_deref(), Some("r@1"));
}

/// Typed contexts as official code sets them; the event holds them as JSON objects with
/// their `type`, the same JSON the official crate writes.
#[test]
fn typed_contexts_through_set_context() {
    use sentry::protocol::{Context, OsContext, RuntimeContext};
    let events = with_captured_events(|| {
        sentry::configure_scope(|scope| {
            scope.set_context(
                "os",
                Context::Os(Box::new(OsContext {
                    name: Some("Linux".into()),
                    version: Some("6.1".into()),
                    ..Default::default()
                })),
            );
            let mut character = Map::new();
            character.insert("name".into(), Value::from("Mighty Fighter"));
            character.insert("attack_type".into(), Value::from("melee"));
            scope.set_context("character", Context::Other(character));
            scope.set_context(
                "runtime",
                RuntimeContext {
                    name: Some("rustc".into()),
                    ..Default::default()
                },
            );
        });
        sentry::capture_message("with contexts", Level::Info);
    });
    let contexts = &events[0].contexts;
    assert_eq!(
        contexts["os"],
        serde_json::json!({"type": "os", "name": "Linux", "version": "6.1"})
    );
    assert_eq!(
        contexts["character"],
        serde_json::json!({"type": "unknown", "name": "Mighty Fighter", "attack_type": "melee"})
    );
    assert_eq!(contexts["runtime"]["name"], "rustc");
    assert_eq!(contexts["runtime"]["type"], "runtime");
    let Some(Context::Os(os)) = Context::from_value("os", &contexts["os"]) else {
        panic!("{:?}", contexts["os"]);
    };
    assert_eq!(os.version.as_deref(), Some("6.1"));
}

/// `push_scope` on a hub that is not in an `Arc` (the official signature is `&self`): the
/// guard pops the layer it pushed, also after the hub binding moved on.
#[test]
fn push_scope_on_a_bare_hub() {
    let events = with_captured_events(|| {
        let hub = Hub::new_from_top(Hub::current());
        {
            let _guard = hub.push_scope();
            hub.configure_scope(|scope| scope.set_tag("pushed", "yes"));
            hub.capture_message("inside", Level::Info);
        }
        hub.capture_message("after", Level::Info);
    });
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].tags.get("pushed"), Some("yes"));
    assert_eq!(events[1].tags.get("pushed"), None);
}
