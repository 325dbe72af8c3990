//! Attachments and user feedback through the SDK: the scope's attachments ride in each
//! event's envelope within the size limits (what does not fit is dropped and reported),
//! and `capture_feedback` sends a `feedback` item.

use sentry_client::protocol::{
    Attachment, AttachmentType, ClientReport, Envelope, Feedback, ItemType,
};
use sentry_client::test::{with_captured_envelopes, with_captured_envelopes_options};
use sentry_client::{ClientOptions, Level};
use serde_json::Value;

fn attachments_of(env: &Envelope) -> Vec<Attachment> {
    env.items
        .iter()
        .filter(|i| *i.ty() == ItemType::Attachment)
        .map(Attachment::from_item)
        .collect()
}

fn with_event(envelopes: &[Envelope]) -> Vec<&Envelope> {
    envelopes
        .iter()
        .filter(|e| e.item(&ItemType::Event).is_some())
        .collect()
}

fn discarded(envelopes: &[Envelope]) -> Vec<(String, String, u64)> {
    envelopes
        .iter()
        .flat_map(|e| e.items.iter())
        .filter(|i| *i.ty() == ItemType::ClientReport)
        .filter_map(|i| i.client_report().ok())
        .flat_map(|r: ClientReport| r.discarded_events)
        .map(|d| (d.reason, d.category, d.quantity))
        .collect()
}

#[test]
fn scope_attachments_go_with_each_event_until_cleared() {
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let log = Attachment {
        buffer: b"line 1\r\nline 2\n".to_vec(),
        filename: "app.log".into(),
        content_type: Some("text/plain".into()),
        ty: None,
    };
    let dump = Attachment {
        buffer: binary.clone(),
        filename: "crash.dmp".into(),
        content_type: None,
        ty: Some(AttachmentType::Minidump),
    };
    let envelopes = with_captured_envelopes(|| {
        sentry_client::configure_scope(|s| s.add_attachment(log.clone()));
        sentry_client::capture_message("one", Level::Error);
        sentry_client::with_scope(
            |s| s.add_attachment(dump.clone()),
            || sentry_client::capture_message("two", Level::Error),
        );
        sentry_client::capture_message("three", Level::Error);
        sentry_client::configure_scope(|s| {
            assert_eq!(s.attachments().count(), 1);
            s.clear_attachments();
        });
        sentry_client::capture_message("four", Level::Error);
    });
    let events = with_event(&envelopes);
    assert_eq!(events.len(), 4);
    // Every envelope goes through the wire form and back.
    let reread: Vec<Envelope> = events
        .iter()
        .map(|e| Envelope::from_slice(&e.to_vec(), &Default::default()).expect("reads"))
        .collect();
    assert_eq!(attachments_of(&reread[0]), [log.with_defaults()]);
    assert_eq!(
        attachments_of(&reread[1]),
        [log.with_defaults(), dump.with_defaults()]
    );
    assert_eq!(attachments_of(&reread[1])[1].buffer, binary);
    assert_eq!(attachments_of(&reread[2]), [log.with_defaults()]);
    assert!(attachments_of(&reread[3]).is_empty());
    assert!(discarded(&envelopes).is_empty());
}

#[test]
fn oversized_attachments_are_dropped_and_reported() {
    let options = ClientOptions::new()
        .max_attachment_size(1000)
        .max_attachments_size(1500);
    let file = |name: &str, len: usize| Attachment {
        buffer: vec![b'a'; len],
        filename: name.into(),
        ..Default::default()
    };
    let envelopes = with_captured_envelopes_options(
        || {
            sentry_client::configure_scope(|s| {
                s.add_attachment(file("small", 600));
                s.add_attachment(file("huge", 1001));
                s.add_attachment(file("fits", 800));
                s.add_attachment(file("past-total", 200));
            });
            sentry_client::capture_message("with files", Level::Error);
        },
        options,
    );
    let events = with_event(&envelopes);
    assert_eq!(
        events.len(),
        1,
        "the event is sent without what does not fit"
    );
    let names: Vec<String> = attachments_of(events[0])
        .into_iter()
        .map(|a| a.filename)
        .collect();
    assert_eq!(names, ["small", "fits"]);
    assert_eq!(
        discarded(&envelopes),
        [("buffer_overflow".to_owned(), "attachment".to_owned(), 1201)]
    );
}

#[test]
fn capture_feedback_sends_a_feedback_item() {
    let mut ids = Vec::new();
    let envelopes = with_captured_envelopes_options(
        || {
            let error = sentry_client::capture_message("export failed", Level::Error);
            let feedback = sentry_client::capture_feedback(Feedback {
                message: "It <b>broke</b>".into(),
                contact_email: Some("ana@example.com".into()),
                name: Some("Ana".into()),
                url: Some("https://shop.example/export".into()),
                associated_event_id: Some(error),
            });
            ids.push(error);
            ids.push(feedback);
        },
        ClientOptions::new().release("app@1.0").environment("prod"),
    );
    assert!(!ids[1].is_nil());
    let env = envelopes
        .iter()
        .find(|e| e.item(&ItemType::Feedback).is_some())
        .expect("a feedback envelope");
    assert_eq!(env.headers.event_uuid(), Some(ids[1]));
    let item = env.item(&ItemType::Feedback).expect("item");
    assert_eq!(
        item.headers.content_type.as_deref(),
        Some("application/json")
    );
    let v: Value = serde_json::from_slice(&item.payload).expect("json");
    assert_eq!(v["type"], "feedback");
    assert_eq!(v["release"], "app@1.0");
    assert_eq!(v["environment"], "prod");
    assert_eq!(v["sdk"]["name"], sentry_client::SDK_NAME);
    let fb = &v["contexts"]["feedback"];
    assert_eq!(fb["message"], "It <b>broke</b>");
    assert_eq!(fb["contact_email"], "ana@example.com");
    assert_eq!(fb["associated_event_id"], ids[0].simple().to_string());
    let read = Feedback::from_event(&item.event().expect("event")).expect("feedback");
    assert_eq!(read.associated_event_id, Some(ids[0]));
    // A disabled client sends nothing and says so with the nil id.
    assert!(sentry_client::capture_feedback(Feedback::default()).is_nil());
}
