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
    // Rows that other batches update too (a release's hours and users, a monitor) are
    // written in key order, so that concurrent batches on one PostgreSQL take their
    // locks in one order and never deadlock on each other: the batch's sessions are
    // merged and written together, its check-ins sorted by monitor (stable: one
    // monitor's check-ins keep their order).
    let mut sessions = Vec::new();
    let mut check_ins = Vec::new();
    for record in records {
        match record {
            SideRecord::Session(r) => sessions.push(&**r),
            SideRecord::CheckIn(r) => check_ins.push(&**r),
            SideRecord::Attachment(a) => super::attachments::insert(c, a)?,
            SideRecord::Feedback(f) => super::feedback::insert(c, f)?,
            SideRecord::Logs(logs) => super::logs::insert(c, logs)?,
        }
    }
    check_ins.sort_by(|a, b| (a.project_id, &a.slug).cmp(&(b.project_id, &b.slug)));
    for check_in in check_ins {
        super::monitors::insert(c, check_in)?;
    }
    super::health::insert(c, &sessions)
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

#[cfg(test)]
mod tests {
    use super::super::health::{AggregateBucket, Outcome, SessionRecord};
    use super::super::sql::{Arg, Conn, EachRow};
    use super::super::StoreResult;
    use super::{write, SideRecord};

    /// Records every statement with its arguments; every write changes one row.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Conn for Recorder {
        fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
            let table = sql.split_whitespace().nth(2).unwrap_or_default();
            self.0.push(format!("{table} {args:?}"));
            Ok(1)
        }
        fn each(&mut self, _: &str, _: &[Arg<'_>], _: EachRow<'_>) -> StoreResult<()> {
            Ok(())
        }
    }

    fn aggregates(release: &str, users: &[&str]) -> SideRecord {
        SideRecord::Session(Box::new(SessionRecord::Aggregates {
            project_id: 1,
            release: release.into(),
            environment: "production".into(),
            seen: 7_200_000,
            buckets: users
                .iter()
                .enumerate()
                .map(|(i, did)| AggregateBucket {
                    started: 3_600_000 + 60_000 * i as i64,
                    did: Some((*did).into()),
                    exited: 3,
                    errored: 1,
                    abnormal: 0,
                    crashed: i64::from(i == 0),
                })
                .collect(),
        }))
    }

    fn update(sid: &str, outcome: Outcome) -> SideRecord {
        SideRecord::Session(Box::new(SessionRecord::Update {
            project_id: 1,
            sid: sid.into(),
            did: Some(format!("user-{sid}")),
            release: "app@1".into(),
            environment: "production".into(),
            started: 3_600_000,
            seen: 3_700_000,
            errored: false,
            outcome,
        }))
    }

    fn statements(records: &[SideRecord]) -> Vec<String> {
        let mut c = Recorder::default();
        write(&mut c, records).expect("write");
        c.0
    }

    /// Two batches holding the same session records in other orders take the rows in
    /// the same order (so concurrent batches on PostgreSQL cannot deadlock), and each
    /// hour and user is written once per batch with the counts merged.
    #[test]
    fn a_batchs_sessions_are_merged_and_written_in_key_order() {
        let (a, b, c) = (
            aggregates("app@1", &["u3", "u1", "u2"]),
            aggregates("app@1", &["u2", "u9"]),
            aggregates("app@0", &["u5"]),
        );
        let (s1, s2) = (
            update("s1", Outcome::Running),
            update("s2", Outcome::Exited),
        );
        let one = statements(&[a.clone(), b.clone(), c.clone(), s1.clone(), s2.clone()]);
        let other = statements(&[s2, c, b, s1, a]);
        assert_eq!(one, other);

        let hours: Vec<&String> = one
            .iter()
            .filter(|s| s.starts_with("health_sessions "))
            .collect();
        // app@0 and app@1, one hour each: 2 rows, app@0 first.
        assert_eq!(hours.len(), 2, "{one:#?}");
        assert!(hours[0].contains("Text(\"app@0\")"), "{hours:#?}");
        // app@1: five buckets (22 sessions) and the two updates' new sessions: 24.
        assert!(hours[1].contains("Int(24)"), "{hours:#?}");
        let users: Vec<&String> = one
            .iter()
            .filter(|s| s.starts_with("health_users "))
            .collect();
        // u5 (app@0); u1, u2 (once), u3, u9, user-s1, user-s2 (app@1).
        assert_eq!(users.len(), 7, "{users:#?}");
        let states = one
            .iter()
            .position(|s| s.starts_with("health_session_states "))
            .expect("state rows");
        let first_hour = one
            .iter()
            .position(|s| s.starts_with("health_sessions "))
            .expect("hours");
        assert!(states < first_hour, "states first: {one:#?}");
    }
}
