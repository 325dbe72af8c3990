//! Group commit, retention and shared rate limits on PostgreSQL.
//!
//! A batch is **one statement** (prepared once per connection), so it costs one round trip
//! and commits as one implicit transaction: three data-modifying `WITH` parts fed from
//! arrays (`unnest`):
//!
//! 1. one upsert of every issue the batch touches, aggregated per group (count, first and
//!    last seen), on the unique `(project_id, grouping_version, grouping_hash)`;
//! 2. the events, each joined to its issue's id (a plain `INSERT`: an event id stored
//!    already fails the whole statement with a unique violation, so nothing is counted
//!    twice);
//! 3. the tag counts, aggregated per `(issue, key, value)`, as one row per issue in
//!    `tag_queue` (an append: no lock on any shared row).
//!
//! Fourteen-odd tags per event made `issue_tags` upserts the largest part of a batch's cost
//! (BENCHMARKS.md #11), so they are folded later: [`fold_tags`] moves queued rows into
//! `issue_tags` in one transaction (delete from the queue, upsert the sums), a few
//! thousand events' worth at a time, from a background thread: every second on the one
//! instance that holds the folder's advisory lock, now and then on the others
//! (`FOR UPDATE SKIP LOCKED`, so folds never take the same rows). Readers add the queued
//! counts of an issue to its `issue_tags` rows, so tag counts are exact whenever read, and
//! a queued row is as durable as the events committed with it.
//!
//! When events of a project with alert rules are in the batch, the statement runs in an
//! explicit transaction that also writes the alerts it fires
//! ([`crate::store::outbox::queue`]), and so does a batch with records beside its
//! events ([`crate::store::records::write`]: logs, sessions, ...); other batches stay one
//! implicit statement.
//!
//! Events the server has stored already (an SDK retrying a send) are rare, so they are not
//! looked up first: when the statement fails on the events' unique key, the batch is
//! retried after one lookup of which of its events are stored (`Duplicate` outcomes).
//!
//! Issue rows (and, when folding, tag rows) are locked in a fixed order (sorted keys), so
//! two instances committing batches over the same groups do not deadlock; a deadlock or
//! serialization failure anyway is retried.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::pool::Conn;
use super::PgStore;
use crate::store::alerts::ProjectRules;
use crate::store::plan::{
    issue_upsert, tag_upsert, BatchPlan, IssueGroup, TagTally, UpsertedIssue,
};
use crate::store::records::{BatchOutcome, SideRecord};
use crate::store::retention;
use crate::store::schema::postgres::LOCK_RETENTION;
use crate::store::sql::{self, args};
use crate::store::{NewEvent, RateLimit, RetentionPolicy, StoreError, StoreResult, WriteOutcome};

const MAX_ATTEMPTS: usize = 6;

/// Per project (a batch rarely spans more than one): an index scan of
/// `(project_id, event_id)`. Sent unprepared, so that it is planned with its values (a
/// cached generic plan made while `events` was small could scan the table).
const DUPLICATES: &str =
    "SELECT event_id FROM events WHERE project_id = $1 AND event_id = ANY($2::text[])";

