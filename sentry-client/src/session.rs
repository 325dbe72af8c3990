//! Release health sessions: [`start_session`], [`end_session`],
//! [`end_session_with_status`], and what the worker does with them.
//!
//! A session lives on the scope of the hub that started it (shared by the scopes pushed
//! above it, like the official crate's). The caller's thread only creates it (an id, a
//! timestamp, the release and user) and, at the end, queues one job; everything else
//! happens on the background worker, in queue order: each finished event (after
//! `before_send`) counts on the session of the scope it was captured in — an error
//! (level `error` or above, or an exception) raises `errors`, an unhandled exception (a
//! panic) makes it `crashed`, after which the session takes no more updates. So an
//! `end_session` right after a capture still sees that capture.
//!
//! What is sent depends on [`SessionMode`]:
//! - **application** (one session per process run): the session rides along as a
//!   `session` item with the next event after each change (the first one `init: true`),
//!   and its final update goes alone when it ends;
//! - **request** (one per request, what `sentry-tower` starts): nothing is sent per
//!   session; the worker counts ended sessions per minute and user and sends them as one
//!   `sessions` item (aggregates) at most once a minute, and on `flush` and shutdown.
//!
//! A session needs a `release` (the protocol has none without): without one,
//! `start_session` does nothing. A session dropped without being ended (its scope went
//! away) ends as `exited`.
//!
//! ```
//! use sentry_client as sentry;
//! use sentry::protocol::{ItemType, SessionStatus, SessionUpdate};
//!
//! let transport = sentry::test::TestTransport::new();
//! let options = sentry::ClientOptions::new()
//!     .dsn(sentry::test::TEST_DSN)
//!     .release("app@1.0.0")
//!     .transport(transport.clone());
//! let client = std::sync::Arc::new(sentry::Client::from_config(options));
//! let hub = std::sync::Arc::new(sentry::Hub::new(Some(client.clone()), Default::default()));
//! sentry::Hub::run(hub, || {
//!     sentry::start_session();
//!     sentry::capture_message("boom", sentry::Level::Error);
//!     sentry::end_session();
//! });
//! client.flush(None);
//! let updates: Vec<SessionUpdate> = transport
//!     .fetch_and_clear_envelopes()
//!     .iter()
//!     .flat_map(|e| e.items.iter())
//!     .filter(|i| *i.ty() == ItemType::Session)
//!     .map(|i| SessionUpdate::from_slice(&i.payload).unwrap())
//!     .collect();
//! let last = updates.last().unwrap();
//! assert_eq!((last.status, last.errors), (SessionStatus::Exited, 1));
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::delivery::Shared;
use crate::draft::PendingEvent;
use crate::protocol::{
    DataCategory, Envelope, Event, Level, SessionAggregateItem, SessionAggregates,
    SessionAttributes, SessionStatus, SessionUpdate,
};
use crate::sync::Mutex;
use crate::{Client, ClientOptions, Hub};

/// How sessions are tracked (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionMode {
    /// One long session per process run; updates are sent one by one.
    #[default]
    Application,
    /// Many short sessions, one per request; sent as per-minute aggregates.
    Request,
}

/// How often the worker sends request-mode aggregates at most.
const AGGREGATE_INTERVAL: Duration = Duration::from_secs(60);
/// Buckets kept before the aggregates are sent early (the protocol's cap per item).
const MAX_BUCKETS: usize = 100;

/// A running session, shared by the scopes it lives on and the events captured there.
pub(crate) struct SessionHandle {
    client: Arc<Client>,
    started: Instant,
    state: Mutex<State>,
}

struct State {
    update: SessionUpdate<'static>,
    /// Changed since it was last sent.
    dirty: bool,
    /// Ended (by `end_session`, a crash, or being dropped); no more updates.
    closed: bool,
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Session")
            .field("sid", &state.update.session_id)
            .field("status", &state.update.status)
            .field("errors", &state.update.errors)
            .finish()
    }
}

