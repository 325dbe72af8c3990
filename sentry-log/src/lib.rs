//! `sentry-log`: report what a program already logs through `log` or `tracing`.
//!
//! One line turns a program's logging into error reporting, and the console output
//! stays as it was: error records become Sentry events, warnings and infos become
//! breadcrumbs (so an event shows what led up to it), and debug and trace records are
//! ignored. A filter closure changes that mapping per record ([`LogFilter`] flags,
//! combined with `|`), and a mapper closure builds what a record becomes
//! ([`RecordMapping`], with [`event_from_record`] and friends), as in the official
//! `sentry-log`; the `tracing` side offers the official `sentry-tracing` names
//! (`EventFilter`, `event_filter`, `event_from_event`, `breadcrumb_from_event`).
//!
//! **`log`**: [`SentryLogger`] wraps the program's logger (or stands alone):
//!
//! ```
//! use sentry_log::SentryLogger;
//!
//! // In a program: SentryLogger::with_dest(env_logger::Builder::from_default_env().build())
//! SentryLogger::new().install().expect("no logger set yet");
//!
//! # let events = sentry_client::test::with_captured_events(|| {
//! // let _guard = sentry_client::init("https://KEY@o1.ingest.sentry.io/42");
//! log::info!("loading config from {}", "/etc/app.toml");
//! log::debug!("ignored by default");
//! let err = "x".parse::<u16>().unwrap_err();
//! log::error!(error:err = err, path = "/etc/app.toml"; "config is invalid");
//! # });
//! # assert_eq!(events.len(), 1);
//! # let e = &events[0];
//! # assert_eq!(e.logger.as_deref(), Some(module_path!()));
//! # assert_eq!(e.message_text(), Some("config is invalid"));
//! # assert_eq!(e.exception.values[0].ty.as_deref(), Some("ParseIntError"));
//! # assert_eq!(e.extra["path"], "/etc/app.toml");
//! # let crumbs: Vec<_> = e.breadcrumbs.iter().filter_map(|b| b.message.as_deref()).collect();
//! # assert_eq!(crumbs, ["loading config from /etc/app.toml"]);
//! ```
//!
//! **`tracing`** (feature `tracing`, on by default): [`tracing::layer()`] is a
//! `tracing_subscriber` layer to add next to the `fmt` layer:
//!
//! ```
//! # #[cfg(feature = "tracing")] {
//! use tracing_subscriber::prelude::*;
//!
//! let subscriber = tracing_subscriber::registry().with(sentry_log::tracing::layer());
//! # let events = sentry_client::test::with_captured_events(|| {
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", method = "GET", path = "/cart");
//!     let _entered = span.enter();
//!     tracing::warn!(retries = 3, "payment provider slow");
//!     tracing::error!(order = 17, "checkout failed");
//! });
//! # });
//! # assert_eq!(events.len(), 1);
//! # let e = &events[0];
//! # assert_eq!(e.contexts["request"]["path"], "/cart");
//! # assert_eq!(e.extra["order"], 17);
//! # assert_eq!(e.breadcrumbs.values[0].data["retries"], 3);
//! # }
//! ```
//!
//! **What is sent.** An event has the record's level, `logger` = the target,
//! `logentry.formatted` = the message and `logentry.message` = its template when it is
//! known (a `log` record without format arguments), the key-value pairs / fields in
//! `extra`, and the source location in `extra` as `code.namespace`, `code.filepath`
//! and `code.lineno`. With an `error` value (`log`: `error:err = e`; `tracing`:
//! `error = &e as &dyn Error`) it becomes an exception event with the error's whole
//! `source()` chain. A `tracing` event also carries each enclosing span as a context
//! named after the span, holding the span's fields. Breadcrumbs carry the level,
//! `category` = target, the message and the fields as `data`. With the
//! [`LogFilter::Log`] flag a record is also sent as a structured log (see
//! [`log_from_record`] and [`tracing::log_from_event`]), its key-values or fields (and,
//! for `tracing`, the enclosing spans' fields) as attributes.
//!
//! **No loops.** Records from the SDK itself (targets `sentry_client…`, `sentry_log…`),
//! records logged on the SDK's worker thread, and records logged while an adapter is
//! capturing on the same thread are never captured; the wrapped logger and the other
//! layers still see them. See `reentrancy.rs`.
//!
//! **Cost.** A record that neither the destination nor the filter wants is skipped by
//! `log`'s global max level before any logger runs ([`SentryLogger::install`] sets it);
//! one that only the destination wants costs the filter check on top of the
//! destination. Figures are in `BENCHMARKS.md`.
#![warn(missing_docs)]

mod filter;
mod logger;
mod mapping;
mod record;
mod reentrancy;
#[cfg(feature = "tracing")]
pub mod tracing;

pub use filter::{default_filter, LogFilter};
pub use logger::{NoDest, SentryLogger};
pub use mapping::{CombinedRecordMapping, RecordMapping};
pub use record::{
    breadcrumb_from_record, event_from_record, exception_from_record, log_from_record,
};
