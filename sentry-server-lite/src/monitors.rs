//! The cron-monitor scheduler: a background task of `serve` that, every
//! `monitor_interval` of the server's [`Clock`], runs one pass of
//! [`store::monitors::scheduler_pass`] (on PostgreSQL one instance at a time, under an
//! advisory lock) and then acts on what it found:
//!
//! - a monitor whose consecutive failures (failed, missed or timed-out runs) reached its
//!   `failure_issue_threshold` gets an **issue event**, written through the writer like
//!   any SDK event (`ingest::event_item`, grouped by the fingerprint `["monitor", slug]`),
//!   so the issue is created or updated — or reopened — by the one ingest batch, and the
//!   alert rules see a `new_issue` or `regression` exactly as for an error;
//! - a monitor that recovered (`recovery_threshold` successful runs in a row) gets its
//!   issue resolved.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::NormalizeLimits;
use crate::ingest::event_item;
use crate::store::monitors::{self, FailedMonitor};
use crate::store::{IssueStatus, ScrubSettings, Store, WriteOutcome};
use crate::writer::{Writer, Written};

/// How long the scheduler waits for the writer's answer for one issue event.
const WRITE_WAIT: Duration = Duration::from_secs(30);

/// What the scheduler needs.
#[derive(Clone)]
pub struct Scheduler {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The writer the issue events go through.
    pub writer: Writer,
    /// The server's clock.
    pub clock: Clock,
    /// The caps applied to the issue events.
    pub limits: NormalizeLimits,
}

/// The text of a monitor's issue.
pub fn issue_message(slug: &str, status: &str) -> String {
    let what = match status {
        "missed" => "missed check-in",
        "timeout" => "run timed out",
        _ => "run failed",
    };
    format!("Cron monitor {slug}: {what}")
}

impl Scheduler {
    /// Runs a pass every `interval` until `stop` resolves.
    pub fn spawn(
        self,
        interval: Duration,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            tokio::pin!(stop);
            let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tick.tick() => {
                        if let Err(e) = self.run_once().await {
                            tracing::warn!(error = %e, "cron monitor pass failed");
                        }
                    }
                }
            }
        })
    }

    /// One pass: mark missed and timed-out runs, write issue events, resolve recovered
    /// monitors' issues.
    pub async fn run_once(&self) -> Result<monitors::Pass, crate::store::StoreError> {
        let now = self.clock.now_ms();
        let store = self.store.clone();
        let pass =
            tokio::task::spawn_blocking(move || monitors::scheduler_pass(store.as_ref(), now))
                .await
                .map_err(|e| crate::store::StoreError::Invalid(format!("scheduler task: {e}")))??;
        for failed in &pass.failed {
            let issue = self.write_issue_event(failed, now).await;
            let store = self.store.clone();
            let id = failed.monitor_id;
            tokio::task::spawn_blocking(move || monitors::set_issue(store.as_ref(), id, issue))
                .await
                .map_err(|e| crate::store::StoreError::Invalid(format!("scheduler task: {e}")))??;
        }
        for (_, issue_id) in &pass.recovered {
            let store = self.store.clone();
            let issue_id = *issue_id;
            tokio::task::spawn_blocking(move || {
                store.set_issue_status(issue_id, IssueStatus::Resolved)
            })
            .await
            .map_err(|e| crate::store::StoreError::Invalid(format!("scheduler task: {e}")))??;
        }
        Ok(pass)
    }

    /// Writes the issue event of a failed monitor; the issue it went to, `None` when it
    /// could not be written (the next pass tries again).
    async fn write_issue_event(&self, f: &FailedMonitor, now: i64) -> Option<i64> {
        let body = json!({
            "event_id": Uuid::new_v4().simple().to_string(),
            "timestamp": now as f64 / 1000.0,
            "level": "error",
            "platform": "other",
            "logger": "sentry-lite.monitors",
            "message": issue_message(&f.slug, &f.status),
            "fingerprint": ["monitor", f.slug],
            "environment": f.environment,
            "tags": {"monitor.slug": f.slug, "monitor.status": f.status},
            "extra": {"consecutive_failures": f.failures},
        });
        let payload = serde_json::to_vec(&body).ok()?;
        let item = match event_item(
            f.project_id,
            &payload,
            None,
            now,
            &self.limits,
            &ScrubSettings::default(),
        ) {
            Ok(item) => item,
            Err(e) => {
                tracing::warn!(error = %e, "cron monitor issue event not prepared");
                return None;
            }
        };
        let answers = match self.writer.write_all(vec![item.event], Vec::new()) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "cron monitor issue event not queued");
                return None;
            }
        };
        for rx in answers {
            match tokio::time::timeout(WRITE_WAIT, rx).await {
                Ok(Ok(Ok(Written::Event(WriteOutcome::Stored { issue_id, .. })))) => {
                    return Some(issue_id)
                }
                other => {
                    tracing::warn!(outcome = ?other.map(|r| r.map(|w| w.map(|_| ()))), "cron monitor issue event not written");
                }
            }
        }
        None
    }
}
