//! `log` items (structured logs, issue #20): what our SDK, the official Rust crate,
//! sentry-python and @sentry/node send (`{"items": [...]}`), read leniently by
//! `sentry_client::protocol::read_log_item` within its bounds (logs per item, attributes
//! per log, body and value lengths, all checked before the work they bound). A log that
//! does not read is dropped and counted; an item that is not a log container at all is
//! dropped whole and counted, never the envelope.

use sentry_client::protocol::{read_log_item, LogLimits, ReadLog};
use serde_json::{Map, Value};

use crate::store::logs::NewLog;
use crate::store::SideRecord;

/// What a `log` item became: the record to write (none when nothing read) and how many
/// entries were dropped.
pub struct LogItem {
    /// The logs, one side record.
    pub record: Option<SideRecord>,
    /// Entries (or, for an unreadable item, the item) that were dropped.
    pub dropped: usize,
}

/// Reads a `log` item of `project_id`'s key, received at `received_ms`.
pub fn log_item(project_id: i64, payload: &[u8], received_ms: i64, limits: &LogLimits) -> LogItem {
    let batch = match read_log_item(payload, limits) {
        Ok(batch) => batch,
        Err(_) => {
            return LogItem {
                record: None,
                dropped: 1,
            }
        }
    };
    let logs: Vec<NewLog> = batch
        .logs
        .into_iter()
        .map(|r| new_log(project_id, r, received_ms))
        .collect();
    LogItem {
        record: (!logs.is_empty()).then_some(SideRecord::Logs(logs)),
        dropped: batch.dropped,
    }
}

fn new_log(project_id: i64, read: ReadLog, received_ms: i64) -> NewLog {
    let ReadLog { log, span_id } = read;
    let timestamp_ms = log
        .timestamp
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let severity = log
        .severity_number
        .unwrap_or_else(|| log.level.severity_number())
        .get();
    let release = log.attribute_str("sentry.release").map(str::to_owned);
    let environment = log.attribute_str("sentry.environment").map(str::to_owned);
    let attributes: Map<String, Value> =
        log.attributes.into_iter().map(|(k, v)| (k, v.0)).collect();
    NewLog {
        project_id,
        timestamp_ms,
        received_ms,
        level: log.level.as_str().to_owned(),
        severity: i64::from(severity),
        body: log.body,
        trace_id: log.trace_id.map(|t| t.to_string()),
        span_id: span_id.map(|s| s.to_string()),
        release,
        environment,
        attributes: Value::Object(attributes).to_string(),
    }
}