/// What the worker gets for a session.
pub(crate) enum SessionJob {
    /// `end_session`: close it (after the events queued before), then send.
    End {
        handle: Arc<SessionHandle>,
        status: SessionStatus,
        duration: f64,
    },
    /// A final update, made when a session was dropped without being ended.
    Update(Box<SessionUpdate<'static>>),
    /// Send the request-mode aggregates now (`flush`, `close`).
    Flush,
}

impl SessionHandle {
    /// A new session for the hub's client and user; `None` without a release.
    fn start(client: Arc<Client>, distinct_id: Option<String>) -> Option<SessionHandle> {
        let options = client.options();
        let release = options.release.clone()?;
        let update = SessionUpdate {
            session_id: uuid::Builder::from_random_bytes(crate::random::bytes16()).into_uuid(),
            distinct_id,
            sequence: None,
            timestamp: None,
            started: SystemTime::now(),
            init: true,
            duration: None,
            status: SessionStatus::Ok,
            errors: 0,
            attributes: SessionAttributes {
                release,
                environment: options.environment.clone(),
                ip_address: None,
                user_agent: None,
            },
        };
        Some(SessionHandle {
            client,
            started: Instant::now(),
            state: Mutex::new(State {
                update,
                dirty: true,
                closed: false,
            }),
        })
    }

    /// Counts a finished event on the session (worker side).
    pub(crate) fn record_event(&self, event: &Event) {
        let mut state = self.state.lock();
        if state.closed {
            return;
        }
        let mut error = event.level.unwrap_or(Level::Error) >= Level::Error;
        let mut crash = false;
        for e in event.exception.values.iter() {
            error = true;
            if e.mechanism.as_ref().and_then(|m| m.handled) == Some(false) {
                crash = true;
            }
        }
        if error {
            state.update.errors += 1;
            state.dirty = true;
        }
        if crash {
            state.update.status = SessionStatus::Crashed;
            state.update.duration = Some(self.started.elapsed().as_secs_f64());
            state.closed = true;
        }
    }

    /// The update to send with an event (application mode), if the session changed.
    pub(crate) fn take_update(&self) -> Option<SessionUpdate<'static>> {
        let mut state = self.state.lock();
        take(&mut state)
    }

    /// Ends the session (worker side); the final update, unless it was already sent.
    fn close(&self, status: SessionStatus, duration: f64) -> Option<SessionUpdate<'static>> {
        let mut state = self.state.lock();
        if !state.closed {
            state.closed = true;
            state.update.status = match status {
                SessionStatus::Ok => SessionStatus::Exited,
                other => other,
            };
            state.update.duration = Some(duration);
            state.dirty = true;
        }
        take(&mut state)
    }
}

fn take(state: &mut State) -> Option<SessionUpdate<'static>> {
    if !state.dirty {
        return None;
    }
    let mut update = state.update.clone();
    update.timestamp = Some(SystemTime::now());
    state.update.init = false;
    state.dirty = false;
    Some(update)
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        let duration = self.started.elapsed().as_secs_f64();
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if !state.closed {
            state.closed = true;
            state.update.status = SessionStatus::Exited;
            state.update.duration = Some(duration);
            state.dirty = true;
        }
        let update = take(state);
        drop(guard);
        if let Some(update) = update {
            self.client
                .submit_session(SessionJob::Update(Box::new(update)));
        }
    }
}

impl Hub {
    /// Starts a release-health session on this hub's top scope, replacing (and thereby
    /// ending) the one there was. Does nothing without an enabled client or a `release`.
    pub fn start_session(&self) {
        let Some(client) = self.client().filter(|c| c.is_enabled()) else {
            return;
        };
        self.configure_scope(|scope| {
            let did = scope.user().and_then(|u| {
                u.id.clone()
                    .or_else(|| u.email.clone())
                    .or_else(|| u.username.clone())
            });
            if let Some(handle) = SessionHandle::start(client, did) {
                scope.session = Some(Arc::new(handle));
            }
        });
    }

    /// Ends this hub's session as `exited` (see [`Hub::end_session_with_status`]).
    pub fn end_session(&self) {
        self.end_session_with_status(SessionStatus::Exited)
    }

    /// Ends this hub's session with `status` (`ok` counts as `exited`); a session that
    /// crashed stays crashed. Events captured before the call still count on it.
    pub fn end_session_with_status(&self, status: SessionStatus) {
        if self.client().is_none() {
            return;
        }
        let Some(handle) = self.configure_scope(|scope| scope.session.take()) else {
            return;
        };
        let duration = handle.started.elapsed().as_secs_f64();
        let client = Arc::clone(&handle.client);
        client.submit_session(SessionJob::End {
            handle,
            status,
            duration,
        });
    }
}

