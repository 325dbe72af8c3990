//! The builder setters of [`ClientOptions`], named and typed as the official `sentry`
//! 0.49 crate's (plus the `with_*` names of earlier versions of this crate), so code
//! written for either compiles unchanged.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{parse_dsn, ClientOptions, MaxRequestBodySize, SpotlightSetting};
use crate::integrations::Integration;
use crate::protocol::{Breadcrumb, Event, Log, Metric};
use crate::session::SessionMode;
use crate::transport::TransportFactory;

impl ClientOptions {
    /// Default options (same as [`Default::default`]); chain the setters below on it.
    ///
    /// The setters have the names and argument types of the official `sentry` crate's
    /// builder, so code written for it compiles unchanged:
    ///
    /// ```
    /// use sentry_client as sentry;
    ///
    /// let o = sentry::ClientOptions::new()
    ///     .dsn("https://public@sentry.invalid/1")
    ///     .release("app@1.2.3")
    ///     .environment("staging")
    ///     .sample_rate(0.5)
    ///     .max_breadcrumbs(20);
    /// assert_eq!(o.environment.as_deref(), Some("staging"));
    /// assert_eq!(o.max_breadcrumbs, 20);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the [`dsn`](field@ClientOptions::dsn). An empty or invalid string disables the
    /// client (logged to stderr when `debug` is on, so set `debug` first); the official
    /// crate panics on an invalid DSN instead, because an invalid DSN must not crash the
    /// program it is meant to protect.
    pub fn dsn(mut self, dsn: &str) -> Self {
        self.dsn = parse_dsn(dsn, self.debug);
        self
    }

    /// Sets [`debug`](field@ClientOptions::debug).
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// Sets the [`release`](field@ClientOptions::release).
    pub fn release(mut self, release: impl Into<Cow<'static, str>>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// Sets the release if there is one (e.g. from [`release_name!`](crate::release_name));
    /// `None` leaves it as it was.
    pub fn maybe_release<T: Into<Cow<'static, str>>>(self, release: Option<T>) -> Self {
        match release {
            Some(release) => self.release(release),
            None => self,
        }
    }

    /// Sets the [`environment`](field@ClientOptions::environment).
    pub fn environment(mut self, environment: impl Into<Cow<'static, str>>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Sets the [`dist`](field@ClientOptions::dist) (not in the official builder).
    pub fn dist(mut self, dist: impl Into<Cow<'static, str>>) -> Self {
        self.dist = Some(dist.into());
        self
    }

    /// Sets the [`sample_rate`](field@ClientOptions::sample_rate), clamped to 0.0–1.0
    /// (NaN reads as 0.0); the official crate panics on a value out of range.
    pub fn sample_rate(mut self, sample_rate: f32) -> Self {
        self.sample_rate = if sample_rate.is_nan() {
            0.0
        } else {
            sample_rate.clamp(0.0, 1.0)
        };
        self
    }

    /// Sets [`max_breadcrumbs`](field@ClientOptions::max_breadcrumbs).
    pub fn max_breadcrumbs(mut self, max_breadcrumbs: usize) -> Self {
        self.max_breadcrumbs = max_breadcrumbs;
        self
    }

    /// Sets [`attach_stacktrace`](field@ClientOptions::attach_stacktrace).
    pub fn attach_stacktrace(mut self, attach_stacktrace: bool) -> Self {
        self.attach_stacktrace = attach_stacktrace;
        self
    }

    /// Sets [`send_default_pii`](field@ClientOptions::send_default_pii).
    pub fn send_default_pii(mut self, send_default_pii: bool) -> Self {
        self.send_default_pii = send_default_pii;
        self
    }

    /// Sets the [`server_name`](field@ClientOptions::server_name).
    pub fn server_name(mut self, server_name: impl Into<Cow<'static, str>>) -> Self {
        self.server_name = Some(server_name.into());
        self
    }

    /// Replaces [`in_app_include`](field@ClientOptions::in_app_include).
    pub fn in_app_include<I: IntoIterator<Item = &'static str>>(mut self, prefixes: I) -> Self {
        self.in_app_include = prefixes.into_iter().collect();
        self
    }

