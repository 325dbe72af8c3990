//! Per-key rate limits: a fixed window per key, counted in memory.
//!
//! A single server keeps the counters here. (With several instances on a shared
//! database, the counters would move into the database behind the `Store`.)

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::store::RateLimit;

/// The longest window honoured (100 years): a longer stored window counts as this one,
/// so that no stored value can overflow the arithmetic.
pub const MAX_WINDOW_SECS: u64 = 100 * 366 * 86_400;

/// Fixed-window counters by key id.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<i64, (i64, u64)>>,
}

impl RateLimiter {
    /// Takes `n` events from the key's budget at `now_ms`. `Err(seconds)` says how long
    /// until the window resets (at least 1) when the budget is spent; nothing is taken.
    /// Any stored limit is safe: the window is clamped to 1 s ..= [`MAX_WINDOW_SECS`].
    pub fn check(&self, key_id: i64, limit: &RateLimit, n: u64, now_ms: i64) -> Result<(), u64> {
        // At most 3.2e12 ms: fits i64, and so do `start + window_ms` for any real clock.
        let window_ms = (limit.window_secs.clamp(1, MAX_WINDOW_SECS) * 1000) as i64;
        let start = now_ms - now_ms.rem_euclid(window_ms);
        let mut windows = self.windows.lock();
        if windows.len() > 100_000 {
            windows.retain(|_, (s, _)| *s == start);
        }
        let entry = windows.entry(key_id).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        match entry.1.checked_add(n).filter(|taken| *taken <= limit.count) {
            Some(taken) => entry.1 = taken,
            None => {
                let remaining_ms = start.saturating_add(window_ms).saturating_sub(now_ms);
                return Err((remaining_ms.saturating_add(999) / 1000).max(1) as u64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_budget() {
        let rl = RateLimiter::default();
        let limit = RateLimit {
            count: 2,
            window_secs: 60,
        };
        let t = 120_000 + 10_500;
        assert_eq!(rl.check(1, &limit, 1, t), Ok(()));
        assert_eq!(rl.check(1, &limit, 1, t), Ok(()));
        assert_eq!(rl.check(1, &limit, 1, t), Err(50));
        assert_eq!(rl.check(2, &limit, 1, t), Ok(()), "keys are independent");
        assert_eq!(rl.check(1, &limit, 1, 180_000), Ok(()), "a new window");
    }

    #[test]
    fn any_stored_limit_is_safe() {
        let rl = RateLimiter::default();
        let now = 1_717_243_200_000;
        // A window of 2^61 s overflowed `window_secs * 1000` (to 0: rem_euclid panicked).
        for (key, window_secs) in [0, 1 << 61, u64::MAX / 1000 + 1, u64::MAX]
            .into_iter()
            .enumerate()
        {
            let key = key as i64;
            let limit = RateLimit {
                count: 1,
                window_secs,
            };
            assert_eq!(
                rl.check(key, &limit, 1, now),
                Ok(()),
                "window {window_secs}"
            );
            let wait = rl.check(key, &limit, 1, now).expect_err("spent");
            assert!(
                (1..=MAX_WINDOW_SECS).contains(&wait),
                "window {window_secs}: {wait}"
            );
        }
        let huge = RateLimit {
            count: u64::MAX,
            window_secs: 60,
        };
        assert_eq!(rl.check(80, &huge, u64::MAX, now), Ok(()));
        assert!(
            rl.check(80, &huge, u64::MAX, now).is_err(),
            "no wrap-around"
        );
    }
}
