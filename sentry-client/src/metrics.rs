//! Trace metrics, as the official `sentry::metrics`: [`counter`], [`gauge`] and
//! [`distribution`] make a metric, `.attribute(key, value)` adds what to filter and group
//! by, `.unit(..)` sets the unit of a gauge or distribution (counters have none), and
//! `.capture()` sends it through the current hub ([`Hub::capture_metric`] for another).
//!
//! The caller's thread does what it does for a log: check that the hub has an enabled
//! client with [`enable_metrics`](crate::ClientOptions::enable_metrics), take the scope
//! snapshot (an `Arc` clone) and `try_send` the metric into the worker's bounded queue (a
//! full queue drops it and counts `queue_overflow` for the `trace_metric` category). On
//! the worker the metric gets the trace and span of the scope's span, else of its `trace`
//! context, else the client's own trace (as logs do); the user's id, name and e-mail when
//! [`send_default_pii`](crate::ClientOptions::send_default_pii) is on and the metric has
//! no `user.*` attribute of its own; the default attributes (`sentry.environment`,
//! `sentry.release`, `sentry.sdk.name`, `sentry.sdk.version`, `server.address`); then
//! `before_send_metric` runs. A non-finite value is dropped (`invalid`). Finished metrics
//! are batched as logs are: one `trace_metric` item of at most 100 metrics per envelope,
//! sent when it is full, 5 s after its first metric at the latest, and on `flush` and
//! `close`.
//!
//! ```
//! use sentry_client as sentry;
//! use sentry::metrics;
//! use sentry::protocol::{MetricType, Unit};
//!
//! let sent = sentry::test::with_captured_metrics(|| {
//!     metrics::counter("http.requests", 1)
//!         .attribute("http.route", "/health")
//!         .attribute("http.response.status_code", 200)
//!         .capture();
//!     metrics::distribution("http.response_time", 187.5)
//!         .unit(Unit::Millisecond)
//!         .capture();
//! });
//! assert_eq!(sent[0].r#type, MetricType::Counter);
//! assert_eq!(sent[0].attributes["http.response.status_code"].0, 200);
//! assert_eq!(sent[1].unit, Some(Unit::Millisecond));
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use crate::protocol::{DiscardReason, LogAttribute, Metric, MetricType, TraceId, Unit};
use crate::scope::Snapshot;
use crate::telemetry;
use crate::{ClientOptions, Hub};

/// Makes a counter: how often something happened (`value` is added up). Counters are
/// unitless.
///
/// ```
/// sentry_client::metrics::counter("jobs.done", 1).capture();
/// ```
pub fn counter<N, V>(name: N, value: V) -> CounterMetric
where
    N: Into<Cow<'static, str>>,
    V: Into<f64>,
{
    CounterMetric {
        metric: Metric::new(MetricType::Counter, name, value.into()),
    }
}

/// Makes a gauge: a current level, such as a queue depth or open connections.
///
/// ```
/// sentry_client::metrics::gauge("queue.depth", 42).capture();
/// ```
pub fn gauge<N, V>(name: N, value: V) -> GaugeMetric
where
    N: Into<Cow<'static, str>>,
    V: Into<f64>,
{
    GaugeMetric {
        metric: Metric::new(MetricType::Gauge, name, value.into()),
    }
}

/// Makes a distribution: a value whose spread matters, such as a duration or a size.
///
/// ```
/// use sentry_client::{metrics, protocol::Unit};
/// metrics::distribution("upload.size", 2048).unit(Unit::Byte).capture();
/// ```
pub fn distribution<N, V>(name: N, value: V) -> DistributionMetric
where
    N: Into<Cow<'static, str>>,
    V: Into<f64>,
{
    DistributionMetric {
        metric: Metric::new(MetricType::Distribution, name, value.into()),
    }
}

/// A counter, made by [`counter`].
#[must_use = "a metric is sent by `.capture()`"]
#[derive(Clone, Debug)]
pub struct CounterMetric {
    metric: Metric,
}

/// A gauge, made by [`gauge`].
#[must_use = "a metric is sent by `.capture()`"]
#[derive(Clone, Debug)]
pub struct GaugeMetric {
    metric: Metric,
}

/// A distribution, made by [`distribution`].
#[must_use = "a metric is sent by `.capture()`"]
#[derive(Clone, Debug)]
pub struct DistributionMetric {
    metric: Metric,
}

/// A metric that [`Hub::capture_metric`] takes: [`CounterMetric`], [`GaugeMetric`] or
/// [`DistributionMetric`] (sealed).
pub trait IntoProtocolMetric: sealed::IntoMetric {}

mod sealed {
    /// The metric as the protocol has it, before the worker gives it its trace.
    pub trait IntoMetric {
        fn into_metric(self) -> crate::protocol::Metric;
    }
}

/// `attribute`, `capture` and the sealed conversion of a metric builder.
macro_rules! metric_builder {
    ($builder:ident) => {
        impl $builder {
            /// Adds an attribute (a string, integer, float or boolean) to filter and
            /// group by; a key given twice keeps the last value.
            pub fn attribute<K, V>(mut self, key: K, value: V) -> Self
            where
                K: Into<Cow<'static, str>>,
                V: Into<LogAttribute>,
            {
                self.metric.attributes.insert(key.into(), value.into());
                self
            }

            /// Sends the metric through the current hub (nothing happens without an
            /// enabled client, or with `enable_metrics` off).
            pub fn capture(self) {
                Hub::current().capture_metric(self);
            }
        }

        impl IntoProtocolMetric for $builder {}

        impl sealed::IntoMetric for $builder {
            fn into_metric(self) -> Metric {
                self.metric
            }
        }
    };
}

