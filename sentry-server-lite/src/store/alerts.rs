//! Alert rules (issue #19): their types, their statements (written once for both
//! backends) and the cache the ingest writer matches batches against.
//!
//! A rule belongs to a project: which triggers fire it (`new_issue`, `regression`,
//! `volume`), optional environment and level filters on the triggering event, the volume
//! threshold, and the actions each alert is delivered to (webhook, Slack-style incoming
//! webhook, e-mail). Triggers and actions are stored as JSON arrays.
//!
//! [`RuleCache`] holds every project's rules in memory; it reloads them (one query) when
//! a rule changed in this process, when the backend's change generation moved (on
//! PostgreSQL a trigger notifies every instance, as for keys), or after
//! [`RULE_CACHE_TTL`]. A batch whose projects have no rule costs one hash lookup per
//! event and nothing else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::sql::{args, read, write, Database, SqlRow};
use super::{NewEvent, StoreError, StoreResult};

/// What fires a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The first event of an issue.
    NewIssue,
    /// An event on a resolved issue (which reopens it).
    Regression,
    /// More than N events of one issue within M minutes.
    Volume,
}

impl Trigger {
    /// The API and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::NewIssue => "new_issue",
            Trigger::Regression => "regression",
            Trigger::Volume => "volume",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Trigger> {
        match s {
            "new_issue" => Some(Trigger::NewIssue),
            "regression" => Some(Trigger::Regression),
            "volume" => Some(Trigger::Volume),
            _ => None,
        }
    }
}

/// Where an alert goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AlertAction {
    /// A JSON POST, signed with HMAC-SHA256 when `secret` is set.
    Webhook {
        /// http(s) URL.
        url: String,
        /// The HMAC key, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    /// A Slack-compatible incoming webhook (`{"text": ...}`).
    Slack {
        /// http(s) URL.
        url: String,
    },
    /// An e-mail through the server's SMTP relay.
    Email {
        /// Recipients.
        to: Vec<String>,
    },
}

impl AlertAction {
    /// `webhook`, `slack` or `email` (the metrics' label).
    pub fn kind(&self) -> &'static str {
        match self {
            AlertAction::Webhook { .. } => "webhook",
            AlertAction::Slack { .. } => "slack",
            AlertAction::Email { .. } => "email",
        }
    }
}

/// A volume threshold: more than `events` events within `minutes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumeThreshold {
    /// N (at least 1).
    pub events: i64,
    /// M (at least 1).
    pub minutes: i64,
}

/// What a rule says (what the API creates and updates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// Display name.
    pub name: String,
    /// At least one trigger.
    pub triggers: Vec<Trigger>,
    /// Only events of this environment, when set.
    pub environment: Option<String>,
    /// Only events of this level, when set.
    pub level: Option<String>,
    /// The threshold of the `volume` trigger.
    pub volume: Option<VolumeThreshold>,
    /// At least one action.
    pub actions: Vec<AlertAction>,
    /// At most one volume alert per issue within this many minutes (0: no limit).
    pub frequency_minutes: i64,
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRule {
    /// Rule id.
    pub id: i64,
    /// Its project.
    pub project_id: i64,
    /// What it says.
    pub spec: RuleSpec,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Last changed (Unix ms).
    pub updated_at: i64,
}

impl AlertRule {
    /// Whether `trigger` fires this rule.
    pub fn has(&self, trigger: Trigger) -> bool {
        self.spec.triggers.contains(&trigger)
    }

    /// Whether the event passes the rule's environment and level filters.
    pub fn matches(&self, e: &NewEvent) -> bool {
        let env_ok = match &self.spec.environment {
            None => true,
            Some(want) => e.environment.as_deref() == Some(want.as_str()),
        };
        env_ok
            && self
                .spec
                .level
                .as_deref()
                .is_none_or(|want| e.level == want)
    }
}

/// Columns of [`rule`].
pub const RULE_COLS: &str = "id, project_id, name, triggers, environment, level, volume_events, \
     volume_minutes, actions, frequency_minutes, created_at, updated_at";

/// A rule row.
pub fn rule(r: &dyn SqlRow) -> StoreResult<AlertRule> {
    let triggers: Vec<Trigger> = serde_json::from_str(&r.text(3)?)
        .map_err(|e| StoreError::Corrupt(format!("alert rule triggers: {e}")))?;
    let actions: Vec<AlertAction> = serde_json::from_str(&r.text(8)?)
        .map_err(|e| StoreError::Corrupt(format!("alert rule actions: {e}")))?;
    let volume = match (r.opt_int(6)?, r.opt_int(7)?) {
        (Some(events), Some(minutes)) => Some(VolumeThreshold { events, minutes }),
        _ => None,
    };
    Ok(AlertRule {
        id: r.int(0)?,
        project_id: r.int(1)?,
        spec: RuleSpec {
            name: r.text(2)?,
            triggers,
            environment: r.opt_text(4)?,
            level: r.opt_text(5)?,
            volume,
            actions,
            frequency_minutes: r.int(9)?,
        },
        created_at: r.int(10)?,
        updated_at: r.int(11)?,
    })
}

/// Rule changes made by this process (any store): a cache made before one reloads.
static CHANGES: AtomicU64 = AtomicU64::new(0);

fn changed() {
    CHANGES.fetch_add(1, Ordering::SeqCst);
}

fn encoded(spec: &RuleSpec) -> StoreResult<(String, String)> {
    let json = |v: serde_json::Result<String>| v.map_err(|e| StoreError::Invalid(e.to_string()));
    Ok((
        json(serde_json::to_string(&spec.triggers))?,
        json(serde_json::to_string(&spec.actions))?,
    ))
}

