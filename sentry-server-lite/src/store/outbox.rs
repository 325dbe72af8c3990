//! The alert outbox (issue #19), written once for both backends: [`queue`] writes the
//! alerts a batch fires inside the batch's own transaction (so an alert exists exactly
//! when the issue change that fired it was committed), and the background sender
//! ([`crate::alerts::sender`]) claims due rows ([`claim`]), sends them and records the
//! outcome ([`finish`]).
//!
//! A row is one alert for one action, with its delivery id (a UUID sent on every try)
//! and a snapshot of the triggering event (title, culprit, level, environment, release,
//! count), so that it can still be sent when the issue is gone. Claiming moves the row's
//! `next_attempt_at` a lease ahead and stamps it with the claimer's token: should the
//! claimer die, the row is due again when the lease ends; several instances claim with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so each row goes to one of them.

use super::alerts::{AlertAction, AlertRule, ProjectRules, Trigger};
use super::plan::{BatchPlan, UpsertedIssue};
use super::sql::{args, read, write, Conn, Database, Dialect, SqlRow};
use super::{NewEvent, StoreError, StoreResult, WriteOutcome};

/// A delivery's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its (next) try.
    Pending,
    /// A receiver answered 2xx (or the SMTP relay 250).
    Sent,
    /// Given up after the retry period.
    Failed,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "sent" => Ok(DeliveryState::Sent),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(StoreError::Corrupt(format!("delivery state {other:?}"))),
        }
    }
}

/// One row of the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// The UUID receivers see (`X-Sentry-Lite-Delivery`), the same on every try.
    pub delivery_id: String,
    /// Its rule.
    pub rule_id: i64,
    /// The rule's project.
    pub project_id: i64,
    /// `new_issue`, `regression`, `volume`, or `test` (the settings page's button).
    pub kind: String,
    /// Where it goes.
    pub target: AlertAction,
    /// The issue, if any (`None` for a test).
    pub issue_id: Option<i64>,
    /// The triggering event's id.
    pub event_id: Option<String>,
    /// The issue's title as of the event.
    pub title: String,
    /// Its culprit.
    pub culprit: String,
    /// The event's level.
    pub level: String,
    /// The event's environment.
    pub environment: Option<String>,
    /// The event's release.
    pub release: Option<String>,
    /// The issue's event count when the alert fired.
    pub times_seen: i64,
    /// Where it stands.
    pub state: DeliveryState,
    /// Tries made.
    pub attempts: i64,
    /// When it is due (pending), or when its lease ends (claimed).
    pub next_attempt_at: i64,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// Written (Unix ms).
    pub created_at: i64,
    /// Sent (Unix ms).
    pub sent_at: Option<i64>,
}

impl Delivery {
    /// Where it stands, in the words the API and the settings page use: `pending` (not
    /// tried yet), `retrying` (tried, failed, due again at `next_attempt_at`), `sent`,
    /// `failed`.
    pub fn status(&self) -> &'static str {
        match self.state {
            DeliveryState::Pending if self.attempts == 0 => "pending",
            DeliveryState::Pending => "retrying",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
}

/// Columns of [`delivery`].
pub const DELIVERY_COLS: &str = "id, delivery_id, rule_id, project_id, kind, target, issue_id, \
     event_id, title, culprit, level, environment, release, times_seen, state, attempts, \
     next_attempt_at, last_error, created_at, sent_at";

/// A delivery row.
pub fn delivery(r: &dyn SqlRow) -> StoreResult<Delivery> {
    let target: AlertAction = serde_json::from_str(&r.text(5)?)
        .map_err(|e| StoreError::Corrupt(format!("delivery target: {e}")))?;
    Ok(Delivery {
        id: r.int(0)?,
        delivery_id: r.text(1)?,
        rule_id: r.int(2)?,
        project_id: r.int(3)?,
        kind: r.text(4)?,
        target,
        issue_id: r.opt_int(6)?,
        event_id: r.opt_text(7)?,
        title: r.text(8)?,
        culprit: r.text(9)?,
        level: r.text(10)?,
        environment: r.opt_text(11)?,
        release: r.opt_text(12)?,
        times_seen: r.int(13)?,
        state: DeliveryState::parse(&r.text(14)?)?,
        attempts: r.int(15)?,
        next_attempt_at: r.int(16)?,
        last_error: r.opt_text(17)?,
        created_at: r.int(18)?,
        sent_at: r.opt_int(19)?,
    })
}

/// What an alert says about its issue and event (snapshotted into the outbox).
#[derive(Clone, Copy, Debug)]
pub struct AlertFacts<'a> {
    /// `new_issue`, `regression`, `volume` or `test`.
    pub kind: &'a str,
    /// The issue.
    pub issue_id: Option<i64>,
    /// The event.
    pub event_id: Option<&'a str>,
    /// Title.
    pub title: &'a str,
    /// Culprit.
    pub culprit: &'a str,
    /// Level.
    pub level: &'a str,
    /// Environment.
    pub environment: Option<&'a str>,
    /// Release.
    pub release: Option<&'a str>,
    /// Issue count.
    pub times_seen: i64,
}