metric_builder!(CounterMetric);
metric_builder!(GaugeMetric);
metric_builder!(DistributionMetric);

impl GaugeMetric {
    /// Sets the unit (a [`Unit`], or a name such as `"ms"` or `"connections"`).
    pub fn unit<U: Into<Unit>>(mut self, unit: U) -> Self {
        self.metric.unit = Some(unit.into());
        self
    }
}

impl DistributionMetric {
    /// Sets the unit (a [`Unit`], or a name such as `"ms"` or `"KiB"`).
    pub fn unit<U: Into<Unit>>(mut self, unit: U) -> Self {
        self.metric.unit = Some(unit.into());
        self
    }
}

/// A metric on its way to the worker, with the scope it was captured in.
pub(crate) struct PendingMetric {
    pub(crate) metric: Metric,
    pub(crate) scope: Option<Snapshot>,
}

impl PendingMetric {
    /// A captured metric and its scope.
    pub(crate) fn new<M: IntoProtocolMetric>(metric: M, scope: Snapshot) -> Self {
        PendingMetric {
            metric: sealed::IntoMetric::into_metric(metric),
            scope: Some(scope),
        }
    }
}

/// The worker's metric finisher: the scope, the defaults, `before_send_metric`.
pub(crate) struct MetricFinisher {
    options: Arc<ClientOptions>,
    defaults: Vec<(&'static str, LogAttribute)>,
    trace_id: TraceId,
}

impl MetricFinisher {
    /// `trace_id` is the client's own trace.
    pub(crate) fn new(options: Arc<ClientOptions>, trace_id: TraceId) -> Self {
        MetricFinisher {
            defaults: telemetry::default_attributes(&options, None),
            options,
            trace_id,
        }
    }

    /// Finishes a metric, or says why it was dropped.
    pub(crate) fn finish(&self, pending: PendingMetric) -> Result<Metric, DiscardReason> {
        let PendingMetric { mut metric, scope } = pending;
        if !metric.value.is_finite() {
            return Err(DiscardReason::Invalid);
        }
        let scope = scope.map(Snapshot::into_scope);
        let (trace_id, span_id) = telemetry::scope_trace(scope.as_deref());
        metric.trace_id = trace_id.unwrap_or(self.trace_id);
        metric.span_id = span_id;
        let user = scope.as_ref().and_then(|s| s.user.as_deref());
        let has_user = || metric.attributes.keys().any(|k| k.starts_with("user."));
        if let Some(user) = user.filter(|_| self.options.send_default_pii && !has_user()) {
            for (k, v) in telemetry::user_attributes(user) {
                metric.attributes.insert(Cow::Borrowed(k), v.into());
            }
        }
        for (k, v) in &self.defaults {
            metric
                .attributes
                .entry(Cow::Borrowed(*k))
                .or_insert_with(|| v.clone());
        }
        telemetry::before_send(self.options.before_send_metric.as_ref(), metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::{with_captured_metrics, with_captured_metrics_options};

    #[test]
    fn builders_record_type_value_unit_and_attributes() {
        let sent = with_captured_metrics(|| {
            counter("c", 2)
                .attribute("k", "v")
                .attribute("k", "w")
                .capture();
            gauge("g", 1.5f32).unit("connections").capture();
            distribution("d", 7u32)
                .unit(Unit::Second)
                .attribute("ok", true)
                .capture();
        });
        assert_eq!(sent.len(), 3);
        assert_eq!((sent[0].r#type, sent[0].value), (MetricType::Counter, 2.0));
        assert_eq!(sent[0].attribute_str("k"), Some("w"));
        assert_eq!(sent[0].unit, None);
        assert_eq!(sent[1].unit, Some(Unit::Other("connections".into())));
        assert_eq!(sent[2].unit, Some(Unit::Second));
        assert_eq!(sent[2].attributes["ok"].0, true);
        assert_eq!(
            sent[2].attribute_str("sentry.sdk.name"),
            Some(crate::SDK_NAME)
        );
    }

    #[test]
    fn user_attributes_need_send_default_pii_and_no_user_attribute() {
        let user = || {
            crate::configure_scope(|s| {
                s.set_user(Some(crate::User {
                    id: Some("u1".into()),
                    email: Some("a@b.c".into()),
                    ..Default::default()
                }))
            })
        };
        let run = |pii: bool| {
            with_captured_metrics_options(
                || {
                    user();
                    counter("plain", 1).capture();
                    counter("own", 1).attribute("user.id", "me").capture();
                },
                ClientOptions::new().send_default_pii(pii),
            )
        };
        let without = run(false);
        assert!(without[0]
            .attributes
            .keys()
            .all(|k| !k.starts_with("user.")));
        let with = run(true);
        assert_eq!(with[0].attribute_str("user.id"), Some("u1"));
        assert_eq!(with[0].attribute_str("user.email"), Some("a@b.c"));
        assert_eq!(with[1].attribute_str("user.id"), Some("me"));
        assert!(!with[1].attributes.contains_key("user.email"));
    }

    #[test]
    fn a_non_finite_value_is_dropped_as_invalid() {
        let envelopes = crate::test::with_captured_envelopes(|| {
            gauge("nan", f64::NAN).capture();
            gauge("fine", 1).capture();
        });
        let sent = crate::test::metrics_of(&envelopes);
        assert_eq!(sent.len(), 1);
        let report = envelopes
            .iter()
            .find_map(|e| e.item(&crate::protocol::ItemType::ClientReport))
            .and_then(|i| i.client_report().ok())
            .expect("a client report");
        let category = crate::protocol::DataCategory::TraceMetric;
        assert_eq!(report.count(DiscardReason::Invalid, category), 1);
    }
}