const WRITE_BATCH: &str = concat!(
    "WITH iss AS ( \
    INSERT INTO issues (project_id, grouping_version, grouping_hash, \
      title, culprit, level, platform, issue_type, metadata, substatus, first_seen, last_seen, \
      times_seen, regressed_by) \
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
      $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], \
      $12::bigint[], $13::bigint[], $14::text[]) ",
    issue_upsert!(),
    " RETURNING id, project_id, grouping_version, grouping_hash, times_seen, regressed_by \
  ), ev AS ( \
    INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, \
      platform, release, environment, title, culprit, message, body, body_size, tags) \
    SELECT e.p, e.eid, iss.id, e.ts, e.rcv, e.lvl, e.plat, e.rel, e.env, e.title, \
      e.culprit, e.msg, e.body, e.size, e.tags \
    FROM unnest($15::bigint[], $16::text[], $17::text[], $18::text[], $19::bigint[], \
      $20::bigint[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], \
      $26::text[], $27::text[], $28::bytea[], $29::bigint[], $38::text[]) \
      AS e(p, eid, gv, gh, ts, rcv, lvl, plat, rel, env, title, culprit, msg, body, size, \
        tags) \
    JOIN iss ON iss.project_id = e.p AND iss.grouping_version = e.gv \
      AND iss.grouping_hash = e.gh \
    RETURNING 1 \
  ), tg AS ( \
    INSERT INTO tag_queue (issue_id, keys, vals, counts, firsts, lasts) \
    SELECT iss.id, array_agg(t.k ORDER BY t.ord), array_agg(t.v ORDER BY t.ord), \
      array_agg(t.n ORDER BY t.ord), array_agg(t.fs ORDER BY t.ord), \
      array_agg(t.ls ORDER BY t.ord) \
    FROM unnest($30::bigint[], $31::text[], $32::text[], $33::text[], $34::text[], \
      $35::bigint[], $36::bigint[], $37::bigint[]) WITH ORDINALITY \
      AS t(p, gv, gh, k, v, n, fs, ls, ord) \
    JOIN iss ON iss.project_id = t.p AND iss.grouping_version = t.gv \
      AND iss.grouping_hash = t.gh \
    GROUP BY iss.id \
  ) \
  SELECT id, project_id, grouping_version, grouping_hash, times_seen, regressed_by, \
    (SELECT count(*) FROM ev) FROM iss"
);

/// Commits `events` and the `side` records (see the module documentation); when the
/// batch fails for a reason other than the database being unavailable, retries event by
/// event and record by record so that one bad item cannot fail the others.
pub(super) fn write_batch(
    store: &PgStore,
    events: &[NewEvent],
    side: &[SideRecord],
    rules: &ProjectRules,
) -> BatchOutcome {
    if events.is_empty() && side.is_empty() {
        return BatchOutcome::default();
    }
    match store.with(|c| with_retries(c, events, side, rules)) {
        Ok(outcomes) => BatchOutcome::committed(outcomes, side.len()),
        Err(StoreError::Unavailable(why)) => {
            BatchOutcome::all_failed(events.len(), side.len(), || {
                StoreError::Unavailable(why.clone())
            })
        }
        Err(batch_err) => {
            tracing::warn!(error = %batch_err, "batch commit failed; retrying item by item");
            let events = events
                .iter()
                .map(|e| {
                    store
                        .with(|c| with_retries(c, std::slice::from_ref(e), &[], rules))?
                        .pop()
                        .ok_or_else(|| StoreError::Corrupt("no outcome".into()))
                })
                .collect();
            let side = side
                .iter()
                .map(|r| {
                    store
                        .with(|c| with_retries(c, &[], std::slice::from_ref(r), rules))
                        .map(|_| ())
                })
                .collect();
            BatchOutcome { events, side }
        }
    }
}

fn with_retries(
    c: &mut Conn,
    events: &[NewEvent],
    side: &[SideRecord],
    rules: &ProjectRules,
) -> StoreResult<Vec<WriteOutcome>> {
    let mut check_stored = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_batch(c, events, side, check_stored, rules) {
            Ok(outcomes) => return Ok(outcomes),
            Err(StoreError::Postgres(e)) if attempt < MAX_ATTEMPTS => {
                match e.code().map(|c| c.code()) {
                    // One of the events is stored already (a retried send, or another
                    // instance got it first): look them up and leave them out.
                    Some("23505") => check_stored = true,
                    Some("40P01" | "40001") => {
                        tracing::debug!(error = %e, "batch conflicted with another writer; retrying");
                    }
                    _ => return Err(StoreError::Postgres(e)),
                }
            }
            Err(StoreError::Postgres(e)) if e.code().map(|c| c.code()) == Some("23505") => {
                return Err(StoreError::Conflict(format!(
                    "events stored concurrently by another writer: {e}"
                )))
            }
            Err(e) => return Err(e),
        }
    }
}

