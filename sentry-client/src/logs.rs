//! Structured logs: the `logger_trace!` … `logger_fatal!` macros, [`Hub::capture_log`],
//! and the worker-side finishing of a log.
//!
//! The caller's thread does what it does for an event and no more: check that the
//! current hub has an enabled client with [`enable_logs`](crate::ClientOptions::enable_logs),
//! format the body, collect the attributes, take the scope snapshot (an `Arc` clone) and
//! `try_send` the log into the worker's bounded queue (a full queue drops it and counts
//! `queue_overflow` for the `log_item` category). On the worker the log gets its trace
//! id and span (`sentry.trace.parent_span_id`) from the scope's span, else its `trace`
//! context, else the client's own trace id (the one its events carry then too), the user's id, name and e-mail, and the default attributes
//! (`sentry.environment`, `sentry.release`, `sentry.sdk.name`, `sentry.sdk.version`,
//! `server.address`, `os.name`, `os.version`); then `before_send_log` runs. Finished logs
//! are batched: one `log` item of at most 100 logs per envelope, sent when it is full, 5 s
//! after its first log at the latest, and on `flush` and `close`.
//!
//! ```
//! use sentry_client as sentry;
//! use sentry::logger_info;
//!
//! let logs = sentry::test::with_captured_logs(|| {
//!     logger_info!(order.id = 42, user.tier = "gold", "order {} shipped in {} days", "A-1", 3);
//! });
//! assert_eq!(logs[0].body, "order A-1 shipped in 3 days");
//! assert_eq!(logs[0].attributes["order.id"].0, 42);
//! assert_eq!(logs[0].attributes["sentry.message.template"].0, "order {} shipped in {} days");
//! assert_eq!(logs[0].attributes["sentry.message.parameter.1"].0, 3);
//! ```

use std::sync::Arc;

use serde_json::Value;

use crate::client::Client;
use crate::protocol::log::SPAN_ID_ATTRIBUTE;
use crate::protocol::{DiscardReason, Log, LogAttribute, TraceId};
use crate::scope::Snapshot;
use crate::telemetry;
use crate::ClientOptions;

/// A log on its way to the worker, with the scope it was captured in.
pub(crate) struct PendingLog {
    pub(crate) log: Log,
    pub(crate) scope: Option<Snapshot>,
}

/// Where a log goes: the client and the scope snapshot of the hub it is captured on.
/// Made by the `logger_*!` macros before they format anything, so a log that would go
/// nowhere costs no formatting.
#[doc(hidden)]
pub struct LogTarget {
    client: Arc<Client>,
    scope: Snapshot,
}

impl LogTarget {
    /// The target of the current hub, if its client is enabled and sends logs.
    pub fn current() -> Option<LogTarget> {
        crate::Hub::current().log_target()
    }

    pub(crate) fn new(client: Arc<Client>, scope: Snapshot) -> Option<LogTarget> {
        (client.is_enabled() && client.options().enable_logs).then_some(LogTarget { client, scope })
    }

    /// Queues the log (never blocks).
    pub fn send(self, log: Log) {
        self.client.submit_log(PendingLog {
            log,
            scope: Some(self.scope),
        });
    }
}

/// The key of the `i`-th message parameter, `sentry.message.parameter.<i>`.
#[doc(hidden)]
pub fn parameter_key(i: usize) -> String {
    const KEYS: [&str; 8] = [
        "sentry.message.parameter.0",
        "sentry.message.parameter.1",
        "sentry.message.parameter.2",
        "sentry.message.parameter.3",
        "sentry.message.parameter.4",
        "sentry.message.parameter.5",
        "sentry.message.parameter.6",
        "sentry.message.parameter.7",
    ];
    match KEYS.get(i) {
        Some(k) => (*k).to_owned(),
        None => format!("sentry.message.parameter.{i}"),
    }
}

/// The worker's log finisher: the scope, the defaults, `before_send_log`.
pub(crate) struct LogFinisher {
    options: Arc<ClientOptions>,
    defaults: Vec<(&'static str, LogAttribute)>,
    trace_id: TraceId,
}

impl LogFinisher {
    /// `os` is the default `os` context, `trace_id` the client's own trace.
    pub(crate) fn new(options: Arc<ClientOptions>, os: Option<&Value>, trace_id: TraceId) -> Self {
        LogFinisher {
            defaults: telemetry::default_attributes(&options, os),
            options,
            trace_id,
        }
    }

