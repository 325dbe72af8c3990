//! [`ClientOptions`]: everything a client can be configured with, each with its default.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod builder;
mod into_dsn;
mod spotlight;

pub use into_dsn::IntoDsn;
pub use spotlight::{SpotlightSetting, SPOTLIGHT_DEFAULT_URL};

use crate::integrations::Integration;
use crate::protocol::{Breadcrumb, Dsn, Event, Log, Metric};
use crate::session::SessionMode;
use crate::transport::TransportFactory;

/// A `before_send` / `before_breadcrumb` callback: edit the value or drop it with `None`.
pub type BeforeCallback<T> = Arc<dyn Fn(T) -> Option<T> + Send + Sync>;

/// How much of an HTTP request body an integration may attach to an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MaxRequestBodySize {
    /// None.
    None,
    /// Up to 1,000 bytes.
    Small,
    /// Up to 10,000 bytes.
    #[default]
    Medium,
    /// All of it.
    Always,
    /// Up to this many bytes.
    Explicit(usize),
}

impl MaxRequestBodySize {
    /// Whether a body of `content_length` bytes may be attached.
    pub fn is_within_size_limit(&self, content_length: usize) -> bool {
        match *self {
            MaxRequestBodySize::None => false,
            MaxRequestBodySize::Small => content_length <= 1_000,
            MaxRequestBodySize::Medium => content_length <= 10_000,
            MaxRequestBodySize::Always => true,
            MaxRequestBodySize::Explicit(max) => content_length <= max,
        }
    }
}

