//! The worker's shutdown: what is queued is finished and sent within the deadline, what
//! cannot be sent in time is spooled (or counted), and a last client report goes out.

use super::*;

impl WorkerState {
    /// Shutdown: spool (or count) what is left, send a last client report, exit.
    pub(super) async fn shutdown(mut self, mut rx: mpsc::Receiver<Job>) {
        let deadline = self
            .shared
            .deadline
            .lock()
            .unwrap_or_else(|| Instant::now() + self.options.shutdown_timeout);
        rx.close();
        // Jobs never started: finish them; with a spool they are kept, else counted.
        while let Ok(job) = rx.try_recv() {
            let job = match job {
                Job::Log(pending) => {
                    self.on_log(pending, true);
                    continue;
                }
                Job::Metric(pending) => {
                    self.on_metric(pending, true);
                    continue;
                }
                other => other,
            };
            let Some(envelope) = self.job_envelope(job) else {
                continue;
            };
            self.leave_behind(Outgoing {
                envelope: Arc::new(envelope),
                counted: 1,
                spooled: None,
                attempts: 0,
            });
        }
        self.leave_batches_behind();
        // Give in-flight sends the time that is left, minus a margin for the report.
        let margin = Duration::from_millis(50);
        while !self.in_flight.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left <= margin {
                break;
            }
            match tokio::time::timeout(left - margin, self.in_flight.join_next()).await {
                Ok(Some(Ok((key, result)))) => {
                    // A failure here must not start new probes: park or count it.
                    match result {
                        SendResult::Retry { .. } => {
                            if let Some(out) = self.flying.remove(&key) {
                                self.restore_report(&out);
                                self.leave_behind(out);
                            }
                        }
                        other => self.on_result(key, other),
                    }
                }
                Ok(Some(Err(_))) | Ok(None) => {}
                Err(_) => break,
            }
        }
        self.in_flight.abort_all();
        let flying: Vec<Outgoing> = self.flying.drain().map(|(_, o)| o).collect();
        for out in flying {
            self.restore_report(&out);
            self.leave_behind(out);
        }
        let waiting: Vec<Outgoing> = self.retry.drain(..).collect();
        for out in waiting {
            self.leave_behind(out);
        }
        // The last client report goes alone, if there is time.
        if self.options.send_client_reports && !self.shared.discards.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(item) = self.shared.discards.take_item() {
                let mut env = Envelope::new();
                env.push(item);
                let fut = transport::send(&self.transport, Arc::new(env));
                match tokio::time::timeout(left, CatchUnwind(fut)).await {
                    Ok(Some(SendResult::Sent { .. })) => {
                        self.shared
                            .log(format_args!("client report sent at shutdown"));
                    }
                    _ => self
                        .shared
                        .log(format_args!("client report not sent at shutdown")),
                }
            }
        }
        self.shared.log(format_args!("worker stopped"));
    }

    /// At shutdown: keep an unsent envelope in the spool, or count it as lost.
    pub(super) fn leave_behind(&mut self, mut out: Outgoing) {
        if let Some(spool) = &mut self.spool {
            if let Some(entry) = out.spooled.take() {
                spool.put_back(entry);
            } else {
                let env = Arc::make_mut(&mut out.envelope);
                env.items.retain(|i| *i.ty() != ItemType::ClientReport);
                if !env.items.is_empty() {
                    match spool.push(&env.to_vec()) {
                        Ok(_) => self
                            .shared
                            .log(format_args!("unsent envelope spooled at shutdown")),
                        Err(e) => self
                            .shared
                            .log(format_args!("cannot spool at shutdown: {e}")),
                    }
                }
            }
        } else if out.spooled.is_none() {
            for (cat, n) in out.event_items() {
                self.shared
                    .discards
                    .record(DiscardReason::NetworkError, cat, n);
            }
            self.shared.log(format_args!(
                "unsent envelope dropped at shutdown (network_error)"
            ));
        }
        self.finish_counted(&out);
    }
}
