//! The background threads of a PostgreSQL store: the tag folder (see
//! [`super::ingest::fold_tags`]) and the key-change listener (`LISTEN`), both ending when
//! the store is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use postgres::fallible_iterator::FallibleIterator;

use super::pool::{DbTarget, Pool};
use super::{ingest, with_pool};
use crate::store::StoreError;

/// How often an instance folds queued tag counts into `issue_tags` when the queue has
/// emptied (it goes on without pause while there is a full chunk to fold).
const FOLD_INTERVAL: Duration = Duration::from_secs(1);
/// The pause before reconnecting or retrying after a failure.
const RETRY: Duration = Duration::from_secs(1);
/// The notification channel of key changes (see the `key_changes` migration).
pub const KEY_CHANNEL: &str = "sentry_lite_keys";

/// Set once, when the store is dropped; background threads wait on it between rounds.
#[derive(Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Ends every thread waiting on this.
    pub fn stop(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
    }

    /// Waits up to `pause` (not at all when zero); whether the store was dropped.
    fn wait(&self, pause: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped && !pause.is_zero() {
            self.wake.wait_for(&mut stopped, pause);
        }
        *stopped
    }

    fn is_stopped(&self) -> bool {
        *self.stopped.lock()
    }
}

/// Starts the tag folder; false when no thread could be started (counts then stay
/// queued, which reads still add up, until another instance folds them).
pub fn start_folder(pool: Arc<Pool>, stop: Arc<Stop>) -> bool {
    let spawned = std::thread::Builder::new()
        .name("pg-tag-folder".into())
        .spawn(move || loop {
            let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                with_pool(&pool, |c| ingest::fold_tags(c, ingest::FOLD_CHUNK))
            }));
            let pause = match round {
                Ok(Ok(n)) if n >= ingest::FOLD_CHUNK as u64 => Duration::ZERO,
                Ok(Ok(_)) => FOLD_INTERVAL,
                Ok(Err(StoreError::Unavailable(why))) => {
                    tracing::debug!(%why, "tag folding waits for the database");
                    RETRY
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "folding tag counts failed; retrying");
                    RETRY
                }
                Err(_) => {
                    tracing::error!("folding tag counts panicked; retrying");
                    RETRY
                }
            };
            if stop.wait(pause) {
                return;
            }
        });
    match spawned {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "no background tag folder; counts stay queued until read");
            false
        }
    }
}

/// Starts the key-change listener: a connection of its own that `LISTEN`s on
/// [`KEY_CHANNEL`] and bumps `generation` on every notification, and whenever it
/// (re)connects, since changes may have been missed meanwhile. False when no thread could
/// be started (key caches then rely on their time to live alone).
pub fn start_key_listener(target: DbTarget, generation: Arc<AtomicU64>, stop: Arc<Stop>) -> bool {
    let spawned = std::thread::Builder::new()
        .name("pg-key-listener".into())
        .spawn(move || {
            while !stop.is_stopped() {
                let mut client = match target.connect() {
                    Ok(client) => client,
                    Err(e) => {
                        tracing::debug!(error = %e, "key-change listener waits for the database");
                        if stop.wait(RETRY) {
                            return;
                        }
                        continue;
                    }
                };
                if let Err(e) = client.batch_execute(&format!("LISTEN {KEY_CHANNEL}")) {
                    tracing::warn!(error = %e, "cannot listen for key changes; retrying");
                    if stop.wait(RETRY) {
                        return;
                    }
                    continue;
                }
                generation.fetch_add(1, Ordering::SeqCst);
                while !stop.is_stopped() {
                    let next = client
                        .notifications()
                        .timeout_iter(Duration::from_millis(250))
                        .next();
                    match next {
                        Ok(Some(_)) => {
                            generation.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(None) if client.is_closed() => break,
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "key-change listener lost its connection");
                            break;
                        }
                    }
                }
                generation.fetch_add(1, Ordering::SeqCst);
                if stop.wait(RETRY) {
                    return;
                }
            }
        });
    match spawned {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "no key-change listener; key caches expire by age only");
            false
        }
    }
}
