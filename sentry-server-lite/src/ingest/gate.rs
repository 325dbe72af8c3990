//! The decode gate: how many request bodies are decompressed and parsed at once, and
//! how many inflated bytes they may hold together. Each decode runs on the blocking
//! pool holding a slot (the small bodies of authenticated senders that `ingest::http`
//! decodes inline, within their budget, need none) and a reservation of decoded bytes
//! out of [`IngestLimits::decode_budget_bytes`]; its decoded size is capped at its
//! reservation ([`DecodePermit::cap`]).
//!
//! A reservation starts small ([`initial_reservation`]: the body's own size when it is
//! not compressed, else 16 times its size, at least 1 MiB) and grows to the full
//! `max_decompressed_bytes` only when the body inflates past it
//! ([`DecodePermit::grow`]), so that many ordinary bodies decode side by side while a
//! few bombs cannot hold more than the budget. A request that finds no free slot, or no
//! free budget, within [`IngestLimits::decode_wait`] is answered 503 with `Retry-After`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_client::protocol::encoding::ContentEncoding;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::IngestError;
use crate::config::IngestLimits;

/// `Retry-After` seconds when every decode slot, or the byte budget, is taken.
pub const BUSY_RETRY_AFTER: u64 = 1;

/// The unit of the byte budget's semaphore.
const UNIT: usize = 1024;

/// The least a compressed body reserves.
const MIN_RESERVATION: usize = 1024 * 1024;

/// Bounded decode slots and decoded bytes.
#[derive(Debug)]
pub struct DecodeGate {
    slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    budget: usize,
    max_decoded: usize,
    wait: Duration,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// A held decode slot and byte reservation (released on drop).
#[derive(Debug)]
pub struct DecodePermit {
    _slot: Option<OwnedSemaphorePermit>,
    reserved: Option<OwnedSemaphorePermit>,
    cap: usize,
    gate: GateRef,
}

/// What a permit needs of its gate to grow and to account its bytes.
#[derive(Debug, Clone)]
struct GateRef {
    bytes: Arc<Semaphore>,
    budget: usize,
    max_decoded: usize,
    wait: Duration,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// How many decoded bytes a body of `sent` bytes reserves first: all of them when it
/// is not compressed (its decoded form is itself), else 16 times them, at least 1 MiB;
/// never more than `max`.
pub fn initial_reservation(encoding: ContentEncoding, sent: usize, max: usize) -> usize {
    let want = match encoding {
        ContentEncoding::Identity => sent.max(UNIT),
        _ => sent.saturating_mul(16).max(MIN_RESERVATION),
    };
    want.min(max)
}

fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX)
}

impl DecodeGate {
    /// A gate with the slots, budget and wait of `limits`.
    pub fn new(limits: &IngestLimits) -> Self {
        // The budget holds at least one body of the largest decoded size.
        let budget = limits
            .decode_budget_bytes
            .max(limits.max_decompressed_bytes)
            .min(Semaphore::MAX_PERMITS.saturating_mul(UNIT) / 2);
        DecodeGate {
            slots: Arc::new(Semaphore::new(limits.decode_slots)),
            bytes: Arc::new(Semaphore::new(budget / UNIT)),
            budget,
            max_decoded: limits.max_decompressed_bytes,
            wait: limits.decode_wait,
            in_flight: Arc::default(),
            peak: Arc::default(),
        }
    }

    fn gate_ref(&self) -> GateRef {
        GateRef {
            bytes: self.bytes.clone(),
            budget: self.budget,
            max_decoded: self.max_decoded,
            wait: self.wait,
            in_flight: self.in_flight.clone(),
            peak: self.peak.clone(),
        }
    }

    /// Waits at most the configured time for a slot and the full decoded size; else 503.
    pub async fn acquire(&self) -> Result<DecodePermit, IngestError> {
        self.acquire_bytes(self.max_decoded).await
    }

    /// Waits at most the configured time for a slot and the [`initial_reservation`] of
    /// a body of `sent` bytes in `encoding`; else 503.
    pub async fn acquire_for(
        &self,
        encoding: ContentEncoding,
        sent: usize,
    ) -> Result<DecodePermit, IngestError> {
        self.acquire_bytes(initial_reservation(encoding, sent, self.max_decoded))
            .await
    }

    async fn acquire_bytes(&self, bytes: usize) -> Result<DecodePermit, IngestError> {
        let bytes = bytes.min(self.budget);
        let deadline = tokio::time::Instant::now() + self.wait;
        let slot = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let reserved = tokio::time::timeout_at(
            deadline,
            self.bytes.clone().acquire_many_owned(units(bytes)),
        )
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
        let gate = self.gate_ref();
        gate.account(bytes);
        Ok(DecodePermit {
            _slot: Some(slot),
            reserved: Some(reserved),
            cap: bytes,
            gate,
        })
    }

    /// A slot and the least reservation (1 MiB) if they are free now.
    pub fn try_acquire(&self) -> Option<DecodePermit> {
        let slot = self.slots.clone().try_acquire_owned().ok()?;
        let bytes = MIN_RESERVATION.min(self.max_decoded).min(self.budget);
        let reserved = self
            .bytes
            .clone()
            .try_acquire_many_owned(units(bytes))
            .ok()?;
        let gate = self.gate_ref();
        gate.account(bytes);
        Some(DecodePermit {
            _slot: Some(slot),
            reserved: Some(reserved),
            cap: bytes,
            gate,
        })
    }

