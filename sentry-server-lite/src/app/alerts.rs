//! Alert rules of a project (issue #19): reading a rule from its JSON form and checking
//! it, creating, editing, deleting and listing rules, listing a rule's recent deliveries,
//! and sending a test notification. Managing needs [`Action::ManageAlertRules`] (whoever
//! may edit the project's settings), seeing [`Action::ViewAlertRules`] (every member of
//! the project's team, agents included).

use serde_json::{Map, Value};

use super::audit::{self, Target};
use super::projects::{self, ProjectName};
use super::{AppError, Caller};
use crate::alerts::{outbound, AlertConfig};
use crate::policy::{Action, ProjectRef, Resource};
use crate::store::alerts::{self, AlertAction, AlertRule, RuleSpec, Trigger, VolumeThreshold};
use crate::store::outbox::{self, AlertFacts, Delivery};
use crate::store::{Project, Store, StoreError};

/// The default of `frequencyMinutes`.
pub const DEFAULT_FREQUENCY_MINUTES: i64 = 30;
/// The longest volume window and frequency: a week.
pub const MAX_MINUTES: i64 = 7 * 24 * 60;
/// Actions per rule at most.
pub const MAX_ACTIONS: usize = 10;
/// Recipients per e-mail action at most.
pub const MAX_RECIPIENTS: usize = 20;
/// Deliveries listed per rule.
pub const RECENT_DELIVERIES: i64 = 20;

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::Store(StoreError::Invalid(msg.into()))
}

fn opt_str<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, AppError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(invalid(format!("{name} must be a string or null"))),
    }
}

fn int_in(v: Option<&Value>, name: &str, min: i64, max: i64) -> Result<i64, AppError> {
    match v.and_then(Value::as_i64) {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "{name} must be a whole number from {min} to {max}"
        ))),
    }
}

fn url_field(a: &Map<String, Value>, allow_private: bool) -> Result<String, AppError> {
    let url = a
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("an action's url is required"))?;
    outbound::check_url(url, allow_private).map_err(|e| invalid(e.to_string()))?;
    Ok(url.trim().to_owned())
}

