//! Envelopes captured from the official SDKs (Python `sentry-sdk`, `@sentry/node` and the
//! `sentry` crate) by `scripts/gen-fixtures`: every one must parse, keep every field
//! through a parse → write → parse round trip, and yield the fields a server needs
//! through the typed model.
//!
//! Expected line numbers are looked up in the case programs under `scripts/fixtures/`
//! (and `examples/official_sentry_fixtures.rs`), so editing a case without regenerating
//! the fixtures fails here.

use std::io::Read;
use std::path::Path;

use sentry_client::protocol::encoding::{decoder, decompress};
use sentry_client::protocol::{
    Auth, ContentEncoding, DecodeError, Envelope, EnvelopeHeaders, EnvelopeReader, ItemHeaders,
    ItemType, Limits,
};
use serde_json::Value;

mod fixture_support;
use fixture_support::{fixture_bytes, json, parse};

const CASES: &[(&str, &str)] = &[
    ("python", "message"),
    ("python", "error"),
    ("python", "unhandled"),
    ("python", "gzipped"),
    ("node", "message"),
    ("node", "error"),
    ("node", "unhandled"),
    ("node", "session"),
    ("node", "large"),
    ("rust", "message"),
    ("rust", "error"),
    ("rust", "panic"),
];

/// One line or payload of an envelope, as split by an independent minimal splitter.
struct RawItem {
    header: Value,
    payload: Vec<u8>,
}

/// Splits a well-formed envelope without our reader, as an oracle for it.
fn split(bytes: &[u8]) -> (Value, Vec<RawItem>) {
    let line_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| from + p)
    };
    let end = line_end(0);
    let header: Value = serde_json::from_slice(&bytes[..end]).expect("envelope header");
    let mut items = Vec::new();
    let mut pos = end + 1;
    while pos < bytes.len() {
        let end = line_end(pos);
        let item_header: Value = serde_json::from_slice(&bytes[pos..end]).expect("item header");
        let start = end + 1;
        let stop = match item_header.get("length").and_then(Value::as_u64) {
            Some(len) => start + len as usize,
            None => line_end(start.min(bytes.len())),
        };
        items.push(RawItem {
            header: item_header,
            payload: bytes[start.min(bytes.len())..stop].to_vec(),
        });
        pos = stop + 1;
    }
    (header, items)
}

/// A reader that hands out at most `step` bytes per call, to exercise the streaming path.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The paths at which two JSON values differ (object key order does not matter).
fn json_diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => json_diff(v, w, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: only on the left ({v})")),
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    out.push(format!("{path}.{k}: only on the right ({w})"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                json_diff(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} != {b}")),
    }
}

/// Asserts JSON equality, listing every differing path on failure.
fn assert_json_eq(written: &Value, original: &Value, ctx: &str) {
    let mut diffs = Vec::new();
    json_diff(written, original, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{ctx}: written (left) differs from original (right):\n{}",
        diffs.join("\n")
    );
    assert_eq!(written, original, "{ctx}");
}

/// Rebuilds the envelope through the typed model: every header and every event payload
/// is written from its parsed form.
fn rewrite_typed(envelope: &Envelope) -> Vec<u8> {
    let mut out = envelope.clone();
    for item in &mut out.items {
        if matches!(item.headers.ty, ItemType::Event | ItemType::Transaction) {
            let event = item.event().expect("event payload");
            item.payload = event.to_json_vec();
        }
    }
    out.to_vec()
}

#[test]
fn every_fixture_is_committed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found = Vec::new();
    for sdk in ["python", "node", "rust"] {
        for entry in std::fs::read_dir(dir.join(sdk)).expect("fixture dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8");
            if let Some(case) = name.strip_suffix(".envelope") {
                found.push((sdk.to_owned(), case.to_owned()));
            }
        }
    }
    found.sort();
    let mut expected: Vec<(String, String)> = CASES
        .iter()
        .map(|(s, c)| (s.to_string(), c.to_string()))
        .collect();
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn reader_agrees_with_an_independent_splitter() {
    for &(sdk, case) in CASES {
        let bytes = fixture_bytes(sdk, case);
        let envelope = parse(sdk, case);
        let (header, raw) = split(&bytes);
        assert_eq!(
            serde_json::to_value(&envelope.headers).expect("headers"),
            header,
            "{sdk}/{case}"
        );
        assert_eq!(envelope.items.len(), raw.len(), "{sdk}/{case}");
        for (item, raw) in envelope.items.iter().zip(&raw) {
            assert_eq!(item.payload, raw.payload, "{sdk}/{case}");
            assert_eq!(
                serde_json::to_value(&item.headers).expect("item headers"),
                raw.header,
                "{sdk}/{case}"
            );
        }
        // Streaming in small pieces gives the same envelope.
        for step in [1, 7, 4096] {
            let streamed = EnvelopeReader::new(Trickle { data: &bytes, step }, Limits::default())
                .and_then(EnvelopeReader::read_all)
                .unwrap_or_else(|e| panic!("{sdk}/{case} step {step}: {e}"));
            assert_eq!(streamed, envelope, "{sdk}/{case} step {step}");
        }
    }
}

