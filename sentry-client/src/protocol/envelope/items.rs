//! Envelope item types: the known names, their size classes and data categories.

use std::fmt;

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::super::client_report::DataCategory;
use super::super::wire::wire_via_serde;

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