/// One attempt of the batch statement, executing the batch's [`BatchPlan`];
/// `check_stored` first looks up which events are stored already.
fn try_batch(
    c: &mut Conn,
    events: &[NewEvent],
    side: &[SideRecord],
    check_stored: bool,
    rules: &ProjectRules,
) -> StoreResult<Vec<WriteOutcome>> {
    let mut stored_ids: Vec<(i64, String)> = Vec::new();
    if check_stored {
        let mut by_project: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for e in events {
            by_project
                .entry(e.project_id)
                .or_default()
                .push(&e.event_id);
        }
        for (pid, eids) in &by_project {
            for r in c.client.query(DUPLICATES, &[pid, eids])? {
                stored_ids.push((*pid, r.try_get(0)?));
            }
        }
    }
    let stored: HashSet<(i64, &str)> = stored_ids.iter().map(|(p, e)| (*p, e.as_str())).collect();
    let plan = BatchPlan::new(events, &stored);
    if plan.fresh.is_empty() && side.is_empty() {
        return plan.outcomes(&[]);
    }

    let statement = c.stmt(WRITE_BATCH)?;
    let alerts = rules.any_for(events);
    if !alerts && side.is_empty() {
        let rows = batch_query(&mut c.client, &statement, &plan)?;
        return plan.outcomes(&upserted(&rows, &plan)?);
    }
    // The batch fires alerts or has side records: they commit with the statement.
    let mut tx = c.client.transaction()?;
    let issues = if plan.fresh.is_empty() {
        Vec::new()
    } else {
        let rows = batch_query(&mut tx, &statement, &plan)?;
        upserted(&rows, &plan)?
    };
    let outcomes = plan.outcomes(&issues)?;
    let mut conn = super::driver::shared_conn(&mut tx, &mut c.shared);
    if alerts && !plan.fresh.is_empty() {
        let now = crate::clock::now_ms();
        crate::store::outbox::queue(&mut conn, rules, &plan, &issues, &outcomes, now)?;
    }
    crate::store::records::write(&mut conn, side)?;
    drop(conn);
    tx.commit()?;
    Ok(outcomes)
}

/// Runs the batch statement of `plan` on `client` (a connection or a transaction).
fn batch_query<C: ::postgres::GenericClient>(
    client: &mut C,
    statement: &::postgres::Statement,
    plan: &BatchPlan<'_>,
) -> Result<Vec<::postgres::Row>, ::postgres::Error> {
    let events = plan.events();
    // Issues: one row per group, in key order (the order their rows are locked in).
    let gs = &plan.groups;
    let first = |g: &IssueGroup<'_>| &events[g.first];
    let col = |f: fn(&NewEvent) -> &str| -> Vec<&str> { gs.iter().map(|g| f(first(g))).collect() };
    // Events.
    let fe: Vec<&NewEvent> = plan.fresh.iter().map(|&i| &events[i]).collect();
    let text = |f: fn(&NewEvent) -> &str| -> Vec<&str> { fe.iter().map(|e| f(e)).collect() };
    let opt = |f: fn(&NewEvent) -> Option<&str>| -> Vec<Option<&str>> {
        fe.iter().map(|e| f(e)).collect()
    };
    // Tags: one row per (group, key, value), in key order.
    let tag_group = |t: &TagTally<'_>| gs[t.group].key;

    client.query(
        statement,
        &[
            // Issues.
            &gs.iter().map(|g| g.key.0).collect::<Vec<i64>>(),
            &col(|e| &e.grouping_version),
            &col(|e| &e.grouping_hash),
            &col(|e| &e.title),
            &col(|e| &e.culprit),
            &gs.iter()
                .map(|g| events[g.last].level.as_str())
                .collect::<Vec<&str>>(),
            &col(|e| &e.platform),
            &col(|e| &e.issue_type),
            &col(|e| &e.metadata),
            &gs.iter().map(|g| g.new_substatus()).collect::<Vec<&str>>(),
            &gs.iter().map(|g| g.first_seen).collect::<Vec<i64>>(),
            &gs.iter().map(|g| g.last_seen).collect::<Vec<i64>>(),
            &gs.iter().map(|g| g.count).collect::<Vec<i64>>(),
            &col(|e| &e.event_id),
            // Events.
            &fe.iter().map(|e| e.project_id).collect::<Vec<i64>>(),
            &text(|e| &e.event_id),
            &text(|e| &e.grouping_version),
            &text(|e| &e.grouping_hash),
            &fe.iter().map(|e| e.timestamp_ms).collect::<Vec<i64>>(),
            &fe.iter().map(|e| e.received_ms).collect::<Vec<i64>>(),
            &text(|e| &e.level),
            &text(|e| &e.platform),
            &opt(|e| e.release.as_deref()),
            &opt(|e| e.environment.as_deref()),
            &text(|e| &e.title),
            &text(|e| &e.culprit),
            &text(|e| &e.message),
            &fe.iter()
                .map(|e| e.body_zstd.as_slice())
                .collect::<Vec<&[u8]>>(),
            &fe.iter().map(|e| e.body_size as i64).collect::<Vec<i64>>(),
            // Tags.
            &plan
                .tags
                .iter()
                .map(|t| tag_group(t).0)
                .collect::<Vec<i64>>(),
            &plan
                .tags
                .iter()
                .map(|t| tag_group(t).1)
                .collect::<Vec<&str>>(),
            &plan
                .tags
                .iter()
                .map(|t| tag_group(t).2)
                .collect::<Vec<&str>>(),
            &plan.tags.iter().map(|t| t.key).collect::<Vec<&str>>(),
            &plan.tags.iter().map(|t| t.value).collect::<Vec<&str>>(),
            &plan.tags.iter().map(|t| t.count).collect::<Vec<i64>>(),
            &plan.tags.iter().map(|t| t.first_seen).collect::<Vec<i64>>(),
            &plan.tags.iter().map(|t| t.last_seen).collect::<Vec<i64>>(),
            // Each event's own tags (after the tag counts: $38).
            &fe.iter()
                .map(|e| crate::store::rows::encode_tags(&e.tags))
                .collect::<Vec<String>>(),
        ],
    )
}