fn action(v: &Value, allow_private: bool) -> Result<AlertAction, AppError> {
    let a = v
        .as_object()
        .ok_or_else(|| invalid("each action must be an object"))?;
    match a.get("type").and_then(Value::as_str) {
        Some("webhook") => Ok(AlertAction::Webhook {
            url: url_field(a, allow_private)?,
            secret: opt_str(a, "secret")?.map(str::to_owned),
        }),
        Some("slack") => Ok(AlertAction::Slack {
            url: url_field(a, allow_private)?,
        }),
        Some("email") => {
            let to = a
                .get("to")
                .and_then(Value::as_array)
                .filter(|t| !t.is_empty() && t.len() <= MAX_RECIPIENTS)
                .ok_or_else(|| {
                    invalid(format!(
                        "an e-mail action needs \"to\": 1 to {MAX_RECIPIENTS} addresses"
                    ))
                })?;
            let to = to
                .iter()
                .map(|t| {
                    let s = t.as_str().map(str::trim).unwrap_or_default();
                    s.parse::<lettre::Address>()
                        .map(|_| s.to_owned())
                        .map_err(|_| invalid(format!("{t} is not an e-mail address")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AlertAction::Email { to })
        }
        other => Err(invalid(format!(
            "unknown action type {}: use webhook, slack or email",
            other.map_or("(none)".to_owned(), |t| format!("{t:?}"))
        ))),
    }
}

/// A rule from its JSON form (`name`, `triggers`, `environment`, `level`, `volume`,
/// `actions`, `frequencyMinutes`), checked: a name, known triggers, the volume numbers
/// when (and only when) the `volume` trigger is asked for, 1 to [`MAX_ACTIONS`] actions
/// with http(s) URLs (no private address unless `allow_private`) or e-mail addresses.
pub fn parse_rule(body: &Map<String, Value>, allow_private: bool) -> Result<RuleSpec, AppError> {
    let name = opt_str(body, "name")?.ok_or(AppError::Required("name"))?;
    if name.chars().count() > 200 {
        return Err(invalid("name: at most 200 characters"));
    }
    let raw = body
        .get("triggers")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("triggers must be a non-empty array"))?;
    let mut triggers = Vec::new();
    for t in raw {
        let trigger = t.as_str().and_then(Trigger::parse).ok_or_else(|| {
            invalid(format!(
                "unknown trigger {t}: use new_issue, regression or volume"
            ))
        })?;
        if !triggers.contains(&trigger) {
            triggers.push(trigger);
        }
    }
    let volume = match body.get("volume") {
        None | Some(Value::Null) => None,
        Some(Value::Object(v)) => Some(VolumeThreshold {
            events: int_in(v.get("events"), "volume.events", 1, 1_000_000_000)?,
            minutes: int_in(v.get("minutes"), "volume.minutes", 1, MAX_MINUTES)?,
        }),
        Some(_) => return Err(invalid("volume must be {\"events\": N, \"minutes\": M}")),
    };
    match (triggers.contains(&Trigger::Volume), volume.is_some()) {
        (true, false) => {
            return Err(invalid(
                "the volume trigger needs volume: {\"events\": N, \"minutes\": M}",
            ))
        }
        (false, true) => return Err(invalid("volume is given without the volume trigger")),
        _ => {}
    }
    let actions = body
        .get("actions")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= MAX_ACTIONS)
        .ok_or_else(|| invalid(format!("actions: 1 to {MAX_ACTIONS} actions are needed")))?
        .iter()
        .map(|a| action(a, allow_private))
        .collect::<Result<Vec<_>, _>>()?;
    let frequency_minutes = match body.get("frequencyMinutes") {
        None | Some(Value::Null) => DEFAULT_FREQUENCY_MINUTES,
        v => int_in(v, "frequencyMinutes", 0, MAX_MINUTES)?,
    };
    Ok(RuleSpec {
        name: name.to_owned(),
        triggers,
        environment: opt_str(body, "environment")?.map(str::to_owned),
        level: opt_str(body, "level")?.map(str::to_owned),
        volume,
        actions,
        frequency_minutes,
    })
}

/// A project's rules, and whether the caller may manage them (and see their secrets).
pub fn list(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
) -> Result<(Project, Vec<AlertRule>, bool), AppError> {
    let (p, pref) = projects::checked(store, caller, name, Action::ViewAlertRules)?;
    let rules = alerts::list_rules(store, p.id)?;
    Ok((p, rules, may_manage(caller, pref)))
}

/// Whether the caller may manage the project's rules.
pub fn may_manage(caller: &Caller, pref: ProjectRef) -> bool {
    caller.can(Action::ManageAlertRules, &Resource::Project(pref))
}

/// One rule, and whether the caller may manage it.
pub fn get(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    id: i64,
) -> Result<(AlertRule, bool), AppError> {
    let (p, pref) = projects::checked(store, caller, name, Action::ViewAlertRules)?;
    let rule = alerts::rule_by_id(store, p.id, id)?.ok_or(AppError::NotFound)?;
    Ok((rule, may_manage(caller, pref)))
}

/// [`parse_rule`] under the server's configuration: private networks as it allows, and
/// e-mail actions only when it has an SMTP relay.
fn checked_rule(body: &Map<String, Value>, config: &AlertConfig) -> Result<RuleSpec, AppError> {
    let spec = parse_rule(body, config.allow_private_networks)?;
    let email = spec
        .actions
        .iter()
        .any(|a| matches!(a, AlertAction::Email { .. }));
    if email && config.smtp_url.is_none() {
        return Err(invalid(
            "e-mail actions need an SMTP relay: start the server with --smtp-url and --smtp-from",
        ));
    }
    Ok(spec)
}

/// Creates a rule from its JSON form (see [`parse_rule`]; checked once the caller may).
pub fn create(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    body: &Map<String, Value>,
    config: &AlertConfig,
) -> Result<AlertRule, AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ManageAlertRules)?;
    let spec = checked_rule(body, config)?;
    let rule = alerts::create_rule(store, p.id, &spec)?;
    audit::record(
        store,
        caller,
        Action::ManageAlertRules,
        Target::project(p.id),
        format!("create alert_rule={} name={:?}", rule.id, rule.spec.name),
    )?;
    Ok(rule)
}

