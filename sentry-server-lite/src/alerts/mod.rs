//! Alerts (issue #19): telling people when something breaks.
//!
//! Rules live in the store ([`crate::store::alerts`]) and are managed through
//! [`crate::app::alerts`]; the ingest writer matches each batch against them and writes
//! the alerts it fires to the outbox ([`crate::store::outbox`]) in the batch's own
//! transaction. This module sends them: [`sender`] is the background task `serve` starts
//! (claim due rows, send, record the outcome, retry with exponential backoff for
//! [`AlertConfig::retry_for`]), [`message`] builds what each action receives, and
//! [`outbound`] keeps webhooks away from private networks unless
//! `--alert-allow-private-networks` says otherwise.

pub mod message;
pub mod outbound;
pub mod sender;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The `serve` flags of alerts.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct AlertArgs {
    /// SMTP relay for e-mail alerts: `smtp://host:port` (STARTTLS when offered) or
    /// `smtps://host:port` (TLS from the start); `user:password@` for authentication.
    #[arg(long, env = "SENTRY_LITE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender address of e-mail alerts.
    #[arg(long, env = "SENTRY_LITE_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Allow alert webhooks to loopback, private and link-local addresses (off: a rule
    /// cannot target the server's own network).
    #[arg(long, env = "SENTRY_LITE_ALERT_ALLOW_PRIVATE_NETWORKS")]
    pub alert_allow_private_networks: bool,
    /// The first retry delay of a failed delivery, in milliseconds (doubling after each
    /// try, at most an hour). For tests.
    #[arg(
        long,
        env = "SENTRY_LITE_ALERT_RETRY_BASE_MS",
        default_value_t = 10_000,
        hide = true
    )]
    pub alert_retry_base_ms: u64,
    /// How often the sender looks for due deliveries, in milliseconds. For tests.
    #[arg(
        long,
        env = "SENTRY_LITE_ALERT_POLL_MS",
        default_value_t = 1_000,
        hide = true
    )]
    pub alert_poll_ms: u64,
    /// How long a claimed delivery stays reserved for its claimer, in milliseconds. For
    /// tests.
    #[arg(
        long,
        env = "SENTRY_LITE_ALERT_LEASE_MS",
        default_value_t = 120_000,
        hide = true
    )]
    pub alert_lease_ms: u64,
}

/// How alerts are sent.
#[derive(Clone, Debug)]
pub struct AlertConfig {
    /// The SMTP relay (`smtp://` or `smtps://`), if e-mail alerts are configured.
    pub smtp_url: Option<String>,
    /// The e-mails' sender.
    pub smtp_from: Option<String>,
    /// Whether webhooks may go to loopback/private/link-local addresses.
    pub allow_private_networks: bool,
    /// The first retry delay.
    pub retry_base: Duration,
    /// The longest retry delay.
    pub retry_max: Duration,
    /// How long a delivery is retried before it is given up.
    pub retry_for: Duration,
    /// How often the sender looks for due deliveries when idle.
    pub poll: Duration,
    /// How long a claimed delivery is reserved for its claimer (past it, another
    /// instance retries it: the claimer died).
    pub lease: Duration,
    /// One request's time limit.
    pub request_timeout: Duration,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            smtp_url: None,
            smtp_from: None,
            allow_private_networks: false,
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            retry_for: Duration::from_secs(26 * 3600),
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(120),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl AlertArgs {
    /// The configuration these flags give.
    pub fn config(&self) -> AlertConfig {
        AlertConfig {
            smtp_url: self.smtp_url.clone().filter(|s| !s.is_empty()),
            smtp_from: self.smtp_from.clone().filter(|s| !s.is_empty()),
            allow_private_networks: self.alert_allow_private_networks,
            retry_base: Duration::from_millis(self.alert_retry_base_ms.max(1)),
            poll: Duration::from_millis(self.alert_poll_ms.max(10)),
            lease: Duration::from_millis(self.alert_lease_ms.max(1_000)),
            ..AlertConfig::default()
        }
    }
}

impl AlertConfig {
    /// The delay before try `attempts + 1`, after `attempts` failed tries.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.retry_base
            .saturating_mul(1u32 << doublings)
            .min(self.retry_max)
    }
}

/// RFC 3339 of Unix milliseconds, as the rest of the API writes times.
pub fn iso_time(ms: i64) -> String {
    crate::clock::rfc3339_ms(ms)
}

/// The action types of the metrics' fixed label set.
const KINDS: [&str; 3] = ["webhook", "slack", "email"];
/// The outcomes of the metrics' fixed label set.
const OUTCOMES: [&str; 3] = ["sent", "retry", "failed"];

/// Deliveries tried, by action type and outcome (a fixed label set).
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    counts: [[AtomicU64; 3]; 3],
}

impl DeliveryCounters {
    /// Counts one try of a `kind` action (`webhook`, `slack`, `email`) that ended in
    /// `outcome` (`sent`, `retry`, `failed`).
    pub fn count(&self, kind: &str, outcome: &str) {
        let k = KINDS.iter().position(|k| *k == kind);
        let o = OUTCOMES.iter().position(|o| *o == outcome);
        if let (Some(k), Some(o)) = (k, o) {
            self.counts[k][o].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The count of one label pair.
    pub fn get(&self, kind: &str, outcome: &str) -> u64 {
        let k = KINDS.iter().position(|k| *k == kind);
        let o = OUTCOMES.iter().position(|o| *o == outcome);
        match (k, o) {
            (Some(k), Some(o)) => self.counts[k][o].load(Ordering::Relaxed),
            _ => 0,
        }
    }

    /// Appends the counter in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let name = "sentry_lite_alert_deliveries_total";
        let _ = writeln!(
            out,
            "# HELP {name} Alert delivery tries by action type and outcome.\n# TYPE {name} counter"
        );
        for (k, kind) in KINDS.iter().enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let n = self.counts[k][o].load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{type=\"{kind}\",outcome=\"{outcome}\"}} {n}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = AlertConfig::default();
        assert_eq!(c.backoff(1), Duration::from_secs(10));
        assert_eq!(c.backoff(2), Duration::from_secs(20));
        assert_eq!(c.backoff(4), Duration::from_secs(80));
        assert_eq!(c.backoff(40), Duration::from_secs(3600));
    }

    #[test]
    fn counters_keep_a_fixed_label_set() {
        let c = DeliveryCounters::default();
        c.count("webhook", "sent");
        c.count("nonsense", "sent");
        c.count("email", "nonsense");
        let mut out = String::new();
        c.render(&mut out);
        assert!(
            out.contains("type=\"webhook\",outcome=\"sent\"} 1"),
            "{out}"
        );
        assert_eq!(out.lines().filter(|l| !l.starts_with('#')).count(), 9);
        assert!(!out.contains("nonsense"));
    }
}