    /// Replaces [`in_app_exclude`](field@ClientOptions::in_app_exclude).
    pub fn in_app_exclude<I: IntoIterator<Item = &'static str>>(mut self, prefixes: I) -> Self {
        self.in_app_exclude = prefixes.into_iter().collect();
        self
    }

    /// Sets [`source_context`](field@ClientOptions::source_context) (not in the official
    /// builder).
    pub fn source_context(mut self, source_context: bool) -> Self {
        self.source_context = source_context;
        self
    }

    /// Replaces the extra [`integrations`](field@ClientOptions::integrations); see
    /// [`add_integration`](Self::add_integration) to append one.
    pub fn integrations<I: IntoIterator<Item = Arc<dyn Integration>>>(mut self, list: I) -> Self {
        self.integrations = list.into_iter().collect();
        self
    }

    /// Appends an integration to [`integrations`](field@ClientOptions::integrations).
    pub fn add_integration<I: Integration>(mut self, integration: I) -> Self {
        self.integrations.push(Arc::new(integration));
        self
    }

    /// Sets [`default_integrations`](field@ClientOptions::default_integrations).
    pub fn default_integrations(mut self, default_integrations: bool) -> Self {
        self.default_integrations = default_integrations;
        self
    }

    /// Sets [`before_send`](field@ClientOptions::before_send).
    pub fn before_send<F>(mut self, before_send: F) -> Self
    where
        F: Fn(Event) -> Option<Event> + Send + Sync + 'static,
    {
        self.before_send = Some(Arc::new(before_send));
        self
    }

    /// Sets [`before_breadcrumb`](field@ClientOptions::before_breadcrumb).
    pub fn before_breadcrumb<F>(mut self, before_breadcrumb: F) -> Self
    where
        F: Fn(Breadcrumb) -> Option<Breadcrumb> + Send + Sync + 'static,
    {
        self.before_breadcrumb = Some(Arc::new(before_breadcrumb));
        self
    }

    /// Sets [`enable_logs`](field@ClientOptions::enable_logs).
    pub fn enable_logs(mut self, enable_logs: bool) -> Self {
        self.enable_logs = enable_logs;
        self
    }

    /// Sets [`before_send_log`](field@ClientOptions::before_send_log).
    pub fn before_send_log<F>(mut self, before_send_log: F) -> Self
    where
        F: Fn(Log) -> Option<Log> + Send + Sync + 'static,
    {
        self.before_send_log = Some(Arc::new(before_send_log));
        self
    }

    /// Sets [`enable_metrics`](field@ClientOptions::enable_metrics).
    pub fn enable_metrics(mut self, enable_metrics: bool) -> Self {
        self.enable_metrics = enable_metrics;
        self
    }

    /// Sets [`before_send_metric`](field@ClientOptions::before_send_metric).
    pub fn before_send_metric<F>(mut self, before_send_metric: F) -> Self
    where
        F: Fn(Metric) -> Option<Metric> + Send + Sync + 'static,
    {
        self.before_send_metric = Some(Arc::new(before_send_metric));
        self
    }

    /// Sets [`spotlight`](field@ClientOptions::spotlight): `true` for the default
    /// sidecar, `false` for none, or a URL (`"http://127.0.0.1:8969/stream"`).
    pub fn spotlight(mut self, spotlight: impl Into<SpotlightSetting>) -> Self {
        self.spotlight = spotlight.into().0;
        self
    }

    /// Sets the [`transport`](field@ClientOptions::transport) factory.
    pub fn transport<F: TransportFactory + 'static>(mut self, factory: F) -> Self {
        self.transport = Some(Arc::new(factory));
        self
    }

    /// Sets the [`http_proxy`](field@ClientOptions::http_proxy).
    pub fn http_proxy(mut self, proxy: impl Into<Cow<'static, str>>) -> Self {
        self.http_proxy = Some(proxy.into());
        self
    }

    /// Sets the [`https_proxy`](field@ClientOptions::https_proxy).
    pub fn https_proxy(mut self, proxy: impl Into<Cow<'static, str>>) -> Self {
        self.https_proxy = Some(proxy.into());
        self
    }

    /// Sets the [`shutdown_timeout`](field@ClientOptions::shutdown_timeout).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets [`max_queue_size`](field@ClientOptions::max_queue_size), the capacity of the
    /// queue to the background worker, as the official builder's setter of that name
    /// does for its transport channel; 0 reads as 1.
    pub fn transport_channel_capacity(mut self, capacity: usize) -> Self {
        self.max_queue_size = capacity.max(1);
        self
    }

    /// Sets [`accept_invalid_certs`](field@ClientOptions::accept_invalid_certs).
    pub fn accept_invalid_certs(mut self, accept_invalid_certs: bool) -> Self {
        self.accept_invalid_certs = accept_invalid_certs;
        self
    }

    /// Sets the [`user_agent`](field@ClientOptions::user_agent).
    pub fn user_agent(mut self, user_agent: impl Into<Cow<'static, str>>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets [`traces_sample_rate`](field@ClientOptions::traces_sample_rate).
    pub fn traces_sample_rate(mut self, rate: f32) -> Self {
        self.traces_sample_rate = rate;
        self
    }

    /// Sets the [`traces_sampler`](field@ClientOptions::traces_sampler).
    pub fn traces_sampler<F>(mut self, sampler: F) -> Self
    where
        F: Fn(&crate::performance::TransactionContext) -> f32 + Send + Sync + 'static,
    {
        self.traces_sampler = Some(Arc::new(sampler));
        self
    }

    /// Sets the [`org_id`](field@ClientOptions::org_id).
    pub fn org_id(mut self, org_id: impl Into<crate::protocol::OrganizationId>) -> Self {
        self.org_id = Some(org_id.into());
        self
    }

    /// Sets [`strict_trace_continuation`](field@ClientOptions::strict_trace_continuation).
    pub fn strict_trace_continuation(mut self, strict: bool) -> Self {
        self.strict_trace_continuation = strict;
        self
    }

    /// Sets [`max_request_body_size`](field@ClientOptions::max_request_body_size).
    pub fn max_request_body_size(mut self, size: MaxRequestBodySize) -> Self {
        self.max_request_body_size = size;
        self
    }

    /// Sets [`before_send_transaction`](field@ClientOptions::before_send_transaction).
    pub fn before_send_transaction<F>(mut self, f: F) -> Self
    where
        F: Fn(Event) -> Option<Event> + Send + Sync + 'static,
    {
        self.before_send_transaction = Some(Arc::new(f));
        self
    }

    /// Sets [`auto_session_tracking`](field@ClientOptions::auto_session_tracking).
    pub fn auto_session_tracking(mut self, enabled: bool) -> Self {
        self.auto_session_tracking = enabled;
        self
    }

    /// Sets [`session_mode`](field@ClientOptions::session_mode).
    pub fn session_mode(mut self, session_mode: SessionMode) -> Self {
        self.session_mode = session_mode;
        self
    }

    /// Sets [`max_queue_size`](field@ClientOptions::max_queue_size) (not in the official
    /// builder; see also [`transport_channel_capacity`](Self::transport_channel_capacity)).
    pub fn max_queue_size(mut self, max_queue_size: usize) -> Self {
        self.max_queue_size = max_queue_size;
        self
    }

    /// Sets [`max_attachment_size`](field@ClientOptions::max_attachment_size) (not in the
    /// official builder).
    pub fn max_attachment_size(mut self, bytes: usize) -> Self {
        self.max_attachment_size = bytes;
        self
    }

    /// Sets [`max_attachments_size`](field@ClientOptions::max_attachments_size) (not in
    /// the official builder).
    pub fn max_attachments_size(mut self, bytes: usize) -> Self {
        self.max_attachments_size = bytes;
        self
    }

    /// Sets the [`spool_dir`](field@ClientOptions::spool_dir) (not in the official builder).
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// Alias of [`dsn`](Self::dsn), kept from before the builder.
    pub fn with_dsn(self, dsn: &str) -> Self {
        self.dsn(dsn)
    }

    /// Alias of [`release`](Self::release), kept from before the builder.
    pub fn with_release(self, release: impl Into<Cow<'static, str>>) -> Self {
        self.release(release)
    }

    /// Alias of [`environment`](Self::environment), kept from before the builder.
    pub fn with_environment(self, environment: impl Into<Cow<'static, str>>) -> Self {
        self.environment(environment)
    }

    /// Sets the sample rate as given, unclamped (out-of-range values behave as 0.0 or
    /// 1.0 at sampling time); kept from before the builder, see
    /// [`sample_rate`](Self::sample_rate).
    pub fn with_sample_rate(mut self, rate: f32) -> Self {
        self.sample_rate = rate;
        self
    }

    /// Alias of [`attach_stacktrace`](Self::attach_stacktrace), kept from before the builder.
    pub fn with_attach_stacktrace(self, on: bool) -> Self {
        self.attach_stacktrace(on)
    }

    /// Alias of [`debug`](Self::debug), kept from before the builder.
    pub fn with_debug(self, on: bool) -> Self {
        self.debug(on)
    }

    /// Alias of [`spool_dir`](Self::spool_dir), kept from before the builder.
    pub fn with_spool_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir(dir)
    }

    /// Alias of [`shutdown_timeout`](Self::shutdown_timeout), kept from before the builder.
    pub fn with_shutdown_timeout(self, timeout: Duration) -> Self {
        self.shutdown_timeout(timeout)
    }

    /// Alias of [`before_send`](Self::before_send), kept from before the builder.
    pub fn with_before_send<F>(self, f: F) -> Self
    where
        F: Fn(Event) -> Option<Event> + Send + Sync + 'static,
    {
        self.before_send(f)
    }

    /// Alias of [`before_breadcrumb`](Self::before_breadcrumb), kept from before the builder.
    pub fn with_before_breadcrumb<F>(self, f: F) -> Self
    where
        F: Fn(Breadcrumb) -> Option<Breadcrumb> + Send + Sync + 'static,
    {
        self.before_breadcrumb(f)
    }

    /// Alias of [`transport`](Self::transport), kept from before the builder.
    pub fn with_transport<F: TransportFactory + 'static>(self, factory: F) -> Self {
        self.transport(factory)
    }
}