/// Options of a [`Client`](crate::Client).
///
/// Fields are public so that both struct-update syntax and field assignment work:
///
/// ```
/// use sentry_client::ClientOptions;
///
/// let mut o = ClientOptions::default();
/// o.release = Some("app@1".into());
/// let o = ClientOptions { sample_rate: 0.5, ..o }.with_environment("staging");
/// assert_eq!(o.max_breadcrumbs, 100);
/// ```
///
/// and so does the builder form of the official crate, [`ClientOptions::new`] and its
/// setters.
#[derive(Clone)]
#[must_use = "options take effect only when passed to `init` or `Client::from_config`"]
pub struct ClientOptions {
    /// Where events go. `None` (the default, unless `SENTRY_DSN` is set) disables the
    /// client: every capture call returns at once and costs nothing.
    pub dsn: Option<Dsn>,
    /// The release, e.g. `app@1.2.3`; see [`release_name!`](crate::release_name).
    /// Default: `SENTRY_RELEASE` from the environment, else none.
    pub release: Option<Cow<'static, str>>,
    /// The environment, e.g. `production`. Default: `SENTRY_ENVIRONMENT`, else none.
    pub environment: Option<Cow<'static, str>>,
    /// The server name. Default: the host name.
    pub server_name: Option<Cow<'static, str>>,
    /// The distribution (build variant) of the release. Default: none.
    pub dist: Option<Cow<'static, str>>,
    /// The fraction of events sent, 0.0 to 1.0, decided per event on the caller's thread.
    /// Sampled-out events count as `sample_rate` discards. Default: 1.0.
    pub sample_rate: f32,
    /// How many breadcrumbs a scope keeps (a ring buffer). Default: 100.
    pub max_breadcrumbs: usize,
    /// Attach the caller's stack trace to messages and errors. Default: false (panics
    /// always carry their stack).
    pub attach_stacktrace: bool,
    /// Send personal data (e.g. the user's IP address as `{{auto}}`). Default: false.
    pub send_default_pii: bool,
    /// Called on the background worker with the finished event; return `None` to drop it
    /// (counted as `before_send`). A panic in it drops the event instead of unwinding.
    pub before_send: Option<BeforeCallback<Event>>,
    /// Called on the caller's thread for each breadcrumb; return `None` to drop it.
    pub before_breadcrumb: Option<BeforeCallback<Breadcrumb>>,
    /// Module prefixes that are in-app (take precedence over the built-in rules).
    pub in_app_include: Vec<&'static str>,
    /// Module prefixes that are not in-app, in addition to std, core, alloc, the SDK,
    /// tokio and every dependency from the cargo registry.
    pub in_app_exclude: Vec<&'static str>,
    /// Read source lines around each in-app frame (`pre_context`, `context_line`,
    /// `post_context`) when the source file exists on disk. Default: false.
    pub source_context: bool,
    /// How long flushing at shutdown (guard drop) and in the panic hook may take.
    /// Default: 2 s.
    pub shutdown_timeout: Duration,
    /// Log every SDK and transport decision to stderr. Default: false.
    pub debug: bool,
    /// Builds the transport. Default: HTTP(S) or UDP chosen by the DSN's scheme.
    pub transport: Option<Arc<dyn TransportFactory>>,
    /// The bounded queue between capture calls and the background worker. When it is
    /// full, events are dropped and counted as `queue_overflow`. Default: 30,000.
    pub max_queue_size: usize,
    /// A directory where envelopes that could not be sent are kept (one file each) and
    /// re-sent later, also after a restart. Default: none (an in-memory retry buffer).
    pub spool_dir: Option<PathBuf>,
    /// The most bytes the spool may hold; the oldest files are dropped first (counted as
    /// `cache_overflow`). Default: 64 MiB.
    pub max_spool_bytes: u64,
    /// Envelopes kept in memory for retry when there is no spool. Default: 1,000.
    pub max_retry_buffer: usize,
    /// Concurrent HTTP requests. Default: 8.
    pub max_in_flight: usize,
    /// The largest attachment sent; a larger one is dropped (counted as
    /// `buffer_overflow`, category `attachment`) and its event sent without it.
    /// Default: 20 MiB (see [`Scope::add_attachment`](crate::Scope::add_attachment)).
    pub max_attachment_size: usize,
    /// The most attachment bytes in one envelope; attachments past it are dropped like
    /// oversized ones. Default: 20 MiB.
    pub max_attachments_size: usize,
    /// Gzip HTTP bodies larger than this many bytes. Default: 8 KiB: smaller bodies (a
    /// message or error event without a long stack, typically 1–3 KiB) fit in a few TCP
    /// segments and shrink by a few hundred bytes, which does not pay for deflating them
    /// on the host that is being monitored (@sentry/node gzips above 32 KiB, the official
    /// Rust SDK never).
    pub gzip_threshold: usize,
    /// Timeout of one HTTP request. Default: 10 s.
    pub request_timeout: Duration,
    /// Proxy for `http://` DSNs. Default: the `HTTP_PROXY` environment variable.
    pub http_proxy: Option<Cow<'static, str>>,
    /// Proxy for `https://` DSNs. Default: `HTTPS_PROXY`, else `http_proxy`.
    pub https_proxy: Option<Cow<'static, str>>,
    /// Accept any TLS certificate of the server (`https://` DSNs). Default: false.
    pub accept_invalid_certs: bool,
    /// The `User-Agent` of HTTP requests. Default: `sentry.rust.lite/<version>`.
    pub user_agent: Cow<'static, str>,
    /// The share of transactions recorded and sent (0.0 to 1.0), when no
    /// `traces_sampler` decides and no parent service did. Default: 0.0 (tracing off).
    pub traces_sample_rate: f32,
    /// Decides each transaction's sample rate from its context (wins over
    /// `traces_sample_rate` and the parent's decision, which it sees). Default: none.
    pub traces_sampler: Option<Arc<crate::performance::TracesSampler>>,
    /// The organization this SDK sends to, for deciding whether to continue an incoming
    /// trace (see `strict_trace_continuation`). Default: none, read from a sentry.io
    /// DSN's host (`o123.ingest.sentry.io`) when there is one.
    pub org_id: Option<crate::protocol::OrganizationId>,
    /// Continue an incoming trace only when its organization (`sentry-org_id` in its
    /// `baggage`) is known and is ours. Without it, a trace is continued unless both
    /// ids are known and differ. Default: false.
    pub strict_trace_continuation: bool,
    /// How much of an HTTP request body integrations may attach to events. The
    /// integrations of this SDK never read request bodies, so nothing is attached
    /// whatever it says; it is kept for code written for the official crate and for
    /// integrations of your own ([`MaxRequestBodySize::is_within_size_limit`]).
    /// Default: [`MaxRequestBodySize::Medium`].
    pub max_request_body_size: MaxRequestBodySize,
    /// Called on the background worker with each finished transaction; return `None`
    /// to drop it (counted as `before_send`). Default: none.
    pub before_send_transaction: Option<BeforeCallback<Event>>,
    /// Start a release-health session automatically: in [`SessionMode::Application`]
    /// one for the process run (started by `init`, ended when its guard drops), in
    /// [`SessionMode::Request`] one per request in `sentry-tower`. Needs a `release`.
    /// Default: false (as in the official crate).
    pub auto_session_tracking: bool,
    /// How sessions are tracked and sent (see [`SessionMode`]). Default: application.
    pub session_mode: SessionMode,
    /// Datagrams per second a UDP transport sends at most (there are no rate-limit
    /// answers over UDP). Default: 10,000.
    pub udp_max_per_second: u32,
    /// Send client reports (discard counts). Default: true.
    pub send_client_reports: bool,
    /// Pending discard counts ride along with the next envelope at most this often (and
    /// go alone at shutdown). Default: 30 s.
    pub client_report_interval: Duration,
    /// Extra integrations, run after the default ones.
    pub integrations: Vec<Arc<dyn Integration>>,
    /// Install the default integrations (panic hook, contexts). Default: true.
    pub default_integrations: bool,
    /// Send structured logs: the `logger_*!` macros, [`Hub::capture_log`](crate::Hub::capture_log),
    /// and the `log` / `tracing` integrations where they map records to logs. `false`
    /// turns all of them off (the official crate 0.49 keeps its macros on then). Default:
    /// true, as in the official crate since 0.49.
    pub enable_logs: bool,
    /// Called on the background worker with each finished log (trace, scope and default
    /// attributes applied); return `None` to drop it (counted as `before_send` for
    /// `log_item`). A panic in it drops the log.
    pub before_send_log: Option<BeforeCallback<Log>>,
    /// Send trace metrics: [`metrics::counter`](crate::metrics::counter), `gauge` and
    /// `distribution` and [`Hub::capture_metric`](crate::Hub::capture_metric); `false`
    /// turns them off (the official crate 0.49.5 deprecates the option and always sends).
    /// Default: true, as in the official crate.
    pub enable_metrics: bool,
    /// Called on the background worker with each finished metric (trace, scope and
    /// default attributes applied); return `None` to drop it (counted as `before_send`
    /// for `trace_metric`). A panic in it drops the metric. Default: none.
    pub before_send_metric: Option<BeforeCallback<Metric>>,
    /// Where a copy of every envelope goes for [Spotlight](https://spotlightjs.com), the
    /// local development sidecar (`POST <url>`), or `None`. The copies go through a
    /// bounded queue of their own to a thread of their own, so normal delivery is never
    /// delayed; copies are dropped when that queue is full or the sidecar is down. With
    /// no DSN but a Spotlight URL the client runs and sends only to the sidecar. Default:
    /// from `SENTRY_SPOTLIGHT` (`true`/`1`/`on`: [`SPOTLIGHT_DEFAULT_URL`], `false`/`0`/
    /// `off`: none, else the URL), else none. Set it with [`ClientOptions::spotlight`].
    pub spotlight: Option<Cow<'static, str>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            dsn: None,
            release: None,
            environment: None,
            server_name: None,
            dist: None,
            sample_rate: 1.0,
            max_breadcrumbs: 100,
            attach_stacktrace: false,
            send_default_pii: false,
            before_send: None,
            before_breadcrumb: None,
            in_app_include: Vec::new(),
            in_app_exclude: Vec::new(),
            source_context: false,
            shutdown_timeout: Duration::from_secs(2),
            debug: false,
            transport: None,
            max_queue_size: 30_000,
            spool_dir: None,
            max_spool_bytes: 64 * 1024 * 1024,
            max_retry_buffer: 1_000,
            max_in_flight: 8,
            max_attachment_size: crate::attachments::DEFAULT_MAX_ATTACHMENT_SIZE,
            max_attachments_size: crate::attachments::DEFAULT_MAX_ATTACHMENT_SIZE,
            gzip_threshold: 8 * 1024,
            request_timeout: Duration::from_secs(10),
            http_proxy: None,
            https_proxy: None,
            accept_invalid_certs: false,
            user_agent: Cow::Owned(crate::transport::sdk_ident()),
            traces_sample_rate: 0.0,
            traces_sampler: None,
            before_send_transaction: None,
            org_id: None,
            strict_trace_continuation: false,
            max_request_body_size: MaxRequestBodySize::Medium,
            auto_session_tracking: false,
            session_mode: SessionMode::Application,
            udp_max_per_second: 10_000,
            send_client_reports: true,
            client_report_interval: Duration::from_secs(30),
            integrations: Vec::new(),
            default_integrations: true,
            enable_logs: true,
            before_send_log: None,
            enable_metrics: true,
            before_send_metric: None,
            spotlight: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("dsn", &self.dsn.as_ref().map(|d| d.to_string()))
            .field("release", &self.release)
            .field("environment", &self.environment)
            .field("server_name", &self.server_name)
            .field("sample_rate", &self.sample_rate)
            .field("max_breadcrumbs", &self.max_breadcrumbs)
            .field("attach_stacktrace", &self.attach_stacktrace)
            .field("send_default_pii", &self.send_default_pii)
            .field("before_send", &self.before_send.is_some())
            .field("traces_sampler", &self.traces_sampler.is_some())
            .field("org_id", &self.org_id)
            .field("strict_trace_continuation", &self.strict_trace_continuation)
            .field("max_request_body_size", &self.max_request_body_size)
            .field(
                "before_send_transaction",
                &self.before_send_transaction.is_some(),
            )
            .field("before_breadcrumb", &self.before_breadcrumb.is_some())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("debug", &self.debug)
            .field("max_queue_size", &self.max_queue_size)
            .field("spool_dir", &self.spool_dir)
            .field("enable_logs", &self.enable_logs)
            .field("before_send_log", &self.before_send_log.is_some())
            .field("enable_metrics", &self.enable_metrics)
            .field("before_send_metric", &self.before_send_metric.is_some())
            .field("spotlight", &self.spotlight)
            .field(
                "integrations",
                &self
                    .integrations
                    .iter()
                    .map(|i| i.name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Fills unset fields from the environment (`SENTRY_DSN`, `SENTRY_RELEASE`,
    /// `SENTRY_ENVIRONMENT`, `SENTRY_SPOTLIGHT`, `HTTP_PROXY`, `HTTPS_PROXY`) and the host
    /// name.
    pub(crate) fn apply_env_defaults(&mut self) {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if self.dsn.is_none() {
            if let Some(dsn) = var("SENTRY_DSN") {
                self.dsn = parse_dsn(&dsn, self.debug);
            }
        }
        if self.release.is_none() {
            self.release = var("SENTRY_RELEASE").map(Cow::Owned);
        }
        if self.environment.is_none() {
            self.environment = var("SENTRY_ENVIRONMENT").map(Cow::Owned);
        }
        if self.spotlight.is_none() {
            if let Some(v) = var("SENTRY_SPOTLIGHT") {
                self.spotlight = SpotlightSetting::from_env_value(&v).0;
            }
        }
        if self.http_proxy.is_none() {
            self.http_proxy = var("HTTP_PROXY")
                .or_else(|| var("http_proxy"))
                .map(Cow::Owned);
        }
        if self.https_proxy.is_none() {
            self.https_proxy = var("HTTPS_PROXY")
                .or_else(|| var("https_proxy"))
                .map(Cow::Owned)
                .or_else(|| self.http_proxy.clone());
        }
        if self.server_name.is_none() {
            self.server_name = hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .map(Cow::Owned);
        }
    }
}

fn parse_dsn(dsn: &str, debug: bool) -> Option<Dsn> {
    let dsn = dsn.trim();
    if dsn.is_empty() {
        return None;
    }
    match dsn.parse() {
        Ok(d) => Some(d),
        Err(e) => {
            // An invalid DSN must not crash the program it is meant to protect.
            if debug {
                eprintln!("[sentry-client] {e}; the client is disabled");
            }
            None
        }
    }
}

impl From<&str> for ClientOptions {
    fn from(dsn: &str) -> Self {
        ClientOptions::default().dsn(dsn)
    }
}

impl From<String> for ClientOptions {
    fn from(dsn: String) -> Self {
        ClientOptions::from(dsn.as_str())
    }
}

impl From<Dsn> for ClientOptions {
    fn from(dsn: Dsn) -> Self {
        ClientOptions {
            dsn: Some(dsn),
            ..Default::default()
        }
    }
}

impl From<Option<Dsn>> for ClientOptions {
    fn from(dsn: Option<Dsn>) -> Self {
        ClientOptions {
            dsn,
            ..Default::default()
        }
    }
}

impl From<(&str, ClientOptions)> for ClientOptions {
    fn from((dsn, opts): (&str, ClientOptions)) -> Self {
        opts.dsn(dsn)
    }
}

impl From<(String, ClientOptions)> for ClientOptions {
    fn from((dsn, opts): (String, ClientOptions)) -> Self {
        opts.dsn(&dsn)
    }
}

impl From<(Dsn, ClientOptions)> for ClientOptions {
    fn from((dsn, opts): (Dsn, ClientOptions)) -> Self {
        ClientOptions {
            dsn: Some(dsn),
            ..opts
        }
    }
}

impl From<(Option<Dsn>, ClientOptions)> for ClientOptions {
    fn from((dsn, opts): (Option<Dsn>, ClientOptions)) -> Self {
        ClientOptions { dsn, ..opts }
    }
}

/// The release name `<crate name>@<crate version>` of the crate that calls the macro,
/// as an `Option<Cow<'static, str>>` ready for [`ClientOptions::release`].
///
/// ```
/// let release = sentry_client::release_name!();
/// assert_eq!(release.as_deref(), Some(concat!("sentry-client@", env!("CARGO_PKG_VERSION"))));
/// ```
#[macro_export]
macro_rules! release_name {
    () => {
        ::std::option::Option::Some(::std::borrow::Cow::Borrowed(concat!(
            env!("CARGO_PKG_NAME"),
            "@",
            env!("CARGO_PKG_VERSION")
        )))
    };
}
