//! The plan of an ingest batch, the same for both backends: which events are duplicates
//! (within the batch, or stored already), the issues the others fall into (grouped by
//! `(project, grouping version, grouping hash)`, with their counts and first and last
//! seen), the tag counts per issue, and — once the backend has upserted the issues — each
//! event's outcome. Also the issue lifecycle rule and the tag-count sums as the upsert
//! clauses both backends append to their inserts.
//!
//! A backend executes a plan in its own way (SQLite: one upsert per issue and per tag row
//! chunk in a transaction; PostgreSQL: one statement fed from arrays), but what it writes
//! is decided here.

use std::collections::{BTreeMap, HashSet};

use super::{NewEvent, StoreError, StoreResult, WriteOutcome};

/// What an issue row becomes when a batch brings it more events, appended to an `INSERT
/// INTO issues (...)` whose values are a group's (its event count as `times_seen`, its
/// first event's id as `regressed_by`). The lifecycle rule: a resolved issue that gets an
/// event is regressed (unresolved again, `regressed_by` that event); a new one becomes
/// ongoing; counts add up; first and last seen widen; the level is the latest event's.
macro_rules! issue_upsert {
    () => {
        "ON CONFLICT (project_id, grouping_version, grouping_hash) \
    DO UPDATE SET \
      times_seen = issues.times_seen + excluded.times_seen, \
      last_seen = CASE WHEN excluded.last_seen > issues.last_seen \
                       THEN excluded.last_seen ELSE issues.last_seen END, \
      first_seen = CASE WHEN excluded.first_seen < issues.first_seen \
                        THEN excluded.first_seen ELSE issues.first_seen END, \
      level = excluded.level, \
      regressed_by = CASE WHEN issues.status = 'resolved' THEN excluded.regressed_by \
                          ELSE issues.regressed_by END, \
      substatus = CASE WHEN issues.status = 'resolved' THEN 'regressed' \
                       WHEN issues.substatus = 'new' THEN 'ongoing' ELSE issues.substatus END, \
      resolved_at = CASE WHEN issues.status = 'resolved' THEN NULL ELSE issues.resolved_at END, \
      status = CASE WHEN issues.status = 'resolved' THEN 'unresolved' ELSE issues.status END"
    };
}
pub(crate) use issue_upsert;
/// The clause of `issue_upsert!` (a macro so that statements can `concat!` it).
pub const ISSUE_UPSERT: &str = issue_upsert!();

/// What an `issue_tags` row becomes when more counts of its value arrive, appended to an
/// `INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen)`.
macro_rules! tag_upsert {
    () => {
        "ON CONFLICT (issue_id, key, value) DO UPDATE SET \
      times_seen = issue_tags.times_seen + excluded.times_seen, \
      first_seen = CASE WHEN excluded.first_seen < issue_tags.first_seen \
                        THEN excluded.first_seen ELSE issue_tags.first_seen END, \
      last_seen = CASE WHEN excluded.last_seen > issue_tags.last_seen \
                       THEN excluded.last_seen ELSE issue_tags.last_seen END"
    };
}
pub(crate) use tag_upsert;
/// The clause of `tag_upsert!`.
pub const TAG_UPSERT: &str = tag_upsert!();

/// The key events are grouped into issues by.
pub type GroupKey<'a> = (i64, &'a str, &'a str);

/// The events of a batch that fall into one issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueGroup<'a> {
    /// `(project, grouping version, grouping hash)`.
    pub key: GroupKey<'a>,
    /// Index (in the batch) of its first event: the issue's title, culprit, ... and
    /// `regressed_by` come from it.
    pub first: usize,
    /// Index of its last event: the issue's level comes from it.
    pub last: usize,
    /// How many of the batch's events it has.
    pub count: i64,
    /// The earliest event time.
    pub first_seen: i64,
    /// The latest event time.
    pub last_seen: i64,
}

impl IssueGroup<'_> {
    /// The substatus of the issue when this group creates it.
    pub fn new_substatus(&self) -> &'static str {
        if self.count > 1 {
            "ongoing"
        } else {
            "new"
        }
    }
}

/// The count of one tag value over one group's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagTally<'a> {
    /// Index of the group (in [`BatchPlan::groups`]).
    pub group: usize,
    /// Tag key.
    pub key: &'a str,
    /// Tag value.
    pub value: &'a str,
    /// Events with it.
    pub count: i64,
    /// The earliest of their times.
    pub first_seen: i64,
    /// The latest.
    pub last_seen: i64,
}

