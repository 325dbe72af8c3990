//! Server configuration as data: addresses, size limits, writer and retention settings.
//! Every limit is checked at exactly one place (see `ingest`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sentry_client::protocol::Limits as EnvelopeLimits;

use crate::store::{RetentionPolicy, Synchronous};

/// Size limits of ingestion (protocol reference §5.2, our defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestLimits {
    /// A request body as sent (compressed). Default 20 MiB.
    pub max_body_bytes: usize,
    /// A body after decompression. Default 100 MiB (the envelope limit).
    pub max_decompressed_bytes: usize,
    /// Per-item and per-envelope limits of the envelope reader.
    pub envelope: EnvelopeLimits,
    /// Caps applied to each event before it is normalized, grouped and stored.
    pub normalize: NormalizeLimits,
    /// Request bodies decompressed and parsed at once on the blocking pool (small bodies
    /// of authenticated senders are decoded inline, within a budget; see `ingest::http`); with
    /// `max_decompressed_bytes` it bounds the inflated bytes in flight. Default 4.
    pub decode_slots: usize,
    /// How long a request waits for a decode slot (or for the byte budget) before it is
    /// answered 503 with `Retry-After`. Default 2 s.
    pub decode_wait: Duration,
    /// Decoded bytes that the decodes on the blocking pool may hold at once (see
    /// `ingest::gate`); never less than `max_decompressed_bytes`. Default 128 MiB.
    pub decode_budget_bytes: usize,
    /// UDP datagrams waiting to be processed; more are dropped and counted. Default 1024.
    pub udp_queue: usize,
    /// One attachment (decompressed); an envelope with a larger one is refused whole
    /// with 413. Default 20 MiB (see `ingest::attachments`).
    pub max_attachment_bytes: usize,
    /// All the attachments of one envelope (they belong to one event); past it, 413.
    /// Default 20 MiB.
    pub max_attachments_bytes: usize,
}

/// Caps on the parts of an event that normalization and grouping read, applied at
/// ingest before anything else looks at the event, so that every later step does work
/// linear in a bounded size. What was cut is recorded in the stored event under the
/// top-level key `_trimmed` (see [`crate::ingest::trim`]). Inputs under the caps are
/// untouched, so their grouping hash does not change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizeLimits {
    /// Characters of a frame's function, raw function, symbol, module, package,
    /// filename and abs_path, and of an exception's type and module. Default 512.
    pub max_name_chars: usize,
    /// Frames per stack trace; longer stacks keep their first quarter and last three
    /// quarters (the crashing end). Default 250.
    pub max_frames: usize,
    /// Exceptions per event (the last ones, the raised end, are kept). Default 25.
    pub max_exceptions: usize,
    /// Threads per event (the first ones are kept). Default 100.
    pub max_threads: usize,
    /// Breadcrumbs per event (the most recent are kept). Default 100.
    pub max_breadcrumbs: usize,
    /// Fingerprint entries. Default 64.
    pub max_fingerprint_entries: usize,
    /// Characters of one fingerprint entry. Default 512.
    pub max_fingerprint_chars: usize,
    /// Tags per event (the first ones are kept). Default 100; the issue index reads the
    /// first 50 distinct keys.
    pub max_tags: usize,
    /// Characters of a tag key. Default 200.
    pub max_tag_key_chars: usize,
    /// Characters of a tag value. Default 200.
    pub max_tag_value_chars: usize,
}

impl NormalizeLimits {
    /// The defaults (documented on each field).
    pub const DEFAULT: NormalizeLimits = NormalizeLimits {
        max_name_chars: 512,
        max_frames: 250,
        max_exceptions: 25,
        max_threads: 100,
        max_breadcrumbs: 100,
        max_fingerprint_entries: 64,
        max_fingerprint_chars: 512,
        max_tags: 100,
        max_tag_key_chars: 200,
        max_tag_value_chars: 200,
    };
}

impl Default for NormalizeLimits {
    fn default() -> Self {
        NormalizeLimits::DEFAULT
    }
}

