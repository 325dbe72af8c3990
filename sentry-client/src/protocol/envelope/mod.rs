//! Envelopes: a JSON header line followed by items, each a JSON header line and a payload.
//!
//! Reading is streaming ([`EnvelopeReader`]) and bounded by [`Limits`] at every step: a
//! header line, an item's declared length and the whole envelope are checked *before*
//! bytes are buffered, so a hostile body costs at most the limits.
//!
//! ```
//! use sentry_client::protocol::{Envelope, Event, Limits};
//!
//! let mut event = Event::new();
//! event.message = Some("hello".into());
//! let envelope = Envelope::from_event(&event);
//! let bytes = envelope.to_vec();
//! let back = Envelope::from_slice(&bytes, &Limits::default()).unwrap();
//! assert_eq!(back.event().unwrap().unwrap().message_text(), Some("hello"));
//! ```
//!
//! The module is split by concern: [`ItemType`] and its table of names live in
//! `items`, reading ([`EnvelopeReader`], [`Limits`], [`EnvelopeError`]) in `read`;
//! this file holds the model ([`Envelope`], [`Item`] and their headers) and writing.

mod items;
mod read;

use std::io::{self, Write};

use serde_json::Value;
use uuid::Uuid;

use super::client_report::ClientReport;
use super::event::{from_slice_with_path, Event, EventError, Sdk};
use super::values::Timestamp;
use super::wire::{parse_uuid, protocol_struct};

pub use items::ItemType;
pub use read::{EnvelopeError, EnvelopeReader, Limits};

protocol_struct! {
    /// The envelope header line.
    pub struct EnvelopeHeaders {
        /// The id of the event in the envelope (dashed or 32 hex; see [`EnvelopeHeaders::event_uuid`]).
        event_id: Option<String> = "event_id",
        /// Self-authentication DSN.
        dsn: Option<String> = "dsn",
        /// The sending SDK.
        sdk: Option<Sdk> = "sdk",
        /// When the envelope was sent.
        sent_at: Option<Timestamp> = "sent_at",
        /// Dynamic sampling context.
        trace: Option<Value> = "trace",
    }
}

impl EnvelopeHeaders {
    /// The event id, normalized from either form.
    pub fn event_uuid(&self) -> Option<Uuid> {
        self.event_id.as_deref().and_then(parse_uuid)
    }
}

protocol_struct! {
    /// An item header line.
    pub struct ItemHeaders {
        /// The item type.
        ty: ItemType = "type",
        /// Payload length in bytes; absent for newline-terminated payloads.
        length: Option<u64> = "length",
        /// MIME type of the payload.
        content_type: Option<String> = "content_type",
        /// Attachment file name.
        filename: Option<String> = "filename",
        /// Attachment kind, e.g. `event.attachment`.
        attachment_type: Option<String> = "attachment_type",
        /// Number of entries in a container item.
        item_count: Option<u64> = "item_count",
        /// Platform (profile chunks).
        platform: Option<String> = "platform",
    }
}

/// One envelope item: its header and raw payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The header.
    pub headers: ItemHeaders,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl Item {
    /// An item with an explicit length.
    pub fn new(ty: ItemType, payload: Vec<u8>) -> Self {
        Item {
            headers: ItemHeaders {
                ty,
                length: Some(payload.len() as u64),
                ..Default::default()
            },
            payload,
        }
    }

    /// A JSON item (`content_type: application/json`).
    pub fn json(ty: ItemType, payload: Vec<u8>) -> Self {
        let mut item = Item::new(ty, payload);
        item.headers.content_type = Some("application/json".into());
        item
    }

    /// The item type.
    pub fn ty(&self) -> &ItemType {
        &self.headers.ty
    }

    /// Parses the payload as an event (for `event`, `transaction` and `feedback` items).
    pub fn event(&self) -> Result<Event, EventError> {
        Event::from_slice(&self.payload)
    }

    /// Parses the payload as a client report.
    pub fn client_report(&self) -> Result<ClientReport, EventError> {
        from_slice_with_path(&self.payload)
    }

    fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let mut headers = self.headers.clone();
        if headers.length.is_some() || self.payload.contains(&b'\n') {
            headers.length = Some(self.payload.len() as u64);
        }
        serde_json::to_writer(&mut *w, &headers)?;
        w.write_all(b"\n")?;
        w.write_all(&self.payload)?;
        w.write_all(b"\n")
    }
}

/// A parsed envelope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Envelope {
    /// The envelope header.
    pub headers: EnvelopeHeaders,
    /// The items, in order.
    pub items: Vec<Item>,
}

impl Envelope {
    /// An empty envelope.
    pub fn new() -> Self {
        Self::default()
    }

    /// An envelope holding one event, its id in the header.
    pub fn from_event(event: &Event) -> Self {
        let mut env = Envelope::new();
        if !event.event_id.is_nil() {
            env.headers.event_id = Some(event.event_id.simple().to_string());
        }
        // A transaction is an event of type `transaction` sent as its own item type.
        let ty = match event.ty.as_deref() {
            Some("transaction") => ItemType::Transaction,
            _ => ItemType::Event,
        };
        env.items.push(Item::json(ty, event.to_json_vec()));
        env
    }