    /// Finishes a log, or says why it was dropped.
    pub(crate) fn finish(&self, pending: PendingLog) -> Result<Log, DiscardReason> {
        let PendingLog { mut log, scope } = pending;
        let scope = scope.map(Snapshot::into_scope);
        let (trace_id, span_id) = telemetry::scope_trace(scope.as_deref());
        if log.trace_id.is_none() {
            log.trace_id = Some(trace_id.unwrap_or(self.trace_id));
        }
        if let Some(span) = span_id {
            log.attributes
                .entry(SPAN_ID_ATTRIBUTE.to_owned())
                .or_insert_with(|| span.to_string().into());
        }
        if let Some(user) = scope.as_ref().and_then(|s| s.user.as_deref()) {
            for (k, v) in telemetry::user_attributes(user) {
                log.attributes
                    .entry(k.to_owned())
                    .or_insert_with(|| v.into());
            }
        }
        for (k, v) in &self.defaults {
            if !log.attributes.contains_key(*k) {
                log.attributes.insert((*k).to_owned(), v.clone());
            }
        }
        telemetry::before_send(self.options.before_send_log.as_ref(), log)
    }
}

/// Builds and queues a log; the body of the `logger_*!` macros.
#[doc(hidden)]
#[macro_export]
macro_rules! logger_log {
    // A literal message, no format arguments.
    (@build $target:ident, $attrs:ident, $level:expr, $msg:literal) => {{
        let log = $crate::protocol::Log {
            level: $level,
            body: ::std::string::String::from($msg),
            trace_id: ::std::option::Option::None,
            timestamp: ::std::time::SystemTime::now(),
            severity_number: ::std::option::Option::None,
            attributes: $attrs,
        };
        $target.send(log);
    }};
    // A format string and its arguments: the template and each parameter are recorded.
    (@build $target:ident, $attrs:ident, $level:expr, $fmt:literal, $($arg:expr),+ $(,)?) => {{
        let body = ::std::format!($fmt, $($arg),+);
        $attrs.insert(
            ::std::string::String::from("sentry.message.template"),
            $crate::protocol::LogAttribute::from($fmt),
        );
        let mut index = 0usize;
        $(
            $attrs.insert(
                $crate::logs::parameter_key(index),
                $crate::protocol::LogAttribute::from($arg),
            );
            index += 1;
        )+
        let _ = index;
        let log = $crate::protocol::Log {
            level: $level,
            body,
            trace_id: ::std::option::Option::None,
            timestamp: ::std::time::SystemTime::now(),
            severity_number: ::std::option::Option::None,
            attributes: $attrs,
        };
        $target.send(log);
    }};
    // `key = value` attributes before the message (keys may have dots).
    (@build $target:ident, $attrs:ident, $level:expr, $($key:ident).+ = $value:expr, $($rest:tt)+) => {{
        $attrs.insert(
            ::std::string::String::from(::std::stringify!($($key).+)),
            $crate::protocol::LogAttribute::from($value),
        );
        $crate::logger_log!(@build $target, $attrs, $level, $($rest)+)
    }};
    ($level:expr, $($rest:tt)+) => {{
        if let ::std::option::Option::Some(target) = $crate::logs::LogTarget::current() {
            #[allow(unused_mut)]
            let mut attributes = ::std::collections::BTreeMap::new();
            $crate::logger_log!(@build target, attributes, $level, $($rest)+)
        }
    }};
}

/// Captures a structured log at level `trace`: `logger_trace!([key = value, ...] "message"
/// [, args...])`. Attribute keys are identifiers joined by dots; values are strings,
/// numbers or booleans. With format arguments, the template and the parameters are
/// recorded as `sentry.message.template` and `sentry.message.parameter.<n>`. Nothing is
/// formatted when the client is disabled or `enable_logs` is off.
///
/// ```
/// use sentry_client::logger_trace;
/// logger_trace!("cache probe");
/// logger_trace!(cache.hit = true, "probe of {} took {} µs", "users", 12);
/// ```
#[macro_export]
macro_rules! logger_trace {
    ($($arg:tt)+) => { $crate::logger_log!($crate::protocol::LogLevel::Trace, $($arg)+) };
}

/// Captures a structured log at level `debug`; see [`logger_trace!`].
///
/// ```
/// sentry_client::logger_debug!(query.rows = 3, "query done");
/// ```
#[macro_export]
macro_rules! logger_debug {
    ($($arg:tt)+) => { $crate::logger_log!($crate::protocol::LogLevel::Debug, $($arg)+) };
}

/// Captures a structured log at level `info`; see [`logger_trace!`].
///
/// ```
/// sentry_client::logger_info!(user.id = "42", "signed in after {} tries", 2);
/// ```
#[macro_export]
macro_rules! logger_info {
    ($($arg:tt)+) => { $crate::logger_log!($crate::protocol::LogLevel::Info, $($arg)+) };
}

/// Captures a structured log at level `warn`; see [`logger_trace!`].
///
/// ```
/// sentry_client::logger_warn!(disk.free_mb = 120, "disk almost full");
/// ```
#[macro_export]
macro_rules! logger_warn {
    ($($arg:tt)+) => { $crate::logger_log!($crate::protocol::LogLevel::Warn, $($arg)+) };
}

/// Captures a structured log at level `error`; see [`logger_trace!`].
///
/// ```
/// sentry_client::logger_error!(code = 500, "upstream failed: {}", "timeout");
/// ```
#[macro_export]
macro_rules! logger_error {
    ($($arg:tt)+) => { $crate::logger_log!($crate::protocol::LogLevel::Error, $($arg)+) };
}

/// Captures a structured log at level `fatal`; see [`logger_trace!`].
///
/// ```
/// sentry_client::logger_fatal!("cannot continue");
/// ```
#[macro_export]
macro_rules! logger_fatal {
    ($($arg:tt)+) => { $crate::logger_log!($crate::protocol::LogLevel::Fatal, $($arg)+) };
}

#[cfg(test)]
mod tests {
    use crate::protocol::{LogLevel, TraceId};
    use crate::test::with_captured_logs;

