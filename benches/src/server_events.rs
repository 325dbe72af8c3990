//! The realistic events of the `sentry-server-lite` benchmarks (`server_load`,
//! `store_write`): 8–9.5 KB of JSON each, a 20-frame stack trace (12 library and 8
//! in-app frames) with context lines and vars, breadcrumbs, request, contexts and tags,
//! one distinct exception type and set of in-app frames per issue.

use serde_json::{json, Value};

/// The placeholder for the event id in [`event_template`]'s JSON.
pub const EVENT_ID_PLACEHOLDER: &str = "__EVENT_ID__";

const WORDS: &[&str] = &[
    "order",
    "invoice",
    "cart",
    "payment",
    "user",
    "session",
    "report",
    "export",
    "import",
    "search",
    "billing",
    "shipping",
    "inventory",
    "catalog",
    "review",
    "coupon",
    "refund",
    "account",
    "profile",
    "token",
];

/// A realistic event for issue `k`: a distinct exception type and in-app frames, library
/// frames shared by all issues, context lines, breadcrumbs, request, contexts and tags.
pub fn event_template(k: usize) -> String {
    let word = WORDS[k % WORDS.len()];
    let region = ["eu", "us", "ap"][k % 3];
    let module = format!("app.{word}.svc{k}");
    let mut frames = Vec::new();
    for f in 0..12 {
        frames.push(json!({
            "module": format!("framework.layer{f}"),
            "function": format!("dispatch_{}", WORDS[f % WORDS.len()]),
            "filename": format!("framework/layer{f}.py"),
            "abs_path": format!("/usr/lib/python3/site-packages/framework/layer{f}.py"),
            "lineno": 100 + f, "in_app": false,
            "context_line": "    return self.next(request, *args, **kwargs)",
            "pre_context": ["    def __call__(self, request):"],
            "post_context": [""],
        }));
    }
    for f in 0..8 {
        frames.push(json!({
            "module": module, "function": format!("{word}_step_{}", WORDS[(k + f) % WORDS.len()]),
            "filename": format!("app/{word}/svc{k}.py"),
            "abs_path": format!("/srv/app/{word}/svc{k}.py"),
            "lineno": 20 + 7 * f, "in_app": true,
            "context_line": format!("        result = self.{}(payload, retries=3)", WORDS[(k + f + 1) % WORDS.len()]),
            "pre_context": ["        payload = self.load(ident)", "        self.check(payload)"],
            "post_context": ["        self.audit(result)", "        return result"],
            "vars": if f % 2 == 0 { json!({"ident": "'a1b2c3'", "retries": "3"}) } else { json!({}) },
        }));
    }
    let crumbs: Vec<Value> = (0..(2 + k % 10))
        .map(|b| {
            json!({
                "timestamp": 1_717_243_000.0 + b as f64,
                "category": "query", "type": "default", "level": "info",
                "message": format!("SELECT id, status FROM {word} WHERE id = %s -- {b}"),
            })
        })
        .collect();
    json!({
        "event_id": EVENT_ID_PLACEHOLDER,
        "platform": "python", "level": "error", "logger": format!("app.{word}"),
        "server_name": "web-01", "release": "shop@4.2.0", "environment": "production",
        "transaction": format!("/api/{word}/{{id}}"),
        "exception": {"values": [{
            "type": format!("{}Error{}", WORDS[k % WORDS.len()].to_uppercase(), k),
            "value": format!("could not process {word} 12345: upstream returned 503"),
            "module": "app.errors",
            "mechanism": {"type": "generic", "handled": true},
            "stacktrace": {"frames": frames},
        }]},
        "breadcrumbs": {"values": crumbs},
        "request": {"method": "POST", "url": format!("https://shop.example.com/api/{word}/12345"),
                     "headers": {"User-Agent": "Mozilla/5.0", "Content-Type": "application/json"}},
        "contexts": {"os": {"name": "Linux", "version": "6.1"}, "runtime": {"name": "CPython", "version": "3.12.3"},
                     "trace": {"trace_id": "771a43a4192642f0b136d5159a501700", "span_id": "a1b2c3d4e5f60718"}},
        "tags": {"region": region, "customer_tier": "gold"},
        "user": {"id": format!("{}", k * 7), "ip_address": "10.0.0.1"},
        "sdk": {"name": "sentry.python", "version": "2.75.0"},
    })
    .to_string()
}

/// The envelope (header with the event id, one event item) for `template` with event id `id`.
pub fn envelope(template: &str, id: &str) -> Vec<u8> {
    let event = template.replace(EVENT_ID_PLACEHOLDER, id);
    format!(
        "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{event}\n",
        event.len()
    )
    .into_bytes()
}
