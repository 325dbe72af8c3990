//! The worker-side half of capturing: turning a queued event into a finished one.
//!
//! In order: resolve the raw stacks into frames (cached per address), apply the scope
//! snapshot and its event processors, fill in the client's defaults (release,
//! environment, server name, contexts, SDK), run the integrations, run `before_send`.
//! Every user callback runs under `catch_unwind`: a panic drops the event and is counted,
//! it never takes the worker down.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::attachments::ScopeAttachments;
use crate::backtrace::{InAppRules, Symbolizer};
use crate::draft::{PendingEvent, StackTarget};
use crate::logs::{LogFinisher, PendingLog};
use crate::metrics::{MetricFinisher, PendingMetric};
use crate::protocol::{
    Attachment, DiscardReason, DynamicSamplingContext, Envelope, Event, Log, Metric, Sdk,
    SdkPackage, SpanId, TraceId,
};
use crate::ClientOptions;

/// Names of the built-in integrations, listed in `sdk.integrations`.
const BUILTIN_INTEGRATIONS: &[&str] = &["backtrace", "contexts", "panic"];

/// The worker's event finisher.
pub(crate) struct Pipeline {
    options: Arc<ClientOptions>,
    symbolizer: Symbolizer,
    contexts: Option<Map<String, Value>>,
    started: SystemTime,
    sdk: Sdk,
    /// The client's own trace: events, logs and metrics captured outside any trace carry it.
    trace_id: TraceId,
    logs: Option<LogFinisher>,
    metrics: MetricFinisher,
}

