//! Events on their way from a capture call to the background worker: the [`Draft`] a
//! caller hands over (a whole event, or just a message's parts), the [`PendingEvent`]
//! queued with its scope snapshot and unresolved stacks, and the constructors every
//! capture path shares (new events and ids, the current thread, the panic mechanism).
//! A leaf: the client, the error and panic paths and the worker's pipeline all use it,
//! and it uses none of them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::backtrace::RawBacktrace;
use crate::protocol::{
    DataCategory, Event, Level, Mechanism, Request, Span, Thread, ThreadId, Timestamp, TraceContext,
};
use crate::scope::Snapshot;

/// Where a raw backtrace goes once resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StackTarget {
    /// The exception at this index of `event.exception.values`.
    Exception(usize),
    /// The thread at this index of `event.threads.values`.
    Thread(usize),
}

/// What the caller hands over: a full event, or just the parts of a message event (the
/// worker builds the event, so the hot `capture_message` path moves a few words instead
/// of a whole `Event`).
pub(crate) enum Draft {
    Event(Box<Event>),
    Message {
        id: Uuid,
        timestamp: Timestamp,
        level: Level,
        message: String,
        thread: Option<Box<Thread>>,
    },
    /// A finished transaction, made into its event on the worker.
    Transaction(Box<TransactionDraft>),
}

/// A finished transaction's parts. The worker makes them into the transaction's event:
/// serializing the spans is most of a transaction's cost, and it stays off the
/// caller's thread.
pub(crate) struct TransactionDraft {
    pub(crate) id: Uuid,
    /// When it finished.
    pub(crate) timestamp: Timestamp,
    pub(crate) start: Timestamp,
    pub(crate) name: String,
    /// The root span.
    pub(crate) context: TraceContext,
    pub(crate) spans: Vec<Span>,
    /// Spans past the cap, not recorded.
    pub(crate) dropped_spans: u64,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) extra: Map<String, Value>,
    pub(crate) request: Option<Request>,
}

impl TransactionDraft {
    /// The `transaction` event: the root span as its `trace` context, the spans moved in.
    pub(crate) fn into_event(self) -> Event {
        let spans: Vec<Value> = self
            .spans
            .into_iter()
            .filter_map(|s| serde_json::to_value(s).ok())
            .collect();
        let mut event = Event {
            event_id: self.id,
            timestamp: Some(self.timestamp),
            ..Default::default()
        };
        event.ty = Some("transaction".into());
        event.transaction = Some(self.name);
        event.start_timestamp = Some(self.start);
        event.spans = Some(Value::Array(spans));
        event.contexts.insert(
            "trace".into(),
            serde_json::to_value(&self.context).unwrap_or(Value::Null),
        );
        for (k, v) in self.tags {
            event.tags.insert(k, v);
        }
        event.extra = self.extra;
        if self.dropped_spans > 0 {
            event
                .extra
                .insert("dropped_spans".into(), self.dropped_spans.into());
        }
        event.request = self.request;
        event
    }
}

impl Draft {
    pub(crate) fn id(&self) -> Uuid {
        match self {
            Draft::Event(e) => e.event_id,
            Draft::Message { id, .. } => *id,
            Draft::Transaction(t) => t.id,
        }
    }

    pub(crate) fn into_event(self) -> Event {
        match self {
            Draft::Event(e) => *e,
            Draft::Transaction(t) => t.into_event(),
            Draft::Message {
                id,
                timestamp,
                level,
                message,
                thread,
            } => Event {
                event_id: id,
                timestamp: Some(timestamp),
                level: Some(level),
                message: Some(message.into()),
                threads: thread.map(|t| vec![*t]).unwrap_or_default().into(),
                ..Default::default()
            },
        }
    }
}

/// An event on its way to the worker: finished there.
pub(crate) struct PendingEvent {
    pub(crate) draft: Draft,
    pub(crate) scope: Option<Snapshot>,
    pub(crate) stacks: Vec<(StackTarget, RawBacktrace)>,
}

impl PendingEvent {
    /// What a discard of it is counted as: a transaction or an error.
    pub(crate) fn category(&self) -> DataCategory {
        match &self.draft {
            Draft::Event(e) if e.ty.as_deref() == Some("transaction") => DataCategory::Transaction,
            Draft::Transaction(_) => DataCategory::Transaction,
            _ => DataCategory::Error,
        }
    }
}

/// The current thread as a protocol thread (id, name).
pub(crate) fn current_thread(crashed: bool) -> Thread {
    let t = std::thread::current();
    Thread {
        id: format!("{:?}", t.id())
            .trim_start_matches("ThreadId(")
            .trim_end_matches(')')
            .parse()
            .ok()
            .map(ThreadId::Int),
        name: t.name().map(str::to_owned),
        current: Some(true),
        crashed: crashed.then_some(true),
        main: (t.name() == Some("main")).then_some(true),
        ..Default::default()
    }
}

/// A new event with a random id and the current time. The id comes from the
/// thread-local generator of [`crate::random`] rather than a system call per event.
pub(crate) fn new_event() -> Event {
    Event {
        event_id: new_event_id(),
        timestamp: Some(Timestamp::now()),
        ..Default::default()
    }
}

/// A random (v4) event id from the thread-local generator.
pub(crate) fn new_event_id() -> Uuid {
    uuid::Builder::from_random_bytes(crate::random::bytes16()).into_uuid()
}

/// A mechanism for unhandled panics.
pub(crate) fn panic_mechanism() -> Mechanism {
    Mechanism {
        ty: Some("panic".into()),
        handled: Some(false),
        ..Default::default()
    }
}