/// Stores a new rule of `project_id`.
pub fn create_rule<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    spec: &RuleSpec,
) -> StoreResult<AlertRule> {
    let (triggers, actions) = encoded(spec)?;
    let now = crate::clock::now_ms();
    let rule = write(db, |c| {
        c.one(
            &format!(
                "INSERT INTO alert_rules (project_id, name, triggers, environment, level, \
                 volume_events, volume_minutes, actions, frequency_minutes, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                 RETURNING {RULE_COLS}"
            ),
            args![
                project_id,
                spec.name.as_str(),
                triggers.as_str(),
                spec.environment.as_deref(),
                spec.level.as_deref(),
                spec.volume.map(|v| v.events),
                spec.volume.map(|v| v.minutes),
                actions.as_str(),
                spec.frequency_minutes,
                now
            ],
            "alert rule",
            rule,
        )
    })?;
    changed();
    Ok(rule)
}

/// Replaces what rule `id` of `project_id` says; `None` when there is no such rule.
pub fn update_rule<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    id: i64,
    spec: &RuleSpec,
) -> StoreResult<Option<AlertRule>> {
    let (triggers, actions) = encoded(spec)?;
    let now = crate::clock::now_ms();
    let rule = write(db, |c| {
        c.opt(
            &format!(
                "UPDATE alert_rules SET name = $1, triggers = $2, environment = $3, level = $4, \
                 volume_events = $5, volume_minutes = $6, actions = $7, frequency_minutes = $8, \
                 updated_at = $9 WHERE id = $10 AND project_id = $11 RETURNING {RULE_COLS}"
            ),
            args![
                spec.name.as_str(),
                triggers.as_str(),
                spec.environment.as_deref(),
                spec.level.as_deref(),
                spec.volume.map(|v| v.events),
                spec.volume.map(|v| v.minutes),
                actions.as_str(),
                spec.frequency_minutes,
                now,
                id,
                project_id
            ],
            rule,
        )
    })?;
    changed();
    Ok(rule)
}

/// Deletes rule `id` of `project_id` with its deliveries; whether it existed.
pub fn delete_rule<D: Database + ?Sized>(db: &D, project_id: i64, id: i64) -> StoreResult<bool> {
    let n = write(db, |c| {
        // Children first: PostgreSQL cascades by itself, SQLite only with foreign keys on.
        c.exec("DELETE FROM alert_deliveries WHERE rule_id = $1", args![id])?;
        c.exec("DELETE FROM alert_volume WHERE rule_id = $1", args![id])?;
        c.exec(
            "DELETE FROM alert_rules WHERE id = $1 AND project_id = $2",
            args![id, project_id],
        )
    })?;
    changed();
    Ok(n > 0)
}

/// One rule of a project.
pub fn rule_by_id<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    id: i64,
) -> StoreResult<Option<AlertRule>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {RULE_COLS} FROM alert_rules WHERE id = $1 AND project_id = $2"),
            args![id, project_id],
            rule,
        )
    })
}

/// A project's rules, oldest first.
pub fn list_rules<D: Database + ?Sized>(db: &D, project_id: i64) -> StoreResult<Vec<AlertRule>> {
    read(db, |c| {
        c.all(
            &format!("SELECT {RULE_COLS} FROM alert_rules WHERE project_id = $1 ORDER BY id"),
            args![project_id],
            rule,
        )
    })
}

/// Every project's rules, by project.
#[derive(Debug, Default)]
pub struct ProjectRules {
    by_project: HashMap<i64, Vec<AlertRule>>,
}

impl ProjectRules {
    /// The rules of a project (empty when it has none).
    pub fn of(&self, project_id: i64) -> &[AlertRule] {
        self.by_project.get(&project_id).map_or(&[], Vec::as_slice)
    }

    /// Whether any event of the batch belongs to a project with rules.
    pub fn any_for(&self, events: &[NewEvent]) -> bool {
        !self.by_project.is_empty()
            && events
                .iter()
                .any(|e| self.by_project.contains_key(&e.project_id))
    }
}

/// How long a loaded set of rules is used at most without a change being seen (a safety
/// net: changes are seen at once through the generations).
pub const RULE_CACHE_TTL: Duration = Duration::from_secs(10);

struct Loaded {
    stamp: (u64, u64),
    at: Instant,
    rules: Arc<ProjectRules>,
}

/// Every project's rules in memory (see the module documentation).
#[derive(Default)]
pub struct RuleCache {
    loaded: RwLock<Option<Loaded>>,
}

impl RuleCache {
    /// The rules as of now; `generation` is the backend's change generation
    /// ([`crate::store::Store::key_generation`]). A failed load is logged and matches no
    /// rule (the batch is stored all the same).
    pub fn current<D: Database + ?Sized>(&self, db: &D, generation: u64) -> Arc<ProjectRules> {
        let stamp = (CHANGES.load(Ordering::SeqCst), generation);
        if let Some(l) = self.loaded.read().as_ref() {
            if l.stamp == stamp && l.at.elapsed() < RULE_CACHE_TTL {
                return l.rules.clone();
            }
        }
        let all = read(db, |c| {
            c.all(
                &format!("SELECT {RULE_COLS} FROM alert_rules ORDER BY id"),
                &[],
                rule,
            )
        });
        match all {
            Ok(all) => {
                let mut rules = ProjectRules::default();
                for r in all {
                    rules.by_project.entry(r.project_id).or_default().push(r);
                }
                let rules = Arc::new(rules);
                *self.loaded.write() = Some(Loaded {
                    stamp,
                    at: Instant::now(),
                    rules: rules.clone(),
                });
                rules
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot load alert rules; this batch fires none");
                Arc::default()
            }
        }
    }
}
