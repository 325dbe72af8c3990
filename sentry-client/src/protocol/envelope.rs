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

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::client_report::{ClientReport, DataCategory};
use super::encoding::grow_within;
use super::event::{from_slice_with_path, Event, EventError, Sdk};
use super::values::Timestamp;
use super::wire::{parse_uuid, protocol_struct, wire_via_serde};

/// Size limits applied while reading an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The whole envelope (decompressed). Default 100 MiB.
    pub max_envelope_bytes: usize,
    /// One header line. Default 8 KiB.
    pub max_header_bytes: usize,
    /// An `event`, `transaction`, `feedback`, `span` or `log` item. Default 1 MiB.
    pub max_event_bytes: usize,
    /// An attachment, profile, replay or unknown item. Default 100 MiB.
    pub max_attachment_bytes: usize,
    /// A `client_report` item. Default 4 KiB.
    pub max_client_report_bytes: usize,
    /// A session or check-in item. Default 100 KiB.
    pub max_session_bytes: usize,
    /// Items in one envelope. Default 100.
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_envelope_bytes: 100 * 1024 * 1024,
            max_header_bytes: 8 * 1024,
            max_event_bytes: 1024 * 1024,
            max_attachment_bytes: 100 * 1024 * 1024,
            max_client_report_bytes: 4 * 1024,
            max_session_bytes: 100 * 1024,
            max_items: 100,
        }
    }
}

impl Limits {
    /// The payload limit for an item type.
    pub fn item_limit(&self, ty: &ItemType) -> usize {
        use ItemType::*;
        match ty {
            Event | Transaction | Feedback | UserReport | Span | Log | OtelLog | TraceMetric => {
                self.max_event_bytes
            }
            ClientReport => self.max_client_report_bytes,
            Session | Sessions | CheckIn => self.max_session_bytes,
            _ => self.max_attachment_bytes,
        }
    }
}

/// Why an envelope could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The underlying reader failed.
    #[error("failed to read envelope: {0}")]
    Io(#[from] io::Error),
    /// The body is empty (no header line).
    #[error("empty envelope: missing header line")]
    Empty,
    /// A header line is longer than the limit.
    #[error("{what} header is longer than {limit} bytes")]
    HeaderTooLong {
        /// `envelope` or `item N`.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A header line is not a JSON object of the right shape.
    #[error("invalid {what} header: {reason}")]
    InvalidHeader {
        /// `envelope` or `item N`.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// An item header has no `type`.
    #[error("item {index} header has no type")]
    MissingItemType {
        /// 0-based item index.
        index: usize,
    },
    /// The body ended before an item's declared length.
    #[error("item {index} is truncated: expected {expected} bytes, got {got}")]
    Truncated {
        /// 0-based item index.
        index: usize,
        /// The declared length.
        expected: usize,
        /// What was there.
        got: usize,
    },
    /// After a payload of declared length came something other than a newline.
    #[error("item {index}: payload is not followed by a newline (wrong length?)")]
    MissingNewline {
        /// 0-based item index.
        index: usize,
    },
    /// An item is larger than the limit for its type.
    #[error("item {index} of type '{ty}' exceeds the size limit of {limit} bytes")]
    ItemTooLarge {
        /// 0-based item index.
        index: usize,
        /// The item type.
        ty: String,
        /// The limit.
        limit: usize,
    },
    /// The whole envelope is larger than the limit.
    #[error("envelope exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Too many items.
    #[error("envelope has more than {limit} items")]
    TooManyItems {
        /// The limit.
        limit: usize,
    },
}

impl EnvelopeError {
    /// Whether the error is about size (a server answers 413) rather than shape (400).
    pub fn is_size_error(&self) -> bool {
        matches!(
            self,
            EnvelopeError::TooLarge { .. }
                | EnvelopeError::ItemTooLarge { .. }
                | EnvelopeError::TooManyItems { .. }
                | EnvelopeError::HeaderTooLong { .. }
        )
    }
}

/// The type of an envelope item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ItemType {
    Event,
    Transaction,
    Attachment,
    Session,
    Sessions,
    ClientReport,
    UserReport,
    Feedback,
    CheckIn,
    Log,
    OtelLog,
    Span,
    TraceMetric,
    Statsd,
    MetricBuckets,
    MetricMeta,
    Profile,
    ProfileChunk,
    ReplayEvent,
    ReplayRecording,
    ReplayVideo,
    Security,
    UnrealReport,
    FormData,
    RawSecurity,
    /// A type this version does not know; skipped on read, kept for forwarding.
    Unknown(String),
    /// No type was given (an invalid item; only used while reading).
    #[default]
    Missing,
}

const ITEM_TYPES: &[(&str, ItemType)] = &[
    ("event", ItemType::Event),
    ("transaction", ItemType::Transaction),
    ("attachment", ItemType::Attachment),
    ("session", ItemType::Session),
    ("sessions", ItemType::Sessions),
    ("client_report", ItemType::ClientReport),
    ("user_report", ItemType::UserReport),
    ("feedback", ItemType::Feedback),
    ("check_in", ItemType::CheckIn),
    ("log", ItemType::Log),
    ("otel_log", ItemType::OtelLog),
    ("span", ItemType::Span),
    ("trace_metric", ItemType::TraceMetric),
    ("statsd", ItemType::Statsd),
    ("metric_buckets", ItemType::MetricBuckets),
    ("metric_meta", ItemType::MetricMeta),
    ("profile", ItemType::Profile),
    ("profile_chunk", ItemType::ProfileChunk),
    ("replay_event", ItemType::ReplayEvent),
    ("replay_recording", ItemType::ReplayRecording),
    ("replay_video", ItemType::ReplayVideo),
    ("security", ItemType::Security),
    ("unreal_report", ItemType::UnrealReport),
    ("form_data", ItemType::FormData),
    ("raw_security", ItemType::RawSecurity),
];

impl ItemType {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            ItemType::Unknown(s) => s,
            ItemType::Missing => "",
            known => ITEM_TYPES
                .iter()
                .find(|(_, t)| t == known)
                .map(|(n, _)| *n)
                .unwrap_or(""),
        }
    }

    /// Parses a wire name; unknown names are kept as [`ItemType::Unknown`].
    pub fn parse(s: &str) -> Self {
        ITEM_TYPES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| ItemType::Unknown(s.to_owned()))
    }

    /// The rate-limit data category of the item type, if it has one.
    pub fn data_category(&self) -> Option<DataCategory> {
        use ItemType::*;
        Some(match self {
            Event => DataCategory::Error,
            Transaction => DataCategory::Transaction,
            Attachment => DataCategory::Attachment,
            Session | Sessions => DataCategory::Session,
            ClientReport => DataCategory::Internal,
            UserReport | Feedback => DataCategory::Feedback,
            CheckIn => DataCategory::Monitor,
            Log | OtelLog => DataCategory::LogItem,
            Span => DataCategory::Span,
            TraceMetric => DataCategory::TraceMetric,
            Profile | ProfileChunk => DataCategory::Profile,
            ReplayEvent | ReplayRecording | ReplayVideo => DataCategory::Replay,
            _ => return None,
        })
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ItemType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ItemType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        Ok(ItemType::parse(&s))
    }
}

