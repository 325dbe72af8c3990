//! A mutex that shrugs off poisoning: `std::sync::Mutex` whose `lock` returns the guard
//! even after a thread panicked while holding it. The SDK's locks guard plain data
//! (scope layers, counters, queues of bytes) that a panic cannot leave half-written in
//! a way that matters, and a panic hook that reports the panic must still be able to take
//! them. Uncontended, it costs what `parking_lot`'s did: one atomic swap each way.

use std::sync::{MutexGuard, PoisonError};

/// `std::sync::Mutex` with a `lock` that ignores poisoning.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    /// A new mutex holding `value`.
    pub(crate) const fn new(value: T) -> Self {
        Mutex(std::sync::Mutex::new(value))
    }

    /// Locks, waiting for other holders; a poisoned lock is taken over as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_locks() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = std::sync::Arc::clone(&m);
        let joined = std::thread::spawn(move || {
            let _guard = m2.lock();
            panic!("poison it");
        })
        .join();
        assert!(joined.is_err());
        *m.lock() += 1;
        assert_eq!(*m.lock(), 2);
    }
}
