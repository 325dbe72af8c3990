//! The payloads of `sentry-client/tests/fixtures/` — captured from old clients
//! (raven-python, sentry-sdk 0.x, raven-node), built by hand per platform family, and
//! browser security reports — posted to a real server as their clients sent them, each
//! checked against its manifest (`legacy/expected.json`, `security/expected.json`):
//! what is stored (title, exception types, frames, message, request, user, level,
//! culprit, coerced values), what was removed, and which fixtures share an issue.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{request, Response, TestServer};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sentry-client/tests/fixtures")
}

fn read(rel: &str) -> Vec<u8> {
    let path = fixtures_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifest(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An envelope without its header's `dsn` (the fixtures name another server's key).
fn without_dsn(envelope: &[u8]) -> Vec<u8> {
    let end = envelope
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(envelope.len());
    let mut header: Value = serde_json::from_slice(&envelope[..end]).expect("header");
    if let Some(h) = header.as_object_mut() {
        h.remove("dsn");
        h.remove("trace");
    }
    let mut out = serde_json::to_vec(&header).expect("json");
    out.extend_from_slice(&envelope[end..]);
    out
}

/// Posts a fixture as its client sent it, with this server's key and project.
fn post(s: &TestServer, f: &Value) -> Response {
    let auth = s.auth_header();
    let pid = s.project.id;
    match str_of(f, "endpoint") {
        Some("envelope") => {
            let body = without_dsn(&read(str_of(f, "file").expect("file")));
            s.post_envelope(&body)
        }
        Some("store") => {
            let (body, encoding) = match str_of(f, "wire_file") {
                Some(wire) => (read(wire), str_of(f, "content_encoding")),
                None => (read(str_of(f, "file").expect("file")), None),
            };
            let content_type = str_of(f, "content_type").unwrap_or("application/json");
            let mut headers = vec![
                ("X-Sentry-Auth", auth.as_str()),
                ("Content-Type", content_type),
            ];
            if let Some(enc) = encoding {
                headers.push(("Content-Encoding", enc));
            }
            request(
                s.addr,
                "POST",
                &format!("/api/{pid}/store/"),
                &headers,
                &body,
            )
        }
        other => panic!("{}: unknown endpoint {other:?}", f["name"]),
    }
}

/// The official SDKs' envelopes that the manifest's groups name.
const CURRENT_SDKS: &[&str] = &[
    "python/message",
    "python/gzipped",
    "python/error",
    "python/unhandled",
    "rust/message",
];

/// Follows a manifest path (`exception.values[1].stacktrace.frames[0].lineno`,
/// `tags.attempt`) through a stored event, whatever form its lists were kept in.
fn at<'a>(mut v: &'a Value, path: &str) -> Option<&'a Value> {
    for part in path.split('.') {
        let (key, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            v = match v {
                // A bare list stands for its `values`.
                Value::Array(_) if key == "values" => v,
                Value::Object(m) => m.get(key)?,
                // Tags and headers as `[key, value]` pairs.
                Value::Array(pairs) => pairs.iter().find_map(|p| match p.as_array() {
                    Some(kv) if kv.len() == 2 && kv[0] == key => Some(&kv[1]),
                    _ => None,
                })?,
                _ => return None,
            };
        }
        for index in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            let i: usize = index.parse().ok()?;
            v = v.get(i)?;
        }
    }
    Some(v)
}

/// Equal as values, or as the text of a number (a coerced `"42"` and `42`).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    a == b || text(a) == text(b) || {
        let num = |v: &Value| text(v).parse::<f64>().ok();
        matches!((num(a), num(b)), (Some(x), Some(y)) if x == y)
    }
}

