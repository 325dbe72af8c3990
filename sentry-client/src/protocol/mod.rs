//! The Sentry wire protocol: DSNs, authentication, the event model, envelopes, client
//! reports, structured logs, trace metrics, the rate-limit header and body encodings — the one definition that our SDK
//! and our server share.
//!
//! [`Map`] and [`Value`] are `serde_json`'s (the official crate's `protocol::Map` is a
//! `BTreeMap`; both have `new`, `insert`, `get` and `iter`, and ours is what the event's
//! `extra`, `contexts` and `data` fields hold).
//!
//! This module imports nothing else of the crate and is all that remains with
//! `default-features = false`, so a server can depend on it without the transports
//! (the server adds the features `server-decoders`, for `br`/`zstd`/raven bodies, and
//! `url`, for `Url`).
//!
//! Reading is lenient in the ways real SDKs need (timestamps as strings or numbers, lists
//! bare or wrapped in `values`, numbers as strings, `null` for absent) and keeps every
//! unknown key, so that reading and writing an event loses nothing:
//!
//! ```
//! use sentry_client::protocol::Event;
//!
//! let raw = br#"{"message":"boom","timestamp":"2024-06-01T12:00:00.5Z","exception":[{"type":"E"}],"x":1}"#;
//! let event = Event::from_slice(raw).unwrap();
//! assert_eq!(event.exception.values[0].ty.as_deref(), Some("E"));
//! let back: serde_json::Value = serde_json::from_slice(&event.to_json_vec()).unwrap();
//! assert_eq!(back, serde_json::from_slice::<serde_json::Value>(raw).unwrap());
//! ```

pub(crate) mod wire;

pub mod attachment;
pub mod auth;
pub mod client_report;
pub mod context;
pub mod dsc;
pub mod dsn;
pub mod encoding;
pub mod envelope;
pub mod event;
pub mod feedback;
pub mod legacy;
pub mod lenient;
pub mod log;
pub mod metric;
pub mod monitor;
pub mod rate_limits;
mod rfc3339;
pub mod session;
pub mod span;
pub mod span_id;
pub mod template;
pub mod values;

pub use attachment::{Attachment, AttachmentType};
pub use auth::{Auth, AuthError, PROTOCOL_VERSION};
pub use client_report::{ClientReport, DataCategory, DiscardReason, DiscardedEvent};
pub use context::{
    AppContext, BrowserContext, Context, DeviceContext, GpuContext, Orientation, OsContext,
    OtelContext, ResponseContext, RuntimeContext, TraceContext,
};
pub use dsc::DynamicSamplingContext;
pub use dsn::{Dsn, DsnError, OrganizationId, Scheme};
pub use encoding::{ContentEncoding, DecodeError};
pub use envelope::{
    Envelope, EnvelopeError, EnvelopeHeaders, EnvelopeReader, Item, ItemHeaders, ItemType, Limits,
};
pub use event::{
    Breadcrumb, DebugImage, DebugMeta, Event, EventError, Exception, Frame, LogEntry, Mechanism,
    Message, Request, Sdk, SdkPackage, Stacktrace, Template, Thread, User,
};
pub use feedback::{Feedback, UserReport};
pub use lenient::{LenientEvent, Removed, Report};
pub use log::{
    read_log_item, ContainerError, Log, LogAttribute, LogBatch, LogItemError, LogLevel, LogLimits,
    LogSeverityNumber, ReadLog, LOG_CONTENT_TYPE,
};
pub use metric::{
    read_metric_item, Metric, MetricBatch, MetricLimits, MetricType, Unit, METRIC_CONTENT_TYPE,
};
pub use monitor::{
    CheckIn, CrontabParseError, MonitorCheckIn, MonitorCheckInStatus, MonitorConfig,
    MonitorIntervalUnit, MonitorSchedule,
};
pub use rate_limits::{RateLimit, RateLimitScope, RateLimits};
pub use session::{
    ParseSessionStatusError, SessionAggregateItem, SessionAggregates, SessionAttributes,
    SessionStatus, SessionUpdate,
};
pub use span::Span;
pub use span_id::{ParseIdError, SpanId, SpanStatus, TraceId};
pub use values::{Level, PairList, ParseLevelError, ThreadId, Timestamp, Values};
pub use wire::Wire;

// Names under which the official `sentry::protocol` offers the same things.
pub use event::{Sdk as ClientSdkInfo, SdkPackage as ClientSdkPackage};
pub use serde_json::{Map, Value};
#[cfg(feature = "url")]
pub use url::Url;
pub use uuid::Uuid;

/// JSON values as the protocol structs hold them (`serde_json`'s), under the path the
/// official `sentry::protocol::value` has.
pub mod value {
    pub use serde_json::value::{from_value, to_value, Index, Map, Number, Value};
}
