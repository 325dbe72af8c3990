//! A transport that answers its first send with a rate limit of one category and
//! records every envelope: the rate-limit tests of logs and metrics share it.

use std::sync::{Arc, Mutex};

use sentry_client::protocol::Envelope;
use sentry_client::transport::{AsyncTransport, SendFuture, SendResult};

/// Answers the first send with `60:{category}:key`, records every envelope.
pub struct Limiting {
    category: &'static str,
    /// Every envelope sent, in order.
    pub sent: Mutex<Vec<Envelope>>,
}

impl Limiting {
    /// Limits `category` (a rate-limit category name such as `log_item`).
    pub fn new(category: &'static str) -> Limiting {
        Limiting {
            category,
            sent: Mutex::new(Vec::new()),
        }
    }
}

impl AsyncTransport for Limiting {
    fn send(&self, envelope: Arc<Envelope>) -> SendFuture {
        let mut sent = self.sent.lock().expect("lock");
        let first = sent.is_empty();
        sent.push((*envelope).clone());
        let rate_limits = first.then(|| format!("60:{}:key", self.category));
        Box::pin(std::future::ready(SendResult::Sent { rate_limits }))
    }
}
