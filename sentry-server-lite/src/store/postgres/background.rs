//! The background threads of a PostgreSQL store: the tag folder (see
//! [`super::ingest::fold_tags`]) and the key-change listener (`LISTEN`), both ending when
//! the store is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use postgres::fallible_iterator::FallibleIterator;

use super::ingest;
use super::pool::DbTarget;
use crate::store::schema::postgres::LOCK_TAG_FOLDER;

/// How often the leading instance folds queued tag counts into `issue_tags` when the
/// queue has emptied (it goes on without pause while there is a full chunk to fold).
const FOLD_INTERVAL: Duration = Duration::from_secs(1);
/// How often the other instances try to lead, folding once each time they do not.
const FOLLOWER_INTERVAL: Duration = Duration::from_secs(10);
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

/// A connection of a background thread's own: tries until it gets one, `waiting` logged
/// at each failure and [`RETRY`] between tries; `None` once the store is dropped.
fn connect(target: &DbTarget, stop: &Stop, waiting: &str) -> Option<postgres::Client> {
    while !stop.is_stopped() {
        match target.connect() {
            Ok(client) => return Some(client),
            Err(e) => {
                tracing::debug!(error = %e, "{waiting}");
                if stop.wait(RETRY) {
                    return None;
                }
            }
        }
    }
    None
}

/// Starts the tag folder; false when no thread could be started (counts then stay
/// queued, which reads still add up, until another instance folds them).
///
/// A fold upserts every `(issue, key, value)` row its queued counts touch, whichever
/// instance queued them, so N instances each folding every second would do that work N
/// times. One instance leads instead: its folder holds the session advisory lock
/// [`LOCK_TAG_FOLDER`] on a connection of its own and folds every [`FOLD_INTERVAL`]; the
/// others try for the lock every [`FOLLOWER_INTERVAL`] and, not getting it, fold once
/// then too, so the queue stays bounded even where the lock cannot be held (a pooler
/// in transaction mode). A leader that dies or loses its connection frees the lock with
/// its session, and another instance takes over at its next try.
pub fn start_folder(target: DbTarget, stop: Arc<Stop>) -> bool {
    let spawned = std::thread::Builder::new()
        .name("pg-tag-folder".into())
        .spawn(move || {
            while let Some(mut client) =
                connect(&target, &stop, "tag folding waits for the database")
            {
                let mut leader = false;
                while !stop.is_stopped() && !client.is_closed() {
                    if !leader {
                        leader = match client
                            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_TAG_FOLDER])
                            .and_then(|row| row.try_get::<_, bool>(0))
                        {
                            Ok(got) => got,
                            Err(e) => {
                                tracing::debug!(error = %e, "tag folder lost its connection");
                                break;
                            }
                        };
                        if leader {
                            tracing::debug!("this instance folds the tag counts");
                        }
                    }
                    let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        ingest::fold_tags(&mut client, ingest::FOLD_CHUNK)
                    }));
                    let pause = match round {
                        Ok(Ok(n)) if n >= ingest::FOLD_CHUNK as u64 => Duration::ZERO,
                        Ok(Ok(_)) if leader => FOLD_INTERVAL,
                        Ok(Ok(_)) => FOLLOWER_INTERVAL,
                        Ok(Err(e)) if client.is_closed() => {
                            tracing::debug!(error = %e, "tag folder lost its connection");
                            continue;
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
                }
                // The session (and the lock with it) is gone or going: start over.
                drop(client);
                if stop.wait(RETRY) {
                    return;
                }
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
            while let Some(mut client) =
                connect(&target, &stop, "key-change listener waits for the database")
            {
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
