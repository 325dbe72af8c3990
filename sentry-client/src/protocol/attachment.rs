//! Attachments: files sent beside an event in its envelope (a log file, a config, a
//! minidump), as `attachment` items.
//!
//! [`Attachment`] and [`AttachmentType`] have the names and shapes of the official
//! `sentry::protocol::{Attachment, AttachmentType}`. An attachment item's header carries
//! `type: attachment`, `length`, `filename`, `content_type` (default
//! `application/octet-stream`) and `attachment_type` (default `event.attachment`); its
//! payload is the raw bytes.
//!
//! ```
//! use sentry_client::protocol::{Attachment, AttachmentType, ItemType};
//!
//! let attachment = Attachment {
//!     buffer: b"MDMP...".to_vec(),
//!     filename: "crash.dmp".into(),
//!     content_type: None,
//!     ty: Some(AttachmentType::Minidump),
//! };
//! let item = attachment.to_item();
//! assert_eq!(*item.ty(), ItemType::Attachment);
//! assert_eq!(item.headers.attachment_type.as_deref(), Some("event.minidump"));
//! assert_eq!(Attachment::from_item(&item), attachment.with_defaults());
//! ```

use std::fmt;
use std::io::{self, Write};

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::envelope::{Item, ItemType};

/// The content type of an attachment that names none.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// What kind of file an attachment is (`attachment_type` in its item header).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum AttachmentType {
    /// `event.attachment` (the default): a plain file.
    #[default]
    Attachment,
    /// `event.minidump`: a minidump (starts with `MDMP`).
    Minidump,
    /// `event.applecrashreport`: an Apple crash report.
    AppleCrashReport,
    /// `unreal.context`: Unreal Engine crash metadata (XML).
    UnrealContext,
    /// `unreal.logs`: an Unreal Engine crash log.
    UnrealLogs,
    /// `event.view_hierarchy`: a JSON dump of the UI's view hierarchy (mobile SDKs).
    ViewHierarchy,
    /// Any other name, kept as it came.
    Custom(String),
}

const ATTACHMENT_TYPES: &[(&str, AttachmentType)] = &[
    ("event.attachment", AttachmentType::Attachment),
    ("event.minidump", AttachmentType::Minidump),
    ("event.applecrashreport", AttachmentType::AppleCrashReport),
    ("unreal.context", AttachmentType::UnrealContext),
    ("unreal.logs", AttachmentType::UnrealLogs),
    ("event.view_hierarchy", AttachmentType::ViewHierarchy),
];

impl AttachmentType {
    /// The wire name, e.g. `event.minidump`.
    pub fn as_str(&self) -> &str {
        match self {
            AttachmentType::Custom(s) => s,
            known => ATTACHMENT_TYPES
                .iter()
                .find(|(_, t)| t == known)
                .map(|(n, _)| *n)
                .unwrap_or("event.attachment"),
        }
    }

    /// Reads a wire name; an unknown one is kept as [`AttachmentType::Custom`].
    pub fn parse(s: &str) -> Self {
        ATTACHMENT_TYPES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| AttachmentType::Custom(s.to_owned()))
    }
}

impl fmt::Display for AttachmentType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AttachmentType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AttachmentType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        Ok(AttachmentType::parse(&s))
    }
}

/// A file sent with an event.
#[derive(Clone, Default, PartialEq)]
pub struct Attachment {
    /// The file's bytes.
    pub buffer: Vec<u8>,
    /// The file name (no path).
    pub filename: String,
    /// Its MIME type; `None` is sent as `application/octet-stream`.
    pub content_type: Option<String>,
    /// Its kind; `None` is sent as `event.attachment`.
    pub ty: Option<AttachmentType>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The length, not the bytes: a debug print of a minidump helps nobody.
        f.debug_struct("Attachment")
            .field("buffer", &self.buffer.len())
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("type", &self.ty)
            .finish()
    }
}

impl Attachment {
    /// The content type as sent (the default when unset).
    pub fn content_type_or_default(&self) -> &str {
        self.content_type.as_deref().unwrap_or(DEFAULT_CONTENT_TYPE)
    }