#[test]
fn every_fixture_round_trips_at_the_json_level() {
    for &(sdk, case) in CASES {
        let original = fixture_bytes(sdk, case);
        let envelope = parse(sdk, case);
        let (orig_header, orig_items) = split(&original);

        for (what, written) in [
            ("raw write", envelope.to_vec()),
            ("typed write", rewrite_typed(&envelope)),
        ] {
            let ctx = format!("{sdk}/{case} {what}");
            let reparsed = Envelope::from_slice(&written, &Limits::default())
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let (header, items) = split(&written);
            assert_json_eq(&header, &orig_header, &format!("{ctx}: envelope header"));
            assert_eq!(items.len(), orig_items.len(), "{ctx}: item count");
            for (i, (new, old)) in items.iter().zip(&orig_items).enumerate() {
                // `length` is the byte length of what was written, so it can only be
                // compared with the payload it describes; everything else must be equal.
                let strip = |v: &Value| {
                    let mut v = v.clone();
                    v.as_object_mut().map(|m| m.remove("length"));
                    v
                };
                assert_json_eq(
                    &strip(&new.header),
                    &strip(&old.header),
                    &format!("{ctx}: item {i} header"),
                );
                assert_eq!(
                    new.header.get("length").is_some(),
                    old.header.get("length").is_some(),
                    "{ctx}: item {i} keeps its length form"
                );
                if let Some(len) = new.header.get("length").and_then(Value::as_u64) {
                    assert_eq!(len as usize, new.payload.len(), "{ctx}: item {i} length");
                }
                assert_json_eq(
                    &json(&new.payload),
                    &json(&old.payload),
                    &format!("{ctx}: item {i} payload"),
                );
            }
            // And the typed model reads the written form back to the same values.
            assert_eq!(reparsed.headers, envelope.headers, "{ctx}");
            for (new, old) in reparsed.items.iter().zip(&envelope.items) {
                assert_eq!(new.headers.ty, old.headers.ty, "{ctx}");
                if new.headers.ty == ItemType::Event {
                    assert_eq!(new.event().expect("event"), old.event().expect("event"));
                }
            }
        }

        // Header types alone round-trip too.
        let h: EnvelopeHeaders = serde_json::from_value(orig_header.clone()).expect("headers");
        assert_eq!(
            serde_json::to_value(&h).expect("write"),
            orig_header,
            "{sdk}/{case}"
        );
        for raw in &orig_items {
            let h: ItemHeaders = serde_json::from_value(raw.header.clone()).expect("item");
            assert_eq!(serde_json::to_value(&h).expect("write"), raw.header);
        }
    }
}

#[test]
fn recorded_requests_authenticate_and_name_their_encoding() {
    for &(sdk, case) in CASES {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(sdk)
            .join(format!("{case}.headers.json"));
        let sidecar: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("sidecar")).expect("sidecar JSON");
        let header = |name: &str| {
            sidecar["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .find(|pair| {
                    pair[0]
                        .as_str()
                        .is_some_and(|k| k.eq_ignore_ascii_case(name))
                })
                .and_then(|pair| pair[1].as_str())
        };
        let request_path = sidecar["path"].as_str().expect("path");
        let (route, query) = request_path.split_once('?').unwrap_or((request_path, ""));
        assert_eq!(route, "/api/42/envelope/", "{sdk}/{case}");
        // Python and Rust authenticate with the header, @sentry/node in the query string.
        let auth = match header("x-sentry-auth") {
            Some(value) => Auth::from_header(value),
            None => Auth::from_query(query),
        }
        .unwrap_or_else(|e| panic!("{sdk}/{case}: {e}"));
        assert_eq!(auth.key, "a3f1c2d4e5b60718293a4b5c6d7e8f90", "{sdk}/{case}");
        assert_eq!(auth.version, 7);
        let client = auth.client.expect("sentry_client");
        let expected = match sdk {
            "python" => "sentry.python/",
            "node" => "sentry.javascript.node/",
            _ => "sentry.rust/",
        };
        assert!(client.starts_with(expected), "{sdk}/{case}: {client}");
        // The recorded Content-Encoding is one we decode: sentry-python sends br (gzip
        // without brotli), @sentry/node gzips bodies over 32 KiB, sentry-rust never
        // compresses.
        let encoding = header("content-encoding").unwrap_or("");
        let encoding = ContentEncoding::from_header(encoding).expect("supported encoding");
        let expected = match (sdk, case) {
            ("python", "gzipped") | ("node", "large") => ContentEncoding::Gzip,
            ("python", _) => ContentEncoding::Brotli,
            _ => ContentEncoding::Identity,
        };
        assert_eq!(encoding, expected, "{sdk}/{case}");
        if encoding != ContentEncoding::Identity {
            // The body as it came over the wire decodes to the envelope, also streamed,
            // and not one byte more than the cap is produced.
            let body_path = path.with_file_name(format!("{case}.body.{}", encoding.as_str()));
            let body = std::fs::read(&body_path).expect("compressed body");
            let envelope = fixture_bytes(sdk, case);
            let decoded = decompress(encoding, &body, envelope.len()).expect("decode");
            assert_eq!(decoded, envelope, "{sdk}/{case}");
            assert!(matches!(
                decompress(encoding, &body, envelope.len() - 1),
                Err(DecodeError::TooLarge { .. })
            ));
            let streamed = EnvelopeReader::new(decoder(encoding, &body), Limits::default())
                .and_then(EnvelopeReader::read_all)
                .expect("streamed decode");
            assert_eq!(streamed, parse(sdk, case));
        }
    }
}
