//! The SQLite implementation of the web UI's reads: searched and sorted issue lists
//! with their total, event histograms (sparklines), event navigation and API tokens.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};

use super::{issue_row, SqliteStore, ISSUE_COLS};
use crate::store::{
    ApiTokenInfo, EventNeighbors, EventScope, IssuePage, IssueQuery, IssueSort, Page, StoreResult,
};

/// `%text%` for `LIKE ... ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// The `WHERE` clause of an issue query and its arguments.
fn issue_conditions(project_id: i64, query: &IssueQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("i.project_id = ?");
    let mut args: Vec<Value> = vec![project_id.into()];
    let filter = &query.filter;
    if let Some(status) = filter.status {
        sql.push_str(" AND i.status = ?");
        args.push(status.as_str().to_owned().into());
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        sql.push_str(
            " AND (i.title LIKE ? ESCAPE '\\' OR i.culprit LIKE ? ESCAPE '\\' \
             OR i.metadata LIKE ? ESCAPE '\\')",
        );
        for _ in 0..3 {
            args.push(pattern.clone().into());
        }
    }
    for (k, v) in &filter.tags {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id \
             AND t.key = ? AND t.value = ?)",
        );
        args.push(k.clone().into());
        args.push(v.clone().into());
    }
    if let Some(user_id) = query.bookmarked_by {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM bookmarks b WHERE b.user_id = ? AND b.issue_id = i.id)",
        );
        args.push(user_id.into());
    }
    (sql, args)
}

pub(super) fn search_issues(
    store: &SqliteStore,
    project_id: i64,
    query: &IssueQuery,
    page: Page,
) -> StoreResult<IssuePage> {
    let (conditions, args) = issue_conditions(project_id, query);
    let order = match query.sort {
        IssueSort::LastSeen => "i.last_seen DESC, i.id DESC",
        IssueSort::FirstSeen => "i.first_seen DESC, i.id DESC",
        IssueSort::Events => "i.times_seen DESC, i.id DESC",
    };
    let list_sql = format!(
        "SELECT {} FROM issues i WHERE {conditions} ORDER BY {order} LIMIT ? OFFSET ?",
        ISSUE_COLS
            .split(", ")
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let count_sql = format!("SELECT COUNT(*) FROM issues i WHERE {conditions}");
    let mut list_args = args.clone();
    list_args.push((page.limit.min(i64::MAX as u64) as i64).into());
    list_args.push((page.offset.min(i64::MAX as u64) as i64).into());
    store.read(|c| {
        let total: i64 = c.query_row(&count_sql, params_from_iter(args), |r| r.get(0))?;
        let mut stmt = c.prepare(&list_sql)?;
        let issues = stmt
            .query_map(params_from_iter(list_args), issue_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(IssuePage {
            issues,
            total: total.max(0) as u64,
        })
    })
}

pub(super) fn event_histogram(
    store: &SqliteStore,
    scope: EventScope,
    start_ms: i64,
    bucket_ms: i64,
    buckets: usize,
) -> StoreResult<Vec<u64>> {
    let mut out = vec![0u64; buckets];
    if buckets == 0 || bucket_ms <= 0 {
        return Ok(out);
    }
    let end_ms = start_ms.saturating_add(bucket_ms.saturating_mul(buckets as i64));
    // A project's events are found through the receive-time index (`+project_id` keeps
    // the planner off the (project_id, event_id) index, which would visit every event of
    // the project); an issue's through its own index.
    let (sql, id) = match scope {
        EventScope::Project(id) => (
            "SELECT (received - ?1) / ?2, COUNT(*) FROM events \
             WHERE received >= ?1 AND received < ?3 AND +project_id = ?4 GROUP BY 1",
            id,
        ),
        EventScope::Issue(id) => (
            "SELECT (received - ?1) / ?2, COUNT(*) FROM events \
             WHERE issue_id = ?4 AND received >= ?1 AND received < ?3 GROUP BY 1",
            id,
        ),
    };
    let rows: Vec<(i64, i64)> = store.read(|c| {
        let mut stmt = c.prepare_cached(sql)?;
        let rows = stmt.query_map(params![start_ms, bucket_ms, end_ms, id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect()
    })?;
    for (bucket, count) in rows {
        if let Some(slot) = usize::try_from(bucket).ok().and_then(|b| out.get_mut(b)) {
            *slot = count.max(0) as u64;
        }
    }
    Ok(out)
}

pub(super) fn event_neighbors(
    store: &SqliteStore,
    issue_id: i64,
    event_row_id: i64,
) -> StoreResult<EventNeighbors> {
    store.read(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT \
               (SELECT event_id FROM events WHERE issue_id = ?1 ORDER BY id ASC LIMIT 1), \
               (SELECT event_id FROM events WHERE issue_id = ?1 AND id < ?2 \
                  ORDER BY id DESC LIMIT 1), \
               (SELECT event_id FROM events WHERE issue_id = ?1 AND id > ?2 \
                  ORDER BY id ASC LIMIT 1), \
               (SELECT event_id FROM events WHERE issue_id = ?1 ORDER BY id DESC LIMIT 1)",
        )?;
        stmt.query_row(params![issue_id, event_row_id], |r| {
            Ok(EventNeighbors {
                oldest: r.get(0)?,
                previous: r.get(1)?,
                next: r.get(2)?,
                latest: r.get(3)?,
            })
        })
    })
}

pub(super) fn list_tokens(store: &SqliteStore, user_id: i64) -> StoreResult<Vec<ApiTokenInfo>> {
    // Through the writer connection: a token created a moment ago must be listed.
    store.write(|c| {
        let mut stmt = c.prepare_cached(
            "SELECT id, label, created_at, last_used_at FROM api_tokens WHERE user_id = ?1 \
             ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([user_id], |r| {
            Ok(ApiTokenInfo {
                id: r.get(0)?,
                label: r.get(1)?,
                created_at_ms: r.get(2)?,
                last_used_at_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    })
}

pub(super) fn delete_token(store: &SqliteStore, user_id: i64, token_id: i64) -> StoreResult<bool> {
    store.write(|c| {
        Ok(c.execute(
            "DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2",
            params![token_id, user_id],
        )? > 0)
    })
}

#[cfg(test)]
mod tests;