    /// The attachment type as sent (the default when unset).
    pub fn type_or_default(&self) -> AttachmentType {
        self.ty.clone().unwrap_or_default()
    }

    /// The same attachment with the defaults written out, as it reads back from its item.
    pub fn with_defaults(&self) -> Attachment {
        Attachment {
            buffer: self.buffer.clone(),
            filename: self.filename.clone(),
            content_type: Some(self.content_type_or_default().to_owned()),
            ty: Some(self.type_or_default()),
        }
    }

    /// The envelope item: explicit `length`, `filename`, `content_type` and
    /// `attachment_type`.
    pub fn to_item(&self) -> Item {
        let mut item = Item::new(ItemType::Attachment, self.buffer.clone());
        item.headers.filename = Some(self.filename.clone());
        item.headers.content_type = Some(self.content_type_or_default().to_owned());
        item.headers.attachment_type = Some(self.type_or_default().as_str().to_owned());
        item
    }

    /// Writes the item (header line and payload, as the official crate does; an
    /// envelope writer adds the newline after the payload).
    pub fn to_writer<W: Write>(&self, writer: &mut W) -> io::Result<()> {
        let item = self.to_item();
        serde_json::to_writer(&mut *writer, &item.headers)?;
        writer.write_all(b"\n")?;
        writer.write_all(&self.buffer)
    }

    /// Reads an attachment from any item, leniently: a missing file name is empty, a
    /// missing or empty content type and attachment type take their defaults, an unknown
    /// attachment type is kept.
    pub fn from_item(item: &Item) -> Attachment {
        let h = &item.headers;
        let content_type = h
            .content_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_CONTENT_TYPE);
        let ty = h
            .attachment_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(AttachmentType::parse)
            .unwrap_or_default();
        Attachment {
            buffer: item.payload.clone(),
            filename: h.filename.clone().unwrap_or_default(),
            content_type: Some(content_type.to_owned()),
            ty: Some(ty),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Envelope, Limits};

    #[test]
    fn types_round_trip_and_unknown_is_kept() {
        for (name, ty) in ATTACHMENT_TYPES {
            assert_eq!(AttachmentType::parse(name), *ty);
            assert_eq!(ty.as_str(), *name);
            let json = serde_json::to_string(ty).expect("ser");
            assert_eq!(
                serde_json::from_str::<AttachmentType>(&json).expect("de"),
                *ty
            );
        }
        assert_eq!(
            AttachmentType::parse("my.custom"),
            AttachmentType::Custom("my.custom".into())
        );
        assert_eq!(AttachmentType::Custom("x.y".into()).as_str(), "x.y");
    }

    #[test]
    fn item_headers_and_envelope_round_trip() {
        let a = Attachment {
            buffer: b"line 1\nline \"2\"\n".to_vec(),
            filename: "app \"x\".log".into(),
            content_type: Some("text/plain".into()),
            ty: None,
        };
        let mut env = Envelope::new();
        env.push(a.to_item());
        let bytes = env.to_vec();
        let header_line = bytes.split(|b| *b == b'\n').nth(1).expect("item header");
        let header: serde_json::Value = serde_json::from_slice(header_line).expect("json");
        assert_eq!(
            header,
            serde_json::json!({"type": "attachment", "length": 16, "content_type": "text/plain",
                "filename": "app \"x\".log", "attachment_type": "event.attachment"})
        );
        let back = Envelope::from_slice(&bytes, &Limits::default()).expect("read");
        assert_eq!(Attachment::from_item(&back.items[0]), a.with_defaults());
        let mut w = Vec::new();
        a.to_writer(&mut w).expect("write");
        assert!(w.ends_with(b"line \"2\"\n"));
    }

    #[test]
    fn lenient_read_of_a_bare_item() {
        let item = Item::new(ItemType::Attachment, vec![0, 1, 2]);
        let a = Attachment::from_item(&item);
        assert_eq!(a.filename, "");
        assert_eq!(a.content_type.as_deref(), Some(DEFAULT_CONTENT_TYPE));
        assert_eq!(a.ty, Some(AttachmentType::Attachment));
        assert!(format!("{a:?}").contains("buffer: 3"));
    }
}
