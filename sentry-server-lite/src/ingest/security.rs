//! Browser security reports: what `POST /api/{project_id}/security/` receives (CSP
//! violations, Expect-CT, Expect-Staple and HPKP failures), turned into events, and how
//! such events are titled and grouped wherever they come from.
//!
//! Browsers post reports on their own, without an SDK: a CSP `report-uri` sends
//! `{"csp-report": {...}}` (`application/csp-report`), the Reporting API
//! (`report-to`) a list of `{"type": "csp-violation", "body": {...}}`
//! (`application/reports+json`), Expect-CT `{"expect-ct-report": {...}}`,
//! Expect-Staple `{"expect-staple-report": {...}}`, and HPKP the bare report object.
//! Each becomes an event of type `csp`, `expectct`, `expectstaple` or `hpkp` carrying
//! the report under that key (as Sentry stores them), then takes the one ingest path.
//!
//! ```
//! use sentry_server_lite::ingest::security::{events_from_reports, ReportMeta};
//!
//! let body = br#"{"csp-report":{"document-uri":"https://shop.example/cart",
//!     "effective-directive":"script-src","blocked-uri":"https://evil.example/x.js"}}"#;
//! let events = events_from_reports(body, &ReportMeta::default()).unwrap();
//! let event: serde_json::Value = serde_json::from_slice(&events[0]).unwrap();
//! assert_eq!(event["type"], "csp");
//! assert_eq!(event["request"]["url"], "https://shop.example/cart");
//! ```

use sentry_client::protocol::{Event, Url, Value};
use serde_json::{json, Map};

use super::IngestError;

/// At most this many reports are read from one request (the Reporting API batches).
pub const MAX_REPORTS: usize = 100;

/// What the request adds to every report it carries.
#[derive(Clone, Debug, Default)]
pub struct ReportMeta {
    /// The browser's `User-Agent`.
    pub user_agent: Option<String>,
    /// `?sentry_environment=`.
    pub environment: Option<String>,
    /// `?sentry_release=`.
    pub release: Option<String>,
}

impl ReportMeta {
    /// Reads `sentry_environment` and `sentry_release` from a query string.
    pub fn from_query(query: Option<&str>, user_agent: Option<&str>) -> Self {
        let mut meta = ReportMeta {
            user_agent: user_agent.map(str::to_owned),
            ..Self::default()
        };
        let url = Url::parse(&format!("http://report/?{}", query.unwrap_or(""))).ok();
        for (k, v) in url.iter().flat_map(Url::query_pairs) {
            match k.as_ref() {
                "sentry_environment" if !v.is_empty() => meta.environment = Some(v.into_owned()),
                "sentry_release" if !v.is_empty() => meta.release = Some(v.into_owned()),
                _ => {}
            }
        }
        meta
    }
}

/// The event JSON of each report in a security endpoint body. A body that is not JSON,
/// or JSON that is no known report, is a 400 that says what is accepted; Reporting API
/// entries of other types (deprecations, interventions, ...) are skipped.
pub fn events_from_reports(body: &[u8], meta: &ReportMeta) -> Result<Vec<Vec<u8>>, IngestError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| IngestError::BadRequest(format!("security report is not JSON: {e}")))?;
    let mut out = Vec::new();
    match value {
        Value::Array(entries) => {
            if entries.len() > MAX_REPORTS {
                return Err(IngestError::TooLarge(format!(
                    "{} reports in one request; at most {MAX_REPORTS}",
                    entries.len()
                )));
            }
            for entry in entries {
                let kind = entry.get("type").and_then(Value::as_str);
                if kind != Some("csp-violation") {
                    continue;
                }
                if let Some(Value::Object(body)) = entry.get("body") {
                    let mut body = reporting_api_csp(body);
                    if let (Some(url), false) = (
                        entry.get("url").and_then(Value::as_str),
                        body.contains_key("document-uri"),
                    ) {
                        body.insert("document-uri".into(), Value::from(url));
                    }
                    out.push(event_json("csp", body, meta));
                }
            }
        }
        Value::Object(mut m) => {
            let (ty, report) = if let Some(Value::Object(r)) = m.remove("csp-report") {
                ("csp", r)
            } else if let Some(Value::Object(r)) = m.remove("expect-ct-report") {
                ("expectct", r)
            } else if let Some(Value::Object(r)) = m.remove("expect-staple-report") {
                ("expectstaple", r)
            } else if m.contains_key("known-pins") || m.contains_key("noted-hostname") {
                ("hpkp", m)
            } else {
                return Err(IngestError::BadRequest(
                    "unrecognized security report: expected {\"csp-report\": ...}, \
                     {\"expect-ct-report\": ...}, {\"expect-staple-report\": ...}, an HPKP \
                     report, or a Reporting API list of csp-violation reports"
                        .into(),
                ));
            };
            out.push(event_json(ty, report, meta));
        }
        _ => {
            return Err(IngestError::BadRequest(
                "a security report must be a JSON object or a list of reports".into(),
            ))
        }
    }
    Ok(out)
}