wire_via_serde!(ItemType);

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
        env.items
            .push(Item::json(ItemType::Event, event.to_json_vec()));
        env
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

/// Counts bytes and refuses to read past a limit.
struct Capped<R> {
    inner: R,
    remaining: usize,
    exceeded: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Probe one byte to tell "exactly at the limit" from "over the limit".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded = true;
                    Err(io::Error::other("envelope size limit exceeded"))
                }
            };
        }
        let max = buf.len().min(self.remaining);
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n;
        Ok(n)
    }
}

/// Reads an envelope item by item from any reader, within [`Limits`].
pub struct EnvelopeReader<R: Read> {
    reader: BufReader<Capped<R>>,
    limits: Limits,
    headers: EnvelopeHeaders,
    index: usize,
    done: bool,
}

impl<R: Read> EnvelopeReader<R> {
    /// Starts reading: reads and parses the envelope header line.
    pub fn new(reader: R, limits: Limits) -> Result<Self, EnvelopeError> {
        let capped = Capped {
            inner: reader,
            remaining: limits.max_envelope_bytes,
            exceeded: false,
        };
        let mut this = EnvelopeReader {
            reader: BufReader::with_capacity(16 * 1024, capped),
            limits,
            headers: EnvelopeHeaders::default(),
            index: 0,
            done: false,
        };
        let line = match this.read_line("envelope")? {
            Some(line) => line,
            None => return Err(EnvelopeError::Empty),
        };
        this.headers = parse_header(&line, "envelope")?;
        Ok(this)
    }

    /// The envelope header.
    pub fn headers(&self) -> &EnvelopeHeaders {
        &self.headers
    }

    fn map_io(&self, e: io::Error) -> EnvelopeError {
        if self.reader.get_ref().exceeded {
            EnvelopeError::TooLarge {
                limit: self.limits.max_envelope_bytes,
            }
        } else {
            EnvelopeError::Io(e)
        }
    }

