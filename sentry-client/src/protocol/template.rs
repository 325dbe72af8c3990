//! Formatting a log entry's template with its parameters, for clients that send only
//! the two (`{"message": "order %s failed", "params": ["42"]}`): printf-style `%s`,
//! `%d`, `%r`, ... and `%(name)s`, and brace-style `{}` and `{0}`.
//!
//! ```
//! use sentry_client::protocol::template::format_template;
//! use serde_json::json;
//!
//! assert_eq!(format_template("order %s: %d%%", &json!(["A-1", 3])).as_deref(), Some("order A-1: 3%"));
//! assert_eq!(format_template("{} of {}", &json!([1, 2])).as_deref(), Some("1 of 2"));
//! assert_eq!(format_template("hi %(name)s", &json!({"name": "Ann"})).as_deref(), Some("hi Ann"));
//! ```

use serde_json::Value;

/// The longest result kept (longer output is cut).
const MAX_CHARS: usize = 8192;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// Formats `template` with `params` (a list for positional placeholders, an object for
/// named ones). `None` when the template has no placeholder to fill or `params` is
/// neither; a placeholder without a parameter is left as it is.
pub fn format_template(template: &str, params: &Value) -> Option<String> {
    let positional: &[Value] = match params {
        Value::Array(a) => a,
        Value::Object(_) => &[],
        _ => return None,
    };
    let named = params.as_object();
    let mut out = String::with_capacity(template.len() + 16);
    let mut next = 0usize;
    let mut filled = false;
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if out.len() > MAX_CHARS {
            break;
        }
        match c {
            '%' => match chars.peek().map(|&(_, c)| c) {
                Some('%') => {
                    chars.next();
                    out.push('%');
                }
                Some('(') => {
                    let rest = &template[i + 2..];
                    let close = rest.find(')');
                    let value = close.and_then(|end| named?.get(&rest[..end]));
                    match (close, value) {
                        (Some(end), Some(v)) => {
                            // Skip `(name)` and the conversion letter after it.
                            for _ in 0..rest[..end].chars().count() + 2 {
                                chars.next();
                            }
                            if chars.peek().is_some_and(|&(_, c)| c.is_ascii_alphabetic()) {
                                chars.next();
                            }
                            out.push_str(&text(v));
                            filled = true;
                        }
                        _ => out.push('%'),
                    }
                }
                Some(conv) if conv.is_ascii_alphabetic() => match positional.get(next) {
                    Some(v) => {
                        chars.next();
                        next += 1;
                        out.push_str(&text(v));
                        filled = true;
                    }
                    None => out.push('%'),
                },
                _ => out.push('%'),
            },
            '{' => {
                let rest = &template[i + 1..];
                if rest.starts_with('{') {
                    chars.next();
                    out.push('{');
                    continue;
                }
                let Some(end) = rest.find('}') else {
                    out.push('{');
                    continue;
                };
                let inner = &rest[..end];
                let value = if inner.is_empty() {
                    let v = positional.get(next);
                    next += usize::from(v.is_some());
                    v
                } else if let Ok(n) = inner.parse::<usize>() {
                    positional.get(n)
                } else {
                    named.and_then(|m| m.get(inner))
                };
                match value {
                    Some(v) => {
                        for _ in 0..inner.chars().count() + 1 {
                            chars.next();
                        }
                        out.push_str(&text(v));
                        filled = true;
                    }
                    None => out.push('{'),
                }
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            other => out.push(other),
        }
    }
    filled.then(|| out.chars().take(MAX_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders() {
        let f = |t: &str, p: Value| format_template(t, &p);
        assert_eq!(
            f("stock %s is %d", json!(["A-1", -3])).as_deref(),
            Some("stock A-1 is -3")
        );
        assert_eq!(f("%r and %s", json!(["x"])).as_deref(), Some("x and %s"));
        assert_eq!(
            f("{1} {0} {{x}}", json!(["a", "b"])).as_deref(),
            Some("b a {x}")
        );
        assert_eq!(
            f("{name} is {}", json!({"name": "n"})).as_deref(),
            Some("n is {}")
        );
        assert_eq!(
            f("%(a)s/%(b)d", json!({"a": 1, "b": 2})).as_deref(),
            Some("1/2")
        );
        assert_eq!(f("nothing to fill", json!(["x"])), None);
        assert_eq!(f("%s", json!("not params")), None);
        assert_eq!(
            f("100% sure %s", json!(["yes"])).as_deref(),
            Some("100% sure yes")
        );
    }
}