/// The Reporting API's camelCase CSP body in the `report-uri` (kebab-case) form.
fn reporting_api_csp(body: &Map<String, Value>) -> Map<String, Value> {
    const NAMES: &[(&str, &str)] = &[
        ("documentURL", "document-uri"),
        ("referrer", "referrer"),
        ("blockedURL", "blocked-uri"),
        ("effectiveDirective", "effective-directive"),
        ("originalPolicy", "original-policy"),
        ("sourceFile", "source-file"),
        ("sample", "script-sample"),
        ("disposition", "disposition"),
        ("statusCode", "status-code"),
        ("lineNumber", "line-number"),
        ("columnNumber", "column-number"),
    ];
    let mut out = Map::new();
    for (k, v) in body {
        let name = NAMES
            .iter()
            .find(|(camel, _)| camel == k)
            .map_or(k.as_str(), |(_, kebab)| kebab);
        out.insert(name.to_owned(), v.clone());
    }
    out
}

fn event_json(ty: &str, report: Map<String, Value>, meta: &ReportMeta) -> Vec<u8> {
    let text = |k: &str| report.get(k).and_then(Value::as_str).map(str::to_owned);
    let (url, referrer) = match ty {
        "csp" => (text("document-uri"), text("referrer")),
        _ => (
            text("hostname").map(|h| match report.get("port").and_then(Value::as_u64) {
                Some(p) if p != 443 => format!("https://{h}:{p}/"),
                _ => format!("https://{h}/"),
            }),
            None,
        ),
    };
    let mut headers = Vec::new();
    if let Some(ua) = &meta.user_agent {
        headers.push(json!(["User-Agent", ua]));
    }
    if let Some(r) = referrer.filter(|r| !r.is_empty()) {
        headers.push(json!(["Referer", r]));
    }
    let mut tags = Map::new();
    if ty == "csp" {
        if let Some(d) = directive(&report) {
            tags.insert("effective-directive".into(), Value::from(d));
        }
        if let Some(b) = text("blocked-uri") {
            let host = Url::parse(&b)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            if let Some(host) = host {
                tags.insert("blocked-host".into(), Value::from(host));
            }
            tags.insert("blocked-uri".into(), Value::from(b));
        }
    } else {
        if let Some(h) = text("hostname") {
            tags.insert("hostname".into(), Value::from(h));
        }
        if let Some(p) = report.get("port").filter(|p| p.is_u64()) {
            tags.insert("port".into(), Value::from(p.to_string()));
        }
        if let Some(Value::Bool(b)) = report.get("include-subdomains") {
            tags.insert("include-subdomains".into(), Value::from(b.to_string()));
        }
    }
    let mut event = json!({
        "type": ty,
        "logger": ty,
        "platform": "javascript",
        "level": "error",
        "tags": tags,
    });
    if let Value::Object(m) = &mut event {
        if let Some(url) = url {
            m.insert("request".into(), json!({ "url": url, "headers": headers }));
        }
        if let Some(env) = &meta.environment {
            m.insert("environment".into(), Value::from(env.clone()));
        }
        if let Some(rel) = &meta.release {
            m.insert("release".into(), Value::from(rel.clone()));
        }
        m.insert(ty.to_owned(), Value::Object(report));
    }
    serde_json::to_vec(&event).unwrap_or_default()
}

