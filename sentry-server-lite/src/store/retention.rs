//! Retention, written once for both backends: events past the policy's age and beyond
//! its per-issue count go, at most `policy.max_deletions` per call, and issues whose
//! every event has expired go with their tag counts; attachments and user feedback go
//! at the events' age, attachments also an hour after their event went (see
//! `store::attachments::delete_expired`); so do audit-log rows past
//! `policy.audit_max_age_days`, structured logs past their age and per-project cap
//! (`store::logs`), and the release-health and monitor rows `store::health::prune`
//! names (none of these counted in the answer, which counts events).

use super::sql::{args, write, Conn, Database};
use super::{RetentionPolicy, StoreResult};

/// See [`Store::apply_retention`](super::Store::apply_retention): one pass in one write
/// transaction.
pub fn apply<D: Database + ?Sized>(
    db: &D,
    policy: &RetentionPolicy,
    now_ms: i64,
) -> StoreResult<u64> {
    let queued = db.queued_tag_tables();
    write(db, |c| delete_expired(c, policy, now_ms, queued))
}

/// The deletions of one pass, inside the caller's transaction; how many events went.
/// `queued` are the backend's other tag-count tables (emptied before `issue_tags`).
pub fn delete_expired(
    c: &mut dyn Conn,
    policy: &RetentionPolicy,
    now_ms: i64,
    queued: &[&str],
) -> StoreResult<u64> {
    let budget = policy.max_deletions.clamp(1, i64::MAX as u64) as i64;
    let mut deleted: i64 = 0;
    if policy.max_age_days > 0 {
        let cutoff = now_ms - (policy.max_age_days.min(1 << 40) as i64) * 86_400_000;
        deleted += c.exec(
            "DELETE FROM events WHERE id IN \
             (SELECT id FROM events WHERE received < $1 LIMIT $2)",
            args![cutoff, budget],
        )? as i64;
        // Issues whose every event has expired go too, with their tags (queued counts
        // first: see `delete_project`).
        for table in queued.iter().chain(&["issue_tags"]) {
            c.exec(
                &format!(
                    "DELETE FROM {table} WHERE issue_id IN (SELECT id FROM issues \
                     WHERE last_seen < $1 AND NOT EXISTS \
                     (SELECT 1 FROM events e WHERE e.issue_id = issues.id))"
                ),
                args![cutoff],
            )?;
        }
        c.exec(
            "DELETE FROM issues WHERE last_seen < $1 AND NOT EXISTS \
             (SELECT 1 FROM events e WHERE e.issue_id = issues.id)",
            args![cutoff],
        )?;
    }
    if policy.max_events_per_issue > 0 && deleted < budget {
        let keep = policy.max_events_per_issue.min(i64::MAX as u64) as i64;
        let over = c.all(
            "SELECT issue_id FROM events WHERE issue_id IS NOT NULL \
             GROUP BY issue_id HAVING COUNT(*) > $1",
            args![keep],
            |r| r.int(0),
        )?;
        for issue_id in over {
            if deleted >= budget {
                break;
            }
            deleted += c.exec(
                "DELETE FROM events WHERE id IN (SELECT id FROM events \
                 WHERE issue_id = $1 ORDER BY id DESC LIMIT $3 OFFSET $2)",
                args![issue_id, keep, budget - deleted],
            )? as i64;
        }
    }
    // Attachments and feedback go with the events' age limit; attachments also once
    // their event is gone.
    let event_cutoff = (policy.max_age_days > 0)
        .then(|| now_ms - (policy.max_age_days.min(1 << 40) as i64) * 86_400_000);
    super::attachments::delete_expired(c, event_cutoff, now_ms, budget)?;
    if let Some(cutoff) = event_cutoff {
        super::feedback::delete_expired(c, cutoff, budget)?;
    }
    if deleted < budget {
        super::logs::delete_expired(c, policy, now_ms, budget - deleted)?;
    }
    if policy.audit_max_age_days > 0 {
        let cutoff = now_ms - (policy.audit_max_age_days.min(1 << 20) as i64) * 86_400_000;
        c.exec(
            "DELETE FROM audit_log WHERE id IN \
             (SELECT id FROM audit_log WHERE at < $1 LIMIT $2)",
            args![cutoff, budget],
        )?;
    }
    super::health::prune(c, policy, now_ms, budget)?;
    Ok(deleted.max(0) as u64)
}
