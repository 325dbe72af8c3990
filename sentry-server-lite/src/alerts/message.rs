//! What an alert says, for each kind of action: the webhook's JSON body (and its
//! HMAC-SHA256 signature), the Slack-style `{"text": ...}`, and the e-mail's subject,
//! plain-text and HTML bodies. All are built from one [`Alert`]: the outbox row, its rule,
//! its project, and the issue as it is now (when it still exists).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::store::alerts::AlertRule;
use crate::store::outbox::Delivery;
use crate::store::{Issue, Project};

/// Everything a message is built from.
pub struct Alert<'a> {
    /// The outbox row.
    pub delivery: &'a Delivery,
    /// Its rule.
    pub rule: &'a AlertRule,
    /// The rule's project.
    pub project: &'a Project,
    /// The issue, if it still exists.
    pub issue: Option<&'a Issue>,
    /// The public base URL (no trailing slash).
    pub base_url: &'a str,
}

fn rfc3339(ms: i64) -> Value {
    Value::String(super::iso_time(ms))
}

impl Alert<'_> {
    /// The issue page, if there is an issue.
    pub fn issue_url(&self) -> Option<String> {
        self.delivery
            .issue_id
            .map(|id| format!("{}/issues/{id}/", self.base_url))
    }

    fn event_url(&self) -> Option<String> {
        let issue = self.issue_url()?;
        let event = self.delivery.event_id.as_ref()?;
        Some(format!("{issue}?event={event}"))
    }

    fn count(&self) -> i64 {
        self.issue
            .map_or(self.delivery.times_seen, |i| i.times_seen as i64)
    }

    /// What happened, in words.
    pub fn headline(&self) -> String {
        let what = match self.delivery.kind.as_str() {
            "new_issue" => "New issue",
            "regression" => "Regression",
            "volume" => "Volume threshold crossed",
            _ => "Test notification",
        };
        format!(
            "[{}/{}] {what}: {}",
            self.project.team_slug, self.project.slug, self.delivery.title
        )
    }

    /// The webhook's JSON body.
    pub fn webhook_body(&self) -> Value {
        let d = self.delivery;
        let issue = match d.issue_id {
            None => Value::Null,
            Some(id) => json!({
                "id": id.to_string(),
                "title": d.title,
                "culprit": d.culprit,
                "level": self.issue.map_or(d.level.as_str(), |i| i.level.as_str()),
                "status": self.issue.map_or("unresolved", |i| i.status.as_str()),
                "count": self.count(),
                "firstSeen": self.issue.map_or(Value::Null, |i| rfc3339(i.first_seen_ms)),
                "lastSeen": self.issue.map_or(Value::Null, |i| rfc3339(i.last_seen_ms)),
                "url": self.issue_url(),
            }),
        };
        let event = match &d.event_id {
            None => Value::Null,
            Some(id) => json!({
                "id": id,
                "environment": d.environment,
                "release": d.release,
                "url": self.event_url(),
            }),
        };
        json!({
            "action": d.kind,
            "rule": { "id": self.rule.id.to_string(), "name": self.rule.spec.name },
            "project": {
                "team": self.project.team_slug,
                "slug": self.project.slug,
                "name": self.project.name,
            },
            "issue": issue,
            "event": event,
        })
    }

    /// The lines of the plain-text forms (Slack, e-mail).
    fn lines(&self) -> Vec<String> {
        let d = self.delivery;
        let mut lines = vec![self.headline()];
        if !d.culprit.is_empty() {
            lines.push(format!("Culprit: {}", d.culprit));
        }
        let mut facts = format!("Level: {} · Events: {}", d.level, self.count());
        if let Some(env) = &d.environment {
            facts.push_str(&format!(" · Environment: {env}"));
        }
        if let Some(rel) = &d.release {
            facts.push_str(&format!(" · Release: {rel}"));
        }
        lines.push(facts);
        if let Some(url) = self.issue_url() {
            lines.push(url);
        }
        lines.push(format!("Rule: {}", self.rule.spec.name));
        lines
    }

    /// The Slack-style incoming-webhook body.
    pub fn slack_body(&self) -> Value {
        json!({ "text": self.lines().join("\n") })
    }

    /// The e-mail's subject.
    pub fn subject(&self) -> String {
        self.headline()
    }

    /// The e-mail's plain-text body.
    pub fn text_body(&self) -> String {
        let mut s = self.lines().join("\n");
        s.push('\n');
        s
    }

    /// The e-mail's HTML body.
    pub fn html_body(&self) -> String {
        let d = self.delivery;
        let link = self.issue_url().map_or(String::new(), |u| {
            let u = html_escape(&u);
            format!("<p><a href=\"{u}\">{u}</a></p>")
        });
        format!(
            "<!doctype html><html><body><h2>{}</h2><p>Culprit: <code>{}</code></p>\
             <p>Level: {} &middot; Events: {}</p>{link}<p>Rule: {}</p></body></html>",
            html_escape(&self.headline()),
            html_escape(&d.culprit),
            html_escape(&d.level),
            self.count(),
            html_escape(&self.rule.spec.name),
        )
    }
}

/// `s` with `& < > " '` escaped for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// HMAC-SHA256 of `body` with `key` (RFC 2104), as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
