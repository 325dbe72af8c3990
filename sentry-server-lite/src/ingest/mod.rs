//! Ingestion: one path for every transport.
//!
//! A transport ([`http`]: the store and envelope endpoints; [`udp`]: envelope and
//! raven-era datagrams) only receives and decodes:
//!
//! 1. **receive**: read the body within the size limit; credentials found outside the
//!    body (a [`Source`]) are checked first ([`Ingestor::precheck`]), and a body
//!    without them is decompressed no further than its envelope header line to check
//!    the key its `dsn` names ([`Ingestor::precheck_envelope`]);
//! 2. **decode** ([`Ingestor::decode_body`], [`Ingestor::parse_envelope`]), off the
//!    async runtime and holding a bounded decode slot ([`gate`]): content encoding
//!    with a cap on the decompressed size, then the envelope framing.
//!
//! It then describes the body as a [`Payload`], and calls [`Ingestor::accept`], the
//! one function that does the rest for all of them:
//!
//! 3. **authenticate** ([`auth`]): key from header, query or envelope DSN; revoked,
//!    unknown and other projects' keys refused; browser origins checked;
//! 4. **rate limit** ([`crate::ratelimit`]);
//! 5. **prepare** each item in one place: events are trimmed to the caps of
//!    [`crate::config::NormalizeLimits`] ([`trim`]), scrubbed of credentials
//!    ([`scrub`]), normalized ([`crate::normalize`]),
//!    grouped ([`crate::grouping`]) and compressed ([`prepare_event`]), client reports
//!    counted — all before anything is queued, so a bad envelope stores nothing;
//! 6. **write** ([`Ingestor::commit`], or [`Ingestor::commit_detached`] when nobody
//!    waits for an answer): the writer ([`crate::writer`]) commits batches and only then
//!    answers.

pub mod attachments;
pub mod auth;
mod event;
pub mod facts;
pub mod feedback;
pub mod gate;
pub mod health;
pub mod http;
pub mod logs;
pub mod scrub;
pub mod security;
pub mod trim;
pub mod udp;

use std::borrow::Cow;
use std::sync::Arc;

use sentry_client::protocol::encoding::{
    decode_legacy_store_body, decoder, decompress, ContentEncoding,
};
use sentry_client::protocol::{
    ClientReport, DecodeError, Envelope, EnvelopeError, EnvelopeReader, ItemHeaders, ItemType,
};
use uuid::Uuid;

use crate::clock::now_ms;
use crate::config::IngestLimits;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::{NewEvent, SideRecord, Store, StoreError};
use crate::writer::{WriteError, Writer, Written};
use auth::{check_key, Credentials, KeyCache, KeyInfo};
pub use event::{event_item, parse_event, prepare_event, read_event, EventItem};

/// Why an ingestion request was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// 400: malformed body, envelope or event.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing or unreadable credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: unknown, revoked or other project's key; origin not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 413: a size limit was exceeded.
    #[error("{0}")]
    TooLarge(String),
    /// 415: unsupported content encoding.
    #[error("{0}")]
    UnsupportedEncoding(String),
    /// 429: the key's rate limit is spent.
    #[error("rate limit of this project key exceeded; retry in {retry_after}s")]
    RateLimited {
        /// Seconds until the window resets.
        retry_after: u64,
        /// Whether the refused request carried events (else only other items: the
        /// answer then tells the SDK to hold back every category).
        events: bool,
    },
    /// 503: the writer queue is full or the writer is stopping.
    #[error("{detail}")]
    Overloaded {
        /// Seconds the client should wait.
        retry_after: u64,
        /// Explanation.
        detail: String,
    },
    /// 500: storage failed.
    #[error("{0}")]
    Internal(String),
}

impl IngestError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::BadRequest(_) => 400,
            IngestError::Unauthorized(_) => 401,
            IngestError::Forbidden(_) => 403,
            IngestError::TooLarge(_) => 413,
            IngestError::UnsupportedEncoding(_) => 415,
            IngestError::RateLimited { .. } => 429,
            IngestError::Overloaded { .. } => 503,
            IngestError::Internal(_) => 500,
        }
    }

    /// The metrics label.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::BadRequest(_) => "bad_request",
            IngestError::Unauthorized(_) => "unauthorized",
            IngestError::Forbidden(_) => "forbidden",
            IngestError::TooLarge(_) => "too_large",
            IngestError::UnsupportedEncoding(_) => "unsupported_encoding",
            IngestError::RateLimited { .. } => "rate_limited",
            IngestError::Overloaded { .. } => "overloaded",
            IngestError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error during ingestion");
        match e {
            // Nothing was committed: the client keeps the event and retries.
            StoreError::Unavailable(_) => IngestError::Overloaded {
                retry_after: 5,
                detail: "the database is unavailable; retry shortly".into(),
            },
            _ => IngestError::Internal("storage error".into()),
        }
    }
}