    /// Its items, in order (the official crate's accessor; `items` is also public).
    pub fn items(&self) -> std::slice::Iter<'_, Item> {
        self.items.iter()
    }

    /// Adds an item.
    pub fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    /// The first item of the given type.
    pub fn item(&self, ty: &ItemType) -> Option<&Item> {
        self.items.iter().find(|i| i.headers.ty == *ty)
    }

    /// The event of the envelope, if it has an `event` item.
    pub fn event(&self) -> Option<Result<Event, EventError>> {
        self.item(&ItemType::Event).map(Item::event)
    }

    /// Reads a whole envelope from memory.
    pub fn from_slice(bytes: &[u8], limits: &Limits) -> Result<Self, EnvelopeError> {
        if bytes.len() > limits.max_envelope_bytes {
            return Err(EnvelopeError::TooLarge {
                limit: limits.max_envelope_bytes,
            });
        }
        EnvelopeReader::new(bytes, limits.clone())?.read_all()
    }

    /// Writes the envelope: compact JSON headers, every payload followed by a newline.
    pub fn to_writer(&self, mut w: impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut w, &self.headers)?;
        w.write_all(b"\n")?;
        for item in &self.items {
            item.write_to(&mut w)?;
        }
        Ok(())
    }

    /// Writes the envelope into a new buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            256 + self
                .items
                .iter()
                .map(|i| i.payload.len() + 64)
                .sum::<usize>(),
        );
        // Writing into a Vec cannot fail.
        let _ = self.to_writer(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &[u8] = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42\"}\n\
{\"type\":\"attachment\",\"length\":10,\"content_type\":\"text/plain\",\"filename\":\"hello.txt\"}\n\
\xef\xbb\xbfHello\r\n\n\
{\"type\":\"event\",\"length\":41,\"content_type\":\"application/json\",\"filename\":\"application.log\"}\n\
{\"message\":\"hello world\",\"level\":\"error\"}\n";

    #[test]
    fn blank_lines_are_bounded() {
        let limits = Limits::default();
        // A few blank lines (with spaces) between and after items are fine.
        let ok = b"{}\n\n  \n{\"type\":\"session\"}\n{}\n\n\r\n";
        let env = Envelope::from_slice(ok, &limits).expect("parse");
        assert_eq!(env.items.len(), 1);
        // More blank bytes than a header line may hold are refused, not looped over.
        let mut padded = b"{}\n".to_vec();
        padded.resize(3 + 1024 * 1024, b'\n');
        padded.extend_from_slice(b"{\"type\":\"session\"}\n{}\n");
        let err = Envelope::from_slice(&padded, &limits).expect_err("padding");
        assert!(
            matches!(err, EnvelopeError::TooMuchPadding { index: 0, limit } if limit == limits.max_header_bytes),
            "{err}"
        );
        assert!(err.is_size_error());
    }

    #[test]
    fn reads_spec_example() {
        let env = Envelope::from_slice(SPEC_EXAMPLE, &Limits::default()).expect("parse");
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].payload, b"\xef\xbb\xbfHello\r\n");
        assert_eq!(
            env.headers
                .event_uuid()
                .map(|u| u.simple().to_string())
                .as_deref(),
            Some("9ec79c33ec9942ab8353589fcb2e04dc")
        );
        let event = env.event().expect("has event").expect("valid event");
        assert_eq!(event.message_text(), Some("hello world"));
        assert_eq!(env.to_vec(), SPEC_EXAMPLE);
    }

    #[test]
    fn implicit_length_and_unknown_types() {
        let body = b"{}\n{\"type\":\"session\"}\n{\"started\":\"2020-02-07T14:16:00Z\"}\n{\"type\":\"future_thing\"}\n\x00\x01";
        let env = Envelope::from_slice(body, &Limits::default()).expect("parse");
        assert_eq!(env.items.len(), 2);
        assert_eq!(
            env.items[1].headers.ty,
            ItemType::Unknown("future_thing".into())
        );
        assert_eq!(env.items[1].payload, b"\x00\x01");
        // Implicit-length items are written back in the same form.
        let mut expected = body.to_vec();
        expected.push(b'\n');
        assert_eq!(env.to_vec(), expected);
        let empty_at_eof =
            Envelope::from_slice(b"{}\n{\"type\":\"session\"}", &Limits::default()).expect("ok");
        assert_eq!(empty_at_eof.items[0].payload, b"");
    }

    #[test]
    fn malformed_envelopes() {
        let l = Limits::default();
        assert!(matches!(
            Envelope::from_slice(b"", &l),
            Err(EnvelopeError::Empty)
        ));
        assert!(matches!(
            Envelope::from_slice(b"not json\n", &l),
            Err(EnvelopeError::InvalidHeader { .. })
        ));
        assert!(matches!(
            Envelope::from_slice(b"{}\n{\"type\":\"event\",\"length\":50}\n{}", &l),
            Err(EnvelopeError::Truncated {
                index: 0,
                expected: 50,
                got: 2
            })
        ));
        assert!(matches!(
            Envelope::from_slice(b"{}\n{\"type\":\"event\",\"length\":1}\n{}\n", &l),
            Err(EnvelopeError::MissingNewline { index: 0 })
        ));
        assert!(matches!(
            Envelope::from_slice(b"{}\n{\"length\":2}\n{}\n", &l),
            Err(EnvelopeError::MissingItemType { index: 0 })
        ));
        assert!(matches!(
            Envelope::from_slice(b"{}\n{\"type\":\"event\",\"length\":99999999999}\n", &l),
            Err(EnvelopeError::ItemTooLarge { .. })
        ));
        let small = Limits {
            max_envelope_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            EnvelopeReader::new(&b"{}\n{\"type\":\"session\"}\n{}"[..], small)
                .and_then(|r| r.read_all()),
            Err(EnvelopeError::TooLarge { limit: 10 })
        ));
        let mut long_header = b"{\"x\":\"".to_vec();
        long_header.extend(std::iter::repeat_n(b'a', 10_000));
        long_header.extend(b"\"}\n");
        assert!(matches!(
            Envelope::from_slice(&long_header, &l),
            Err(EnvelopeError::HeaderTooLong { .. })
        ));
    }
}
