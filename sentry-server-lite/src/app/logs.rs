//! Structured logs (issue #20): reading a project's logs and a trace's logs, for the API,
//! the project's Logs page and an event's page. Logs are as sensitive as the events
//! beside them, so reading them takes the project's [`Action::ViewIssues`].
//!
//! [`LogParams::parse`] reads the request's parameters once for every front end:
//! `query` (free words, all in the body, and `key:value` pairs: `level:`, `trace:`,
//! `release:`, `environment:`, any other key an attribute; values may be quoted),
//! `level` (one or a comma list), `trace` (32 hex, dashes allowed), `since` / `until`
//! (RFC 3339 or Unix seconds), `cursor` (`<timestamp ms>-<id>` of the last log of the
//! previous page) and `limit` (1–100). Every bad value is a clear error, before any
//! read.

use std::collections::HashMap;

use sentry_client::protocol::{LogLevel, Timestamp};

use super::projects::{self, ProjectName};
use super::{AppError, Caller};
use crate::policy::Action;
use crate::store::logs::{self, LogFilter, StoredLog};
use crate::store::{Project, Store};

/// Logs per page at most (and by default).
pub const MAX_PAGE: u64 = 100;
/// Logs of a trace shown at most.
pub const MAX_TRACE_LOGS: u64 = 1_000;
/// Terms of a query at most.
const MAX_TERMS: usize = 20;
/// Characters of one term at most.
const MAX_TERM_CHARS: usize = 256;

/// A parsed logs request: the filter and the page size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogParams {
    /// What to match.
    pub filter: LogFilter,
    /// Logs per page.
    pub limit: u64,
}

impl LogParams {
    /// Reads the request parameters (see the [module docs](self)).
    pub fn parse(params: &HashMap<String, String>) -> Result<LogParams, String> {
        let mut filter = LogFilter::default();
        if let Some(q) = params.get("query") {
            parse_query(q, &mut filter)?;
        }
        if let Some(l) = params.get("level").filter(|l| !l.trim().is_empty()) {
            for name in l.split(',') {
                push_level(&mut filter, name)?;
            }
        }
        if let Some(t) = params.get("trace").filter(|t| !t.trim().is_empty()) {
            filter.trace_id = Some(trace_id(t)?);
        }
        filter.since_ms = opt_time(params, "since")?;
        filter.until_ms = opt_time(params, "until")?;
        if let Some(c) = params.get("cursor").filter(|c| !c.is_empty()) {
            filter.before = Some(cursor(c)?);
        }
        let limit = match params.get("limit").or(params.get("per_page")) {
            Some(l) => l
                .parse::<u64>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| format!("invalid limit {l:?}: give 1 to {MAX_PAGE}"))?,
            None => MAX_PAGE,
        };
        Ok(LogParams { filter, limit })
    }
}

/// The cursor of the page after one ending with `last`.
pub fn next_cursor(last: &StoredLog) -> String {
    format!("{}-{}", last.timestamp_ms, last.id)
}

fn cursor(c: &str) -> Result<(i64, i64), String> {
    let bad = || format!("invalid cursor {c:?}");
    let (ts, id) = c.rsplit_once('-').ok_or_else(bad)?;
    Ok((
        ts.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

fn push_level(filter: &mut LogFilter, name: &str) -> Result<(), String> {
    let level = LogLevel::parse(name).ok_or_else(|| {
        format!("unknown level {name:?}: give trace, debug, info, warn, error or fatal")
    })?;
    let name = level.as_str().to_owned();
    if !filter.levels.contains(&name) {
        filter.levels.push(name);
    }
    Ok(())
}

/// A trace id: 32 hex digits (dashes of the UUID form allowed), lower-cased.
pub fn trace_id(t: &str) -> Result<String, String> {
    let hex: String = t
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(format!("invalid trace {t:?}: give 32 hex digits"))
    }
}

fn opt_time(params: &HashMap<String, String>, key: &str) -> Result<Option<i64>, String> {
    let Some(v) = params.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let secs = v
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..1e11).contains(s))
        .or_else(|| Timestamp::parse_rfc3339(v).map(|t| t.as_unix()))
        .ok_or_else(|| format!("invalid {key} {v:?}: give RFC 3339 or Unix seconds"))?;
    Ok(Some((secs * 1000.0) as i64))
}