impl From<DecodeError> for IngestError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Unsupported(enc) => {
                IngestError::UnsupportedEncoding(format!("unsupported content encoding {enc:?}"))
            }
            DecodeError::TooLarge { limit } => IngestError::TooLarge(format!(
                "decompressed body exceeds the limit of {limit} bytes"
            )),
            other => IngestError::BadRequest(format!("failed to decode body: {other}")),
        }
    }
}

impl From<WriteError> for IngestError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::QueueFull => IngestError::Overloaded {
                retry_after: 1,
                detail: "server is saturated (writer queue full); retry shortly".into(),
            },
            WriteError::Closed => IngestError::Overloaded {
                retry_after: 5,
                detail: "storage unavailable: the writer has stopped (shutdown or failure)".into(),
            },
            // A failed commit (disk full, I/O error, ...): nothing of the batch was
            // acknowledged, the writer goes on, and the client should retry later.
            WriteError::Store(e) => {
                tracing::error!(error = %e, "storage error during ingestion");
                IngestError::Overloaded {
                    retry_after: STORAGE_RETRY_AFTER,
                    detail: "storage unavailable: the event was not stored; retry later".into(),
                }
            }
            WriteError::Failed(why) => {
                tracing::error!(error = %why, "writer batch failed");
                IngestError::Overloaded {
                    retry_after: STORAGE_RETRY_AFTER,
                    detail: "storage unavailable: the event was not stored; retry later".into(),
                }
            }
            WriteError::TimedOut => IngestError::Overloaded {
                retry_after: STORAGE_RETRY_AFTER,
                detail: "storage unavailable: no commit in time; the event may or may not \
                         be stored, retry later"
                    .into(),
            },
        }
    }
}

/// `Retry-After` seconds when storage failed.
pub const STORAGE_RETRY_AFTER: u64 = 10;

/// How long a handler waits for the writer's answer before answering 503: a writer
/// stuck in the kernel (a hung disk) must not hold requests forever.
pub const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Events ready for the writer, and the id to answer with.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The events (usually one).
    pub events: Vec<NewEvent>,
    /// What the envelope's other items become (logs, sessions, ...), written in the
    /// same batch as events.
    pub side: Vec<SideRecord>,
    /// The id for the `{"id": ...}` answer.
    pub response_id: Option<String>,
}

/// The ingest pipeline with everything it needs.
pub struct Ingestor {
    /// Storage (key lookups).
    pub store: Arc<dyn Store>,
    /// The writer.
    pub writer: Writer,
    /// Cached key lookups.
    pub keys: KeyCache,
    /// Per-key rate limits.
    pub limiter: RateLimiter,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Size limits.
    pub limits: IngestLimits,
    /// Bounded decode slots ([`gate`]).
    pub decode: gate::DecodeGate,
    /// The live tail: committed events and logs are announced here while anybody
    /// watches (`crate::live`).
    pub live: Arc<crate::live::LiveHub>,
    /// The server's clock: the receive time of every item (a test clock in tests of
    /// what runs on schedules).
    pub clock: crate::clock::Clock,
}