    #[test]
    fn macros_record_attributes_template_and_defaults() {
        let logs = with_captured_logs(|| {
            crate::configure_scope(|s| {
                s.set_user(Some(crate::User {
                    id: Some("u1".into()),
                    ..Default::default()
                }));
                s.set_context(
                    "trace",
                    serde_json::json!({
                        "trace_id": "0123456789abcdef0123456789abcdef",
                        "span_id": "0011223344556677",
                    }),
                );
            });
            logger_info!("plain {braces}");
            logger_warn!(a.b = 1, flag = true, "k");
            logger_error!(code = 7, "failed {} of {}", 2, "jobs");
        });
        assert_eq!(logs.len(), 3);
        assert_eq!(logs[0].body, "plain {braces}");
        assert!(!logs[0].attributes.contains_key("sentry.message.template"));
        assert_eq!(logs[1].level, LogLevel::Warn);
        assert_eq!(logs[1].attributes["a.b"].0, 1);
        assert_eq!(logs[1].attributes["flag"].0, true);
        let e = &logs[2];
        assert_eq!(e.body, "failed 2 of jobs");
        assert_eq!(e.attributes["sentry.message.parameter.0"].0, 2);
        assert_eq!(e.attributes["sentry.message.parameter.1"].0, "jobs");
        assert_eq!(e.attributes["sentry.sdk.name"].0, crate::SDK_NAME);
        assert_eq!(e.attributes["user.id"].0, "u1");
        let trace: TraceId = "0123456789abcdef0123456789abcdef".parse().unwrap();
        assert_eq!(e.trace_id, Some(trace));
        assert_eq!(
            e.span_id().map(|s| s.to_string()).as_deref(),
            Some("0011223344556677")
        );
    }

    #[test]
    fn batches_hold_at_most_100_logs_and_flush_sends_the_rest() {
        let envelopes = crate::test::with_captured_envelopes(|| {
            for i in 0..150 {
                crate::logger_debug!("n {}", i);
            }
            assert!(crate::Hub::current().client().unwrap().flush(None));
        });
        let counts: Vec<u64> = envelopes
            .iter()
            .flat_map(|e| e.items.iter())
            .filter(|i| *i.ty() == crate::protocol::ItemType::Log)
            .filter_map(|i| i.headers.item_count)
            .collect();
        assert_eq!(counts, [100, 50]);
        let logs = crate::test::logs_of(&envelopes);
        assert_eq!(logs[149].body, "n 149");
        // Events outside a trace carry the client's trace, as its logs do.
        let traced = crate::test::with_captured_envelopes(|| {
            crate::logger_info!("before");
            crate::capture_message("boom", crate::Level::Error);
        });
        let log_trace = crate::test::logs_of(&traced)[0]
            .trace_id
            .unwrap()
            .to_string();
        let event = traced.iter().find_map(|e| e.event()).unwrap().unwrap();
        assert_eq!(event.contexts["trace"]["trace_id"], log_trace.as_str());
    }

    #[test]
    fn before_send_log_and_enable_logs() {
        let opts = crate::ClientOptions::new()
            .before_send_log(|mut l| {
                if l.body == "drop" {
                    return None;
                }
                l.body.push('!');
                Some(l)
            })
            .release("r@1");
        let logs = crate::test::with_captured_logs_options(
            || {
                logger_info!("drop");
                logger_info!("keep");
            },
            opts,
        );
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].body, "keep!");
        assert_eq!(logs[0].attributes["sentry.release"].0, "r@1");
        let none = crate::test::with_captured_logs_options(
            || logger_info!("off"),
            crate::ClientOptions::new().enable_logs(false),
        );
        assert!(none.is_empty());
    }
}
