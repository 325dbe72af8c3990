//! Shared test helpers: a destination logger that records what it receives.
#![allow(dead_code)]

use std::cell::RefCell;

use log::{Level, LevelFilter, Log, Metadata, Record};
use sentry_client::protocol::Event;

thread_local! {
    /// What the recording logger received on this thread (tests run in parallel threads,
    /// each reads its own).
    static RECEIVED: RefCell<Vec<(Level, String, String)>> = const { RefCell::new(Vec::new()) };
}

/// A destination that, like env_logger, logs what its own level enables.
#[derive(Debug)]
pub struct RecordingLogger {
    pub level: LevelFilter,
}

impl Log for RecordingLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }
    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            RECEIVED.with(|r| {
                r.borrow_mut().push((
                    record.level(),
                    record.target().to_owned(),
                    record.args().to_string(),
                ))
            });
        }
    }
    fn flush(&self) {}
}

/// Takes what the recording logger received on this thread: (level, target, message).
pub fn take_received() -> Vec<(Level, String, String)> {
    RECEIVED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

/// The messages of an event's breadcrumbs, oldest first.
pub fn crumb_messages(event: &Event) -> Vec<String> {
    event
        .breadcrumbs
        .iter()
        .filter_map(|b| b.message.clone())
        .collect()
}
