//! What the fuzz target feeds one input to: the ingest path's work on untrusted bytes,
//! without a network or a database — decoding (every content encoding, the legacy store
//! forms), envelope framing, and for every event item the lenient read, the caps, the
//! scrubber, normalization, grouping and compression ([`event_item`]); the same bytes
//! also as a `/store/` body and as a browser security report.
//!
//! The first input byte picks the content encoding, the rest is the body, so that the
//! fuzzer reaches the decoders and the plain readers alike.
//!
//! ```
//! sentry_lite_fuzz::run(b"\x00{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\"}\n{\"message\":\"hi\"}\n");
//! ```

use sentry_client::protocol::encoding::{decode_legacy_store_body, decompress, ContentEncoding};
use sentry_client::protocol::{Envelope, ItemType, Limits};
use sentry_server_lite::config::NormalizeLimits;
use sentry_server_lite::ingest::event_item;
use sentry_server_lite::ingest::security::{events_from_reports, ReportMeta};
use sentry_server_lite::store::ScrubSettings;

/// The decompressed-size cap the fuzz target allows (the server's default is 100 MiB; a
/// smaller one keeps each run fast while still exercising the cap).
pub const MAX_DECODED: usize = 4 * 1024 * 1024;

const ENCODINGS: [ContentEncoding; 5] = [
    ContentEncoding::Identity,
    ContentEncoding::Gzip,
    ContentEncoding::Deflate,
    ContentEncoding::Brotli,
    ContentEncoding::Zstd,
];

/// Runs one input through everything ingest does to a body (see the crate docs). Any
/// panic is a bug; errors are the expected answer to most inputs.
pub fn run(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = ENCODINGS[usize::from(selector) % ENCODINGS.len()];
    let decoded = match encoding {
        ContentEncoding::Identity => Ok(body.to_vec()),
        other => decompress(other, body, MAX_DECODED),
    };
    let limits = NormalizeLimits::DEFAULT;
    let scrub = ScrubSettings::default();
    if let Ok(bytes) = decoded {
        if let Ok(envelope) = Envelope::from_slice(&bytes, &Limits::default()) {
            for item in &envelope.items {
                if *item.ty() == ItemType::Event {
                    let _ = event_item(
                        1,
                        &item.payload,
                        envelope.headers.event_uuid(),
                        0,
                        &limits,
                        &scrub,
                    );
                }
            }
        }
        let _ = event_item(1, &bytes, None, 0, &limits, &scrub);
        if let Ok(events) = events_from_reports(&bytes, &ReportMeta::default()) {
            for e in events {
                let _ = event_item(1, &e, None, 0, &limits, &scrub);
            }
        }
    }
    if let Ok(store) = decode_legacy_store_body(body, MAX_DECODED) {
        let _ = event_item(1, &store, None, 0, &limits, &scrub);
    }
}
