//! Alert rules and the outbox (issue #19) through the store: a batch that creates or
//! reopens an issue writes one outbox row per action of a matching rule, in the batch's
//! transaction; a claim is exclusive for its lease and only its claimer records the
//! outcome; an expired lease lets another claimer take the row, under the same delivery
//! id.

use sentry_server_lite::store::alerts::{self, AlertAction, RuleSpec, Trigger};
use sentry_server_lite::store::outbox::{self, DeliveryState, TryOutcome};
use sentry_server_lite::store::{IssueStatus, Store};

use super::{event, project, stored};

fn spec(triggers: Vec<Trigger>, actions: usize) -> RuleSpec {
    RuleSpec {
        name: "r".into(),
        triggers,
        environment: None,
        level: Some("error".into()),
        volume: None,
        actions: (0..actions)
            .map(|i| AlertAction::Webhook {
                url: format!("https://hooks.example.com/{i}"),
                secret: None,
            })
            .collect(),
        frequency_minutes: 30,
    }
}

pub fn batches_queue_alerts_and_claims_are_exclusive(s: &dyn Store) {
    let p = project(s);
    let rule = alerts::create_rule(s, p, &spec(vec![Trigger::NewIssue, Trigger::Regression], 2))
        .expect("rule");
    assert_eq!(alerts::list_rules(s, p).expect("list"), vec![rule.clone()]);
    // Two events of a new issue in one batch, and one of another level (filtered out).
    let mut info = event(p, "c", "h2", 30);
    info.level = "info".into();
    let out = s.write_batch(&[event(p, "a", "h1", 10), event(p, "b", "h1", 20), info]);
    let issue = stored(&out[0]).0;
    let rows = outbox::list_deliveries(s, rule.id, 100).expect("deliveries");
    assert_eq!(
        rows.len(),
        2,
        "one per action, one alert for the issue: {rows:#?}"
    );
    assert!(rows
        .iter()
        .all(|d| d.kind == "new_issue" && d.issue_id == Some(issue)));
    assert!(rows
        .iter()
        .all(|d| d.event_id.as_deref() == Some("a") && d.times_seen == 2));
    assert_ne!(rows[0].delivery_id, rows[1].delivery_id);
    // More events: nothing; resolved and an event: a regression.
    s.write_batch(&[event(p, "d", "h1", 40)]);
    assert_eq!(
        outbox::list_deliveries(s, rule.id, 100).expect("d").len(),
        2
    );
    s.set_issue_status(issue, IssueStatus::Resolved)
        .expect("resolve");
    s.write_batch(&[event(p, "e", "h1", 50)]);
    let rows = outbox::list_deliveries(s, rule.id, 100).expect("deliveries");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].kind, "regression");

    // Claims: exclusive for the lease; the claimer alone records the outcome.
    let now = sentry_server_lite::clock::now_ms();
    let first = outbox::claim(s, "A", now, 60_000, 3).expect("claim");
    assert_eq!(first.len(), 3);
    let rest = outbox::claim(s, "B", now, 60_000, 10).expect("claim");
    assert_eq!(rest.len(), 1, "the other rows are leased");
    assert!(outbox::claim(s, "C", now, 60_000, 10)
        .expect("claim")
        .is_empty());
    let d = &first[0];
    assert!(!outbox::finish(s, d.id, "B", &TryOutcome::Sent, now).expect("finish"));
    let retry = TryOutcome::Retry {
        error: "HTTP 503".into(),
        at: now + 1000,
    };
    assert!(outbox::finish(s, d.id, "A", &retry, now).expect("finish"));
    assert!(!outbox::finish(s, d.id, "A", &TryOutcome::Sent, now).expect("the claim ended"));
    // Due again after its backoff, claimed anew under the same delivery id.
    let again = outbox::claim(s, "D", now + 1000, 60_000, 10).expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery_id, d.delivery_id);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503"));
    assert!(outbox::finish(s, d.id, "D", &TryOutcome::Sent, now).expect("finish"));
    // A claimer that died: its rows come back when the lease ends.
    let taken = outbox::claim(s, "E", now + 60_001, 60_000, 10).expect("claim");
    assert_eq!(taken.len(), 3, "the expired leases of A and B");
    assert!(
        taken.iter().all(|t| t.id != d.id),
        "a sent row is never claimed"
    );
    let states: Vec<DeliveryState> = outbox::list_deliveries(s, rule.id, 100)
        .expect("d")
        .iter()
        .map(|d| d.state)
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == DeliveryState::Sent).count(),
        1
    );
    assert_eq!(
        outbox::next_due(s).expect("due").map(|at| at > now),
        Some(true)
    );
    // Deleting the rule takes its deliveries.
    assert!(alerts::delete_rule(s, p, rule.id).expect("delete"));
    assert!(outbox::list_deliveries(s, rule.id, 100)
        .expect("d")
        .is_empty());
    assert_eq!(outbox::next_due(s).expect("due"), None);
}