impl<'a> AlertFacts<'a> {
    fn of_event(kind: &'a str, issue: &UpsertedIssue, e: &'a NewEvent) -> Self {
        AlertFacts {
            kind,
            issue_id: Some(issue.id),
            event_id: Some(&e.event_id),
            title: &e.title,
            culprit: &e.culprit,
            level: &e.level,
            environment: e.environment.as_deref(),
            release: e.release.as_deref(),
            times_seen: issue.times_seen,
        }
    }
}

/// Writes one outbox row per action of `rule`, due at `now`.
pub fn enqueue(
    c: &mut dyn Conn,
    rule: &AlertRule,
    facts: &AlertFacts<'_>,
    now: i64,
) -> StoreResult<()> {
    for action in &rule.spec.actions {
        let target =
            serde_json::to_string(action).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let delivery_id = uuid::Uuid::new_v4().to_string();
        c.exec(
            "INSERT INTO alert_deliveries (delivery_id, rule_id, project_id, kind, target, \
             target_type, issue_id, event_id, title, culprit, level, environment, release, \
             times_seen, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending', \
             0, $15, $15)",
            args![
                delivery_id.as_str(),
                rule.id,
                rule.project_id,
                facts.kind,
                target.as_str(),
                action.kind(),
                facts.issue_id,
                facts.event_id,
                facts.title,
                facts.culprit,
                facts.level,
                facts.environment,
                facts.release,
                facts.times_seen,
                now
            ],
        )?;
    }
    Ok(())
}

/// Counts `n` more events of `issue_id` for a volume rule; whether they cross its
/// threshold now (and its frequency allows an alert, which is then recorded).
///
/// Events are counted in windows of the rule's `minutes`: a window starts with the first
/// event after the previous one ended, and the alert fires on the event that makes its
/// count exceed `events`.
fn volume_crossed(
    c: &mut dyn Conn,
    rule: &AlertRule,
    issue_id: i64,
    n: i64,
    now: i64,
) -> StoreResult<bool> {
    let Some(v) = rule.spec.volume else {
        return Ok(false);
    };
    let window_ms = v.minutes.saturating_mul(60_000);
    let (count, last_fired) = c.one(
        "INSERT INTO alert_volume (rule_id, issue_id, window_start, window_count) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (rule_id, issue_id) DO UPDATE SET \
           window_count = CASE WHEN alert_volume.window_start <= $5 THEN excluded.window_count \
                               ELSE alert_volume.window_count + excluded.window_count END, \
           window_start = CASE WHEN alert_volume.window_start <= $5 THEN excluded.window_start \
                               ELSE alert_volume.window_start END \
         RETURNING window_count, last_fired",
        args![rule.id, issue_id, now, n, now - window_ms],
        "volume window",
        |r| Ok((r.int(0)?, r.opt_int(1)?)),
    )?;
    let crossed = count > v.events && count - n <= v.events;
    let freq_ms = rule.spec.frequency_minutes.saturating_mul(60_000);
    let allowed = freq_ms == 0 || last_fired.is_none_or(|at| now - at >= freq_ms);
    if crossed && allowed {
        c.exec(
            "UPDATE alert_volume SET last_fired = $1 WHERE rule_id = $2 AND issue_id = $3",
            args![now, rule.id, issue_id],
        )?;
        return Ok(true);
    }
    Ok(false)
}

