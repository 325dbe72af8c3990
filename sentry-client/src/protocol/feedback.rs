//! User feedback: what the person who hit an error said about it.
//!
//! Two wire forms exist:
//!
//! - the current one, a `feedback` item: an event-like payload (`type: feedback`,
//!   `level: info`) whose `contexts.feedback` holds `message` (required), `contact_email`,
//!   `name`, `url`, `source` and `associated_event_id` (the error it is about) —
//!   [`Feedback::to_event`] writes it, [`Feedback::from_event`] reads it;
//! - the deprecated `user_report` item (and the legacy user-feedback endpoint's body):
//!   `{"event_id", "name", "email", "comments"}`, always about one event —
//!   [`UserReport`].
//!
//! Both readers are lenient (a server reads what old and new SDKs send): numbers are
//! taken as text, ids in either form (32 hex or dashed), unknown keys ignored.
//!
//! ```
//! use sentry_client::protocol::{Event, Feedback};
//!
//! let feedback = Feedback {
//!     message: "The export button does nothing".into(),
//!     contact_email: Some("ana@example.com".into()),
//!     ..Default::default()
//! };
//! let event = feedback.to_event();
//! assert_eq!(event.ty.as_deref(), Some("feedback"));
//! assert_eq!(Feedback::from_event(&event), Some(feedback));
//! ```

use serde_json::{Map, Value};
use uuid::Uuid;

use super::envelope::{Envelope, Item, ItemType};
use super::event::Event;
use super::values::{Level, Timestamp};
use super::wire::parse_uuid;

/// A user's feedback (the `contexts.feedback` of a `feedback` item).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feedback {
    /// What the user wrote (required by the protocol).
    pub message: String,
    /// How to reach them.
    pub contact_email: Option<String>,
    /// Their name.
    pub name: Option<String>,
    /// The page or screen they were on.
    pub url: Option<String>,
    /// The error event the feedback is about.
    pub associated_event_id: Option<Uuid>,
}

/// Reads a JSON value as text: a string, or a number or boolean written out.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads a JSON value as an event id (32 hex or dashed, any case).
fn event_id(v: Option<&Value>) -> Option<Uuid> {
    match v? {
        Value::String(s) => parse_uuid(s),
        _ => None,
    }
}

impl Feedback {
    /// The `feedback` event: a new id, the current time, `type: feedback`,
    /// `level: info`, and `contexts.feedback` (with `source: api`).
    pub fn to_event(&self) -> Event {
        let mut ctx = Map::new();
        ctx.insert("message".into(), Value::String(self.message.clone()));
        let optional = [
            ("contact_email", &self.contact_email),
            ("name", &self.name),
            ("url", &self.url),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                ctx.insert(key.into(), Value::String(v.clone()));
            }
        }
        ctx.insert("source".into(), Value::String("api".into()));
        if let Some(id) = self.associated_event_id {
            ctx.insert(
                "associated_event_id".into(),
                Value::String(id.simple().to_string()),
            );
        }
        let mut event = Event {
            event_id: super::span_id::random_uuid(),
            timestamp: Some(Timestamp::now()),
            level: Some(Level::Info),
            ty: Some("feedback".into()),
            ..Default::default()
        };
        event.contexts.insert("feedback".into(), Value::Object(ctx));
        event
    }

    /// Reads the feedback of a `feedback` event; `None` when it has no
    /// `contexts.feedback` object. A missing message reads as empty.
    pub fn from_event(event: &Event) -> Option<Feedback> {
        let Some(Value::Object(ctx)) = event.contexts.get("feedback") else {
            return None;
        };
        Some(Feedback {
            message: text(ctx.get("message")).unwrap_or_default(),
            contact_email: text(ctx.get("contact_email")),
            name: text(ctx.get("name")),
            url: text(ctx.get("url")),
            associated_event_id: event_id(ctx.get("associated_event_id")),
        })
    }

    /// An envelope holding `event` (made by [`Feedback::to_event`], perhaps completed
    /// with release, environment and SDK) as a `feedback` item, its id in the header.
    pub fn envelope(event: &Event) -> Envelope {
        let mut env = Envelope::new();
        env.headers.event_id = Some(event.event_id.simple().to_string());
        env.push(Item::json(ItemType::Feedback, event.to_json_vec()));
        env
    }
}

