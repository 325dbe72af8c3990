//! The names raven-era clients gave the event's interfaces, and the shapes they sent.
//!
//! Before protocol version 4 an interface was keyed by its Python class path
//! (`sentry.interfaces.Exception`, or the longer `sentry.interfaces.exception.Exception`);
//! later clients kept sending those names long after the short ones existed. The lenient
//! reader ([`super::lenient`]) reads them under their modern keys, so that their events
//! keep their exception, stack, message, request and user.

use serde_json::{Map, Value};

use super::event::Event;

/// The prefix every legacy interface name starts with.
const PREFIX: &str = "sentry.interfaces.";

/// Legacy interface names and the modern key each is read as.
pub const ALIASES: &[(&str, &str)] = &[
    ("sentry.interfaces.Exception", "exception"),
    ("sentry.interfaces.exception.Exception", "exception"),
    ("sentry.interfaces.Message", "logentry"),
    ("sentry.interfaces.message.Message", "logentry"),
    ("sentry.interfaces.Stacktrace", "stacktrace"),
    ("sentry.interfaces.stacktrace.Stacktrace", "stacktrace"),
    ("sentry.interfaces.Template", "template"),
    ("sentry.interfaces.template.Template", "template"),
    ("sentry.interfaces.Http", "request"),
    ("sentry.interfaces.http.Http", "request"),
    ("sentry.interfaces.User", "user"),
    ("sentry.interfaces.user.User", "user"),
    ("sentry.interfaces.Breadcrumbs", "breadcrumbs"),
    ("sentry.interfaces.breadcrumbs.Breadcrumbs", "breadcrumbs"),
    ("sentry.interfaces.Threads", "threads"),
    ("sentry.interfaces.threads.Threads", "threads"),
    ("sentry.interfaces.Contexts", "contexts"),
    ("sentry.interfaces.contexts.Contexts", "contexts"),
    ("sentry.interfaces.DebugMeta", "debug_meta"),
    ("sentry.interfaces.debug_meta.DebugMeta", "debug_meta"),
    ("sentry.interfaces.Csp", "csp"),
    ("sentry.interfaces.security.Csp", "csp"),
    ("sentry.interfaces.Hpkp", "hpkp"),
    ("sentry.interfaces.security.Hpkp", "hpkp"),
    ("sentry.interfaces.ExpectCT", "expectct"),
    ("sentry.interfaces.security.ExpectCT", "expectct"),
    ("sentry.interfaces.ExpectStaple", "expectstaple"),
    ("sentry.interfaces.security.ExpectStaple", "expectstaple"),
];

/// The modern key of a legacy interface name.
pub fn modern_key(legacy: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(name, _)| *name == legacy)
        .map(|(_, modern)| *modern)
}

/// Whether an event's unknown keys hold a legacy interface name.
pub fn has_legacy_keys(other: &Map<String, Value>) -> bool {
    other.keys().any(|k| k.starts_with(PREFIX))
}