/// Starts a release-health session on the current hub (see the module docs).
pub fn start_session() {
    Hub::current().start_session()
}

/// Ends the current hub's session as `exited`.
pub fn end_session() {
    Hub::current().end_session()
}

/// Ends the current hub's session with a status (e.g. `abnormal`).
pub fn end_session_with_status(status: SessionStatus) {
    Hub::current().end_session_with_status(status)
}

/// The session a queued error event counts on (transactions count on none).
pub(crate) fn of_pending(
    pending: &PendingEvent,
    category: DataCategory,
) -> Option<Arc<SessionHandle>> {
    pending
        .scope
        .as_ref()
        .filter(|_| category != DataCategory::Transaction)
        .and_then(|s| s.scope.session.clone())
}

/// Counts a finished event on its session (after `before_send`, on the worker, in queue
/// order); in application mode the session's change rides along in the event's envelope.
pub(crate) fn count_event(
    session: Option<Arc<SessionHandle>>,
    event: &Event,
    envelope: &mut Envelope,
    options: &ClientOptions,
) {
    if let Some(session) = session {
        session.record_event(event);
        if options.session_mode == SessionMode::Application {
            envelope
                .items
                .extend(session.take_update().map(|u| u.to_item()));
        }
    }
}

/// The worker's side: request-mode aggregates, and turning session jobs into envelopes.
#[derive(Default)]
pub(crate) struct SessionWorker {
    buckets: HashMap<(u64, Option<String>), Counts>,
    attributes: Option<SessionAttributes<'static>>,
    last_sent: Option<Instant>,
}

#[derive(Default)]
struct Counts {
    exited: u32,
    errored: u32,
    abnormal: u32,
    crashed: u32,
}

impl SessionWorker {
    /// The envelope a session job makes now, if any (a job that makes none is settled).
    pub(crate) fn on_job(
        &mut self,
        job: SessionJob,
        options: &ClientOptions,
        shared: &Shared,
    ) -> Option<Envelope> {
        let envelope = self.envelope_of(job, options);
        if envelope.is_none() {
            shared.settle(1);
        }
        envelope
    }

    fn envelope_of(&mut self, job: SessionJob, options: &ClientOptions) -> Option<Envelope> {
        let update = match job {
            SessionJob::End {
                handle,
                status,
                duration,
            } => handle.close(status, duration)?,
            SessionJob::Update(update) => *update,
            SessionJob::Flush => return self.take_envelope(),
        };
        if options.session_mode == SessionMode::Application || !update.init {
            let mut env = Envelope::new();
            env.push(update.to_item());
            return Some(env);
        }
        self.aggregate(&update);
        let due = self
            .last_sent
            .is_none_or(|t| t.elapsed() >= AGGREGATE_INTERVAL);
        if due || self.buckets.len() >= MAX_BUCKETS {
            return self.take_envelope();
        }
        None
    }

    /// The envelope of the pending request-mode aggregates, if there are any.
    fn take_envelope(&mut self) -> Option<Envelope> {
        let attributes = self.attributes.take()?;
        self.last_sent = Some(Instant::now());
        let aggregates = self
            .buckets
            .drain()
            .map(|((minute, did), c)| SessionAggregateItem {
                started: UNIX_EPOCH + Duration::from_secs(minute),
                distinct_id: did,
                exited: c.exited,
                errored: c.errored,
                abnormal: c.abnormal,
                crashed: c.crashed,
            })
            .collect();
        let mut env = Envelope::new();
        env.push(
            SessionAggregates {
                aggregates,
                attributes,
            }
            .to_item(),
        );
        Some(env)
    }

    fn aggregate(&mut self, update: &SessionUpdate<'static>) {
        let secs = update
            .started
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if self.attributes.is_none() {
            self.attributes = Some(update.attributes.clone());
        }
        let counts = self
            .buckets
            .entry((secs / 60 * 60, update.distinct_id.clone()))
            .or_default();
        match update.status {
            SessionStatus::Crashed => counts.crashed += 1,
            SessionStatus::Abnormal => counts.abnormal += 1,
            SessionStatus::Errored => counts.errored += 1,
            _ if update.errors > 0 => counts.errored += 1,
            _ => counts.exited += 1,
        }
    }
}