/// What each group's upsert returned, in the plan's group order, from the batch
/// statement's rows.
fn upserted(rows: &[::postgres::Row], plan: &BatchPlan<'_>) -> StoreResult<Vec<UpsertedIssue>> {
    let gs = &plan.groups;
    let fresh = plan.fresh.len();

    let mut by_key: HashMap<(i64, String, String), UpsertedIssue> = HashMap::new();
    let mut stored_events: i64 = 0;
    for r in rows {
        stored_events = r.try_get(6)?;
        by_key.insert(
            (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?),
            UpsertedIssue {
                id: r.try_get(0)?,
                times_seen: r.try_get(4)?,
                regressed_by: r.try_get(5)?,
            },
        );
    }
    let issues = gs
        .iter()
        .map(|g| {
            by_key
                .remove(&(g.key.0, g.key.1.to_owned(), g.key.2.to_owned()))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "the batch did not upsert issue {}/{}",
                        g.key.1, g.key.2
                    ))
                })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    if stored_events != fresh as i64 || !by_key.is_empty() {
        // Cannot happen: every group's upsert returns its row, and every event joins it.
        return Err(StoreError::Corrupt(format!(
            "batch of {} events over {} groups stored {stored_events} events",
            fresh,
            gs.len(),
        )));
    }
    Ok(issues)
}

/// Queued tag rows folded per transaction (each carries one issue's tags of one batch).
pub(super) const FOLD_CHUNK: i64 = 10_000;

const FOLD_TAGS: &str = concat!(
    "WITH q AS ( \
    DELETE FROM tag_queue WHERE id IN \
      (SELECT id FROM tag_queue ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
    RETURNING issue_id, keys, vals, counts, firsts, lasts \
  ), sums AS ( \
    SELECT q.issue_id, u.k, u.v, SUM(u.n)::bigint AS n, MIN(u.f) AS f, MAX(u.l) AS l \
    FROM q, unnest(q.keys, q.vals, q.counts, q.firsts, q.lasts) AS u(k, v, n, f, l) \
    GROUP BY q.issue_id, u.k, u.v \
  ), ins AS ( \
    INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen) \
    SELECT issue_id, k, v, n, f, l FROM sums ORDER BY issue_id, k, v ",
    tag_upsert!(),
    " ) SELECT count(*) FROM q"
);

/// Moves up to `limit` queued tag rows into `issue_tags` in one transaction (see the module
/// documentation); returns how many rows it moved. Rows another instance is folding are
/// skipped.
pub(super) fn fold_tags(client: &mut ::postgres::Client, limit: i64) -> StoreResult<u64> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.query_one(FOLD_TAGS, &[&limit]) {
            Ok(row) => return Ok(row.try_get::<_, i64>(0)?.max(0) as u64),
            Err(e)
                if attempt < MAX_ATTEMPTS
                    && matches!(e.code().map(|c| c.code()), Some("40P01" | "40001")) =>
            {
                continue
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Folds until the queue is empty (rows other instances are folding aside).
pub(super) fn fold_all_tags(c: &mut Conn) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let n = fold_tags(&mut c.client, FOLD_CHUNK)?;
        total += n;
        if n < FOLD_CHUNK as u64 {
            return Ok(total);
        }
    }
}