fn removed(event: &Value) -> Vec<String> {
    let mut out: Vec<String> = event["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "invalid_data")
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

fn tag<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .and_then(|t| t["value"].as_str())
}

fn functions(frames: &Value, in_app_only: bool) -> Vec<String> {
    frames
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| !in_app_only || f["in_app"] == true)
        .map(|f| f["function"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn as_strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

/// Checks one stored event against its manifest entry; returns what did not hold.
fn check(f: &Value, e: &Value, issue: &Value) -> Vec<String> {
    let name = f["name"].as_str().unwrap_or("?");
    let mut bad = Vec::new();
    let mut expect = |what: &str, ok: bool, got: String| {
        if !ok {
            bad.push(format!("{name}: {what}: got {got}"));
        }
    };
    let data = &e["data"];
    if let Some(t) = str_of(f, "title") {
        expect(
            &format!("title {t:?}"),
            e["title"] == t,
            e["title"].to_string(),
        );
    }
    let exceptions = at(data, "exception.values").cloned().unwrap_or(Value::Null);
    if let Some(types) = f.get("exception_types") {
        let got: Vec<String> = exceptions
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| x["type"].as_str().unwrap_or("").to_owned())
            .collect();
        expect(
            "exception_types",
            got == as_strings(types),
            format!("{got:?}"),
        );
    }
    let last_frames = exceptions
        .as_array()
        .and_then(|a| a.last())
        .map(|x| x["stacktrace"]["frames"].clone())
        .unwrap_or(Value::Null);
    match f.get("in_app_frames") {
        Some(Value::Number(n)) => {
            let got = functions(&last_frames, true).len() as u64;
            expect(
                "in_app_frames count",
                Some(got) == n.as_u64(),
                got.to_string(),
            );
        }
        Some(list @ Value::Array(_)) => {
            let got = functions(&last_frames, true);
            expect("in_app_frames", got == as_strings(list), format!("{got:?}"));
        }
        _ => {}
    }
    if let Some(list) = f.get("frames") {
        let got = functions(&last_frames, false);
        expect("frames", got == as_strings(list), format!("{got:?}"));
    }
    if let Some(n) = f.get("frames_count").and_then(Value::as_u64) {
        let got = last_frames.as_array().map_or(0, Vec::len) as u64;
        expect("frames_count", got == n, got.to_string());
    }
    if let Some(list) = f.get("stacktrace_in_app_frames") {
        let got = functions(&data["stacktrace"]["frames"], true);
        expect(
            "stacktrace_in_app_frames",
            got == as_strings(list),
            format!("{got:?}"),
        );
    }
    if let Some(list) = f.get("crashed_thread_in_app_frames") {
        let threads = at(data, "threads.values").cloned().unwrap_or(Value::Null);
        let crashed = threads
            .as_array()
            .and_then(|t| t.iter().find(|t| t["crashed"] == true))
            .map(|t| t["stacktrace"]["frames"].clone())
            .unwrap_or(Value::Null);
        let got = functions(&crashed, true);
        expect(
            "crashed_thread_in_app_frames",
            got == as_strings(list),
            format!("{got:?}"),
        );
    }
    let message = e["entries"]
        .as_array()
        .and_then(|x| x.iter().find(|x| x["type"] == "message"))
        .map(|m| m["data"].clone())
        .unwrap_or(Value::Null);
    if let Some(m) = str_of(f, "message") {
        expect(
            "message",
            message["formatted"] == m,
            message["formatted"].to_string(),
        );
    }
    if let Some(m) = str_of(f, "message_template") {
        expect(
            "message_template",
            message["message"] == m,
            message["message"].to_string(),
        );
    }
    if let Some(u) = str_of(f, "request_url") {
        let got = data["request"]["url"].as_str().unwrap_or("");
        let ok = got == u || u.split('?').next() == Some(got);
        expect("request_url", ok, got.to_owned());
    }
    for (key, path) in [("user_id", "user.id"), ("user_email", "user.email")] {
        if let Some(want) = f.get(key) {
            let got = at(data, path).cloned().unwrap_or(Value::Null);
            expect(key, loosely_equal(&got, want), got.to_string());
        }
    }
    if let Some(l) = str_of(f, "level") {
        expect(
            "level",
            tag(e, "level") == Some(l),
            format!("{:?}", tag(e, "level")),
        );
    }
    if let Some(c) = str_of(f, "culprit") {
        expect("culprit", e["culprit"] == c, e["culprit"].to_string());
    }
    for key in ["coerced", "kept"] {
        if let Some(Value::Object(values)) = f.get(key) {
            for (path, want) in values {
                let got = at(data, path).cloned().unwrap_or(Value::Null);
                expect(
                    &format!("{key} {path}"),
                    loosely_equal(&got, want),
                    got.to_string(),
                );
            }
        }
    }
    if let Some(list) = f.get("removed") {
        let mut want = as_strings(list);
        want.sort();
        let got = removed(e);
        expect("removed", got == want, format!("{got:?}"));
    }
    if let Some(n) = f.get("breadcrumbs_count").and_then(Value::as_u64) {
        let got = at(data, "breadcrumbs.values")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        expect("breadcrumbs_count", got as u64 == n, got.to_string());
    }
    if let Some(n) = f.get("threads_count").and_then(Value::as_u64) {
        let got = at(data, "threads.values")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        expect("threads_count", got as u64 == n, got.to_string());
    }
    if let Some(n) = f.get("debug_images_count").and_then(Value::as_u64) {
        let got = data["debug_meta"]["images"].as_array().map_or(0, Vec::len);
        expect("debug_images_count", got as u64 == n, got.to_string());
    }
    let _ = issue;
    bad
}

#[test]
fn every_era_of_sdk_payloads_is_stored_as_its_manifest_says() {
    let s = TestServer::start();
    let m = manifest("legacy/expected.json");
    let fixtures = m["fixtures"].as_array().expect("fixtures");
    let mut groups: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = Vec::new();
    for name in CURRENT_SDKS {
        let body = without_dsn(&read(&format!("{name}.envelope")));
        let r = s.post_envelope(&body);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let id = r.json()["id"].as_str().expect("id").to_owned();
        let e = s.api(&format!(
            "/api/0/projects/team/{}/events/{id}/",
            s.project.slug
        ));
        groups.insert(
            (*name).to_owned(),
            e["groupID"].as_str().unwrap_or("").to_owned(),
        );
    }
    for f in fixtures {
        let name = f["name"].as_str().expect("name").to_owned();
        let r = post(&s, f);
        let outcome = str_of(f, "outcome").unwrap_or("stored");
        if r.status != 200 {
            let refused_ok = outcome == "stored_or_4xx" && (400..500).contains(&r.status);
            if !refused_ok {
                failures.push(format!("{name}: answered {}: {}", r.status, r.text()));
            }
            continue;
        }
        let id = r.json()["id"].as_str().expect("id").to_owned();
        let e = s.api(&format!(
            "/api/0/projects/team/{}/events/{id}/",
            s.project.slug
        ));
        let group = e["groupID"].as_str().unwrap_or("").to_owned();
        let issue = s.api(&format!("/api/0/issues/{group}/"));
        failures.extend(check(f, &e, &issue));
        groups.insert(name, group);
    }
    for f in fixtures {
        let name = f["name"].as_str().unwrap_or("?");
        let Some(mine) = groups.get(name) else {
            continue;
        };
        for (key, same) in [("group_with", true), ("not_group_with", false)] {
            for other in as_strings(&f[key]) {
                let Some(theirs) = groups.get(&other) else {
                    continue;
                };
                if (mine == theirs) != same {
                    failures.push(format!(
                        "{name}: {} {other}",
                        if same {
                            "not grouped with"
                        } else {
                            "grouped with"
                        }
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(s.event_count() as usize, groups.len());
}

#[test]
fn browser_security_reports_are_stored_as_their_manifest_says() {
    let s = TestServer::start();
    let m = manifest("security/expected.json");
    let mut issue_of: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut wanted = Vec::new();
    for f in m["fixtures"].as_array().expect("fixtures") {
        let name = f["name"].as_str().expect("name");
        let body = read(str_of(f, "file").expect("file"));
        let headers: Vec<(String, String)> = f["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| Some((h[0].as_str()?.to_owned(), h[1].as_str()?.to_owned())))
            .collect();
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let path = format!(
            "/api/{}/security/?sentry_key={}",
            s.project.id, s.key.public_key
        );
        let r = request(s.addr, "POST", &path, &headers, &body);
        if r.status != 200 {
            let ok =
                str_of(f, "outcome") == Some("stored_or_4xx") && (400..500).contains(&r.status);
            if !ok {
                failures.push(format!("{name}: answered {}: {}", r.status, r.text()));
            }
            continue;
        }
        let events = f["events"].as_array().cloned().unwrap_or_default();
        for (i, ev) in events.iter().enumerate() {
            if ev["dropped"] == true {
                continue;
            }
            let key = if events.len() > 1 {
                let index = ev.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
                format!("{name}#{index}")
            } else {
                name.to_owned()
            };
            // Checked right away: the latest event of its issue is this report's.
            failures.extend(check_report(&s, &key, ev, &mut issue_of));
            wanted.push((key, ev.clone()));
        }
    }
    for (key, ev) in &wanted {
        for other in as_strings(&ev["group_with"]) {
            if issue_of.get(key) != issue_of.get(&other) {
                failures.push(format!("{key}: not grouped with {other}"));
            }
        }
    }
    let dropped: usize = m["fixtures"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["dropped"] == true)
        .count();
    assert!(
        dropped > 0,
        "the manifest has a report that must yield no event"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        s.event_count() as usize,
        wanted.len(),
        "one event per report, none for the dropped"
    );
}

/// Checks the issue and latest event of one expected security report.
fn check_report(
    s: &TestServer,
    key: &str,
    ev: &Value,
    issue_of: &mut BTreeMap<String, String>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let title = str_of(ev, "title").unwrap_or("");
    let issues = s.issues();
    let Some(issue) = issues.iter().find(|i| i["title"] == title) else {
        return vec![format!("{key}: no issue titled {title:?}")];
    };
    let id = issue["id"].as_str().unwrap_or("").to_owned();
    issue_of.insert(key.to_owned(), id.clone());
    if let Some(t) = str_of(ev, "event_type") {
        if issue["type"] != t {
            failures.push(format!("{key}: type {}", issue["type"]));
        }
    }
    let e = s.api(&format!("/api/0/issues/{id}/events/latest/"));
    if let Some(c) = str_of(ev, "culprit") {
        if e["culprit"] != c {
            failures.push(format!("{key}: culprit {}", e["culprit"]));
        }
    }
    if let Some(u) = str_of(ev, "request_url") {
        if e["data"]["request"]["url"] != u {
            failures.push(format!(
                "{key}: request_url {}",
                e["data"]["request"]["url"]
            ));
        }
    }
    if let Some(r) = str_of(ev, "referer") {
        if at(&e["data"], "request.headers.Referer").and_then(Value::as_str) != Some(r) {
            failures.push(format!(
                "{key}: referer {}",
                e["data"]["request"]["headers"]
            ));
        }
    }
    if let Some(Value::Object(tags)) = ev.get("tags") {
        for (k, v) in tags {
            if tag(&e, k) != v.as_str() {
                failures.push(format!("{key}: tag {k} = {:?}", tag(&e, k)));
            }
        }
    }
    failures
}
