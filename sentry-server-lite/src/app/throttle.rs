//! Failed-login throttle: after [`MAX_FAILURES`] wrong passwords for one e-mail within
//! [`WINDOW_MS`], further logins for it are refused (429) until the window ends, before
//! any password is checked (which also bounds the argon2 work a guesser can cause).
//!
//! Counted per e-mail (lower-cased). This type counts in memory, for a single server
//! (SQLite); on PostgreSQL [`super::sessions::log_in`] counts in the database instead
//! (`Store::take_login_attempt`), so the limit holds for every instance together. A
//! lockout of one account by someone guessing lasts at most one window; a successful
//! login clears the count.

use std::collections::HashMap;

use parking_lot::Mutex;

/// Wrong passwords allowed per e-mail and window.
pub const MAX_FAILURES: u32 = 5;
/// The window, in milliseconds (15 minutes).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Entries kept before expired ones are dropped.
const MAX_ENTRIES: usize = 10_000;

/// Failed logins by e-mail: `(first failure of the window, failures)`.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (i64, u32)>>,
}

impl LoginThrottle {
    /// Takes one login attempt for `email` at `now_ms`, or `Err(seconds to wait)` when
    /// its attempts are used up. Attempts are counted before the password is checked, so
    /// that concurrent guesses cannot slip past the limit; [`LoginThrottle::succeeded`]
    /// gives them back.
    pub fn attempt(&self, email: &str, now_ms: i64) -> Result<(), u64> {
        let mut map = self.failures.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (start, _)| now_ms < *start + WINDOW_MS);
        }
        let entry = map.entry(email.to_lowercase()).or_insert((now_ms, 0));
        if now_ms >= entry.0 + WINDOW_MS {
            *entry = (now_ms, 0);
        }
        if entry.1 >= MAX_FAILURES {
            let ms = entry.0 + WINDOW_MS - now_ms;
            return Err((ms as u64).div_ceil(1000).max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Forgets the attempts of `email` (after a successful login).
    pub fn succeeded(&self, email: &str) {
        self.failures.lock().remove(&email.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_allowed_failures_for_one_window() {
        let t = LoginThrottle::default();
        for i in 0..MAX_FAILURES {
            assert_eq!(t.attempt("A@x.org", 1000), Ok(()), "attempt {i}");
        }
        assert_eq!(t.attempt("a@X.org", 1000), Err(WINDOW_MS as u64 / 1000));
        assert_eq!(t.attempt("b@x.org", 1000), Ok(()), "other e-mails are free");
        assert_eq!(t.attempt("a@x.org", 1000 + WINDOW_MS - 1), Err(1));
        // A new window starts counting from zero.
        for i in 0..MAX_FAILURES {
            assert_eq!(
                t.attempt("a@x.org", 1000 + WINDOW_MS),
                Ok(()),
                "attempt {i}"
            );
        }
        assert!(t.attempt("a@x.org", 2000 + WINDOW_MS).is_err());
        t.succeeded("a@x.org");
        assert_eq!(t.attempt("a@x.org", 2000 + WINDOW_MS), Ok(()));
    }
}