    /// The byte budget (decoded bytes held by decodes at once, at most).
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The most decoded bytes ever reserved at once.
    pub fn peak_reserved(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Decoded bytes reserved now.
    pub fn reserved(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

impl GateRef {
    fn account(&self, bytes: usize) {
        let now = self.in_flight.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

impl DecodePermit {
    /// The decoded bytes this decode may produce (its reservation).
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Whether [`DecodePermit::grow`] could raise [`DecodePermit::cap`].
    pub fn can_grow(&self) -> bool {
        self.cap < self.gate.max_decoded.min(self.gate.budget)
    }

    /// Grows the reservation to the full decoded size, waiting at most the gate's wait;
    /// 503 when the budget does not free up. When the rest is not free at once, the
    /// permit gives its reservation back and waits in line (the budget's semaphore is
    /// fair) for the whole: decodes waiting to grow never hold bytes another one waits
    /// for. Blocks the calling thread: call it on the blocking pool, where decodes run.
    pub fn grow(&mut self) -> Result<(), IngestError> {
        let target = self.gate.max_decoded.min(self.gate.budget);
        if self.cap >= target {
            return Ok(());
        }
        let more = units(target).saturating_sub(units(self.cap));
        if let Ok(extra) = self.gate.bytes.clone().try_acquire_many_owned(more) {
            self.gate.account(target - self.cap);
            match self.reserved.as_mut() {
                Some(r) => r.merge(extra),
                None => self.reserved = Some(extra),
            }
            self.cap = target;
            return Ok(());
        }
        // Accounted out before the bytes are given back, so the count never runs ahead.
        self.gate.in_flight.fetch_sub(self.cap, Ordering::Relaxed);
        self.cap = 0;
        self.reserved = None;
        let whole = self.gate.bytes.clone().acquire_many_owned(units(target));
        let acquired = match tokio::runtime::Handle::try_current() {
            Ok(rt) => rt
                .block_on(tokio::time::timeout(self.gate.wait, whole))
                .ok()
                .and_then(Result::ok),
            // Outside a runtime (unit tests): poll until the wait is over.
            Err(_) => {
                let deadline = Instant::now() + self.gate.wait;
                loop {
                    match self
                        .gate
                        .bytes
                        .clone()
                        .try_acquire_many_owned(units(target))
                    {
                        Ok(p) => break Some(p),
                        Err(_) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => break None,
                    }
                }
            }
        };
        let reserved = acquired.ok_or_else(busy)?;
        self.gate.account(target);
        self.reserved = Some(reserved);
        self.cap = target;
        Ok(())
    }
}

impl Drop for DecodePermit {
    fn drop(&mut self) {
        // Runs before the fields (the semaphore permits) are dropped: accounted out
        // first, then given back.
        self.gate.in_flight.fetch_sub(self.cap, Ordering::Relaxed);
    }
}

impl Default for DecodeGate {
    fn default() -> Self {
        DecodeGate::new(&IngestLimits::default())
    }
}

fn busy() -> IngestError {
    IngestError::Overloaded {
        retry_after: BUSY_RETRY_AFTER,
        detail: "server is busy decoding other requests; retry shortly".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(budget: usize, max: usize) -> IngestLimits {
        IngestLimits {
            decode_budget_bytes: budget,
            max_decompressed_bytes: max,
            decode_slots: 8,
            decode_wait: Duration::from_millis(30),
            ..IngestLimits::default()
        }
    }

    #[test]
    fn reservations_start_small_and_grow_within_the_budget() {
        assert_eq!(
            initial_reservation(ContentEncoding::Identity, 5000, 1 << 30),
            5000
        );
        assert_eq!(
            initial_reservation(ContentEncoding::Gzip, 1000, 1 << 30),
            MIN_RESERVATION
        );
        assert_eq!(
            initial_reservation(ContentEncoding::Zstd, 1 << 20, 1 << 30),
            16 << 20
        );
        assert_eq!(
            initial_reservation(ContentEncoding::Gzip, 1 << 20, 4 << 20),
            4 << 20
        );

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let gate = DecodeGate::new(&limits(4 << 20, 3 << 20));
        assert_eq!(gate.budget(), 4 << 20);
        let mut a = rt
            .block_on(gate.acquire_for(ContentEncoding::Gzip, 100))
            .expect("a");
        let b = rt
            .block_on(gate.acquire_for(ContentEncoding::Gzip, 100))
            .expect("b");
        assert_eq!(
            (a.cap(), b.cap(), gate.reserved()),
            (1 << 20, 1 << 20, 2 << 20)
        );
        // Growing `a` to 3 MiB needs 2 more of the 2 free: it fits.
        a.grow().expect("grow");
        assert_eq!((a.cap(), gate.reserved()), (3 << 20, 4 << 20));
        // The budget is spent: nothing more, and `b` cannot grow.
        assert!(matches!(
            rt.block_on(gate.acquire_for(ContentEncoding::Gzip, 100)),
            Err(IngestError::Overloaded { .. })
        ));
        let mut b = b;
        assert!(b.can_grow());
        assert!(matches!(b.grow(), Err(IngestError::Overloaded { .. })));
        assert_eq!(
            (b.cap(), gate.reserved()),
            (0, 3 << 20),
            "gave its share back"
        );
        drop(a);
        b.grow().expect("room again");
        assert_eq!(gate.peak_reserved(), 4 << 20, "never more than the budget");
        drop(b);
        assert_eq!(gate.reserved(), 0);
    }

    #[test]
    fn the_budget_holds_at_least_one_full_body() {
        let gate = DecodeGate::new(&limits(1 << 20, 8 << 20));
        assert_eq!(gate.budget(), 8 << 20);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let p = rt.block_on(gate.acquire()).expect("a full body fits");
        assert_eq!(p.cap(), 8 << 20);
        assert!(gate.try_acquire().is_none());
        drop(p);
        assert_eq!(gate.try_acquire().map(|p| p.cap()), Some(1 << 20));
    }
}
