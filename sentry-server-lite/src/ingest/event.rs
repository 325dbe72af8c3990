//! The event stage of the ingest path: read an event item's JSON leniently, compute its
//! facts once, group and normalize it from them and compress it into the row the writer
//! stores.

use sentry_client::protocol::{Event, LenientEvent};
use uuid::Uuid;

use super::facts::EventFacts;
use super::{scrub, trim, IngestError};
use crate::config::NormalizeLimits;
use crate::grouping;
use crate::normalize;
use crate::store::NewEvent;
use crate::store::ScrubSettings;

/// Reads an event item as ingest does ([`Event::read_lenient`]): never refused for the
/// shape of one of its parts (what does not read is removed and reported, legacy
/// interface names are read under their modern keys); only a payload that is not a JSON
/// object is a `BadRequest`. Valid events take the strict one-pass fast path.
pub fn read_event(payload: &[u8]) -> Result<LenientEvent, IngestError> {
    Event::read_lenient(payload).map_err(|e| IngestError::BadRequest(e.to_string()))
}

/// [`read_event`] without the report of what was changed (for benchmarks and tools
/// that only need the event).
pub fn parse_event(payload: &[u8]) -> Result<Event, sentry_client::protocol::EventError> {
    Event::read_lenient(payload).map(|read| read.event)
}

/// An event item made ready for the writer by [`event_item`].
#[derive(Debug)]
pub struct EventItem {
    /// The row to store.
    pub event: NewEvent,
    /// How many parts did not read and were removed (recorded in the event's `errors`).
    pub invalid_parts: usize,
}

/// Everything ingest does to one event item short of queueing it, in order: read
/// leniently (a part that does not read is removed and recorded in the event's `errors`,
/// never a reason to lose the event), cut to the caps of `limits` (so that every later
/// step reads a bounded event), scrub credentials (with the project's `scrubbing`
/// settings), then normalize, group and compress.
/// A changed event is stored as changed; an unchanged one as it came.
pub fn event_item(
    project_id: i64,
    payload: &[u8],
    header_id: Option<Uuid>,
    received_ms: i64,
    limits: &NormalizeLimits,
    scrubbing: &ScrubSettings,
) -> Result<EventItem, IngestError> {
    let read = read_event(payload)?;
    let reading_changed = read.changed();
    let invalid_parts = read.report.total();
    let mut event = read.event;
    if invalid_parts > 0 {
        event.errors.extend(read.report.to_errors());
    }
    let trimmed = trim::trim_event(&mut event, limits);
    let scrubbed = scrub::scrub_event_with(&mut event, scrubbing);
    let changed = reading_changed || !trimmed.is_empty() || scrubbed > 0;
    let rewritten = changed.then(|| event.to_json_vec());
    let body = rewritten.as_deref().unwrap_or(payload);
    let event = prepare_event(project_id, &event, body, header_id, received_ms)?;
    Ok(EventItem {
        event,
        invalid_parts,
    })
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