/// What the backend reports for one upserted group: the issue's id, its `times_seen` and
/// `regressed_by` after the upsert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpsertedIssue {
    /// Issue id.
    pub id: i64,
    /// `times_seen` after the upsert.
    pub times_seen: i64,
    /// `regressed_by` after the upsert.
    pub regressed_by: Option<String>,
}

/// The issue an event falls into.
fn group_key(e: &NewEvent) -> GroupKey<'_> {
    (e.project_id, &e.grouping_version, &e.grouping_hash)
}

/// Widens `[first, last]` to hold `at`.
fn widen(first: &mut i64, last: &mut i64, at: i64) {
    *first = (*first).min(at);
    *last = (*last).max(at);
}

/// The plan of one batch (see the module documentation).
#[derive(Debug)]
pub struct BatchPlan<'a> {
    events: &'a [NewEvent],
    duplicate: Vec<bool>,
    /// Indexes of the events to store, in batch order.
    pub fresh: Vec<usize>,
    /// The issues, in key order (the order their rows are locked in, so that two
    /// writers upserting the same issues cannot deadlock).
    pub groups: Vec<IssueGroup<'a>>,
    /// Group index per event (`usize::MAX` for duplicates).
    group_of: Vec<usize>,
    /// Tag counts, by group and then key and value.
    pub tags: Vec<TagTally<'a>>,
}

impl<'a> BatchPlan<'a> {
    /// Plans `events`; `stored` says which `(project, event id)` are stored already
    /// (duplicates within the batch are found here).
    pub fn new(events: &'a [NewEvent], stored: &HashSet<(i64, &str)>) -> Self {
        let mut duplicate = vec![false; events.len()];
        let mut seen: HashSet<(i64, &str)> = HashSet::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let id = (e.project_id, e.event_id.as_str());
            duplicate[i] = !seen.insert(id) || stored.contains(&id);
        }
        let fresh: Vec<usize> = (0..events.len()).filter(|&i| !duplicate[i]).collect();
        let mut by_key: BTreeMap<GroupKey<'a>, IssueGroup<'a>> = BTreeMap::new();
        for &i in &fresh {
            let e = &events[i];
            let key = group_key(e);
            let g = by_key.entry(key).or_insert(IssueGroup {
                key,
                first: i,
                last: i,
                count: 0,
                first_seen: e.timestamp_ms,
                last_seen: e.timestamp_ms,
            });
            g.count += 1;
            widen(&mut g.first_seen, &mut g.last_seen, e.timestamp_ms);
            g.last = i;
        }
        let groups: Vec<IssueGroup<'a>> = by_key.into_values().collect();
        let index: BTreeMap<GroupKey<'a>, usize> =
            groups.iter().enumerate().map(|(i, g)| (g.key, i)).collect();
        let mut group_of = vec![usize::MAX; events.len()];
        let mut tallies: BTreeMap<(usize, &'a str, &'a str), TagTally<'a>> = BTreeMap::new();
        for &i in &fresh {
            let e = &events[i];
            let Some(&g) = index.get(&group_key(e)) else {
                continue;
            };
            group_of[i] = g;
            for (k, v) in &e.tags {
                let t = tallies.entry((g, k, v)).or_insert(TagTally {
                    group: g,
                    key: k,
                    value: v,
                    count: 0,
                    first_seen: e.timestamp_ms,
                    last_seen: e.timestamp_ms,
                });
                t.count += 1;
                widen(&mut t.first_seen, &mut t.last_seen, e.timestamp_ms);
            }
        }
        BatchPlan {
            events,
            duplicate,
            fresh,
            groups,
            group_of,
            tags: tallies.into_values().collect(),
        }
    }

    /// The events of the batch.
    pub fn events(&self) -> &'a [NewEvent] {
        self.events
    }

    /// The group of a fresh event.
    pub fn group_of(&self, event: usize) -> Option<&IssueGroup<'a>> {
        self.groups.get(*self.group_of.get(event)?)
    }

    /// Index (in [`Self::groups`]) of the group of a fresh event.
    pub fn group_index(&self, event: usize) -> Option<usize> {
        self.group_of
            .get(event)
            .copied()
            .filter(|&g| g < self.groups.len())
    }

    /// Each event's outcome, given what the upsert of each group (in order) reported: an
    /// issue is new when its count is the group's alone, and regressed when this batch's
    /// first event of it is its `regressed_by`; both are told with that first event.
    pub fn outcomes(&self, issues: &[UpsertedIssue]) -> StoreResult<Vec<WriteOutcome>> {
        if issues.len() != self.groups.len() {
            return Err(StoreError::Corrupt(format!(
                "{} issues upserted for {} groups",
                issues.len(),
                self.groups.len()
            )));
        }
        (0..self.events.len())
            .map(|i| {
                if self.duplicate[i] {
                    return Ok(WriteOutcome::Duplicate);
                }
                let g = self.group_index(i).ok_or_else(|| {
                    StoreError::Corrupt(format!("no issue for event {}", self.events[i].event_id))
                })?;
                let (group, issue) = (&self.groups[g], &issues[g]);
                let is_first = group.first == i;
                let inserted = issue.times_seen == group.count;
                let first_id = self.events[group.first].event_id.as_str();
                let regressed = !inserted && issue.regressed_by.as_deref() == Some(first_id);
                Ok(WriteOutcome::Stored {
                    issue_id: issue.id,
                    new_issue: inserted && is_first,
                    regression: regressed && is_first,
                })
            })
            .collect()
    }
}

