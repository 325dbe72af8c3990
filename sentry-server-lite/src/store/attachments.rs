//! Attachments beside their events, written once for both backends: the insert an
//! ingest batch runs (through [`super::SideRecord::Attachment`], in the batch's
//! transaction, after the events), the event's list, one file with its bytes, and the
//! retention sweep.
//!
//! Bodies are stored zstd-compressed (`NewAttachment::body_zstd`, compressed at ingest
//! off the writer thread). A retried envelope inserts nothing new: the unique key
//! (project, event id, ordinal, name, size) takes `ON CONFLICT DO NOTHING`.

use serde::Serialize;

use super::sql::{args, read, Conn, Database, SqlRow};
use super::{StoreError, StoreResult};

/// An attachment ready to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttachment {
    /// The project.
    pub project_id: i64,
    /// The event it belongs to (32 lowercase hex).
    pub event_id: String,
    /// Its place among the attachments of its envelope (part of the retry key).
    pub ordinal: i64,
    /// The file name as sent (never used as a path).
    pub name: String,
    /// The content type as sent (served only when known to be safe).
    pub content_type: String,
    /// `event.attachment`, `event.minidump`, ... (unknown ones kept).
    pub attachment_type: String,
    /// The size before compression.
    pub size: i64,
    /// The bytes, zstd-compressed.
    pub body_zstd: Vec<u8>,
    /// When it was received (Unix ms).
    pub received_ms: i64,
}

/// A stored attachment (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredAttachment {
    /// Row id (the API's `id`).
    pub id: i64,
    /// The event it belongs to.
    pub event_id: String,
    /// The file name as sent.
    pub name: String,
    /// The content type as sent.
    pub content_type: String,
    /// The attachment type.
    pub attachment_type: String,
    /// Size in bytes.
    pub size: i64,
    /// When it was received (Unix ms).
    pub received_ms: i64,
}

const COLS: &str = "id, event_id, name, content_type, attachment_type, size, received";

fn row(r: &dyn SqlRow) -> StoreResult<StoredAttachment> {
    Ok(StoredAttachment {
        id: r.int(0)?,
        event_id: r.text(1)?,
        name: r.text(2)?,
        content_type: r.text(3)?,
        attachment_type: r.text(4)?,
        size: r.int(5)?,
        received_ms: r.int(6)?,
    })
}

/// Inserts one attachment inside the caller's transaction (a duplicate of a retried
/// envelope is skipped).
pub fn insert(c: &mut dyn Conn, a: &NewAttachment) -> StoreResult<()> {
    c.exec(
        "INSERT INTO attachments (project_id, event_id, ordinal, name, content_type, \
         attachment_type, size, body, received) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (project_id, event_id, ordinal, name, size) DO NOTHING",
        args![
            a.project_id,
            &a.event_id,
            a.ordinal,
            &a.name,
            &a.content_type,
            &a.attachment_type,
            a.size,
            &a.body_zstd[..],
            a.received_ms
        ],
    )?;
    Ok(())
}

/// Most attachments listed per event.
pub const MAX_LISTED: i64 = 100;

/// An event's attachments, in the order they came.
pub fn list_for_event<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    event_id: &str,
) -> StoreResult<Vec<StoredAttachment>> {
    read(db, |c| {
        c.all(
            &format!(
                "SELECT {COLS} FROM attachments WHERE project_id = $1 AND event_id = $2 \
                 ORDER BY ordinal, id LIMIT $3"
            ),
            args![project_id, event_id, MAX_LISTED],
            row,
        )
    })
}

/// One attachment of a project with its bytes (decompressed).
pub fn get<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    id: i64,
) -> StoreResult<Option<(StoredAttachment, Vec<u8>)>> {
    let found = read(db, |c| {
        c.opt(
            &format!("SELECT {COLS}, body FROM attachments WHERE project_id = $1 AND id = $2"),
            args![project_id, id],
            |r| Ok((row(r)?, r.blob(7)?)),
        )
    })?;
    match found {
        Some((a, compressed)) => {
            let bytes = zstd::stream::decode_all(&compressed[..])
                .map_err(|e| StoreError::Corrupt(format!("attachment {}: {e}", a.id)))?;
            Ok(Some((a, bytes)))
        }
        None => Ok(None),
    }
}

/// How long an attachment may wait for its event (sent in another envelope) before the
/// retention pass takes it for an orphan: one hour.
pub const ORPHAN_GRACE_MS: i64 = 3_600_000;

/// The retention sweep, inside the caller's transaction: attachments received before
/// `cutoff` (the events' age limit; `None` without one) and those whose event is gone
/// (deleted with its issue, or past the per-issue count) once older than
/// [`ORPHAN_GRACE_MS`], at most `budget` rows of each.
pub fn delete_expired(
    c: &mut dyn Conn,
    cutoff: Option<i64>,
    now_ms: i64,
    budget: i64,
) -> StoreResult<u64> {
    let mut n = 0;
    if let Some(cutoff) = cutoff {
        n += c.exec(
            "DELETE FROM attachments WHERE id IN \
             (SELECT id FROM attachments WHERE received < $1 LIMIT $2)",
            args![cutoff, budget],
        )?;
    }
    n += c.exec(
        "DELETE FROM attachments WHERE id IN (SELECT a.id FROM attachments a \
         WHERE a.received < $1 AND NOT EXISTS (SELECT 1 FROM events e \
         WHERE e.project_id = a.project_id AND e.event_id = a.event_id) LIMIT $2)",
        args![now_ms - ORPHAN_GRACE_MS, budget],
    )?;
    Ok(n)
}
