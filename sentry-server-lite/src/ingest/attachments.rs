//! `attachment` items: every `attachment_type` (`event.attachment`, `event.minidump`,
//! `event.applecrashreport`, `event.view_hierarchy`, `unreal.*`, unknown ones kept)
//! becomes a [`SideRecord::Attachment`] beside its event, its bytes zstd-compressed.
//!
//! Bounds, checked before any work ([`check_sizes`], right after authentication): one
//! attachment at most [`IngestLimits::max_attachment_bytes`], the attachments of one
//! envelope (one event) at most [`IngestLimits::max_attachments_bytes`]; past either the
//! whole envelope is refused with 413 and a reason, so nothing is stored half-way (the
//! event without its file). Lenient reading: a file name is cut to its last path part,
//! control characters replaced and bounded in length (empty: `attachment`); a missing
//! content type or attachment type takes the default. An attachment whose envelope
//! names no event id is dropped and counted (`items_not_stored`), never the envelope.

use sentry_client::protocol::{Attachment, Envelope, ItemHeaders, ItemType};
use uuid::Uuid;

use super::{IngestError, Payload, Prepared};
use crate::config::IngestLimits;
use crate::store::attachments::NewAttachment;
use crate::store::SideRecord;

/// Characters of a stored file name at most.
pub const MAX_NAME_CHARS: usize = 200;
/// Characters of a stored content type at most.
pub const MAX_CONTENT_TYPE_CHARS: usize = 100;
/// Characters of a stored attachment type at most.
pub const MAX_TYPE_CHARS: usize = 64;

/// Refuses (413) an envelope with an attachment over the per-attachment cap, or with
/// more attachment bytes than the per-event cap; `store` is the project's setting (an
/// envelope whose attachments would be dropped anyway is not refused for them).
pub fn check_sizes(
    limits: &IngestLimits,
    payload: Payload<'_>,
    store: bool,
) -> Result<(), IngestError> {
    let Payload::Envelope(envelope) = payload else {
        return Ok(());
    };
    if !store {
        return Ok(());
    }
    let mut total = 0usize;
    for item in attachment_items(envelope) {
        let len = item.payload.len();
        if len > limits.max_attachment_bytes {
            return Err(IngestError::TooLarge(format!(
                "attachment {:?} is {len} bytes; the limit per attachment is {} bytes",
                clean_name(item.headers.filename.as_deref().unwrap_or_default()),
                limits.max_attachment_bytes
            )));
        }
        total = total.saturating_add(len);
    }
    if total > limits.max_attachments_bytes {
        return Err(IngestError::TooLarge(format!(
            "the envelope's attachments are {total} bytes; the limit per event is {} bytes",
            limits.max_attachments_bytes
        )));
    }
    Ok(())
}

fn attachment_items(envelope: &Envelope) -> impl Iterator<Item = &sentry_client::protocol::Item> {
    envelope
        .items
        .iter()
        .filter(|i| *i.ty() == ItemType::Attachment)
}

/// A file name safe to store and show: its last path part, without control characters,
/// at most [`MAX_NAME_CHARS`]; `attachment` when nothing is left.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .take(MAX_NAME_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        "attachment".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn bounded(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// Prepares one attachment item (see the module docs); `None` when it was dropped.
pub fn attachment_item(
    project_id: i64,
    headers: &ItemHeaders,
    payload: &[u8],
    header_id: Option<Uuid>,
    received_ms: i64,
    prepared: &mut Prepared,
) -> Result<bool, IngestError> {
    let event_id = header_id
        .map(|u| u.simple().to_string())
        .or_else(|| prepared.response_id.clone());
    let Some(event_id) = event_id else {
        return Ok(false);
    };
    let read = Attachment::from_item(&sentry_client::protocol::Item {
        headers: ItemHeaders {
            ty: ItemType::Attachment,
            filename: headers.filename.clone(),
            content_type: headers.content_type.clone(),
            attachment_type: headers.attachment_type.clone(),
            ..Default::default()
        },
        payload: Vec::new(),
    });
    let ordinal = prepared
        .side
        .iter()
        .filter(|r| matches!(r, SideRecord::Attachment(_)))
        .count() as i64;
    let body_zstd = zstd::bulk::compress(payload, 3)
        .map_err(|e| IngestError::Internal(format!("cannot compress an attachment: {e}")))?;
    prepared.side.push(SideRecord::Attachment(NewAttachment {
        project_id,
        event_id,
        ordinal,
        name: clean_name(&read.filename),
        content_type: bounded(read.content_type_or_default(), MAX_CONTENT_TYPE_CHARS),
        attachment_type: bounded(read.type_or_default().as_str(), MAX_TYPE_CHARS),
        size: payload.len() as i64,
        body_zstd,
        received_ms,
    }));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\a\\dump.dmp"), "dump.dmp");
        assert_eq!(clean_name("a\r\nb.txt"), "a__b.txt");
        assert_eq!(clean_name(""), "attachment");
        assert_eq!(clean_name("dir/"), "attachment");
        assert_eq!(clean_name(".."), "attachment");
        assert_eq!(clean_name(&"x".repeat(500)).chars().count(), MAX_NAME_CHARS);
        assert_eq!(clean_name("<script>.html"), "<script>.html");
    }
}
