//! Guards of password checks: the login throttle and the bound on password hashing.
//!
//! **Login throttle.** Attempts are counted before any password is checked, in windows
//! of [`WINDOW_MS`], under two keys:
//! - per client address ([`address_key`]: an IPv4 address, or the /64 of an IPv6
//!   one): at most [`MAX_ADDRESS_ATTEMPTS`] failed logins per window, whatever the
//!   e-mail, so a flood of guesses (known or unknown e-mails) from one place is refused
//!   (429); a successful login from the address starts its count again (so an office
//!   behind one NAT is not throttled by its own daily logins);
//! - per account *and* address ([`account_key`]): at most [`MAX_FAILURES`] wrong
//!   passwords for one e-mail from one address; a successful login clears it.
//!
//! There is deliberately no lockout of an e-mail as such: guesses from one address
//! never stop the owner logging in from another (the owner's right password from an
//! address that is not throttled always passes). A guesser spread over many addresses
//! gets [`MAX_FAILURES`] guesses per address and window, and each costs one slot of the
//! bounded hashing below. (Sentry and GitLab throttle by address too; GitLab also locks
//! the account, which is what lets anyone lock a known account out.) Behind a reverse
//! proxy every client has the proxy's address: the address limit then counts for all
//! together, which is why it is much larger than the per-account one.
//!
//! [`LoginThrottle`] counts in memory, for a single server (SQLite); on PostgreSQL
//! [`super::sessions::log_in`] counts in the database instead
//! (`Store::take_login_attempt`, keyed by the same strings), so the limits hold for
//! every instance together.
//!
//! **Bounded hashing.** argon2 takes ~19 MiB and tens of milliseconds per hash or
//! verification. Every one made for a request (login, sign-up, password change,
//! invitation) runs through [`hashing`]: at most [`HashGate::slots`] at once, at most
//! [`HashGate::queue`] waiting for a slot (each at most [`HASH_WAIT`]); beyond that the
//! request is answered 503 with `Retry-After` ([`AppError::Busy`]). The gate is one per
//! process, like the memory and CPU it protects.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::AppError;

/// Wrong passwords allowed per e-mail, address and window.
pub const MAX_FAILURES: u32 = 5;
/// Failed logins (any e-mail) allowed per address and window.
pub const MAX_ADDRESS_ATTEMPTS: u32 = 30;
/// The window, in milliseconds (15 minutes).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Entries kept before expired ones are dropped.
const MAX_ENTRIES: usize = 10_000;

/// The throttle key of a client address: the address, or the /64 network of an IPv6
/// address (one host usually owns a whole /64); `addr:?` when it is not known.
pub fn address_key(addr: Option<IpAddr>) -> String {
    match addr.map(canonical) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => format!("addr:{ip}"),
        None => "addr:?".to_owned(),
    }
}

/// The throttle key of failed logins for `email` (lower-cased) from `addr`.
pub fn account_key(email: &str, addr: Option<IpAddr>) -> String {
    format!("{}|{}", email.to_lowercase(), address_key(addr))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Login attempts by key: `(start of the window, attempts)`.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (i64, u32)>>,
}

impl LoginThrottle {
    /// Takes one attempt under `key` at `now_ms`, or `Err(seconds to wait)` when `max`
    /// were made in the current window. Attempts are counted before the password is
    /// checked, so that concurrent guesses cannot slip past the limit;
    /// [`LoginThrottle::succeeded`] forgets them.
    pub fn attempt(&self, key: &str, max: u32, now_ms: i64) -> Result<(), u64> {
        let mut map = self.failures.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (start, _)| now_ms < *start + WINDOW_MS);
        }
        let entry = map.entry(key.to_owned()).or_insert((now_ms, 0));
        if now_ms >= entry.0 + WINDOW_MS {
            *entry = (now_ms, 0);
        }
        if entry.1 >= max {
            let ms = entry.0 + WINDOW_MS - now_ms;
            return Err((ms as u64).div_ceil(1000).max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Forgets the attempts under `key` (after a successful login).
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().remove(key);
    }
}

/// Longest wait for a hashing slot before the request is answered 503.
pub const HASH_WAIT: Duration = Duration::from_secs(5);
/// `Retry-After` seconds when hashing is saturated.
pub const HASH_RETRY_AFTER: u64 = 1;

/// Bounds the password hashes and verifications running at once (see the module doc).
#[derive(Debug)]
pub struct HashGate {
    state: Mutex<GateState>,
    freed: Condvar,
    slots: AtomicUsize,
    queue: AtomicUsize,
    peak: AtomicUsize,
    refused: AtomicU64,
}

#[derive(Debug, Default)]
struct GateState {
    running: usize,
    waiting: usize,
}

/// What [`HashGate`] has done so far (for `/metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashStats {
    /// Hashes running now.
    pub running: usize,
    /// The most that ever ran at once.
    pub peak: usize,
    /// Requests refused because every slot and queue place was taken.
    pub refused: u64,
}

/// The process's hashing gate.
pub fn hashing() -> &'static HashGate {
    static GATE: OnceLock<HashGate> = OnceLock::new();
    GATE.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashGate::new(cores.clamp(2, 4), 8)
    })
}