/// Retention (see [`crate::store::Store::apply_retention`]) under an advisory lock: when
/// another instance is running it, this call does nothing and returns 0. The deletions
/// are the shared ones ([`retention::delete_expired`]); then the rate-limit and
/// login-throttle windows older than a day go.
pub(super) fn apply_retention(
    store: &PgStore,
    policy: &RetentionPolicy,
    now_ms: i64,
) -> StoreResult<u64> {
    sql::write(store, |c| {
        let locked = c.one(
            "SELECT pg_try_advisory_xact_lock($1)",
            args![LOCK_RETENTION],
            "lock",
            |r| r.flag(0),
        )?;
        if !locked {
            return Ok(0);
        }
        let deleted = retention::delete_expired(c, policy, now_ms, &["tag_queue"])?;
        for table in ["rate_limit_windows", "login_attempts"] {
            c.exec(
                &format!("DELETE FROM {table} WHERE window_start < $1"),
                args![now_ms - 86_400_000],
            )?;
        }
        Ok(deleted)
    })
}

/// Counts a login attempt in the shared throttle (see
/// [`crate::store::Store::take_login_attempt`]): a window starts with the first attempt
/// and lasts `window_ms`; attempts past `max` in it are refused.
pub(super) fn take_login_attempt(
    store: &PgStore,
    email: &str,
    max: u32,
    window_ms: i64,
    now_ms: i64,
) -> StoreResult<Result<(), u64>> {
    // One statement: a new window, or one more attempt in the current one. Refused
    // attempts are counted too (the window's start does not move, so they change nothing).
    let row = store.with(|c| {
        Ok(c.client.query_one(
            "INSERT INTO login_attempts AS l (email, window_start, attempts) \
             VALUES ($1, $2, 1) \
             ON CONFLICT (email) DO UPDATE SET \
               window_start = CASE WHEN l.window_start + $3 <= $2 THEN $2 \
                                   ELSE l.window_start END, \
               attempts = CASE WHEN l.window_start + $3 <= $2 THEN 1 \
                               ELSE l.attempts + 1 END \
             RETURNING window_start, attempts",
            &[&email, &now_ms, &window_ms],
        )?)
    })?;
    let window_start: i64 = row.try_get(0)?;
    let attempts: i64 = row.try_get(1)?;
    if attempts > i64::from(max) {
        let ms = (window_start + window_ms - now_ms).max(0) as u64;
        return Ok(Err(ms.div_ceil(1000).max(1)));
    }
    Ok(Ok(()))
}

/// Takes `n` events from a key's budget in the shared window (see
/// [`crate::store::Store::take_rate_limit`]).
pub(super) fn take_rate_limit(
    store: &PgStore,
    key_id: i64,
    limit: &RateLimit,
    n: u64,
    now_ms: i64,
) -> StoreResult<Result<(), u64>> {
    let window_ms = (limit.window_secs.clamp(1, 1 << 40) * 1000) as i64;
    let start = now_ms - now_ms.rem_euclid(window_ms);
    let remaining = ((start + window_ms - now_ms + 999) / 1000).max(1) as u64;
    if n > limit.count {
        return Ok(Err(remaining));
    }
    let (n, count) = (n as i64, limit.count.min(i64::MAX as u64) as i64);
    let taken = store.with(|c| {
        let stmt = c.stmt(
            "INSERT INTO rate_limit_windows (key_id, window_start, used) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id, window_start) DO UPDATE \
             SET used = rate_limit_windows.used + EXCLUDED.used \
             WHERE rate_limit_windows.used + EXCLUDED.used <= $4 RETURNING used",
        )?;
        Ok(c.client
            .query_opt(&stmt, &[&key_id, &start, &n, &count])?
            .is_some())
    })?;
    Ok(if taken { Ok(()) } else { Err(remaining) })
}
