//! The records an ingest batch writes beside its events: what the other item types of
//! an envelope become (logs, sessions, check-ins, attachments, feedback). Each kind is a
//! variant of [`SideRecord`], prepared by its own ingest module and written by its own
//! store module through the shared SQL layer, so once for both backends.
//!
//! Both backends call [`write`] inside the batch's transaction, after the events: a side
//! record is durable, and acknowledged, exactly when the events of its batch are, and
//! a failed batch is retried record by record like its events
//! ([`BatchOutcome`] answers each one).

use super::logs::NewLog;
use super::sql::Conn;
use super::{StoreResult, WriteOutcome};

/// A record an ingest batch writes beside its events. A new kind of item plugs in here:
/// a variant, and its arm in [`write`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SideRecord {
    /// A `session` or `sessions` item (release health).
    Session(Box<super::health::SessionRecord>),
    /// A `check_in` item (cron monitors).
    CheckIn(Box<super::monitors::CheckInRecord>),
    /// A file sent beside an event (`attachment` items).
    Attachment(super::attachments::NewAttachment),
    /// What a user said (`feedback`, `user_report`, the legacy endpoint).
    Feedback(super::feedback::NewFeedback),
    /// The logs of one `log` item (all of one project), see `store::logs`.
    Logs(Vec<NewLog>),
}

impl SideRecord {
    /// The project the record belongs to.
    pub fn project_id(&self) -> i64 {
        match self {
            SideRecord::Session(r) => r.project_id(),
            SideRecord::CheckIn(r) => r.project_id,
            SideRecord::Attachment(a) => a.project_id,
            SideRecord::Feedback(f) => f.project_id,
            SideRecord::Logs(logs) => logs.first().map_or(0, |l| l.project_id),
        }
    }
}

/// Writes `records` on `c`, inside the caller's transaction; any error fails the call
/// (the caller rolls back and retries record by record).
pub fn write(c: &mut dyn Conn, records: &[SideRecord]) -> StoreResult<()> {
    for record in records {
        match record {
            SideRecord::Session(r) => super::health::insert(c, r)?,
            SideRecord::CheckIn(r) => super::monitors::insert(c, r)?,
            SideRecord::Attachment(a) => super::attachments::insert(c, a)?,
            SideRecord::Feedback(f) => super::feedback::insert(c, f)?,
            SideRecord::Logs(logs) => super::logs::insert(c, logs)?,
        }
    }
    Ok(())
}

/// What a batch commit answers: one outcome per event and one per side record, in the
/// order they were given.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Each event's outcome.
    pub events: Vec<StoreResult<WriteOutcome>>,
    /// Each side record's outcome.
    pub side: Vec<StoreResult<()>>,
}

impl BatchOutcome {
    /// Every event and record failed with the same error (made by `error` once each).
    pub fn all_failed(
        events: usize,
        side: usize,
        error: impl Fn() -> super::StoreError,
    ) -> BatchOutcome {
        BatchOutcome {
            events: (0..events).map(|_| Err(error())).collect(),
            side: (0..side).map(|_| Err(error())).collect(),
        }
    }

    /// Every event and record committed: `outcomes` are the events'.
    pub fn committed(outcomes: Vec<WriteOutcome>, side: usize) -> BatchOutcome {
        BatchOutcome {
            events: outcomes.into_iter().map(Ok).collect(),
            side: (0..side).map(|_| Ok(())).collect(),
        }
    }
}