/// A test event of project `project_id` with id `id` in group `hash` at `at` (ms), with
/// `tags` and a `{}` body.
#[cfg(test)]
pub(crate) fn test_event(
    project_id: i64,
    id: &str,
    hash: &str,
    at: i64,
    tags: &[(&str, &str)],
) -> NewEvent {
    NewEvent {
        project_id,
        event_id: id.to_owned(),
        timestamp_ms: at,
        received_ms: at,
        level: "error".into(),
        platform: "python".into(),
        release: None,
        environment: None,
        title: format!("title {hash}"),
        culprit: "c".into(),
        message: "m".into(),
        issue_type: "error".into(),
        metadata: "{}".into(),
        grouping_version: "g1".into(),
        grouping_hash: hash.to_owned(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body_zstd: zstd::bulk::compress(b"{}", 1).unwrap_or_default(),
        body_size: 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, hash: &str, at: i64, tags: &[(&str, &str)]) -> NewEvent {
        test_event(1, id, hash, at, tags)
    }

    #[test]
    fn groups_dedupes_and_sums_tags() {
        let events = vec![
            event("a", "h2", 20, &[("k", "x")]),
            event("b", "h1", 5, &[("k", "x")]),
            event("c", "h2", 10, &[("k", "x"), ("k", "y")]),
            event("a", "h2", 99, &[("k", "z")]),
            event("s", "h1", 1, &[]),
            event("d", "h2", 40, &[("k", "x")]),
        ];
        let stored: HashSet<(i64, &str)> = [(1, "s")].into_iter().collect();
        let plan = BatchPlan::new(&events, &stored);
        assert_eq!(plan.fresh, vec![0, 1, 2, 5]);
        let groups: Vec<_> = plan
            .groups
            .iter()
            .map(|g| (g.key.2, g.first, g.last, g.count, g.first_seen, g.last_seen))
            .collect();
        assert_eq!(groups, vec![("h1", 1, 1, 1, 5, 5), ("h2", 0, 5, 3, 10, 40)]);
        assert_eq!(plan.groups[0].new_substatus(), "new");
        assert_eq!(plan.groups[1].new_substatus(), "ongoing");
        let tags: Vec<_> = plan
            .tags
            .iter()
            .map(|t| (t.group, t.key, t.value, t.count, t.first_seen, t.last_seen))
            .collect();
        assert_eq!(
            tags,
            vec![
                (0, "k", "x", 1, 5, 5),
                (1, "k", "x", 3, 10, 40),
                (1, "k", "y", 1, 10, 10)
            ]
        );
        // h1 is new; h2 existed and was resolved: its first event here reopened it.
        let outcomes = plan
            .outcomes(&[
                UpsertedIssue {
                    id: 7,
                    times_seen: 1,
                    regressed_by: None,
                },
                UpsertedIssue {
                    id: 8,
                    times_seen: 10,
                    regressed_by: Some("a".into()),
                },
            ])
            .expect("outcomes");
        let stored = |issue_id, new_issue, regression| WriteOutcome::Stored {
            issue_id,
            new_issue,
            regression,
        };
        assert_eq!(
            outcomes,
            vec![
                stored(8, false, true),
                stored(7, true, false),
                stored(8, false, false),
                WriteOutcome::Duplicate,
                WriteOutcome::Duplicate,
                stored(8, false, false),
            ]
        );
        assert!(plan.outcomes(&[]).is_err(), "one upsert per group");
    }
}
