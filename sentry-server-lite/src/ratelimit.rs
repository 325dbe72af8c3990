//! Per-key rate limits: a fixed window per key, counted in memory.
//!
//! A single server keeps the counters here. (With several instances on a shared
//! database, the counters would move into the database behind the `Store`.)

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::store::RateLimit;

/// Fixed-window counters by key id.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<i64, (i64, u64)>>,
}

impl RateLimiter {
    /// Takes `n` events from the key's budget at `now_ms`. `Err(seconds)` says how long
    /// until the window resets (at least 1) when the budget is spent; nothing is taken.
    pub fn check(&self, key_id: i64, limit: &RateLimit, n: u64, now_ms: i64) -> Result<(), u64> {
        let window_ms = (limit.window_secs.max(1) * 1000) as i64;
        let start = now_ms - now_ms.rem_euclid(window_ms);
        let mut windows = self.windows.lock();
        if windows.len() > 100_000 {
            windows.retain(|_, (s, _)| *s == start);
        }
        let entry = windows.entry(key_id).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 + n > limit.count {
            let remaining_ms = start + window_ms - now_ms;
            return Err(((remaining_ms + 999) / 1000).max(1) as u64);
        }
        entry.1 += n;
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
}
