//! User feedback at ingest: `feedback` items (an event-like payload whose
//! `contexts.feedback` holds the message), the deprecated `user_report` items, and the
//! body of the legacy endpoint `POST /api/{project_id}/user-feedback/`
//! (`{"event_id", "name", "email", "comments"}`, DSN auth), which becomes a
//! `user_report` item and takes the same path.
//!
//! Each becomes a [`SideRecord::Feedback`]. Lenient like every item reader: a feedback
//! without a message, or a user report without its event id or comments, is dropped and
//! counted (`items_not_stored`), never the envelope; text fields are cut to bounds
//! ([`MAX_MESSAGE_CHARS`], [`MAX_FIELD_CHARS`]). The legacy endpoint is stricter, as an
//! API should be: a body it cannot store is a 400 that says why.

use sentry_client::protocol::{Envelope, Event, Feedback, Item, UserReport};
use uuid::Uuid;

use super::{IngestError, Prepared};
use crate::store::feedback::{FeedbackSource, NewFeedback};
use crate::store::SideRecord;

/// Characters of a feedback message kept at most.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// Characters of a name, e-mail or URL kept at most.
pub const MAX_FIELD_CHARS: usize = 512;

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn field(s: Option<String>) -> Option<String> {
    s.map(|s| cut(s.trim(), MAX_FIELD_CHARS))
        .filter(|s| !s.is_empty())
}

fn record(
    project_id: i64,
    feedback_id: Uuid,
    feedback: Feedback,
    source: FeedbackSource,
    received_ms: i64,
) -> Option<SideRecord> {
    let message = cut(feedback.message.trim(), MAX_MESSAGE_CHARS);
    if message.is_empty() {
        return None;
    }
    Some(SideRecord::Feedback(NewFeedback {
        project_id,
        feedback_id: feedback_id.simple().to_string(),
        event_id: feedback.associated_event_id.map(|u| u.simple().to_string()),
        message,
        name: field(feedback.name),
        email: field(feedback.contact_email),
        url: field(feedback.url),
        source,
        received_ms,
    }))
}

/// A `feedback` item; whether it was kept.
pub fn feedback_item(
    project_id: i64,
    payload: &[u8],
    header_id: Option<Uuid>,
    received_ms: i64,
    prepared: &mut Prepared,
) -> bool {
    let event = Event::from_slice_lenient(payload);
    let Some(feedback) = Feedback::from_event(&event) else {
        return false;
    };
    let id = header_id
        .or_else(|| (!event.event_id.is_nil()).then_some(event.event_id))
        .unwrap_or_else(Uuid::new_v4);
    match record(
        project_id,
        id,
        feedback,
        FeedbackSource::Feedback,
        received_ms,
    ) {
        Some(r) => {
            if prepared.response_id.is_none() {
                prepared.response_id = Some(id.simple().to_string());
            }
            prepared.side.push(r);
            true
        }
        None => false,
    }
}

/// A `user_report` item (from an envelope, or made by the legacy endpoint); whether it
/// was kept.
pub fn user_report_item(
    project_id: i64,
    payload: &[u8],
    received_ms: i64,
    prepared: &mut Prepared,
) -> bool {
    let Some(report) = UserReport::from_slice(payload) else {
        return false;
    };
    let Some(event_id) = report.event_id else {
        return false;
    };
    match record(
        project_id,
        event_id,
        report.to_feedback(),
        FeedbackSource::UserReport,
        received_ms,
    ) {
        Some(r) => {
            prepared.side.push(r);
            true
        }
        None => false,
    }
}

/// The legacy endpoint's body as an envelope of one `user_report` item (its event id in
/// the header, so the answer is `{"id": event_id}`); a 400 that says why when it cannot
/// be stored.
pub fn endpoint_envelope(body: &[u8]) -> Result<Envelope, IngestError> {
    let report = UserReport::from_slice(body).ok_or_else(|| {
        IngestError::BadRequest(
            "expected a JSON object {\"event_id\", \"name\", \"email\", \"comments\"}".into(),
        )
    })?;
    let event_id = report.event_id.ok_or_else(|| {
        IngestError::BadRequest("event_id is required (32 hex characters or a UUID)".into())
    })?;
    if report.comments.trim().is_empty() {
        return Err(IngestError::BadRequest("comments is required".into()));
    }
    let mut envelope = Envelope::new();
    envelope.headers.event_id = Some(event_id.simple().to_string());
    envelope.push(Item {
        headers: report.to_item().headers,
        payload: body.to_vec(),
    });
    Ok(envelope)
}