/// The deprecated form of feedback: a `user_report` item, or the body of the legacy
/// user-feedback endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserReport {
    /// The event it is about.
    pub event_id: Option<Uuid>,
    /// The user's name.
    pub name: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// What they wrote.
    pub comments: String,
}

impl UserReport {
    /// Reads a user report leniently; `None` when the bytes are not a JSON object.
    pub fn from_slice(bytes: &[u8]) -> Option<UserReport> {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
            return None;
        };
        Some(UserReport {
            event_id: event_id(map.get("event_id")),
            name: text(map.get("name")),
            email: text(map.get("email")),
            comments: text(map.get("comments")).unwrap_or_default(),
        })
    }

    /// The JSON payload (`event_id` as 32 hex).
    pub fn to_json_vec(&self) -> Vec<u8> {
        let mut map = Map::new();
        if let Some(id) = self.event_id {
            map.insert("event_id".into(), Value::String(id.simple().to_string()));
        }
        if let Some(name) = &self.name {
            map.insert("name".into(), Value::String(name.clone()));
        }
        if let Some(email) = &self.email {
            map.insert("email".into(), Value::String(email.clone()));
        }
        map.insert("comments".into(), Value::String(self.comments.clone()));
        serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
    }

    /// The `user_report` item.
    pub fn to_item(&self) -> Item {
        Item::json(ItemType::UserReport, self.to_json_vec())
    }

    /// The same feedback in the current form.
    pub fn to_feedback(&self) -> Feedback {
        Feedback {
            message: self.comments.clone(),
            contact_email: self.email.clone(),
            name: self.name.clone(),
            url: None,
            associated_event_id: self.event_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Limits;
    use serde_json::json;

    #[test]
    fn feedback_event_shape() {
        let id = Uuid::new_v4();
        let f = Feedback {
            message: "broken <b>".into(),
            contact_email: Some("a@example.com".into()),
            name: Some("Ana".into()),
            url: Some("https://shop.example/cart".into()),
            associated_event_id: Some(id),
        };
        let env = Feedback::envelope(&f.to_event());
        let back = Envelope::from_slice(&env.to_vec(), &Limits::default()).expect("read");
        let item = back.item(&ItemType::Feedback).expect("feedback item");
        let v: Value = serde_json::from_slice(&item.payload).expect("json");
        assert_eq!(v["type"], "feedback");
        assert_eq!(v["level"], "info");
        assert_eq!(
            v["contexts"]["feedback"],
            json!({"message": "broken <b>", "contact_email": "a@example.com", "name": "Ana",
                "url": "https://shop.example/cart", "source": "api",
                "associated_event_id": id.simple().to_string()})
        );
        assert_eq!(
            back.headers.event_uuid().map(|u| u.simple().to_string()),
            Some(v["event_id"].as_str().expect("id").to_owned())
        );
        assert_eq!(Feedback::from_event(&item.event().expect("event")), Some(f));
    }

    #[test]
    fn lenient_reads() {
        let event = Event::from_slice(
            br#"{"contexts":{"feedback":{"message":42,"associated_event_id":"9EC79C33-EC99-42AB-8353-589FCB2E04DC","name":null}}}"#,
        )
        .expect("event");
        let f = Feedback::from_event(&event).expect("feedback");
        assert_eq!(f.message, "42");
        assert_eq!(f.name, None);
        assert_eq!(
            f.associated_event_id
                .map(|u| u.simple().to_string())
                .as_deref(),
            Some("9ec79c33ec9942ab8353589fcb2e04dc")
        );
        assert_eq!(Feedback::from_event(&Event::default()), None);

        let r = UserReport::from_slice(
            br#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","name":"Bo","email":"b@example.com","comments":"it broke","x":1}"#,
        )
        .expect("report");
        assert_eq!(r.comments, "it broke");
        assert_eq!(
            r.to_feedback().contact_email.as_deref(),
            Some("b@example.com")
        );
        assert_eq!(UserReport::from_slice(&r.to_json_vec()), Some(r.clone()));
        assert_eq!(UserReport::from_slice(b"[1]"), None);
        assert_eq!(
            UserReport::from_slice(b"{\"event_id\":7}").map(|r| r.event_id),
            Some(None)
        );
    }
}
