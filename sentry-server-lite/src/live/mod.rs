//! The live tail and the Spotlight sidecar (issue #20), for the developer running the
//! server locally.
//!
//! [`LiveHub`] fans messages out to subscribers: envelopes POSTed to the sidecar
//! endpoint (`POST /stream`, as Spotlight's sidecar takes them from SDKs with
//! `spotlight` on) and one-line summaries of the events and logs the ingest path has
//! committed. Subscribers are bounded: at most [`MAX_SUBSCRIBERS`] at once (more are
//! answered 503), and one that falls [`BACKLOG`] messages behind is dropped (its stream
//! ends) rather than slowing anyone down; publishing never waits, and costs one atomic
//! load while nobody listens.
//!
//! **Who may see it.** The routes ([`routes`]) are served only on the Spotlight
//! listener (`serve --spotlight [ADDR]`, on in `quickstart`), which must be a loopback
//! address: what reaches it comes from this machine, and whoever can open it already
//! has the developer's machine. They are not on the main listener, and they need no
//! login there.

mod routes;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{broadcast, watch};

pub use routes::routes;

use crate::store::logs::NewLog;
use crate::store::{NewEvent, SideRecord};

/// Subscribers at once.
pub const MAX_SUBSCRIBERS: usize = 16;
/// Messages a subscriber may fall behind before it is dropped.
pub const BACKLOG: usize = 512;
/// The Spotlight sidecar's port: `127.0.0.1:8969`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8969";

/// One message of the hub.
#[derive(Debug, Clone)]
pub enum Message {
    /// An envelope posted to the sidecar endpoint, with its content type.
    Envelope {
        /// `application/x-sentry-envelope` (or what the sender said).
        content_type: String,
        /// The envelope as posted (decompressed).
        body: Bytes,
    },
    /// A committed event or log, as a JSON summary for the live page.
    Committed(String),
}

/// The fan-out of live messages.
#[derive(Debug)]
pub struct LiveHub {
    tx: broadcast::Sender<Arc<Message>>,
    subscribers: Arc<AtomicUsize>,
    /// `true` once the server stops: every stream ends (so graceful shutdown is not held).
    closed: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(BACKLOG);
        LiveHub {
            tx,
            subscribers: Arc::default(),
            closed: watch::channel(false).0,
        }
    }
}

/// A subscription: its receiver, and its place among the bounded subscribers (given
/// back when dropped).
pub struct Subscription {
    /// The messages.
    pub rx: broadcast::Receiver<Arc<Message>>,
    /// Turns `true` when the hub closes.
    pub closed: watch::Receiver<bool>,
    count: Arc<AtomicUsize>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl LiveHub {
    /// Whether anybody listens (publishers skip building messages otherwise).
    pub fn is_watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Sends a message to every subscriber (never waits).
    pub fn publish(&self, message: Message) {
        if self.is_watched() {
            let _ = self.tx.send(Arc::new(message));
        }
    }

    /// A new subscription, or `None` when [`MAX_SUBSCRIBERS`] are listening.
    pub fn subscribe(&self) -> Option<Subscription> {
        let taken = self
            .subscribers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_SUBSCRIBERS).then_some(n + 1)
            });
        taken.ok().map(|_| Subscription {
            rx: self.tx.subscribe(),
            closed: self.closed.subscribe(),
            count: Arc::clone(&self.subscribers),
        })
    }

    /// Ends every subscription's stream (the server is stopping).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// The summaries of what a committed batch held, for the live page.
    pub fn committed(&self, events: &[Summary], logs: &[Summary]) {
        for s in events.iter().chain(logs) {
            self.publish(Message::Committed(s.0.clone()));
        }
    }
}

/// A one-line JSON summary of a committed event or log.
#[derive(Debug, Clone)]
pub struct Summary(pub String);

/// The summary of an event.
pub fn event_summary(e: &NewEvent) -> Summary {
    Summary(
        json!({
            "type": "event",
            "project": e.project_id,
            "eventId": e.event_id,
            "level": e.level,
            "title": e.title,
            "timestamp": crate::clock::rfc3339_ms(e.timestamp_ms),
        })
        .to_string(),
    )
}

/// The summaries of a batch's logs.
pub fn log_summaries(side: &[SideRecord]) -> Vec<Summary> {
    let log = |l: &NewLog| {
        Summary(
            json!({
                "type": "log",
                "project": l.project_id,
                "level": l.level,
                "body": l.body,
                "traceId": l.trace_id,
                "timestamp": crate::clock::rfc3339_ms(l.timestamp_ms),
            })
            .to_string(),
        )
    };
    side.iter()
        .flat_map(|r| match r {
            SideRecord::Logs(logs) => logs.iter().map(log).collect::<Vec<_>>(),
            // The live page shows events and logs only.
            _ => Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_bounded_and_given_back() {
        let hub = LiveHub::default();
        assert!(!hub.is_watched());
        let subs: Vec<Subscription> = (0..MAX_SUBSCRIBERS)
            .filter_map(|_| hub.subscribe())
            .collect();
        assert_eq!(subs.len(), MAX_SUBSCRIBERS);
        assert!(hub.subscribe().is_none());
        drop(subs);
        let mut one = hub.subscribe().expect("a place again");
        hub.publish(Message::Committed("x".into()));
        match one.rx.try_recv().as_deref() {
            Ok(Message::Committed(s)) => assert_eq!(s, "x"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_slow_subscriber_lags_instead_of_blocking() {
        let hub = LiveHub::default();
        let mut slow = hub.subscribe().expect("subscribe");
        for i in 0..BACKLOG + 10 {
            hub.publish(Message::Committed(i.to_string()));
        }
        assert!(matches!(
            slow.rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }
}