impl Ingestor {
    /// Decodes a request body by its `Content-Encoding` (`Identity` when it has none),
    /// capped. A `/store/` body without an encoding may be one of the legacy raven forms
    /// (base64, zlib). An uncompressed body is borrowed, not copied.
    pub fn decode_body<'a>(
        &self,
        encoding: ContentEncoding,
        body: &'a [u8],
        legacy_store: bool,
    ) -> Result<Cow<'a, [u8]>, IngestError> {
        self.decode_body_within(
            encoding,
            body,
            legacy_store,
            self.limits.max_decompressed_bytes,
        )
    }

    /// [`Ingestor::decode_body`] with a smaller cap on the decoded size (the inline
    /// budget of a transport); past it, `TooLarge`.
    pub fn decode_body_within<'a>(
        &self,
        encoding: ContentEncoding,
        body: &'a [u8],
        legacy_store: bool,
        cap: usize,
    ) -> Result<Cow<'a, [u8]>, IngestError> {
        let cap = cap.min(self.limits.max_decompressed_bytes);
        match encoding {
            ContentEncoding::Identity if legacy_store => {
                Ok(Cow::Owned(decode_legacy_store_body(body, cap)?))
            }
            ContentEncoding::Identity if body.len() > cap => Err(IngestError::TooLarge(format!(
                "decompressed body exceeds the limit of {cap} bytes"
            ))),
            ContentEncoding::Identity => Ok(Cow::Borrowed(body)),
            other => Ok(Cow::Owned(decompress(other, body, cap)?)),
        }
    }

    /// Parses envelope bytes within the limits.
    pub fn parse_envelope(&self, bytes: &[u8]) -> Result<Envelope, IngestError> {
        Envelope::from_slice(bytes, &self.limits.envelope).map_err(envelope_error)
    }

    /// Authenticates an envelope that names its key only in its own `dsn` header, before
    /// the body is decoded: only the header line is decompressed (the envelope reader
    /// buffers at most 16 KiB and refuses a line over the header limit), so a refused or
    /// missing key costs a bounded amount of work whatever the body inflates to.
    pub fn precheck_envelope(
        &self,
        source: &mut Source,
        encoding: ContentEncoding,
        body: &[u8],
    ) -> Result<(), IngestError> {
        if source.checked.is_some() {
            return Ok(());
        }
        let reader = EnvelopeReader::new(decoder(encoding, body), self.limits.envelope.clone())
            .map_err(|e| match e {
                EnvelopeError::Io(io) => IngestError::from(DecodeError::Corrupt {
                    encoding: encoding.as_str(),
                    reason: io.to_string(),
                }),
                other => envelope_error(other),
            })?;
        let dsn = reader.headers().dsn.as_deref();
        source.checked = Some(self.authenticate(
            source.credentials.clone(),
            dsn,
            source.url_project,
            source.origin.as_deref(),
        )?);
        Ok(())
    }

    /// Checks the credentials a transport found outside the body (request headers or
    /// query, the auth line of a legacy datagram) before the body is decoded, so that a
    /// refused key costs no decompression. [`Ingestor::accept`] then trusts the result
    /// unless the envelope names a DSN of its own.
    pub fn precheck(&self, source: &mut Source) -> Result<(), IngestError> {
        if let Some(creds) = source.credentials.clone() {
            source.checked = Some(self.authenticate(
                Some(creds),
                None,
                source.url_project,
                source.origin.as_deref(),
            )?);
        }
        Ok(())
    }

    /// The ingest path every transport takes: authenticate the sender (request
    /// credentials and/or the envelope's DSN), apply the key's rate limit, and prepare
    /// each item (events normalized, grouped and compressed; other items counted).
    /// Nothing is queued: hand the result to [`Ingestor::commit`] or
    /// [`Ingestor::commit_detached`].
    pub fn accept(&self, source: Source, payload: Payload<'_>) -> Result<Prepared, IngestError> {
        let dsn = match payload {
            Payload::Envelope(envelope) => envelope.headers.dsn.as_deref(),
            Payload::Store(_) => None,
        };
        let info = match (source.checked, dsn) {
            (Some(info), None) => info,
            (_, dsn) => self.authenticate(
                source.credentials,
                dsn,
                source.url_project,
                source.origin.as_deref(),
            )?,
        };
        attachments::check_sizes(&self.limits, payload, info.store_attachments)?;
        let items = payload.items();
        let events = items
            .iter()
            .filter(|(ty, _, _)| is_rate_limited(ty))
            .count();
        // An envelope without events (sessions, reports, unknown items, none) takes one
        // unit of the key's budget, so that a key over its limit cannot send them
        // unchecked. Each attachment takes one unit too.
        let files = items
            .iter()
            .filter(|(ty, _, _)| **ty == ItemType::Attachment)
            .count();
        let counted = (events + files).max(1);
        self.rate_limit(&info, counted).map_err(|e| match e {
            IngestError::RateLimited { retry_after, .. } => IngestError::RateLimited {
                retry_after,
                events: events > 0,
            },
            other => other,
        })?;
        let received = self.clock.now_ms();
        let header_id = payload.header_id();
        let mut prepared = Prepared {
            events: Vec::new(),
            side: Vec::new(),
            response_id: header_id.map(|u| u.simple().to_string()),
        };
        for (index, (ty, body, headers)) in items.into_iter().enumerate() {
            self.prepare_item(&info, ty, headers, body, header_id, received, &mut prepared)
                .map_err(|e| match (e, payload) {
                    // An envelope's bad item is named; a store body is the one event.
                    (IngestError::BadRequest(why), Payload::Envelope(_)) => {
                        IngestError::BadRequest(format!("item {index} ({}): {why}", ty.as_str()))
                    }
                    (other, _) => other,
                })?;
        }
        Ok(prepared)
    }

    /// Authenticates with request credentials and/or an envelope DSN (they must agree),
    /// then checks the origin of browser requests.
    fn authenticate(
        &self,
        request: Option<Credentials>,
        envelope_dsn: Option<&str>,
        url_project: Option<u64>,
        origin: Option<&str>,
    ) -> Result<Arc<KeyInfo>, IngestError> {
        let from_dsn = envelope_dsn.map(auth::from_dsn).transpose()?;
        let creds = match (request, from_dsn) {
            (Some(r), Some(d)) if r.key != d.key => {
                return Err(IngestError::Unauthorized(
                    "the envelope's dsn does not match the request's credentials".into(),
                ))
            }
            (Some(r), Some(d)) => Credentials {
                dsn_project: d.dsn_project,
                ..r
            },
            (Some(c), None) | (None, Some(c)) => c,
            (None, None) => {
                return Err(IngestError::Unauthorized(
                    "missing authentication: send X-Sentry-Auth, ?sentry_key= or a dsn in the envelope header".into(),
                ))
            }
        };
        let info = check_key(&self.keys, &creds, url_project)?;
        if let Some(origin) = origin {
            if !auth::origin_allowed(&info.allowed_origins, origin) {
                return Err(IngestError::Forbidden(format!("invalid origin {origin:?}")));
            }
        }
        Ok(info)
    }

    /// Applies the key's rate limit to `events` units.
    fn rate_limit(&self, info: &KeyInfo, events: usize) -> Result<(), IngestError> {
        match &info.key.rate_limit {
            Some(limit) if events > 0 => {
                let (key, n, now) = (info.key.id, events as u64, now_ms());
                // Shared counters (several instances on one database) when the backend
                // keeps them, else this server's own.
                let verdict = match self.store.take_rate_limit(key, limit, n, now)? {
                    Some(verdict) => verdict,
                    None => self.limiter.check(key, limit, n, now),
                };
                verdict.map_err(|retry_after| IngestError::RateLimited {
                    retry_after,
                    events: true,
                })
            }
            _ => Ok(()),
        }
    }

    /// The one place that knows what each item type becomes: events are prepared for
    /// the writer, client reports feed the discard metrics, the rest is counted as not
    /// stored. A bad item is a `BadRequest` (the caller names the item).
    #[allow(clippy::too_many_arguments)]
    fn prepare_item(
        &self,
        info: &KeyInfo,
        ty: &ItemType,
        headers: Option<&ItemHeaders>,
        payload: &[u8],
        header_id: Option<Uuid>,
        received: i64,
        prepared: &mut Prepared,
    ) -> Result<(), IngestError> {
        match ty {
            ItemType::Event => {
                let item = event_item(
                    info.key.project_id,
                    payload,
                    header_id,
                    received,
                    &self.limits.normalize,
                    &info.scrubbing,
                )?;
                if item.invalid_parts > 0 {
                    self.metrics.invalid_parts_removed(item.invalid_parts);
                }
                if prepared.response_id.is_none() {
                    prepared.response_id = Some(item.event.event_id.clone());
                }
                prepared.events.push(item.event);
            }
            ItemType::ClientReport => {
                if let Ok(report) = serde_json::from_slice::<ClientReport>(payload) {
                    for d in &report.discarded_events {
                        self.metrics
                            .client_discard(&d.reason, &d.category, d.quantity);
                    }
                }
                self.metrics.item_not_stored(ty);
            }
            ItemType::Session | ItemType::Sessions | ItemType::CheckIn => {
                let project_id = info.key.project_id;
                let record = match ty {
                    ItemType::Session => health::session_item(project_id, payload, received),
                    ItemType::Sessions => health::sessions_item(project_id, payload, received),
                    _ => health::check_in_item(project_id, payload, received),
                };
                match record {
                    Some(record) => prepared.side.push(record),
                    None => self.metrics.item_not_stored(ty),
                }
            }
            ItemType::Attachment => {
                let kept = match headers {
                    Some(h) if info.store_attachments => attachments::attachment_item(
                        info.key.project_id,
                        h,
                        payload,
                        header_id,
                        received,
                        prepared,
                    )?,
                    _ => false,
                };
                if !kept {
                    self.metrics.item_not_stored(ty);
                }
            }
            ItemType::Feedback => {
                let p = info.key.project_id;
                if !feedback::feedback_item(p, payload, header_id, received, prepared) {
                    self.metrics.item_not_stored(ty);
                }
            }
            ItemType::UserReport => {
                let p = info.key.project_id;
                if !feedback::user_report_item(p, payload, received, prepared) {
                    self.metrics.item_not_stored(ty);
                }
            }
            ItemType::Log => {
                let item = logs::log_item(
                    info.key.project_id,
                    payload,
                    received,
                    &sentry_client::protocol::LogLimits::default(),
                );
                if item.dropped > 0 {
                    self.metrics.invalid_parts_removed(item.dropped);
                }
                prepared.side.extend(item.record);
            }
            other => self.metrics.item_not_stored(other),
        }
        Ok(())
    }

    /// Hands prepared events and side records to the writer and waits for their commit
    /// (nothing is queued unless all of them fit).
    pub async fn commit(&self, prepared: Prepared) -> Result<Option<String>, IngestError> {
        if prepared.events.is_empty() && prepared.side.is_empty() {
            return Ok(prepared.response_id);
        }
        let live = self.live.is_watched().then(|| {
            let events: Vec<_> = prepared
                .events
                .iter()
                .map(crate::live::event_summary)
                .collect();
            (events, crate::live::log_summaries(&prepared.side))
        });
        let receivers = self.writer.write_all(prepared.events, prepared.side)?;
        let wait = async {
            for rx in receivers {
                let outcome: Result<Written, WriteError> =
                    rx.await.unwrap_or(Err(WriteError::Closed));
                outcome?;
            }
            Ok::<(), WriteError>(())
        };
        tokio::time::timeout(COMMIT_WAIT, wait)
            .await
            .unwrap_or(Err(WriteError::TimedOut))?;
        if let Some((events, logs)) = live {
            self.live.committed(&events, &logs);
        }
        Ok(prepared.response_id)
    }

    /// Hands prepared events and side records to the writer without waiting (for
    /// transports that have nobody to answer, like UDP).
    pub fn commit_detached(&self, prepared: Prepared) -> Result<(), IngestError> {
        for event in prepared.events {
            self.writer.write_detached(event)?;
        }
        for record in prepared.side {
            self.writer.write_record_detached(record)?;
        }
        Ok(())
    }
}