/// Moves each legacy interface of an event object to its modern key, unless the event
/// also sends the modern key (which then wins, and the legacy one is kept as it came).
/// Returns what was renamed, as `(legacy, modern)`.
///
/// A legacy `sentry.interfaces.Message` without `formatted` takes the event's plain
/// `message` string as its formatted text when that differs from the template (some
/// raven versions sent the formatted message there, others the template again; a
/// template is formatted with its parameters later, see [`fill_formatted`]).
pub fn rename(fields: &mut Map<String, Value>) -> Vec<(String, &'static str)> {
    let legacy: Vec<(String, &'static str)> = fields
        .keys()
        .filter(|k| k.starts_with(PREFIX))
        .filter_map(|k| modern_key(k).map(|m| (k.clone(), m)))
        .collect();
    let mut renamed = Vec::with_capacity(legacy.len());
    for (name, modern) in legacy {
        if fields.get(modern).is_some_and(|v| !v.is_null()) {
            continue;
        }
        if let Some(value) = fields.remove(&name) {
            fields.insert(modern.to_owned(), value);
            renamed.push((name, modern));
        }
    }
    if renamed.iter().any(|(_, m)| *m == "logentry") {
        let formatted = fields
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let (Some(text), Some(Value::Object(entry))) = (formatted, fields.get_mut("logentry")) {
            let template = entry.get("message").and_then(Value::as_str);
            if entry.get("formatted").is_none_or(Value::is_null) && template != Some(&text) {
                entry.insert("formatted".into(), Value::String(text));
            }
        }
    }
    renamed
}

/// Gives a log entry that has a template and parameters but no formatted text the
/// template formatted with them ([`super::template::format_template`]), as Sentry shows
/// it (raven-python and logging integrations send only the two). Returns whether it did.
pub fn fill_formatted(event: &mut Event) -> bool {
    let entry = match (&mut event.logentry, &mut event.message) {
        (Some(entry), _) => entry,
        (None, Some(super::event::Message::Entry(entry))) => entry,
        _ => return false,
    };
    if entry.formatted.as_deref().is_some_and(|f| !f.is_empty()) {
        return false;
    }
    let (Some(template), Some(params)) = (entry.message.as_deref(), entry.params.as_ref()) else {
        return false;
    };
    match super::template::format_template(template, params) {
        Some(text) => {
            entry.formatted = Some(text);
            true
        }
        None => false,
    }
}

/// Old clients sent one exception and its stack trace as two interfaces (raven-js's
/// `sentry.interfaces.Exception` next to `sentry.interfaces.Stacktrace`). When an event
/// has exactly one exception without a stack trace and a top-level stack trace, the
/// stack trace is moved into the exception, where every reader looks for it. Returns
/// whether it moved.
pub fn attach_stacktrace(event: &mut Event) -> bool {
    let [only] = event.exception.values.as_mut_slice() else {
        return false;
    };
    if only.stacktrace.is_some() || event.stacktrace.is_none() {
        return false;
    }
    only.stacktrace = event.stacktrace.take();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &str) -> super::super::lenient::LenientEvent {
        Event::read_lenient(raw.as_bytes()).expect(raw)
    }

    #[test]
    fn raven_interfaces_are_read_under_modern_keys() {
        let r = read(
            r#"{"message":"Payment 42 failed","culprit":"billing.charge",
               "sentry.interfaces.Message":{"message":"Payment %s failed","params":["42"]},
               "sentry.interfaces.Exception":{"type":"PaymentError","value":"declined","module":"billing"},
               "sentry.interfaces.Stacktrace":{"frames":[{"module":"billing","function":"charge","lineno":7}]},
               "sentry.interfaces.Http":{"url":"https://shop.example/pay","method":"POST","headers":{"Referer":"x"}},
               "sentry.interfaces.User":{"id":"7","email":"a@example.com"},
               "sentry.interfaces.Template":{"filename":"pay.html","lineno":3,"context_line":"{{ x }}"}}"#,
        );
        assert!(r.report.is_empty(), "{:?}", r.report);
        assert_eq!(r.renamed.len(), 6);
        let e = &r.event;
        let exc = &e.exception.values[0];
        assert_eq!(exc.ty.as_deref(), Some("PaymentError"));
        let frames = &exc
            .stacktrace
            .as_ref()
            .expect("moved into the exception")
            .frames;
        assert_eq!(frames[0].function.as_deref(), Some("charge"));
        assert!(e.stacktrace.is_none());
        let entry = e.logentry.as_ref().expect("logentry");
        assert_eq!(entry.message.as_deref(), Some("Payment %s failed"));
        assert_eq!(entry.formatted.as_deref(), Some("Payment 42 failed"));
        assert_eq!(e.message_text(), Some("Payment 42 failed"));
        let req = e.request.as_ref().expect("request");
        assert_eq!(req.url.as_deref(), Some("https://shop.example/pay"));
        assert_eq!(req.headers.get("Referer"), Some("x"));
        assert_eq!(e.user.as_ref().and_then(|u| u.id.as_deref()), Some("7"));
        let t = e.template.as_ref().expect("template");
        assert_eq!(
            (t.filename.as_deref(), t.lineno),
            (Some("pay.html"), Some(3))
        );
        assert_eq!(e.culprit.as_deref(), Some("billing.charge"));
        // Written back under the modern keys.
        let back: Value = serde_json::from_slice(&e.to_json_vec()).expect("json");
        assert!(back.get("sentry.interfaces.Http").is_none());
        assert_eq!(back["request"]["method"], "POST");
    }

    #[test]
    fn exception_interface_forms() {
        for raw in [
            r#"{"sentry.interfaces.Exception":{"values":[{"type":"A"},{"type":"B"}]}}"#,
            r#"{"sentry.interfaces.Exception":[{"type":"A"},{"type":"B"}]}"#,
            r#"{"sentry.interfaces.exception.Exception":[{"type":"A"},{"type":"B"}]}"#,
        ] {
            let r = read(raw);
            let types: Vec<_> = r
                .event
                .exception
                .iter()
                .filter_map(|e| e.ty.as_deref())
                .collect();
            assert_eq!(types, ["A", "B"], "{raw}");
        }
        let single = read(r#"{"sentry.interfaces.Exception":{"type":"A","value":"v"}}"#);
        assert_eq!(single.event.exception.values[0].value.as_deref(), Some("v"));
    }

    #[test]
    fn a_modern_key_wins_over_its_legacy_name() {
        let r = read(r#"{"user":{"id":"new"},"sentry.interfaces.User":{"id":"old"}}"#);
        assert!(r.renamed.is_empty());
        assert_eq!(
            r.event.user.as_ref().and_then(|u| u.id.as_deref()),
            Some("new")
        );
        assert_eq!(r.event.other["sentry.interfaces.User"]["id"], "old");
    }
}