/// The effective directive of a CSP report (older browsers send only the violated one,
/// with its sources: `script-src 'self'`).
fn directive(report: &Map<String, Value>) -> Option<String> {
    let pick = |k: &str| report.get(k).and_then(Value::as_str).map(str::trim);
    pick("effective-directive")
        .filter(|d| !d.is_empty())
        .or_else(|| pick("violated-directive").and_then(|v| v.split_whitespace().next()))
        .map(str::to_owned)
}

/// The title, culprit and grouping parts of a security report event.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    /// The event type: `csp`, `expectct`, `expectstaple` or `hpkp`.
    pub ty: &'static str,
    /// E.g. `Blocked 'script' from 'evil.example'`.
    pub title: String,
    /// The violated directive of a CSP report (the document's origin as `'self'`), the
    /// host of the others.
    pub culprit: String,
    /// What makes two reports one issue: the kind, the directive and the blocked host
    /// (CSP), or the kind and the host.
    pub group: Vec<String>,
}

/// Describes an event of type `csp`, `expectct`, `expectstaple` or `hpkp` from the
/// report it carries; `None` for any other event.
pub fn describe(event: &Event) -> Option<Described> {
    let ty = match event.ty.as_deref()? {
        "csp" => "csp",
        "expectct" => "expectct",
        "expectstaple" => "expectstaple",
        "hpkp" => "hpkp",
        _ => return None,
    };
    let Some(Value::Object(report)) = event.other.get(ty) else {
        return None;
    };
    let text = |k: &str| {
        report
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    if ty != "csp" {
        let host = text("hostname");
        let title = match ty {
            "expectct" => format!("Expect-CT failed for '{host}'"),
            "expectstaple" => format!("Expect-Staple failed for '{host}'"),
            _ => format!("Public key pinning validation failed for '{host}'"),
        };
        return Some(Described {
            ty,
            title,
            culprit: host.clone(),
            group: vec![ty.to_owned(), host],
        });
    }
    let directive = directive(report).unwrap_or_default();
    let document = text("document-uri");
    let blocked = blocked_source(&text("blocked-uri"), &document);
    // The violated directive as sent, the document's own origin written `'self'`.
    let origin = Url::parse(&document)
        .ok()
        .map(|u| u.origin().ascii_serialization());
    let violated: Vec<String> = text("violated-directive")
        .split_whitespace()
        .map(|t| match &origin {
            Some(o) if t.trim_end_matches('/') == o => "'self'".to_owned(),
            _ => t.to_owned(),
        })
        .collect();
    let culprit = if violated.is_empty() {
        directive.clone()
    } else {
        violated.join(" ")
    };
    let kind = directive_kind(&directive);
    // Keywords already carry their quotes (`'self'`); hosts get them.
    let quoted = if blocked.starts_with('\'') {
        blocked.clone()
    } else {
        format!("'{blocked}'")
    };
    let title = match blocked.as_str() {
        "'unsafe-inline'" => format!("Blocked unsafe inline '{kind}'"),
        "'unsafe-eval'" => format!("Blocked unsafe eval() '{kind}'"),
        _ if directive == "connect-src" => format!("Blocked connection to {quoted}"),
        _ if directive == "form-action" => format!("Blocked form action to {quoted}"),
        _ => format!("Blocked '{kind}' from {quoted}"),
    };
    Some(Described {
        ty,
        title,
        culprit,
        group: vec![ty.to_owned(), directive, blocked],
    })
}

/// What a directive blocks, as a word for the title.
fn directive_kind(directive: &str) -> String {
    let base = directive
        .strip_suffix("-src-elem")
        .or_else(|| directive.strip_suffix("-src-attr"))
        .or_else(|| directive.strip_suffix("-src"))
        .unwrap_or(directive);
    match base {
        "img" => "image".to_owned(),
        "child" | "frame" => "frame".to_owned(),
        "" => "resource".to_owned(),
        other => other.to_owned(),
    }
}

/// The blocked source as a title names it: the host of a URL (`'self'` when it is the
/// document's own), the scheme of `data:`/`blob:` URIs, `'unsafe-inline'` /
/// `'unsafe-eval'` for inline code.
fn blocked_source(blocked: &str, document: &str) -> String {
    match blocked {
        "" | "inline" | "'unsafe-inline'" => return "'unsafe-inline'".to_owned(),
        "eval" | "'unsafe-eval'" => return "'unsafe-eval'".to_owned(),
        "self" | "'self'" => return "'self'".to_owned(),
        // Chrome names data:, blob: and filesystem: sources by their scheme alone.
        "data" | "blob" | "filesystem" => return format!("{blocked}:"),
        _ => {}
    }
    match Url::parse(blocked) {
        Ok(u) if u.host_str().is_some() => {
            let host = u.host_str().unwrap_or_default();
            let same = Url::parse(document)
                .ok()
                .is_some_and(|d| d.host_str() == Some(host) && d.scheme() == u.scheme());
            if same {
                "'self'".to_owned()
            } else {
                match u.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host.to_owned(),
                }
            }
        }
        Ok(u) => format!("{}:", u.scheme()),
        // A bare host, as some browsers send.
        Err(_) => blocked.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(body: &str) -> Vec<Described> {
        events_from_reports(body.as_bytes(), &ReportMeta::default())
            .expect(body)
            .iter()
            .map(|e| describe(&Event::from_slice(e).expect("event")).expect("security"))
            .collect()
    }

    #[test]
    fn csp_titles() {
        let d = described(
            r#"{"csp-report":{"document-uri":"https://shop.example/a","violated-directive":"script-src 'self'",
            "blocked-uri":"https://evil.example:8443/x.js"}}"#,
        );
        assert_eq!(d[0].title, "Blocked 'script' from 'evil.example:8443'");
        assert_eq!(d[0].culprit, "script-src 'self'");
        let d = described(
            r#"{"csp-report":{"document-uri":"https://shop.example/a","effective-directive":"style-src-elem","blocked-uri":"inline"}}"#,
        );
        assert_eq!(d[0].title, "Blocked unsafe inline 'style'");
        let d = described(
            r#"{"csp-report":{"document-uri":"https://shop.example/a","effective-directive":"img-src","blocked-uri":"data"}}"#,
        );
        assert_eq!(d[0].title, "Blocked 'image' from 'data:'");
        let d = described(
            r#"{"csp-report":{"document-uri":"https://shop.example/a","effective-directive":"connect-src","blocked-uri":"https://shop.example/api"}}"#,
        );
        assert_eq!(d[0].title, "Blocked connection to 'self'");
    }

    #[test]
    fn reporting_api_lists_and_other_reports() {
        let d = described(
            r#"[{"type":"csp-violation","url":"https://shop.example/","body":{"blockedURL":"https://cdn.example/a.js",
                "effectiveDirective":"script-src-elem","disposition":"enforce"}},
               {"type":"deprecation","body":{"id":"x"}}]"#,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].title, "Blocked 'script' from 'cdn.example'");
        let d = described(r#"{"expect-ct-report":{"hostname":"shop.example","port":443}}"#);
        assert_eq!(d[0].title, "Expect-CT failed for 'shop.example'");
        let d = described(
            r#"{"hostname":"shop.example","noted-hostname":"shop.example","known-pins":[]}"#,
        );
        assert_eq!(
            d[0].title,
            "Public key pinning validation failed for 'shop.example'"
        );
    }

    #[test]
    fn unknown_bodies_are_refused_with_the_reason() {
        for body in [&b"nope"[..], b"{\"x\":1}", b"5"] {
            let e = events_from_reports(body, &ReportMeta::default()).expect_err("refused");
            assert_eq!(e.status(), 400, "{e}");
        }
        let many = format!("[{}]", vec!["{}"; MAX_REPORTS + 1].join(","));
        let e = events_from_reports(many.as_bytes(), &ReportMeta::default()).expect_err("cap");
        assert_eq!(e.status(), 413);
    }
}