/// What a transport knows about the sender before it looks into the body.
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// Credentials sent outside the body (HTTP headers or query, a datagram's auth line).
    pub credentials: Option<Credentials>,
    /// The key those credentials were checked to be, by [`Ingestor::precheck`].
    pub checked: Option<Arc<KeyInfo>>,
    /// The project id in the URL, which the key must belong to.
    pub url_project: Option<u64>,
    /// The browser origin of the request, checked against the key's allowed origins.
    pub origin: Option<String>,
}

/// What a transport received, decoded.
#[derive(Clone, Copy, Debug)]
pub enum Payload<'a> {
    /// A legacy `/store/` body: one event's JSON.
    Store(&'a [u8]),
    /// An envelope.
    Envelope(&'a Envelope),
}

/// The item type of a store body.
static STORE_ITEM: ItemType = ItemType::Event;

impl<'a> Payload<'a> {
    /// Its items: an envelope's, or the one event of a store body.
    fn items(&self) -> Vec<(&'a ItemType, &'a [u8], Option<&'a ItemHeaders>)> {
        match *self {
            Payload::Store(body) => vec![(&STORE_ITEM, body, None)],
            Payload::Envelope(e) => e
                .items
                .iter()
                .map(|i| (i.ty(), &i.payload[..], Some(&i.headers)))
                .collect(),
        }
    }

    /// The event id of the envelope header (it wins over the events' own).
    fn header_id(&self) -> Option<Uuid> {
        match self {
            Payload::Store(_) => None,
            Payload::Envelope(e) => e.headers.event_uuid(),
        }
    }
}

/// The answer for an envelope that does not read.
fn envelope_error(e: EnvelopeError) -> IngestError {
    match e {
        e if e.is_size_error() => {
            IngestError::TooLarge(format!("envelope exceeded size limits: {e}"))
        }
        EnvelopeError::Empty => {
            IngestError::BadRequest("empty envelope: missing header line".into())
        }
        e => IngestError::BadRequest(format!("invalid envelope: {e}")),
    }
}

/// Which items the key's rate limit counts (events; an envelope of other items counts
/// as one).
fn is_rate_limited(ty: &ItemType) -> bool {
    matches!(ty, ItemType::Event | ItemType::Log)
}