impl HashGate {
    /// A gate with `slots` hashes at once and `queue` waiting.
    pub fn new(slots: usize, queue: usize) -> HashGate {
        HashGate {
            state: Mutex::new(GateState::default()),
            freed: Condvar::new(),
            slots: AtomicUsize::new(slots.max(1)),
            queue: AtomicUsize::new(queue),
            peak: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Hashes at once (default: the cores, 2 to 4).
    pub fn slots(&self) -> usize {
        self.slots.load(Ordering::Relaxed)
    }

    /// Requests that may wait for a slot (default 8).
    pub fn queue(&self) -> usize {
        self.queue.load(Ordering::Relaxed)
    }

    /// Sets the slots and the queue (`serve` does, from its flags).
    pub fn configure(&self, slots: usize, queue: usize) {
        self.slots.store(slots.max(1), Ordering::Relaxed);
        self.queue.store(queue, Ordering::Relaxed);
        self.freed.notify_all();
    }

    /// The counters so far.
    pub fn stats(&self) -> HashStats {
        HashStats {
            running: self.state.lock().running,
            peak: self.peak.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` (one hash or verification) in a slot, or [`AppError::Busy`] when none is
    /// free within the queue and [`HASH_WAIT`].
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T, AppError> {
        {
            let mut st = self.state.lock();
            if st.running >= self.slots() {
                if st.waiting >= self.queue() {
                    return Err(self.busy());
                }
                st.waiting += 1;
                let deadline = Instant::now() + HASH_WAIT;
                while st.running >= self.slots() {
                    if self.freed.wait_until(&mut st, deadline).timed_out()
                        && st.running >= self.slots()
                    {
                        st.waiting -= 1;
                        return Err(self.busy());
                    }
                }
                st.waiting -= 1;
            }
            st.running += 1;
            self.peak.fetch_max(st.running, Ordering::Relaxed);
        }
        let _slot = Slot(self);
        Ok(f())
    }

    fn busy(&self) -> AppError {
        self.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("password hashing saturated: request refused");
        AppError::Busy(HASH_RETRY_AFTER)
    }
}

/// A taken slot, given back when dropped (also when the hash panics).
struct Slot<'a>(&'a HashGate);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.state.lock().running -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_allowed_failures_for_one_window() {
        let t = LoginThrottle::default();
        let a = account_key("A@x.org", None);
        for i in 0..MAX_FAILURES {
            assert_eq!(t.attempt(&a, MAX_FAILURES, 1000), Ok(()), "attempt {i}");
        }
        let a2 = account_key("a@X.org", None);
        assert_eq!(a, a2, "e-mails are compared lower-cased");
        assert_eq!(
            t.attempt(&a2, MAX_FAILURES, 1000),
            Err(WINDOW_MS as u64 / 1000)
        );
        let b = account_key("b@x.org", None);
        assert_eq!(t.attempt(&b, MAX_FAILURES, 1000), Ok(()), "other e-mails");
        assert_eq!(t.attempt(&a, MAX_FAILURES, 1000 + WINDOW_MS - 1), Err(1));
        // A new window starts counting from zero.
        for i in 0..MAX_FAILURES {
            assert_eq!(
                t.attempt(&a, MAX_FAILURES, 1000 + WINDOW_MS),
                Ok(()),
                "attempt {i}"
            );
        }
        assert!(t.attempt(&a, MAX_FAILURES, 2000 + WINDOW_MS).is_err());
        t.succeeded(&a);
        assert_eq!(t.attempt(&a, MAX_FAILURES, 2000 + WINDOW_MS), Ok(()));
    }

    #[test]
    fn keys_separate_addresses_and_group_ipv6_networks() {
        let v4: IpAddr = "10.0.0.1".parse().expect("ip");
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        assert_ne!(
            account_key("a@x", Some(v4)),
            account_key("a@x", Some(other))
        );
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert_eq!(address_key(Some(mapped)), address_key(Some(v4)));
        let h1: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let h2: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let h3: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_key(Some(h1)), address_key(Some(h2)));
        assert_ne!(address_key(Some(h1)), address_key(Some(h3)));
    }

    #[test]
    fn the_gate_refuses_beyond_its_slots_and_queue() {
        let gate = std::sync::Arc::new(HashGate::new(1, 1));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let g = gate.clone();
        let holder = std::thread::spawn(move || {
            g.run(|| {
                started_tx.send(()).expect("send");
                release_rx.recv().expect("release");
            })
        });
        started_rx.recv().expect("started");
        let g = gate.clone();
        let waiter = std::thread::spawn(move || g.run(|| 7));
        // Wait (generously) until the waiter sits in the queue.
        let queued = (0..2000).any(|_| {
            std::thread::sleep(Duration::from_millis(5));
            gate.state.lock().waiting == 1
        });
        assert!(queued, "the second hash waits for the slot");
        assert!(
            matches!(gate.run(|| ()), Err(AppError::Busy(_))),
            "queue full"
        );
        release_tx.send(()).expect("release");
        assert!(holder.join().expect("holder").is_ok());
        assert_eq!(waiter.join().expect("waiter").ok(), Some(7));
        let stats = gate.stats();
        assert_eq!((stats.running, stats.peak, stats.refused), (0, 1, 1));
    }
}
