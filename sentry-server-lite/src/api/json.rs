//! JSON shapes of the web API, following Sentry's (a subset; ids are strings, counts of
//! issues are strings, times are RFC 3339 with milliseconds). Events are built from the
//! protocol's typed [`Event`], read once per stored event by the lenient reader; the
//! interfaces an SDK sent (exception, request, user, contexts, ...) are passed on in
//! their wire form.

use sentry_client::protocol::{Event, Message, Values};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::clock::rfc3339_ms;
use crate::ingest::facts;
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

/// The event of a stored body, read once by the one lenient reader
/// ([`Event::from_slice_lenient`]: odd fields are left out, an unreadable body is an
/// empty event).
fn read(e: &StoredEvent) -> Event {
    Event::from_slice_lenient(&e.body)
}

/// The tags of a stored event: those stored with it at ingest. Rows stored before
/// per-event tags were kept (they read back with none; every event since has at least
/// its `level`) get them derived from the body, the one place the read side does so.
pub fn event_tags(stored: &StoredEvent, event: &Event) -> Vec<(String, String)> {
    if stored.tags.is_empty() {
        facts::tags(event)
    } else {
        stored.tags.clone()
    }
}

/// A part of the event in its wire form (`null` when absent).
fn wire<T: Serialize>(part: &T) -> Value {
    serde_json::to_value(part).unwrap_or(Value::Null)
}

/// An event as listed.
pub fn event_summary(e: &StoredEvent) -> Value {
    summary(e, &read(e))
}

fn summary(e: &StoredEvent, event: &Event) -> Value {
    let tags: Vec<Value> = event_tags(e, event)
        .into_iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
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
        "tags": tags,
        "user": wire(&event.user),
    })
}

/// A list interface as an entry's data: always `{"values": [...], ...}`; `None` when
/// the event does not carry it (an empty list that was sent counts as carried).
fn list_entry<T: Serialize>(event: &Event, key: &str, list: &Values<T>) -> Option<Value>
where
    Values<T>: Serialize,
{
    let data = if list.is_empty() && list.other.is_empty() {
        event.other.get(key).cloned()?
    } else {
        wire(list)
    };
    match data {
        Value::Array(a) => Some(json!({ "values": a })),
        Value::Object(o) => Some(Value::Object(o)),
        _ => None,
    }
}

/// An event with its entries (exception, threads, message, breadcrumbs, request),
/// contexts and the rest of what the SDK sent.
pub fn event_detail(e: &StoredEvent) -> Value {
    let event = read(e);
    let mut entries = Vec::new();
    let lists = [
        (
            "exception",
            list_entry(&event, "exception", &event.exception),
        ),
        ("threads", list_entry(&event, "threads", &event.threads)),
        (
            "breadcrumbs",
            list_entry(&event, "breadcrumbs", &event.breadcrumbs),
        ),
    ];
    for (ty, data) in lists {
        if let Some(data) = data {
            entries.push(json!({ "type": ty, "data": data }));
        }
    }
    let logentry = match (&event.logentry, &event.message) {
        (Some(l), _) => Some(wire(l)),
        (None, Some(Message::Text(s))) => Some(json!({ "formatted": s })),
        (None, Some(Message::Entry(m))) => Some(wire(m)),
        (None, None) => None,
    };
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
    if let Some(r) = &event.request {
        entries.push(json!({ "type": "request", "data": wire(r) }));
    }
    let mut out = summary(e, &event);
    if let Some(obj) = out.as_object_mut() {
        obj.insert("entries".into(), Value::Array(entries));
        obj.insert("contexts".into(), Value::Object(event.contexts.clone()));
        obj.insert("context".into(), Value::Object(event.extra.clone()));
        obj.insert("sdk".into(), wire(&event.sdk));
        obj.insert("release".into(), wire(&event.release));
        obj.insert("environment".into(), wire(&event.environment));
        obj.insert("fingerprints".into(), wire(&event.fingerprint));
        obj.insert(
            "modules".into(),
            nonempty(&event.modules, &event, "modules"),
        );
        obj.insert("errors".into(), errors(&event));
        // Security reports keep their own type (`csp`, `expectct`, ...).
        let ty = match event.ty.as_deref() {
            Some(t @ ("csp" | "expectct" | "expectstaple" | "hpkp")) => t,
            _ if event.exception.is_empty() => "default",
            _ => "error",
        };
        obj.insert("type".into(), json!(ty));
        obj.insert("size".into(), json!(e.body.len()));
        // What ingest cut to its caps (`crate::ingest::trim`), or null.
        obj.insert(
            "trimmed".into(),
            event
                .other
                .get(crate::ingest::trim::TRIMMED_KEY)
                .cloned()
                .unwrap_or(Value::Null),
        );
        let raw = match wire(&event) {
            Value::Object(o) => o,
            _ => Map::new(),
        };
        obj.insert("data".into(), Value::Object(raw));
    }
    out
}

/// A map field as sent: the map, or `null` when the event did not carry it.
fn nonempty(map: &Map<String, Value>, event: &Event, key: &str) -> Value {
    if map.is_empty() {
        event.other.get(key).cloned().unwrap_or(Value::Null)
    } else {
        Value::Object(map.clone())
    }
}

fn errors(event: &Event) -> Value {
    if event.errors.is_empty() {
        event.other.get("errors").cloned().unwrap_or(Value::Null)
    } else {
        Value::Array(event.errors.clone())
    }
}
