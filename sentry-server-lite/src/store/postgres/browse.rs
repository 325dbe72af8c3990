//! The PostgreSQL implementation of the web UI's reads: searched and sorted issue lists
//! with their total, event histograms (sparklines), event navigation and API tokens.

use ::postgres::types::ToSql;

use super::{clamp, issue_row, rows, PgStore, ISSUE_COLS};
use crate::store::{
    ApiTokenInfo, EventNeighbors, EventScope, IssuePage, IssueQuery, IssueSort, Page, StoreResult,
};

type Arg = Box<dyn ToSql + Sync + Send>;

/// `%text%` for `ILIKE ... ESCAPE '\'`.
pub(super) fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Appends `text` with each `?` numbered as the next argument.
fn push(sql: &mut String, args: &mut Vec<Arg>, text: &str, values: Vec<Arg>) {
    let mut parts = text.split('?');
    if let Some(first) = parts.next() {
        sql.push_str(first);
    }
    let mut values = values.into_iter();
    for part in parts {
        if let Some(v) = values.next() {
            args.push(v);
        }
        sql.push_str(&format!("${}", args.len()));
        sql.push_str(part);
    }
}

/// The `WHERE` clause of an issue query and its arguments.
fn issue_conditions(project_id: i64, query: &IssueQuery) -> (String, Vec<Arg>) {
    let mut sql = String::new();
    let mut args: Vec<Arg> = Vec::new();
    push(
        &mut sql,
        &mut args,
        "i.project_id = ?",
        vec![Box::new(project_id)],
    );
    let filter = &query.filter;
    if let Some(status) = filter.status {
        push(
            &mut sql,
            &mut args,
            " AND i.status = ?",
            vec![Box::new(status.as_str())],
        );
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let p = like_pattern(text);
        push(
            &mut sql,
            &mut args,
            " AND (i.title ILIKE ? ESCAPE '\\' OR i.culprit ILIKE ? ESCAPE '\\' \
             OR i.metadata ILIKE ? ESCAPE '\\')",
            vec![Box::new(p.clone()), Box::new(p.clone()), Box::new(p)],
        );
    }
    for (k, v) in &filter.tags {
        push(
            &mut sql,
            &mut args,
            " AND EXISTS (SELECT 1 FROM issue_tags_live t WHERE t.issue_id = i.id \
             AND t.key = ? AND t.value = ?)",
            vec![Box::new(k.clone()), Box::new(v.clone())],
        );
    }
    if let Some(user_id) = query.bookmarked_by {
        push(
            &mut sql,
            &mut args,
            " AND EXISTS (SELECT 1 FROM bookmarks b WHERE b.user_id = ? AND b.issue_id = i.id)",
            vec![Box::new(user_id)],
        );
    }
    (sql, args)
}

fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

pub(super) fn search_issues(
    store: &PgStore,
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
    let cols = ISSUE_COLS
        .split(", ")
        .map(|c| format!("i.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let count_sql = format!("SELECT COUNT(*) FROM issues i WHERE {conditions}");
    let mut list_sql = format!("SELECT {cols} FROM issues i WHERE {conditions} ORDER BY {order}");
    let mut list_args: Vec<Arg> = Vec::new();
    // Same conditions, then the page.
    let (_, again) = issue_conditions(project_id, query);
    list_args.extend(again);
    push(
        &mut list_sql,
        &mut list_args,
        " LIMIT ? OFFSET ?",
        vec![Box::new(clamp(page.limit)), Box::new(clamp(page.offset))],
    );
    let total: i64 = store
        .query(&count_sql, &refs(&args))?
        .first()
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
    let issues = rows(store.query(&list_sql, &refs(&list_args))?, issue_row)?;
    Ok(IssuePage {
        issues,
        total: total.max(0) as u64,
    })
}

pub(super) fn event_histogram(
    store: &PgStore,
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
    let (sql, id) = match scope {
        EventScope::Project(id) => (
            "SELECT (received - $1) / $2, COUNT(*) FROM events \
             WHERE received >= $1 AND received < $3 AND project_id = $4 GROUP BY 1",
            id,
        ),
        EventScope::Issue(id) => (
            "SELECT (received - $1) / $2, COUNT(*) FROM events \
             WHERE issue_id = $4 AND received >= $1 AND received < $3 GROUP BY 1",
            id,
        ),
    };
    for r in store.query(sql, &[&start_ms, &bucket_ms, &end_ms, &id])? {
        let bucket: i64 = r.try_get(0)?;
        let count: i64 = r.try_get(1)?;
        if let Some(slot) = usize::try_from(bucket).ok().and_then(|b| out.get_mut(b)) {
            *slot = count.max(0) as u64;
        }
    }
    Ok(out)
}

pub(super) fn event_neighbors(
    store: &PgStore,
    issue_id: i64,
    event_row_id: i64,
) -> StoreResult<EventNeighbors> {
    let rows = store.query(
        "SELECT \
           (SELECT event_id FROM events WHERE issue_id = $1 ORDER BY id ASC LIMIT 1), \
           (SELECT event_id FROM events WHERE issue_id = $1 AND id < $2 \
              ORDER BY id DESC LIMIT 1), \
           (SELECT event_id FROM events WHERE issue_id = $1 AND id > $2 \
              ORDER BY id ASC LIMIT 1), \
           (SELECT event_id FROM events WHERE issue_id = $1 ORDER BY id DESC LIMIT 1)",
        &[&issue_id, &event_row_id],
    )?;
    let Some(r) = rows.first() else {
        return Ok(EventNeighbors::default());
    };
    Ok(EventNeighbors {
        oldest: r.try_get(0)?,
        previous: r.try_get(1)?,
        next: r.try_get(2)?,
        latest: r.try_get(3)?,
    })
}

pub(super) fn list_tokens(store: &PgStore, user_id: i64) -> StoreResult<Vec<ApiTokenInfo>> {
    rows(
        store.query(
            "SELECT id, label, created_at, last_used_at FROM api_tokens WHERE user_id = $1 \
             ORDER BY id DESC",
            &[&user_id],
        )?,
        |r| {
            Ok(ApiTokenInfo {
                id: r.try_get(0)?,
                label: r.try_get(1)?,
                created_at_ms: r.try_get(2)?,
                last_used_at_ms: r.try_get(3)?,
            })
        },
    )
}

pub(super) fn delete_token(store: &PgStore, user_id: i64, token_id: i64) -> StoreResult<bool> {
    Ok(store.execute(
        "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2",
        &[&token_id, &user_id],
    )? > 0)
}
