//! [`DynamicSamplingContext`]: what a trace tells the services it reaches about how it
//! was sampled — in a transaction envelope's `trace` header, and as the `sentry-*`
//! entries of the `baggage` HTTP header.

use serde::{Deserialize, Serialize};

use super::span_id::TraceId;

/// The dynamic sampling context of a trace.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct DynamicSamplingContext {
    /// The trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
    /// The public key of the DSN the trace started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The sample rate the trace's root was sampled at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<f32>,
    /// The root's sampling decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled: Option<bool>,
    /// The release of the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The environment of the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The name of the root transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// The organization of the DSN, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

impl DynamicSamplingContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// With the trace id.
    #[must_use]
    pub fn with_trace_id(mut self, trace_id: TraceId) -> Self {
        self.trace_id = Some(trace_id);
        self
    }

    /// With the DSN's public key.
    #[must_use]
    pub fn with_public_key(mut self, public_key: String) -> Self {
        self.public_key = Some(public_key);
        self
    }

    /// With the sample rate.
    #[must_use]
    pub fn with_sample_rate(mut self, sample_rate: f32) -> Self {
        self.sample_rate = Some(sample_rate);
        self
    }

    /// With the sampling decision.
    #[must_use]
    pub fn with_sampled(mut self, sampled: bool) -> Self {
        self.sampled = Some(sampled);
        self
    }

    /// The `sentry-*` entries of a `baggage` header for it, values percent-encoded as
    /// the W3C baggage format asks.
    pub fn to_baggage(&self) -> String {
        let trace_id = self.trace_id.map(|t| t.to_string());
        let sample_rate = self.sample_rate.map(|r| r.to_string());
        let sampled = self.sampled.map(|s| s.to_string());
        let entries = [
            ("trace_id", trace_id.as_deref()),
            ("public_key", self.public_key.as_deref()),
            ("sample_rate", sample_rate.as_deref()),
            ("sampled", sampled.as_deref()),
            ("release", self.release.as_deref()),
            ("environment", self.environment.as_deref()),
            ("transaction", self.transaction.as_deref()),
            ("org_id", self.org_id.as_deref()),
        ];
        let mut out = String::new();
        for (key, value) in entries {
            let Some(value) = value else { continue };
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str("sentry-");
            out.push_str(key);
            out.push('=');
            for b in value.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~@:/".contains(&b) {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baggage_and_json_carry_what_is_set() {
        let trace: TraceId = "09e04486820349518ac7b5d2adbf6ba5".parse().expect("id");
        let mut dsc = DynamicSamplingContext::new()
            .with_trace_id(trace)
            .with_public_key("abc".into())
            .with_sampled(true);
        dsc.transaction = Some("GET /a b,c".into());
        assert_eq!(
            dsc.to_baggage(),
            "sentry-trace_id=09e04486820349518ac7b5d2adbf6ba5,sentry-public_key=abc,\
             sentry-sampled=true,sentry-transaction=GET%20/a%20b%2Cc"
        );
        let json = serde_json::to_value(&dsc).expect("json");
        assert_eq!(json["trace_id"], "09e04486820349518ac7b5d2adbf6ba5");
        assert!(json.get("release").is_none());
    }
}
