//! The event stage of the ingest path: parse an event item's JSON, compute its facts
//! once, group and normalize it from them and compress it into the row the writer
//! stores.

use sentry_client::protocol::Event;
use uuid::Uuid;

use super::facts::EventFacts;
use super::IngestError;
use crate::grouping;
use crate::normalize;
use crate::store::NewEvent;

/// Parses an event: the fast path without field-path tracking, and only on failure a
/// second pass that names the offending field.
///
/// The fast path checks UTF-8 once for the whole payload and then parses from `&str`
/// (serde_json's slice reader would check every string again; the results are the same).
pub fn parse_event(payload: &[u8]) -> Result<Event, sentry_client::protocol::EventError> {
    let fast = match std::str::from_utf8(payload) {
        Ok(text) => serde_json::from_str::<Event>(text).ok(),
        Err(_) => None,
    };
    match fast {
        Some(event) => Ok(event),
        None => Event::from_slice(payload),
    }
}

/// Normalizes, groups and compresses one event.
pub fn prepare_event(
    project_id: i64,
    event: &Event,
    payload: &[u8],
    header_id: Option<Uuid>,
    received_ms: i64,
) -> Result<NewEvent, IngestError> {
    // Each fact once, read by grouping and then moved into the normalized values.
    let facts = EventFacts::new(event);
    let g = grouping::group_facts(&facts);
    let n = normalize::from_facts(facts, header_id, received_ms);
    let body_zstd = compress_body(payload)
        .map_err(|e| IngestError::Internal(format!("compression failed: {e}")))?;
    Ok(NewEvent {
        project_id,
        event_id: n.event_id,
        timestamp_ms: n.timestamp_ms,
        received_ms,
        level: n.level,
        platform: n.platform,
        release: n.release,
        environment: n.environment,
        title: n.title,
        culprit: n.culprit,
        message: n.message,
        issue_type: n.issue_type,
        metadata: n.metadata.to_string(),
        grouping_version: g.version.to_owned(),
        grouping_hash: g.hash,
        tags: n.tags,
        body_zstd,
        body_size: payload.len(),
    })
}

thread_local! {
    /// One zstd context per thread: creating a context per event costs more than
    /// compressing a typical 5-10 KB event.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd level 1 (the fastest standard level; event JSON still shrinks about 4x),
/// reusing the thread's context.
fn compress_body(payload: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Compressor::new(1)?);
        }
        match slot.as_mut() {
            Some(c) => c.compress(payload),
            None => zstd::bulk::compress(payload, 1),
        }
    })
}