/// Splits a query into words and `key:value` pairs (double quotes group words).
fn parse_query(q: &str, filter: &mut LogFilter) -> Result<(), String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in q.chars() {
        match ch {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        terms.push(current);
    }
    if terms.len() > MAX_TERMS {
        return Err(format!("too many terms in the query: at most {MAX_TERMS}"));
    }
    for term in terms {
        if term.chars().count() > MAX_TERM_CHARS {
            return Err(format!(
                "a query term is longer than {MAX_TERM_CHARS} characters"
            ));
        }
        let pair = term.split_once(':').filter(|(k, v)| {
            !k.is_empty()
                && !v.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        });
        match pair {
            Some(("level", v)) => push_level(filter, v)?,
            Some(("trace" | "trace_id" | "traceId", v)) => filter.trace_id = Some(trace_id(v)?),
            Some((k, v)) => filter.pairs.push((k.to_owned(), v.to_owned())),
            None => filter.text.push(term),
        }
    }
    Ok(())
}

/// A page of the project's logs matching `params`, newest first, and the project; one
/// log more than the page when there is a next page.
pub fn search(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    params: &LogParams,
) -> Result<(Project, Vec<StoredLog>), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewIssues)?;
    let rows = logs::search(store, p.id, &params.filter, params.limit + 1)?;
    Ok((p, rows))
}

/// The logs of a trace in a project the caller may read, oldest first (at most
/// [`MAX_TRACE_LOGS`]).
pub fn of_trace(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    trace_id: &str,
) -> Result<Vec<StoredLog>, AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewIssues)?;
    Ok(logs::of_trace(store, p.id, trace_id, MAX_TRACE_LOGS)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<LogParams, String> {
        let map = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        LogParams::parse(&map)
    }

    #[test]
    fn parameters_read_once_for_every_front_end() {
        let p = parse(&[
            (
                "query",
                r#"timeout user.id:42 "slow query" level:warning release:app@1"#,
            ),
            ("level", "error,ERROR"),
            ("trace", "771A43A4-1926-42F0-B136-D5159A501700"),
            ("since", "2024-06-01T00:00:00Z"),
            ("until", "1717300000"),
            ("cursor", "1717243200000-17"),
            ("limit", "10"),
        ])
        .unwrap();
        let f = &p.filter;
        assert_eq!(f.text, ["timeout", "slow query"]);
        assert_eq!(
            f.pairs,
            [
                ("user.id".to_owned(), "42".to_owned()),
                ("release".to_owned(), "app@1".to_owned())
            ]
        );
        assert_eq!(f.levels, ["warn", "error"]);
        assert_eq!(
            f.trace_id.as_deref(),
            Some("771a43a4192642f0b136d5159a501700")
        );
        assert_eq!(f.since_ms, Some(1_717_200_000_000));
        assert_eq!(f.until_ms, Some(1_717_300_000_000));
        assert_eq!(f.before, Some((1_717_243_200_000, 17)));
        assert_eq!(p.limit, 10);
    }

    #[test]
    fn bad_values_are_named() {
        for (k, v) in [
            ("level", "loud"),
            ("trace", "xyz"),
            ("since", "yesterday"),
            ("cursor", "abc"),
            ("limit", "0"),
            ("limit", "101"),
        ] {
            let e = parse(&[(k, v)]).unwrap_err();
            assert!(e.contains(v) || e.contains("limit"), "{k}={v}: {e}");
        }
        let many = vec!["w"; 21].join(" ");
        assert!(parse(&[("query", &many)]).is_err());
    }
}