    /// How many more bytes can arrive before the envelope limit is hit: what the cap
    /// still lets through plus what is already buffered. Payload buffers never grow past
    /// it, so an envelope costs at most its limit however large its declared lengths.
    fn budget(&self) -> usize {
        self.reader.get_ref().remaining + self.reader.buffer().len()
    }

    /// Reads one line (without the LF) of at most the header limit; `None` at EOF.
    fn read_line(&mut self, what: &str) -> Result<Option<Vec<u8>>, EnvelopeError> {
        let limit = self.limits.max_header_bytes;
        let mut line = Vec::new();
        let res = (&mut self.reader)
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut line);
        res.map_err(|e| self.map_io(e))?;
        if line.is_empty() {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > limit {
            return Err(EnvelopeError::HeaderTooLong {
                what: what.to_owned(),
                limit,
            });
        }
        Ok(Some(line))
    }

    /// Reads the next item; `None` after the last one.
    pub fn next_item(&mut self) -> Result<Option<Item>, EnvelopeError> {
        if self.done {
            return Ok(None);
        }
        let index = self.index;
        let what = format!("item {index}");
        // Blank lines between items are tolerated.
        let line = loop {
            match self.read_line(&what)? {
                None => {
                    self.done = true;
                    return Ok(None);
                }
                Some(l) if l.iter().all(|b| b.is_ascii_whitespace()) => continue,
                Some(l) => break l,
            }
        };
        if index >= self.limits.max_items {
            return Err(EnvelopeError::TooManyItems {
                limit: self.limits.max_items,
            });
        }
        let headers: ItemHeaders = parse_header(&line, &what)?;
        if headers.ty == ItemType::Missing {
            return Err(EnvelopeError::MissingItemType { index });
        }
        let limit = self.limits.item_limit(&headers.ty);
        let payload = match headers.length {
            Some(len) => {
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > limit {
                    return Err(EnvelopeError::ItemTooLarge {
                        index,
                        ty: headers.ty.to_string(),
                        limit,
                    });
                }
                let budget = self.budget();
                let mut payload = Vec::with_capacity(len.min(budget).min(64 * 1024));
                let res = read_bounded(&mut self.reader, len, false, budget, &mut payload);
                res.map_err(|e| self.map_io(e))?;
                if payload.len() < len {
                    return Err(EnvelopeError::Truncated {
                        index,
                        expected: len,
                        got: payload.len(),
                    });
                }
                let mut next = [0u8; 1];
                let res = self.reader.read(&mut next);
                match res.map_err(|e| self.map_io(e))? {
                    0 => self.done = true,
                    _ if next[0] == b'\n' => {}
                    _ => return Err(EnvelopeError::MissingNewline { index }),
                }
                payload
            }
            None => {
                let mut payload = Vec::new();
                let budget = self.budget();
                let res = read_bounded(&mut self.reader, limit + 1, true, budget, &mut payload);
                res.map_err(|e| self.map_io(e))?;
                if payload.last() == Some(&b'\n') {
                    payload.pop();
                } else if payload.len() > limit {
                    return Err(EnvelopeError::ItemTooLarge {
                        index,
                        ty: headers.ty.to_string(),
                        limit,
                    });
                } else {
                    self.done = true;
                }
                payload
            }
        };
        self.index += 1;
        Ok(Some(Item { headers, payload }))
    }

    /// Reads every remaining item into an [`Envelope`].
    pub fn read_all(mut self) -> Result<Envelope, EnvelopeError> {
        let mut items = Vec::new();
        while let Some(item) = self.next_item()? {
            items.push(item);
        }
        Ok(Envelope {
            headers: self.headers,
            items,
        })
    }
}

/// Appends at most `max` bytes of `reader` to `out` — stopping after the first LF when
/// `until_newline` — and never lets `out`'s capacity grow beyond `cap` (or beyond what
/// the bytes read need). `Read::read_to_end` and `read_until` double their buffer, which
/// can overshoot a limit by up to twice.
fn read_bounded(
    reader: &mut impl BufRead,
    max: usize,
    until_newline: bool,
    cap: usize,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    while out.len() < max {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(());
        }
        let avail = &buf[..buf.len().min(max - out.len())];
        let (n, at_newline) = match until_newline {
            true => match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            },
            false => (avail.len(), false),
        };
        grow_within(out, n, cap);
        out.extend_from_slice(&avail[..n]);
        reader.consume(n);
        if at_newline {
            return Ok(());
        }
    }
    Ok(())
}

fn parse_header<T: for<'a> Deserialize<'a>>(line: &[u8], what: &str) -> Result<T, EnvelopeError> {
    from_slice_with_path(line).map_err(|e| EnvelopeError::InvalidHeader {
        what: what.to_owned(),
        reason: e.to_string(),
    })
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
