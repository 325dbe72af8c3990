//! The web UI's reads, written once for both backends: searched and sorted issue lists
//! with their total, event histograms (sparklines), event navigation and API tokens.

use super::rows::{self, ISSUE_COLS};
use super::sql::{args, clamp, read, write, Arg, Database};
use super::{
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

/// A statement being written with its arguments: `?` in each piece becomes the next
/// numbered placeholder.
struct Query<'a> {
    sql: String,
    args: Vec<Arg<'a>>,
}

impl<'a> Query<'a> {
    fn push(&mut self, text: &str, values: &[Arg<'a>]) {
        let mut values = values.iter();
        let mut parts = text.split('?');
        if let Some(first) = parts.next() {
            self.sql.push_str(first);
        }
        for part in parts {
            if let Some(v) = values.next() {
                self.args.push(*v);
            }
            self.sql.push_str(&format!("${}", self.args.len()));
            self.sql.push_str(part);
        }
    }
}

/// The `WHERE` clause of an issue query and its arguments.
fn issue_conditions<'a>(
    db: &(impl Database + ?Sized),
    project_id: i64,
    query: &'a IssueQuery,
    pattern: Option<&'a str>,
) -> Query<'a> {
    let mut q = Query {
        sql: String::new(),
        args: Vec::new(),
    };
    q.push("i.project_id = ?", &[project_id.into()]);
    let filter = &query.filter;
    if let Some(status) = filter.status {
        q.push(" AND i.status = ?", &[status.as_str().into()]);
    }
    if let Some(p) = pattern {
        let like = db.dialect().ilike();
        q.push(
            &format!(
                " AND (i.title {like} ? ESCAPE '\\' OR i.culprit {like} ? ESCAPE '\\' \
                 OR i.metadata {like} ? ESCAPE '\\')"
            ),
            &[p.into(), p.into(), p.into()],
        );
    }
    for (k, v) in &filter.tags {
        q.push(
            " AND EXISTS (SELECT 1 FROM issue_tags_live t WHERE t.issue_id = i.id \
             AND t.key = ? AND t.value = ?)",
            &[k.into(), v.into()],
        );
    }
    if let Some(user_id) = query.bookmarked_by {
        q.push(
            " AND EXISTS (SELECT 1 FROM bookmarks b WHERE b.user_id = ? AND b.issue_id = i.id)",
            &[user_id.into()],
        );
    }
    q
}

/// See [`Store::search_issues`](super::Store::search_issues).
pub fn search_issues<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    query: &IssueQuery,
    page: Page,
) -> StoreResult<IssuePage> {
    let pattern = query
        .filter
        .text
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(like_pattern);
    let mut q = issue_conditions(db, project_id, query, pattern.as_deref());
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
    let count_sql = format!("SELECT COUNT(*) FROM issues i WHERE {}", q.sql);
    let count_args = q.args.clone();
    let conditions = std::mem::take(&mut q.sql);
    q.sql = format!("SELECT {cols} FROM issues i WHERE {conditions} ORDER BY {order}");
    q.push(
        " LIMIT ? OFFSET ?",
        &[clamp(page.limit).into(), clamp(page.offset).into()],
    );
    read(db, |c| {
        let total = c.int(&count_sql, &count_args, "count")?;
        let issues = c.all(&q.sql, &q.args, rows::issue)?;
        Ok(IssuePage {
            issues,
            total: total.max(0) as u64,
        })
    })
}

/// See [`Store::event_histogram`](super::Store::event_histogram).
pub fn event_histogram<D: Database + ?Sized>(
    db: &D,
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
    // A project's events are found through the receive-time index (kept off the
    // (project_id, event_id) index, which would visit every event of the project); an
    // issue's through its own index.
    let (sql, id) = match scope {
        EventScope::Project(id) => (
            format!(
                "SELECT (received - $1) / $2, COUNT(*) FROM events \
                 WHERE received >= $1 AND received < $3 AND {} = $4 GROUP BY 1",
                db.dialect().unindexed("project_id")
            ),
            id,
        ),
        EventScope::Issue(id) => (
            "SELECT (received - $1) / $2, COUNT(*) FROM events \
             WHERE issue_id = $4 AND received >= $1 AND received < $3 GROUP BY 1"
                .to_owned(),
            id,
        ),
    };
    let counts = read(db, |c| {
        c.all(&sql, args![start_ms, bucket_ms, end_ms, id], |r| {
            Ok((r.int(0)?, r.count(1)?))
        })
    })?;
    for (bucket, count) in counts {
        if let Some(slot) = usize::try_from(bucket).ok().and_then(|b| out.get_mut(b)) {
            *slot = count;
        }
    }
    Ok(out)
}

/// See [`Store::event_neighbors`](super::Store::event_neighbors).
pub fn event_neighbors<D: Database + ?Sized>(
    db: &D,
    issue_id: i64,
    event_row_id: i64,
) -> StoreResult<EventNeighbors> {
    read(db, |c| {
        c.opt(
            "SELECT \
               (SELECT event_id FROM events WHERE issue_id = $1 ORDER BY id ASC LIMIT 1), \
               (SELECT event_id FROM events WHERE issue_id = $1 AND id < $2 \
                  ORDER BY id DESC LIMIT 1), \
               (SELECT event_id FROM events WHERE issue_id = $1 AND id > $2 \
                  ORDER BY id ASC LIMIT 1), \
               (SELECT event_id FROM events WHERE issue_id = $1 ORDER BY id DESC LIMIT 1)",
            args![issue_id, event_row_id],
            |r| {
                Ok(EventNeighbors {
                    oldest: r.opt_text(0)?,
                    previous: r.opt_text(1)?,
                    next: r.opt_text(2)?,
                    latest: r.opt_text(3)?,
                })
            },
        )
    })
    .map(Option::unwrap_or_default)
}

/// See [`Store::list_tokens`](super::Store::list_tokens). Through the writer: a token
/// created a moment ago must be listed.
pub fn list_tokens<D: Database + ?Sized>(db: &D, user_id: i64) -> StoreResult<Vec<ApiTokenInfo>> {
    write(db, |c| {
        c.all(
            "SELECT id, label, created_at, last_used_at FROM api_tokens WHERE user_id = $1 \
             ORDER BY id DESC",
            args![user_id],
            |r| {
                Ok(ApiTokenInfo {
                    id: r.int(0)?,
                    label: r.text(1)?,
                    created_at_ms: r.int(2)?,
                    last_used_at_ms: r.opt_int(3)?,
                })
            },
        )
    })
}

/// See [`Store::delete_token`](super::Store::delete_token).
pub fn delete_token<D: Database + ?Sized>(
    db: &D,
    user_id: i64,
    token_id: i64,
) -> StoreResult<bool> {
    write(db, |c| {
        c.exec(
            "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2",
            args![token_id, user_id],
        )
    })
    .map(|n| n > 0)
}