/// Writes the alerts a batch fires (see the module documentation), inside the batch's
/// transaction, after its issues were upserted: `issues` is what each group's upsert
/// returned and `outcomes` each event's outcome, as [`BatchPlan::outcomes`] made them.
pub fn queue(
    c: &mut dyn Conn,
    rules: &ProjectRules,
    plan: &BatchPlan<'_>,
    issues: &[UpsertedIssue],
    outcomes: &[WriteOutcome],
    now: i64,
) -> StoreResult<()> {
    let events = plan.events();
    // Each group's fresh events, in one pass, when a volume rule needs them.
    let mut members: Vec<Vec<&NewEvent>> = Vec::new();
    for (g, group) in plan.groups.iter().enumerate() {
        let project_rules = rules.of(group.key.0);
        if project_rules.is_empty() {
            continue;
        }
        let Some(issue) = issues.get(g) else {
            return Err(StoreError::Corrupt("an alert without its issue".into()));
        };
        let first = &events[group.first];
        let (new_issue, regression) = match outcomes.get(group.first) {
            Some(WriteOutcome::Stored {
                new_issue,
                regression,
                ..
            }) => (*new_issue, *regression),
            _ => (false, false),
        };
        if members.is_empty() && project_rules.iter().any(|r| r.has(Trigger::Volume)) {
            members = vec![Vec::new(); plan.groups.len()];
            for &i in &plan.fresh {
                if let Some(m) = plan.group_index(i).and_then(|gi| members.get_mut(gi)) {
                    m.push(&events[i]);
                }
            }
        }
        for rule in project_rules {
            for (fired, trigger) in [
                (new_issue, Trigger::NewIssue),
                (regression, Trigger::Regression),
            ] {
                if fired && rule.has(trigger) && rule.matches(first) {
                    let facts = AlertFacts::of_event(trigger.as_str(), issue, first);
                    enqueue(c, rule, &facts, now)?;
                }
            }
            if rule.has(Trigger::Volume) {
                let matching: Vec<&NewEvent> = members
                    .get(g)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .copied()
                    .filter(|e| rule.matches(e))
                    .collect();
                if let Some(last) = matching.last() {
                    if volume_crossed(c, rule, issue.id, matching.len() as i64, now)? {
                        let facts = AlertFacts::of_event(Trigger::Volume.as_str(), issue, last);
                        enqueue(c, rule, &facts, now)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// When the next pending delivery is due, if any.
pub fn next_due<D: Database + ?Sized>(db: &D) -> StoreResult<Option<i64>> {
    read(db, |c| {
        c.opt(
            "SELECT MIN(next_attempt_at) FROM alert_deliveries WHERE state = 'pending'",
            &[],
            |r| r.opt_int(0),
        )
        .map(Option::flatten)
    })
}

/// Claims up to `limit` deliveries due at `now` for `lease_ms` under the token `claim`.
pub fn claim<D: Database + ?Sized>(
    db: &D,
    claim: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    let lock = match db.dialect() {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    write(db, |c| {
        c.all(
            &format!(
                "UPDATE alert_deliveries SET claim = $1, next_attempt_at = $2 WHERE id IN \
                 (SELECT id FROM alert_deliveries WHERE state = 'pending' \
                  AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4{lock}) \
                 RETURNING {DELIVERY_COLS}"
            ),
            args![claim, now + lease_ms, now, limit],
            delivery,
        )
    })
}

/// How one try of a delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TryOutcome {
    /// Delivered.
    Sent,
    /// Failed; try again at this time (Unix ms).
    Retry {
        /// Why it failed.
        error: String,
        /// The next try.
        at: i64,
    },
    /// Failed for the last time.
    Failed {
        /// Why.
        error: String,
    },
}

/// Records how a try of the delivery `id` (claimed with `claim`) ended; false when the
/// claim was lost meanwhile (its lease ended and another claimer took it).
pub fn finish<D: Database + ?Sized>(
    db: &D,
    id: i64,
    claim: &str,
    outcome: &TryOutcome,
    now: i64,
) -> StoreResult<bool> {
    let n = write(db, |c| match outcome {
        TryOutcome::Sent => c.exec(
            "UPDATE alert_deliveries SET state = 'sent', sent_at = $1, attempts = attempts + 1, \
             last_error = NULL, claim = NULL WHERE id = $2 AND claim = $3",
            args![now, id, claim],
        ),
        TryOutcome::Retry { error, at } => c.exec(
            "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $1, \
             next_attempt_at = $2, claim = NULL WHERE id = $3 AND claim = $4",
            args![error.as_str(), *at, id, claim],
        ),
        TryOutcome::Failed { error } => c.exec(
            "UPDATE alert_deliveries SET state = 'failed', attempts = attempts + 1, \
             last_error = $1, claim = NULL WHERE id = $2 AND claim = $3",
            args![error.as_str(), id, claim],
        ),
    })?;
    Ok(n > 0)
}

/// The newest `limit` deliveries of a rule.
pub fn list_deliveries<D: Database + ?Sized>(
    db: &D,
    rule_id: i64,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    read(db, |c| {
        c.all(
            &format!(
                "SELECT {DELIVERY_COLS} FROM alert_deliveries WHERE rule_id = $1 \
                 ORDER BY id DESC LIMIT $2"
            ),
            args![rule_id, limit],
            delivery,
        )
    })
}

/// Writes a test alert of `rule` (one row per action) in its own transaction.
pub fn enqueue_test<D: Database + ?Sized>(
    db: &D,
    rule: &AlertRule,
    facts: &AlertFacts<'_>,
) -> StoreResult<()> {
    let now = crate::clock::now_ms();
    write(db, |c| enqueue(c, rule, facts, now))
}

/// Deletes sent and failed deliveries written before `before` (Unix ms); how many.
pub fn prune<D: Database + ?Sized>(db: &D, before: i64) -> StoreResult<u64> {
    write(db, |c| {
        c.exec(
            "DELETE FROM alert_deliveries WHERE state <> 'pending' AND created_at < $1",
            args![before],
        )
    })
}
