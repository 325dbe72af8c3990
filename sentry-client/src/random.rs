//! Random numbers for event ids, sampling, retry jitter and file names, without the
//! `rand` crate: a xoshiro256++ generator per thread, seeded from std's `RandomState`
//! (whose SipHash keys the standard library draws from the OS's random source once per
//! thread). Not for secrets; event ids only need to be unique, which 256 bits of state
//! from 128 bits of OS entropy per thread give.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<[u64; 4]> = Cell::new(seed());
}

fn seed() -> [u64; 4] {
    let mut state = [0u64; 4];
    for (i, word) in state.iter_mut().enumerate() {
        // Each `RandomState::new()` in a thread gets different keys (std bumps them).
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_usize(i);
        *word = hasher.finish();
    }
    if state == [0; 4] {
        state[0] = 1; // the one state xoshiro cannot leave
    }
    state
}

/// The next 64 random bits of this thread's generator.
pub(crate) fn next_u64() -> u64 {
    STATE.with(|cell| {
        let mut s = cell.get();
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        cell.set(s);
        result
    })
}

/// A uniform float in `[0, 1)`.
pub(crate) fn next_f64() -> f64 {
    (next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// 16 random bytes (for a v4 UUID).
pub(crate) fn bytes16() -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&next_u64().to_le_bytes());
    out[8..].copy_from_slice(&next_u64().to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn values_differ_within_and_across_threads() {
        let here: HashSet<[u8; 16]> = (0..10_000).map(|_| bytes16()).collect();
        assert_eq!(here.len(), 10_000);
        let there: Vec<[u8; 16]> = std::thread::spawn(|| (0..1_000).map(|_| bytes16()).collect())
            .join()
            .expect("thread");
        assert!(there.iter().all(|b| !here.contains(b)));
    }

    #[test]
    fn floats_are_in_range_and_spread() {
        let xs: Vec<f64> = (0..10_000).map(|_| next_f64()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        // Each tenth of [0, 1) gets ~1,000 of 10,000 draws; 700 is > 9 sigma away.
        for decile in 0..10 {
            let lo = decile as f64 / 10.0;
            let n = xs.iter().filter(|x| (lo..lo + 0.1).contains(*x)).count();
            assert!(n > 700, "decile {decile}: {n}");
        }
        // Every bit position takes both values.
        let (or, and) = (0..1_000).fold((0u64, !0u64), |(o, a), _| {
            let x = next_u64();
            (o | x, a & x)
        });
        assert_eq!((or, and), (!0, 0));
    }
}
