//! [`SentryLayer`]: the tower `Layer` and its options.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use sentry_client::Hub;
use tower_layer::Layer;

use crate::service::SentryService;

/// Which response statuses are reported as events.
pub type StatusFilter = Arc<dyn Fn(StatusCode) -> bool + Send + Sync>;

/// The options every request of a layer shares.
pub(crate) struct Config {
    pub(crate) hub: Option<Arc<Hub>>,
    pub(crate) capture_status: Option<StatusFilter>,
    pub(crate) catch_panics: bool,
    pub(crate) breadcrumbs: bool,
    pub(crate) continue_traces: bool,
    pub(crate) extra_sensitive: Arc<[String]>,
}

/// A tower [`Layer`] that runs each request under its own hub, attaches the request to
/// the events captured during it, and reports handler panics and server errors.
///
/// Defaults: server errors (500–599) reported, panics caught and answered with a 500,
/// one request breadcrumb, incoming traces continued, the current hub of the thread
/// handling the request as parent. Each is changed with a builder method:
///
/// ```
/// use http::StatusCode;
/// use sentry_tower::SentryLayer;
///
/// let layer = SentryLayer::new()
///     // report only 500 and 503, not e.g. 502 from a flaky upstream
///     .capture_server_errors_if(|s| s == StatusCode::INTERNAL_SERVER_ERROR
///         || s == StatusCode::SERVICE_UNAVAILABLE)
///     .scrub_header("X-Internal-Customer")
///     .request_breadcrumbs(false);
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct SentryLayer {
    config: Arc<Config>,
}

impl fmt::Debug for SentryLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("SentryLayer")
            .field("hub", &c.hub.is_some())
            .field("capture_server_errors", &c.capture_status.is_some())
            .field("catch_panics", &c.catch_panics)
            .field("breadcrumbs", &c.breadcrumbs)
            .field("continue_traces", &c.continue_traces)
            .field("extra_sensitive", &c.extra_sensitive)
            .finish()
    }
}

impl Default for SentryLayer {
    fn default() -> Self {
        SentryLayer::new()
    }
}

impl SentryLayer {
    /// A layer with the defaults listed on [`SentryLayer`].
    pub fn new() -> SentryLayer {
        SentryLayer {
            config: Arc::new(Config {
                hub: None,
                capture_status: Some(Arc::new(|s: StatusCode| s.is_server_error())),
                catch_panics: true,
                breadcrumbs: true,
                continue_traces: true,
                extra_sensitive: Arc::from(Vec::new()),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> SentryLayer {
        let config = Arc::get_mut(&mut self.config);
        match config {
            Some(c) => f(c),
            None => {
                let c = &self.config;
                let mut copy = Config {
                    hub: c.hub.clone(),
                    capture_status: c.capture_status.clone(),
                    catch_panics: c.catch_panics,
                    breadcrumbs: c.breadcrumbs,
                    continue_traces: c.continue_traces,
                    extra_sensitive: Arc::clone(&c.extra_sensitive),
                };
                f(&mut copy);
                self.config = Arc::new(copy);
            }
        }
        self
    }

    /// Forks every request's hub from `hub` instead of from the hub current on the
    /// thread that handles the request. Useful to report to a client other than the
    /// global one (and in tests). Default: the current hub.
    pub fn hub(self, hub: Arc<Hub>) -> SentryLayer {
        self.edit(|c| c.hub = Some(hub))
    }

    /// Reports responses with a 5xx status as events. Default: on.
    ///
    /// An event is not sent when something was already captured during the request (a
    /// panic, or an error the handler reported itself), so one failure gives one event.
    pub fn capture_server_errors(self, on: bool) -> SentryLayer {
        self.edit(|c| {
            c.capture_status = on.then(|| {
                let f: StatusFilter = Arc::new(|s: StatusCode| s.is_server_error());
                f
            })
        })
    }

    /// Reports responses whose status `filter` accepts (instead of all 5xx), e.g. also
    /// `429`. The same rule as [`capture_server_errors`](Self::capture_server_errors)
    /// keeps one event per failure.
    pub fn capture_server_errors_if<F>(self, filter: F) -> SentryLayer
    where
        F: Fn(StatusCode) -> bool + Send + Sync + 'static,
    {
        self.edit(|c| c.capture_status = Some(Arc::new(filter)))
    }

    /// Catches handler panics, reports them (`mechanism.type = "panic"`, `handled:
    /// false`) and answers `500 Internal Server Error`. Default: on. Off, a panic
    /// unwinds into the server as without the layer (the SDK's panic hook still
    /// reports it).
    pub fn catch_panics(self, on: bool) -> SentryLayer {
        self.edit(|c| c.catch_panics = on)
    }

    /// Adds an `http` breadcrumb (method, URL) for the request to the events captured
    /// during it. Default: on.
    pub fn request_breadcrumbs(self, on: bool) -> SentryLayer {
        self.edit(|c| c.breadcrumbs = on)
    }

    /// Continues the caller's trace from `sentry-trace` / `baggage` headers. Default: on.
    pub fn continue_traces(self, on: bool) -> SentryLayer {
        self.edit(|c| c.continue_traces = on)
    }

    /// Also scrubs the header (and query parameter) called `name`, in addition to the
    /// built-in list (`Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`,
    /// and every name containing `auth`, `token`, `secret`, `key`, `password`, `passwd`,
    /// `pwd`, `session`, `csrf`, `credential` or `signature`).
    pub fn scrub_header(self, name: &str) -> SentryLayer {
        let name = name.to_ascii_lowercase();
        self.edit(|c| {
            let mut names = c.extra_sensitive.to_vec();
            names.push(name);
            c.extra_sensitive = Arc::from(names);
        })
    }
}

impl<S> Layer<S> for SentryLayer {
    type Service = SentryService<S>;

    fn layer(&self, inner: S) -> SentryService<S> {
        SentryService::new(inner, Arc::clone(&self.config))
    }
}
