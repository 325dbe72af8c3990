//! The free functions of the crate root: `init` and the capture calls on the current hub.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::hub::IntoBreadcrumbs;
use crate::protocol::{Event, Level};
use crate::{Client, ClientOptions, Hub, Scope};

/// Creates the client, binds it to the main hub (so every thread and task sees it,
/// wherever `init` is called), installs the panic hook, and returns a guard that flushes
/// and closes the client when dropped.
///
/// `options` is a [`ClientOptions`], a DSN string, a [`Dsn`](crate::Dsn), or a
/// `(dsn, ClientOptions)` pair. An empty or absent DSN (and no `SENTRY_DSN`) gives a
/// disabled client that costs nothing.
///
/// ```
/// let _guard = sentry_client::init(sentry_client::ClientOptions {
///     release: sentry_client::release_name!(),
///     ..Default::default()
/// });
/// // No DSN here: capture calls return the nil id at once.
/// assert!(sentry_client::capture_message("hi", sentry_client::Level::Info).is_nil());
/// ```
pub fn init<O: Into<ClientOptions>>(options: O) -> ClientInitGuard {
    let client = Arc::new(Client::from_config(options));
    if client.is_enabled() {
        if client.options().default_integrations {
            crate::panic::install_panic_hook();
        }
        if client.options().debug {
            eprintln!(
                "[sentry-client] enabled: {:?}",
                client.options().dsn.as_ref().map(|d| d.to_string())
            );
        }
        Hub::main().bind_client_base(Some(Arc::clone(&client)));
        let current = Hub::current();
        if !Arc::ptr_eq(&current, &Hub::main()) && !current.inherits() {
            current.bind_client(Some(Arc::clone(&client)));
        }
        if auto_application_session(&client) {
            Hub::main().start_session();
        }
    }
    ClientInitGuard(client)
}

/// Returned by [`init`]: flushes and closes the client (bounded by `shutdown_timeout`)
/// when dropped. Keep it alive for the life of the program (`let _guard = ...`).
#[must_use = "the client is closed when the guard is dropped; bind it: `let _guard = ...`"]
#[derive(Debug)]
pub struct ClientInitGuard(Arc<Client>);

impl ClientInitGuard {
    /// Whether the client is enabled.
    pub fn is_enabled(&self) -> bool {
        self.0.is_enabled()
    }

    /// The client.
    pub fn client(&self) -> &Arc<Client> {
        &self.0
    }
}

impl std::ops::Deref for ClientInitGuard {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0
    }
}

/// Whether `init` starts (and the guard ends) the process-run session.
fn auto_application_session(client: &Client) -> bool {
    let o = client.options();
    o.auto_session_tracking && o.session_mode == crate::SessionMode::Application
}

impl Drop for ClientInitGuard {
    fn drop(&mut self) {
        if self.0.is_enabled() {
            if auto_application_session(&self.0) {
                Hub::main().end_session();
            }
            self.0.close(None);
        }
    }
}

/// Captures a message at a level on the current hub; returns the event id (nil when
/// nothing was captured).
pub fn capture_message(message: &str, level: Level) -> Uuid {
    Hub::current().capture_message(message, level)
}

/// Captures an error with its whole `source()` chain (deepest source first, `error`
/// last, as the protocol orders chains).
pub fn capture_error<E: Error + ?Sized>(error: &E) -> Uuid {
    Hub::current().capture_error(error)
}

/// Captures a ready-made event.
pub fn capture_event(event: Event) -> Uuid {
    Hub::current().capture_event(event)
}

/// The id of the last event captured on the current hub.
pub fn last_event_id() -> Option<Uuid> {
    Hub::current().last_event_id()
}

/// Adds breadcrumbs to the current scope (see [`IntoBreadcrumbs`] for what fits).
pub fn add_breadcrumb<B: IntoBreadcrumbs>(breadcrumb: B) {
    Hub::current().add_breadcrumb(breadcrumb)
}

/// Edits the current scope.
pub fn configure_scope<F: FnOnce(&mut Scope) -> R, R>(f: F) -> R {
    Hub::current().configure_scope(f)
}

/// Runs `callback` in a temporary scope configured by `scope_config`.
pub fn with_scope<C: FnOnce(&mut Scope), F: FnOnce() -> R, R>(scope_config: C, callback: F) -> R {
    Hub::current().with_scope(scope_config, callback)
}

/// Calls `f` with the current client's integration of type `I`, if it has one (see
/// [`Hub::with_integration`]); `R::default()` else.
pub fn with_integration<I, F, R>(f: F) -> R
where
    I: crate::integrations::Integration,
    F: FnOnce(&I) -> R,
    R: Default,
{
    Hub::current().with_integration(f)
}

/// Flushes the current hub's client; `true` if everything was sent in time.
pub fn flush(timeout: Option<Duration>) -> bool {
    Hub::current().client().is_none_or(|c| c.flush(timeout))
}