/// Replaces what a rule says with its JSON form (as [`create`]).
pub fn update(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    id: i64,
    body: &Map<String, Value>,
    config: &AlertConfig,
) -> Result<AlertRule, AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ManageAlertRules)?;
    let spec = checked_rule(body, config)?;
    let rule = alerts::update_rule(store, p.id, id, &spec)?.ok_or(AppError::NotFound)?;
    audit::record(
        store,
        caller,
        Action::ManageAlertRules,
        Target::project(p.id),
        format!("update alert_rule={id}"),
    )?;
    Ok(rule)
}

/// Deletes a rule with its deliveries.
pub fn delete(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    id: i64,
) -> Result<(), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ManageAlertRules)?;
    if !alerts::delete_rule(store, p.id, id)? {
        return Err(AppError::NotFound);
    }
    audit::record(
        store,
        caller,
        Action::ManageAlertRules,
        Target::project(p.id),
        format!("delete alert_rule={id}"),
    )?;
    Ok(())
}

/// A rule's newest deliveries.
pub fn deliveries(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    id: i64,
) -> Result<Vec<Delivery>, AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewAlertRules)?;
    alerts::rule_by_id(store, p.id, id)?.ok_or(AppError::NotFound)?;
    Ok(outbox::list_deliveries(store, id, RECENT_DELIVERIES)?)
}

/// Queues a test notification of a rule (one delivery per action, sent by the
/// background sender like any alert).
pub fn send_test(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    id: i64,
) -> Result<AlertRule, AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ManageAlertRules)?;
    let rule = alerts::rule_by_id(store, p.id, id)?.ok_or(AppError::NotFound)?;
    let facts = AlertFacts {
        kind: "test",
        issue_id: None,
        event_id: None,
        title: "Test notification from sentry-server-lite",
        culprit: "",
        level: "info",
        environment: None,
        release: None,
        times_seen: 0,
    };
    outbox::enqueue_test(store, &rule, &facts)?;
    audit::record(
        store,
        caller,
        Action::ManageAlertRules,
        Target::project(p.id),
        format!("test alert_rule={id}"),
    )?;
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<RuleSpec, AppError> {
        parse_rule(v.as_object().expect("object"), false)
    }

    #[test]
    fn a_full_rule_parses_and_bad_ones_are_refused() {
        let spec = parse(json!({
            "name": "r", "triggers": ["new_issue", "volume", "new_issue"],
            "environment": "production", "level": null,
            "volume": {"events": 100, "minutes": 10},
            "actions": [{"type": "webhook", "url": "https://h.example.com/x", "secret": "s"},
                        {"type": "slack", "url": "https://h.example.com/s"},
                        {"type": "email", "to": ["a@example.com"]}]
        }))
        .expect("valid");
        assert_eq!(spec.triggers, vec![Trigger::NewIssue, Trigger::Volume]);
        assert_eq!(spec.frequency_minutes, DEFAULT_FREQUENCY_MINUTES);
        assert_eq!(spec.environment.as_deref(), Some("production"));
        assert_eq!(spec.actions.len(), 3);
        let base = || {
            json!({"name": "r", "triggers": ["new_issue"],
                   "actions": [{"type": "webhook", "url": "https://h.example.com/"}]})
        };
        let bad = |patch: Value| {
            let mut v = base();
            for (k, val) in patch.as_object().expect("object") {
                v[k] = val.clone();
            }
            parse(v).expect_err(&patch.to_string())
        };
        bad(json!({"name": ""}));
        bad(json!({"triggers": []}));
        bad(json!({"triggers": ["sometimes"]}));
        bad(json!({"triggers": ["volume"]}));
        bad(json!({"triggers": ["volume"], "volume": {"events": 0, "minutes": 5}}));
        bad(json!({"volume": {"events": 5, "minutes": 5}}));
        bad(json!({"actions": []}));
        bad(json!({"actions": [{"type": "webhook", "url": "ftp://h.example.com/"}]}));
        bad(json!({"actions": [{"type": "webhook", "url": "http://127.0.0.1:9/"}]}));
        bad(json!({"actions": [{"type": "pager", "url": "https://h.example.com/"}]}));
        bad(json!({"actions": [{"type": "email", "to": ["nobody"]}]}));
        bad(json!({"frequencyMinutes": -1}));
        let private = base();
        let mut private = private.as_object().expect("object").clone();
        private["actions"] = json!([{"type": "webhook", "url": "http://127.0.0.1:9/"}]);
        assert!(parse_rule(&private, true).is_ok(), "allowed with the flag");
    }
}
