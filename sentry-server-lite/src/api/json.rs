//! JSON shapes of the web API, following Sentry's (a subset; ids are strings, counts of
//! issues are strings, times are RFC 3339 with milliseconds).

use sentry_client::protocol::Event;
use serde_json::{json, Map, Value};

use crate::clock::rfc3339_ms;
use crate::normalize::normalize;
use crate::store::{Issue, Project, StoredEvent, TagCount};

/// A project.
pub fn project(p: &Project) -> Value {
    json!({
        "id": p.id.to_string(),
        "slug": p.slug,
        "name": p.name,
        "isPublic": p.is_public,
        "team": { "id": p.team_id.to_string(), "slug": p.team_slug },
        "allowedOrigins": p.allowed_origins,
    })
}

/// An issue as listed.
pub fn issue(i: &Issue, p: &Project, base_url: &str) -> Value {
    let metadata: Value = serde_json::from_str(&i.metadata).unwrap_or_else(|_| json!({}));
    json!({
        "id": i.id.to_string(),
        "shortId": format!("{}-{}", p.slug.to_uppercase(), i.id),
        "title": i.title,
        "culprit": i.culprit,
        "level": i.level,
        "status": i.status.as_str(),
        "substatus": i.substatus,
        "statusDetails": {},
        "platform": i.platform,
        "type": i.issue_type,
        "metadata": metadata,
        "count": i.times_seen.to_string(),
        "firstSeen": rfc3339_ms(i.first_seen_ms),
        "lastSeen": rfc3339_ms(i.last_seen_ms),
        "isPublic": i.is_public,
        "isBookmarked": false,
        "hasSeen": false,
        "permalink": format!("{base_url}/issues/{}/", i.id),
        "groupingVersion": i.grouping_version,
        "project": { "id": p.id.to_string(), "slug": p.slug, "name": p.name },
    })
}

/// An issue with its details (tag summary, user count, resolution time).
pub fn issue_detail(i: &Issue, p: &Project, tags: &[TagCount], base_url: &str) -> Value {
    let mut v = issue(i, p, base_url);
    let mut grouped: Vec<(String, Vec<&TagCount>)> = Vec::new();
    for t in tags {
        match grouped.iter_mut().find(|(k, _)| *k == t.key) {
            Some((_, values)) => values.push(t),
            None => grouped.push((t.key.clone(), vec![t])),
        }
    }
    let tag_json: Vec<Value> = grouped
        .iter()
        .map(|(key, values)| {
            json!({
                "key": key,
                "totalValues": values.iter().map(|t| t.count).sum::<u64>(),
                "topValues": values.iter().take(10)
                    .map(|t| json!({"value": t.value, "count": t.count})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let users = grouped
        .iter()
        .find(|(k, _)| k == "user")
        .map(|(_, v)| v.len())
        .unwrap_or(0);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("tags".into(), Value::Array(tag_json));
        obj.insert("userCount".into(), json!(users));
        obj.insert(
            "resolvedAt".into(),
            i.resolved_at_ms
                .map(rfc3339_ms)
                .map(Value::String)
                .unwrap_or(Value::Null),
        );
    }
    v
}

/// The lenient event of a stored body (unknown shapes become an empty event).
fn parsed(e: &StoredEvent) -> (Event, Value) {
    let value: Value = serde_json::from_slice(&e.body).unwrap_or_else(|_| json!({}));
    let event = Event::from_slice(&e.body).unwrap_or_default();
    (event, value)
}

fn tags_of(event: &Event, e: &StoredEvent) -> Vec<Value> {
    normalize(event, None, e.received_ms)
        .tags
        .into_iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect()
}

/// An event as listed.
pub fn event_summary(e: &StoredEvent) -> Value {
    let (event, value) = parsed(e);
    json!({
        "id": e.event_id,
        "eventID": e.event_id,
        "groupID": e.issue_id.map(|i| i.to_string()),
        "projectID": e.project_id.to_string(),
        "title": e.title,
        "message": e.message,
        "culprit": e.culprit,
        "platform": e.platform,
        "level": e.level,
        "dateCreated": rfc3339_ms(e.timestamp_ms),
        "dateReceived": rfc3339_ms(e.received_ms),
        "tags": tags_of(&event, e),
        "user": value.get("user").cloned().unwrap_or(Value::Null),
    })
}

fn values_of(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Array(a)) => json!({ "values": a }),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        _ => Value::Null,
    }
}

/// An event with its entries (exception, threads, message, breadcrumbs, request),
/// contexts and the rest of what the SDK sent.
pub fn event_detail(e: &StoredEvent) -> Value {
    let (event, value) = parsed(e);
    let mut entries = Vec::new();
    for (key, ty) in [
        ("exception", "exception"),
        ("threads", "threads"),
        ("breadcrumbs", "breadcrumbs"),
    ] {
        let data = values_of(value.get(key));
        if !data.is_null() {
            entries.push(json!({ "type": ty, "data": data }));
        }
    }
    let logentry = value
        .get("logentry")
        .cloned()
        .or_else(|| match value.get("message") {
            Some(Value::String(s)) => Some(json!({ "formatted": s })),
            Some(Value::Object(o)) => Some(Value::Object(o.clone())),
            _ => None,
        });
    if let Some(mut m) = logentry {
        if let Some(obj) = m.as_object_mut() {
            if !obj.contains_key("formatted") {
                if let Some(t) = event.message_text() {
                    obj.insert("formatted".into(), Value::String(t.to_owned()));
                }
            }
        }
        entries.push(json!({ "type": "message", "data": m }));
    }
    if let Some(r) = value.get("request").filter(|r| r.is_object()) {
        entries.push(json!({ "type": "request", "data": r }));
    }
    let mut out = event_summary(e);
    if let Some(obj) = out.as_object_mut() {
        let get = |k: &str| value.get(k).cloned().unwrap_or(Value::Null);
        obj.insert("entries".into(), Value::Array(entries));
        obj.insert(
            "contexts".into(),
            value.get("contexts").cloned().unwrap_or(json!({})),
        );
        obj.insert(
            "context".into(),
            value.get("extra").cloned().unwrap_or(json!({})),
        );
        obj.insert("sdk".into(), get("sdk"));
        obj.insert("release".into(), get("release"));
        obj.insert("environment".into(), get("environment"));
        obj.insert("fingerprints".into(), get("fingerprint"));
        obj.insert("modules".into(), get("modules"));
        obj.insert("errors".into(), get("errors"));
        obj.insert(
            "type".into(),
            json!(if event.exception.is_empty() {
                "default"
            } else {
                "error"
            }),
        );
        obj.insert("size".into(), json!(e.body.len()));
        let mut raw = Map::new();
        if let Value::Object(o) = &value {
            raw.clone_from(o);
        }
        obj.insert("data".into(), Value::Object(raw));
    }
    out
}