impl Pipeline {
    pub(crate) fn new(options: Arc<ClientOptions>) -> Self {
        let rules = InAppRules::from_options(&options);
        let mut integrations: Vec<String> = Vec::new();
        if options.default_integrations {
            integrations.extend(BUILTIN_INTEGRATIONS.iter().map(|s| (*s).to_owned()));
        }
        if options.attach_stacktrace {
            integrations.push("attach-stacktrace".into());
        }
        integrations.extend(options.integrations.iter().map(|i| i.name().to_owned()));
        let sdk = Sdk {
            name: Some(crate::SDK_NAME.into()),
            version: Some(crate::SDK_VERSION.into()),
            integrations,
            packages: vec![SdkPackage {
                name: Some("cargo:sentry-client".into()),
                version: Some(crate::SDK_VERSION.into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let trace_id = TraceId::default();
        Pipeline {
            symbolizer: Symbolizer::new(rules, options.source_context),
            metrics: MetricFinisher::new(Arc::clone(&options), trace_id),
            options,
            contexts: None,
            started: SystemTime::now(),
            sdk,
            trace_id,
            logs: None,
        }
    }

    /// Finishes an event, or says why it was dropped; with it come the attachments of
    /// the scope it was captured with.
    pub(crate) fn process(
        &mut self,
        pending: PendingEvent,
    ) -> Result<(Event, ScopeAttachments), DiscardReason> {
        let PendingEvent {
            draft,
            scope,
            stacks,
        } = pending;
        let mut attachments = Arc::default();
        let mut event = draft.into_event();
        if event.ty.as_deref() == Some("transaction") {
            // Transactions carry no attachments (the scope's go with error events).
            return self
                .process_transaction(event, scope)
                .map(|t| (t, Arc::default()));
        }
        for (target, raw) in &stacks {
            let trace = self.symbolizer.resolve(raw);
            match *target {
                StackTarget::Exception(i) => {
                    if let Some(e) = event.exception.values.get_mut(i) {
                        e.stacktrace = Some(trace);
                    }
                }
                StackTarget::Thread(i) => {
                    if let Some(t) = event.threads.values.get_mut(i) {
                        t.stacktrace = Some(trace);
                    }
                }
            }
        }
        if let Some(snapshot) = scope {
            let scope = snapshot.into_scope();
            attachments = Arc::clone(&scope.attachments);
            scope.apply_data(&mut event, self.options.max_breadcrumbs);
            event = scope
                .run_processors(event)
                .ok_or(DiscardReason::EventProcessor)?;
        }
        self.apply_defaults(&mut event);
        for integration in &self.options.integrations {
            let options = &self.options;
            event = catch_unwind(AssertUnwindSafe(|| {
                integration.process_event(event, options)
            }))
            .ok()
            .flatten()
            .ok_or(DiscardReason::EventProcessor)?;
        }
        if let Some(before_send) = &self.options.before_send {
            event = catch_unwind(AssertUnwindSafe(|| before_send(event)))
                .ok()
                .flatten()
                .ok_or(DiscardReason::BeforeSend)?;
        }
        Ok((event, attachments))
    }

    /// Finishes a log (scope, defaults, `before_send_log`), or says why it was dropped.
    pub(crate) fn process_log(&mut self, pending: PendingLog) -> Result<Log, DiscardReason> {
        if self.logs.is_none() {
            let os = self.default_contexts().get("os").cloned();
            let finisher = LogFinisher::new(Arc::clone(&self.options), os.as_ref(), self.trace_id);
            self.logs = Some(finisher);
        }
        match &self.logs {
            Some(finisher) => finisher.finish(pending),
            None => Err(DiscardReason::EventProcessor),
        }
    }

    /// Finishes a metric (scope, defaults, `before_send_metric`), or says why it was
    /// dropped.
    pub(crate) fn process_metric(&self, pending: PendingMetric) -> Result<Metric, DiscardReason> {
        self.metrics.finish(pending)
    }

    /// The SDK as events and envelopes name it.
    pub(crate) fn sdk(&self) -> &Sdk {
        &self.sdk
    }

    fn default_contexts(&mut self) -> &Map<String, Value> {
        let started = self.started;
        self.contexts
            .get_or_insert_with(|| crate::contexts::default_contexts(started))
    }

    /// Finishes a transaction: the scope's data without its breadcrumbs and event
    /// processors (as the official SDK applies a scope to transactions), the client's
    /// defaults, then `before_send_transaction`.
    fn process_transaction(
        &mut self,
        mut event: Event,
        scope: Option<crate::scope::Snapshot>,
    ) -> Result<Event, DiscardReason> {
        if let Some(snapshot) = scope {
            snapshot.into_scope().apply_data(&mut event, 0);
        }
        self.apply_defaults(&mut event);
        if let Some(before_send) = &self.options.before_send_transaction {
            event = catch_unwind(AssertUnwindSafe(|| before_send(event)))
                .ok()
                .flatten()
                .ok_or(DiscardReason::BeforeSend)?;
        }
        Ok(event)
    }

    fn apply_defaults(&mut self, event: &mut Event) {
        if self.options.default_integrations && !event.contexts.contains_key("trace") {
            // Outside any trace an event carries the client's own, as its logs do (with
            // the other default contexts).
            let trace = serde_json::json!({
                "type": "trace",
                "trace_id": self.trace_id.to_string(),
                "span_id": SpanId::default().to_string(),
            });
            event.contexts.insert("trace".into(), trace);
        }
        let o = &self.options;
        if event.platform.is_none() {
            event.platform = Some("native".into());
        }
        if event.release.is_none() {
            event.release = o.release.as_deref().map(str::to_owned);
        }
        if event.environment.is_none() {
            event.environment = o.environment.as_deref().map(str::to_owned);
        }
        if event.dist.is_none() {
            event.dist = o.dist.as_deref().map(str::to_owned);
        }
        if event.server_name.is_none() {
            event.server_name = o.server_name.as_deref().map(str::to_owned);
        }
        if event.sdk.is_none() {
            event.sdk = Some(self.sdk.clone());
        }
        if o.send_default_pii {
            if let Some(user) = &mut event.user {
                if user.ip_address.is_none() {
                    user.ip_address = Some("{{auto}}".into());
                }
            }
        }
        if o.default_integrations {
            let started = self.started;
            let contexts = self
                .contexts
                .get_or_insert_with(|| crate::contexts::default_contexts(started));
            for (k, v) in contexts.iter() {
                event.contexts.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }

    /// The envelope for a finished event with the attachments that fit the limits, and
    /// the sizes of those that did not.
    pub(crate) fn envelope(
        &self,
        event: &Event,
        attachments: &[Arc<Attachment>],
    ) -> (Envelope, Vec<u64>) {
        let mut env = Envelope::from_event(event);
        env.headers.sdk = Some(Sdk {
            name: self.sdk.name.clone(),
            version: self.sdk.version.clone(),
            ..Default::default()
        });
        if event.ty.as_deref() == Some("transaction") {
            env.headers.trace = serde_json::to_value(self.sampling_context(event)).ok();
        }
        let dropped = crate::attachments::attach(
            &mut env,
            attachments,
            self.options.max_attachment_size,
            self.options.max_attachments_size,
        );
        (env, dropped)
    }

    /// The dynamic sampling context of a (sampled) transaction, for its envelope's
    /// `trace` header.
    fn sampling_context(&self, event: &Event) -> DynamicSamplingContext {
        let mut dsc = DynamicSamplingContext::new().with_sampled(true);
        dsc.trace_id = event
            .contexts
            .get("trace")
            .and_then(|t| t.get("trace_id"))
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok());
        if let Some(dsn) = &self.options.dsn {
            dsc = dsc.with_public_key(dsn.public_key().to_owned());
        }
        dsc.release.clone_from(&event.release);
        dsc.environment.clone_from(&event.environment);
        dsc.transaction.clone_from(&event.transaction);
        dsc
    }
}
