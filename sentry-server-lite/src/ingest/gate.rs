//! The decode gate: how many request bodies are decompressed and parsed at once. Each
//! decode runs on the blocking pool holding a slot (the small bodies of authenticated
//! senders that `ingest::http` decodes inline, within their budget, need none); a
//! request that finds no free slot
//! within [`IngestLimits::decode_wait`] is answered 503 with `Retry-After`, so the
//! inflated bytes in flight never exceed `decode_slots × max_decompressed_bytes`
//! however many requests arrive.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::IngestError;
use crate::config::IngestLimits;

/// `Retry-After` seconds when every decode slot is busy.
pub const BUSY_RETRY_AFTER: u64 = 1;

/// Bounded decode slots.
#[derive(Debug)]
pub struct DecodeGate {
    slots: Arc<Semaphore>,
    wait: std::time::Duration,
}

/// A held decode slot (released on drop).
#[derive(Debug)]
pub struct DecodePermit {
    _slot: OwnedSemaphorePermit,
}

impl DecodeGate {
    /// A gate with the slots and wait of `limits`.
    pub fn new(limits: &IngestLimits) -> Self {
        DecodeGate {
            slots: Arc::new(Semaphore::new(limits.decode_slots)),
            wait: limits.decode_wait,
        }
    }

    /// Waits at most the configured time for a slot; else 503.
    pub async fn acquire(&self) -> Result<DecodePermit, IngestError> {
        let wait = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await;
        match wait {
            Ok(Ok(permit)) => Ok(DecodePermit { _slot: permit }),
            _ => Err(busy()),
        }
    }

    /// A slot if one is free now.
    pub fn try_acquire(&self) -> Option<DecodePermit> {
        self.slots
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| DecodePermit { _slot: permit })
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