impl Default for IngestLimits {
    fn default() -> Self {
        let mut envelope = EnvelopeLimits::default();
        // Profiles, replays and unknown items are not stored, only counted: one of them
        // must not fail the envelope (and its event) short of the envelope limit itself.
        // Attachments are read as far too, then held to their own caps below
        // (`ingest::attachments::check_sizes`: a 413 that names the cap).
        envelope.max_attachment_bytes = envelope.max_envelope_bytes;
        IngestLimits {
            max_body_bytes: 20 * 1024 * 1024,
            max_decompressed_bytes: envelope.max_envelope_bytes,
            envelope,
            normalize: NormalizeLimits::DEFAULT,
            decode_slots: 4,
            decode_wait: Duration::from_secs(2),
            decode_budget_bytes: 128 * 1024 * 1024,
            udp_queue: 1024,
            max_attachment_bytes: 20 * 1024 * 1024,
            max_attachments_bytes: 20 * 1024 * 1024,
        }
    }
}

/// Limits of HTTP connections (see `server::conn`): what a slow, idle or numerous
/// client runs into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time for a request line and headers to arrive, counted from the first byte
    /// read (or from the end of the previous response). Default 10 s.
    pub header_read_timeout: Duration,
    /// A connection with no request running and no byte moving is closed after this.
    /// Default 60 s.
    pub idle_timeout: Duration,
    /// Time for a request body to arrive in full, counted from its headers; later the
    /// request is answered 408 and the connection closed. Default 60 s.
    pub body_timeout: Duration,
    /// Connections open at once; beyond it new ones wait in the kernel's accept queue
    /// until one closes. Default 1024.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Settings of the single writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    /// Events waiting for the writer before new ones are refused with 503. Bounds memory:
    /// a queued event holds its compressed body (a few KB). Default 4096.
    pub queue_capacity: usize,
    /// Most events committed in one transaction. Default 512.
    pub max_batch: usize,
    /// Threads committing batches side by side; `None`: the store's default
    /// ([`crate::store::Store::writer_threads`]: 1 on SQLite, 2 on PostgreSQL). Never more
    /// than the store allows ([`crate::store::Store::max_writer_threads`]).
    pub threads: Option<usize>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 4096,
            max_batch: 512,
            threads: None,
        }
    }
}

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// HTTP address. Port 0 picks a free port.
    pub bind: SocketAddr,
    /// UDP address (off when `None`).
    pub udp_bind: Option<SocketAddr>,
    /// Data directory; the database is `DIR/sentry.db` unless `database_url` is set.
    pub data_dir: PathBuf,
    /// PostgreSQL URL (`postgres://...`): when set, the SQLite file is not used.
    pub database_url: Option<String>,
    /// Public base URL used in DSNs (default: `http://` + the bound address).
    pub public_url: Option<String>,
    /// SQLite durability.
    pub synchronous: Synchronous,
    /// Size limits.
    pub limits: IngestLimits,
    /// Connection limits and timeouts.
    pub http: HttpLimits,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer` this.
    pub metrics_token: Option<String>,
    /// When set, `/metrics` is served only on this address (not on `bind`).
    pub metrics_bind: Option<SocketAddr>,
    /// Writer settings.
    pub writer: WriterConfig,
    /// Retention policy.
    pub retention: RetentionPolicy,
    /// How often retention runs. Default 10 minutes.
    pub retention_interval: Duration,
    /// How long a looked-up project key is cached (revocations take effect after at
    /// most this long). Default 2 s.
    pub key_cache_ttl: Duration,
    /// How alerts are sent (SMTP relay, private networks, retries).
    pub alerts: crate::alerts::AlertConfig,
    /// The Spotlight listener (`POST`/`GET /stream`, the live page `/live/`), off when
    /// `None`; a loopback address (see `crate::live`).
    pub spotlight_bind: Option<SocketAddr>,
    /// The clock of ingest and of the cron-monitor scheduler (tests move a test clock).
    pub clock: crate::clock::Clock,
    /// How often the cron-monitor scheduler looks for missed and timed-out runs.
    /// Default 10 s.
    pub monitor_interval: Duration,
}

impl ServerConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 9000)),
            udp_bind: None,
            data_dir: data_dir.into(),
            database_url: None,
            public_url: None,
            synchronous: Synchronous::Full,
            limits: IngestLimits::default(),
            http: HttpLimits::default(),
            metrics_token: None,
            metrics_bind: None,
            writer: WriterConfig::default(),
            retention: RetentionPolicy::default(),
            retention_interval: Duration::from_secs(600),
            key_cache_ttl: Duration::from_secs(2),
            alerts: crate::alerts::AlertConfig::default(),
            spotlight_bind: None,
            clock: crate::clock::Clock::system(),
            monitor_interval: Duration::from_secs(10),
        }
    }

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        database_path(&self.data_dir)
    }
}

/// `DIR/sentry.db`.
pub fn database_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("sentry.db")
}
