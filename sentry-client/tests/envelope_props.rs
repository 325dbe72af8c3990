//! Property tests for the envelope reader and writer, and explicit hostile inputs.
//!
//! * Generated envelopes (random headers, items of every type with and without `length`,
//!   random payloads) survive `to_vec` → `from_slice`, also when streamed in pieces.
//! * Random bytes, and random mutations of valid envelopes, give `Ok` or `Err` — never a
//!   panic or a hang — and whatever is accepted writes back to itself.
//! * 1 MiB of random bytes, a truncated envelope, a wrong `length` and decompression
//!   bombs (10 MiB and more of zeros) each give their typed error, and a counting global
//!   allocator shows that the call allocated no more than the configured cap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{Read, Write};

use proptest::prelude::*;
use proptest::sample::Index;
use sentry_client::protocol::encoding::{
    decoder, decompress, gzip, ContentEncoding, ZSTD_MAX_WINDOW_LOG,
};
use sentry_client::protocol::{
    DecodeError, Envelope, EnvelopeError, EnvelopeHeaders, EnvelopeReader, Item, ItemHeaders,
    ItemType, Limits, Sdk, Timestamp,
};
use serde_json::Value;

// --- allocation accounting ---------------------------------------------------------------

/// Counts the bytes allocated by the current thread while [`peak_alloc_during`] runs.
/// Per thread, so that tests running in parallel do not disturb each other.
struct CountingAlloc;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: the allocator may run while thread-locals are being torn down.
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let now = CURRENT.get() + delta;
            CURRENT.set(now);
            if now > PEAK.get() {
                PEAK.set(now);
            }
        }
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the bookkeeping only touches
// const-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the peak number of bytes it had allocated at
/// once (on this thread, on top of what was allocated before).
fn peak_alloc_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    CURRENT.set(0);
    PEAK.set(0);
    TRACKING.set(true);
    let r = f();
    TRACKING.set(false);
    (r, PEAK.get().max(0) as usize)
}

/// What the reader may hold besides payloads: its 16 KiB buffer, a header line of at
/// most 8 KiB, the parsed headers and error text.
const READER_OVERHEAD: usize = 64 * 1024;
/// What a decoder may hold besides its output: window, tables and input buffer.
const DECODER_OVERHEAD: usize = 256 * 1024;

// --- generated envelopes -----------------------------------------------------------------

const KNOWN_TYPES: &[&str] = &[
    "event",
    "transaction",
    "attachment",
    "session",
    "sessions",
    "client_report",
    "user_report",
    "feedback",
    "check_in",
    "log",
    "otel_log",
    "span",
    "trace_metric",
    "statsd",
    "metric_buckets",
    "metric_meta",
    "profile",
    "profile_chunk",
    "replay_event",
    "replay_recording",
    "replay_video",
    "security",
    "unreal_report",
    "form_data",
    "raw_security",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        "\\PC{0,12}".prop_map(Value::from),
        // Strings that need escaping in a header line.
        "[\\n\\r\\t\"\\\\a-z]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Extra header keys, never colliding with the known ones.
fn extra_keys() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..3)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        (0.0f64..4.0e9).prop_map(Timestamp::from_unix),
        (0.0f64..4.0e9).prop_map(|s| {
            Timestamp::parse_rfc3339(&Timestamp::from_unix(s).to_rfc3339())
                .expect("our own RFC 3339 parses")
        }),
    ]
}

fn envelope_headers() -> impl Strategy<Value = EnvelopeHeaders> {
    (
        prop::option::of(prop_oneof![
            "[0-9a-f]{32}",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        ]),
        prop::option::of("https://[0-9a-f]{32}@[a-z]{1,8}\\.example/[1-9][0-9]{0,3}"),
        prop::option::of(("sentry\\.[a-z]{1,8}", "[0-9]\\.[0-9]{1,2}\\.[0-9]")),
        prop::option::of(timestamp()),
        prop::option::of(json_value()),
        extra_keys(),
    )
        .prop_map(|(event_id, dsn, sdk, sent_at, trace, other)| {
            let mut h = EnvelopeHeaders {
                event_id,
                dsn,
                sent_at,
                trace: trace.filter(|t| !t.is_null()),
                ..Default::default()
            };
            h.sdk = sdk.map(|(name, version)| Sdk {
                name: Some(name),
                version: Some(version),
                ..Default::default()
            });
            h.other = other.into_iter().collect();
            h
        })
}

fn item_type() -> impl Strategy<Value = ItemType> {
    prop_oneof![
        prop::sample::select(KNOWN_TYPES).prop_map(ItemType::parse),
        "[a-z_]{1,12}".prop_filter_map("an unknown type", |s| match ItemType::parse(&s) {
            unknown @ ItemType::Unknown(_) => Some(unknown),
            _ => None,
        }),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    (
        item_type(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::option::of("[a-z]{1,8}/[a-z+.-]{1,12}"),
        prop::option::of("[a-zA-Z0-9_.-]{1,16}"),
        extra_keys(),
    )
        .prop_map(
            |(ty, explicit, mut payload, content_type, filename, other)| {
                if !explicit {
                    // Without `length` the payload ends at the next newline.
                    payload.retain(|&b| b != b'\n');
                }
                let mut headers = ItemHeaders {
                    ty,
                    length: explicit.then_some(payload.len() as u64),
                    content_type,
                    filename,
                    ..Default::default()
                };
                headers.other = other.into_iter().collect();
                Item { headers, payload }
            },
        )
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (envelope_headers(), prop::collection::vec(item(), 0..8))
        .prop_map(|(headers, items)| Envelope { headers, items })
}

/// A reader that hands out at most `step` bytes per call.
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

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
    /// Overwrites a byte with one of the envelope grammar's special bytes.
    Special(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Truncate),
        (
            any::<Index>(),
            prop::sample::select(&b"\n{}\":,0123456789 \r"[..])
        )
            .prop_map(|(i, b)| Mutation::Special(i, b)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match *m {
            Mutation::Flip(ref i, b) => {
                let i = i.index(bytes.len());
                bytes[i] ^= b | 1;
            }
            Mutation::Insert(ref i, b) => bytes.insert(i.index(bytes.len() + 1), b),
            Mutation::Delete(ref i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Truncate(ref i) => bytes.truncate(i.index(bytes.len())),
            Mutation::Special(ref i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
        }
    }
    bytes
}

/// Small limits, so that random input reaches the size checks too.
fn small_limits() -> Limits {
    let mut l = Limits::default();
    l.max_envelope_bytes = 2048;
    l.max_header_bytes = 256;
    l.max_event_bytes = 512;
    l.max_attachment_bytes = 1024;
    l.max_client_report_bytes = 128;
    l.max_session_bytes = 128;
    l.max_items = 4;
    l
}

/// Reads `bytes` every way there is; whatever is accepted must write back to itself.
fn read_any(bytes: &[u8]) -> Result<(), TestCaseError> {
    for limits in [Limits::default(), small_limits()] {
        let whole = Envelope::from_slice(bytes, &limits);
        let streamed = EnvelopeReader::new(
            Trickle {
                data: bytes,
                step: 3,
            },
            limits.clone(),
        )
        .and_then(EnvelopeReader::read_all);
        match (&whole, &streamed) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(
                false,
                "slice and stream disagree: {whole:?} vs {streamed:?}"
            ),
        }
        if let Ok(env) = whole {
            let again = Envelope::from_slice(&env.to_vec(), &Limits::default());
            prop_assert_eq!(
                again.as_ref().ok(),
                Some(&env),
                "{:?}",
                again.as_ref().err()
            );
            for item in &env.items {
                // Typed payload readers never panic either.
                let _ = item.event();
                let _ = item.client_report();
            }
        }
    }
    Ok(())
}

proptest! {
    // 512 cases by default; PROPTEST_CASES=100000 for a deeper run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn generated_envelopes_round_trip(env in envelope(), step in 1usize..64) {
        let bytes = env.to_vec();
        let back = Envelope::from_slice(&bytes, &Limits::default());
        prop_assert_eq!(back.as_ref().ok(), Some(&env), "{:?}", back.as_ref().err());
        let streamed = EnvelopeReader::new(Trickle { data: &bytes, step }, Limits::default())
            .and_then(EnvelopeReader::read_all);
        prop_assert_eq!(streamed.as_ref().ok(), Some(&env));
        // Writing is deterministic: the second write is byte-identical.
        prop_assert_eq!(back.map(|e| e.to_vec()).ok(), Some(bytes));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        read_any(&bytes)?;
    }

    #[test]
    fn random_items_after_a_valid_header_never_panic(
        prefix in prop::sample::select(vec![
            &b"{}\n"[..],
            &b"{}\n{\"type\":\"event\"}\n"[..],
            &b"{}\n{\"type\":\"attachment\",\"length\":16}\n"[..],
            &b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\",\"length\":"[..],
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = prefix.to_vec();
        bytes.extend(tail);
        read_any(&bytes)?;
    }

    #[test]
    fn mutated_envelopes_never_panic(
        env in envelope(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        read_any(&mutate(env.to_vec(), &mutations))?;
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..4,
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let bytes = fixture(["python/error", "node/error", "rust/panic", "node/session"][which]);
        read_any(&mutate(bytes, &mutations))?;
    }
}

// --- explicit hostile inputs -------------------------------------------------------------

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/{name}.envelope",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Counts the bytes pulled out of a reader.
struct Counted<R> {
    inner: R,
    read: std::rc::Rc<Cell<usize>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n);
        Ok(n)
    }
}

#[test]
fn one_megabyte_of_random_bytes() {
    let limits = Limits::default();
    for seed in 1..=4u64 {
        let bytes = noise(1 << 20, seed);
        let (result, peak) = peak_alloc_during(|| Envelope::from_slice(&bytes, &limits));
        // The first line is random: not a JSON object.
        assert!(
            matches!(&result, Err(EnvelopeError::InvalidHeader { what, .. }) if what == "envelope"),
            "{result:?}"
        );
        assert!(peak < READER_OVERHEAD, "peak allocation {peak}");

        // Streamed, the reader stops after the first line: it does not consume the megabyte.
        let read = std::rc::Rc::new(Cell::new(0));
        let counted = Counted {
            inner: &bytes[..],
            read: read.clone(),
        };
        assert!(EnvelopeReader::new(counted, limits.clone()).is_err());
        assert!(
            read.get() <= 16 * 1024 + limits.max_header_bytes,
            "{}",
            read.get()
        );
    }

    // Without any newline the header limit stops the read.
    let mut bytes = noise(1 << 20, 99);
    for b in &mut bytes {
        if *b == b'\n' {
            *b = b' ';
        }
    }
    let (result, peak) = peak_alloc_during(|| Envelope::from_slice(&bytes, &limits));
    assert!(
        matches!(
            result,
            Err(EnvelopeError::HeaderTooLong { limit: 8192, .. })
        ),
        "{result:?}"
    );
    assert!(peak < READER_OVERHEAD, "peak allocation {peak}");

    // Random bytes after a valid envelope header: the item header is rejected.
    let mut bytes = b"{}\n".to_vec();
    bytes.extend(noise(1 << 20, 7));
    let (result, peak) = peak_alloc_during(|| Envelope::from_slice(&bytes, &limits));
    assert!(
        matches!(
            &result,
            Err(EnvelopeError::InvalidHeader { what, .. }) if what == "item 0"
        ) || matches!(result, Err(EnvelopeError::HeaderTooLong { .. })),
        "{result:?}"
    );
    assert!(peak < READER_OVERHEAD, "peak allocation {peak}");
}

/// The fixture's event item header and where its payload starts.
fn first_item(bytes: &[u8]) -> (usize, usize, u64) {
    let first_nl = bytes.iter().position(|&b| b == b'\n').expect("header line");
    let second_nl = first_nl
        + 1
        + bytes[first_nl + 1..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("item header");
    let header: Value = serde_json::from_slice(&bytes[first_nl + 1..second_nl]).expect("json");
    let len = header["length"].as_u64().expect("explicit length");
    (first_nl + 1, second_nl + 1, len)
}

#[test]
fn truncated_envelope() {
    let bytes = fixture("rust/panic");
    let (header_start, payload_start, len) = first_item(&bytes);
    let limits = Limits::default();

    // Cut in the middle of the payload: the declared length is missing 100 bytes... or more.
    let cut = &bytes[..payload_start + 100];
    assert!(matches!(
        Envelope::from_slice(cut, &limits),
        Err(EnvelopeError::Truncated { index: 0, expected, got: 100 }) if expected as u64 == len
    ));
    // Cut inside the item header line.
    let cut = &bytes[..header_start + 5];
    assert!(matches!(
        Envelope::from_slice(cut, &limits),
        Err(EnvelopeError::InvalidHeader { what, .. }) if what == "item 0"
    ));
    // Cut right after the item header: a payload of zero bytes out of `len`.
    let cut = &bytes[..payload_start];
    assert!(matches!(
        Envelope::from_slice(cut, &limits),
        Err(EnvelopeError::Truncated {
            index: 0,
            got: 0,
            ..
        })
    ));
    // Cut inside the envelope header.
    assert!(matches!(
        Envelope::from_slice(&bytes[..10], &limits),
        Err(EnvelopeError::InvalidHeader { what, .. }) if what == "envelope"
    ));
}

/// The fixture with its first item's `length` replaced.
fn with_length(bytes: &[u8], new_len: u64) -> Vec<u8> {
    let (header_start, payload_start, _) = first_item(bytes);
    let mut header: Value =
        serde_json::from_slice(&bytes[header_start..payload_start - 1]).expect("json");
    header["length"] = Value::from(new_len);
    let mut out = bytes[..header_start].to_vec();
    out.extend(serde_json::to_vec(&header).expect("write"));
    out.push(b'\n');
    out.extend(&bytes[payload_start..]);
    out
}

#[test]
fn wrong_length() {
    let limits = Limits::default();
    let bytes = fixture("python/message");
    let (_, _, len) = first_item(&bytes);

    // Too short: the byte after the declared payload is not the separator.
    assert!(matches!(
        Envelope::from_slice(&with_length(&bytes, len - 1), &limits),
        Err(EnvelopeError::MissingNewline { index: 0 })
    ));
    // Too long: the body ends first.
    assert!(matches!(
        Envelope::from_slice(&with_length(&bytes, len + 10), &limits),
        Err(EnvelopeError::Truncated { index: 0, expected, got }) if expected as u64 == len + 10 && got as u64 == len + 1
    ));
    // One too long with another item behind it: the next header's `{` is no separator.
    let mut two = bytes.clone();
    two.extend(b"{\"type\":\"session\"}\n{\"status\":\"ok\"}\n");
    assert!(matches!(
        Envelope::from_slice(&with_length(&two, len + 1), &limits),
        Err(EnvelopeError::MissingNewline { index: 0 })
    ));
    assert_eq!(
        Envelope::from_slice(&two, &limits)
            .expect("valid")
            .items
            .len(),
        2
    );
    // Absurdly long: refused before anything is buffered.
    let (result, peak) =
        peak_alloc_during(|| Envelope::from_slice(&with_length(&bytes, 1 << 40), &limits));
    assert!(matches!(
        result,
        Err(EnvelopeError::ItemTooLarge { index: 0, limit, .. }) if limit == limits.max_event_bytes
    ));
    assert!(
        peak < READER_OVERHEAD + bytes.len(),
        "peak allocation {peak}"
    );
}

/// The brotli window of the bombs: 4 MiB.
const BROTLI_LGWIN: u32 = 22;

fn compress(encoding: ContentEncoding, data: &[u8]) -> Vec<u8> {
    match encoding {
        ContentEncoding::Gzip => gzip(data, 9),
        ContentEncoding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(data).expect("write");
            e.finish().expect("finish")
        }
        ContentEncoding::Brotli => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, BROTLI_LGWIN);
                w.write_all(data).expect("write");
            }
            out
        }
        ContentEncoding::Zstd => zstd::stream::encode_all(data, 3).expect("zstd"),
        ContentEncoding::Identity => data.to_vec(),
    }
}

#[test]
fn decompression_bombs_stop_at_the_cap() {
    let zeros = vec![0u8; 16 << 20];
    for encoding in [
        ContentEncoding::Gzip,
        ContentEncoding::Deflate,
        ContentEncoding::Brotli,
        ContentEncoding::Zstd,
    ] {
        let bomb = compress(encoding, &zeros);
        assert!(bomb.len() < 64 * 1024, "{encoding:?}: {} bytes", bomb.len());
        // Besides its output, a decoder holds its window, which the stream chooses: at
        // most 32 KiB for deflate, 16 MiB for standard brotli (this bomb uses 4 MiB) and
        // 8 MiB for zstd (ZSTD_MAX_WINDOW_LOG; larger frames are refused).
        let window = match encoding {
            ContentEncoding::Brotli => 1 << BROTLI_LGWIN,
            ContentEncoding::Zstd => 1 << ZSTD_MAX_WINDOW_LOG,
            _ => 0,
        };
        // A power of two and an odd cap: the output buffer must not overshoot either.
        for cap in [1 << 20, 1_000_000, 3_000_001] {
            let (result, peak) = peak_alloc_during(|| decompress(encoding, &bomb, cap));
            assert!(
                matches!(result, Err(DecodeError::TooLarge { limit }) if limit == cap),
                "{encoding:?} cap {cap}: {result:?}"
            );
            assert!(
                peak <= cap + window + DECODER_OVERHEAD,
                "{encoding:?} cap {cap}: peak allocation {peak}"
            );
        }
    }
}

#[test]
fn ten_megabyte_gzip_bomb() {
    // 10 MiB of zeros gzip to about 10 KiB.
    let bomb = gzip(&vec![0u8; 10 << 20], 9);
    let cap = 1 << 20;
    let (result, peak) = peak_alloc_during(|| decompress(ContentEncoding::Gzip, &bomb, cap));
    assert!(matches!(result, Err(DecodeError::TooLarge { limit }) if limit == cap));
    assert!(peak <= cap + DECODER_OVERHEAD, "peak allocation {peak}");

    // The same bomb inside an envelope, decoded while it is read: the envelope cap
    // stops it, and the payload buffer stays within that cap.
    let mut body = b"{}\n{\"type\":\"attachment\",\"length\":10485760}\n".to_vec();
    body.extend(vec![0u8; 10 << 20]);
    body.push(b'\n');
    let bomb = gzip(&body, 9);
    // A power of two and an odd cap: the payload buffer must not double past either.
    for cap in [1 << 20, 1_000_000] {
        let mut limits = Limits::default();
        limits.max_envelope_bytes = cap;
        let (result, peak) = peak_alloc_during(|| {
            EnvelopeReader::new(decoder(ContentEncoding::Gzip, &bomb), limits.clone())
                .and_then(EnvelopeReader::read_all)
        });
        assert!(
            matches!(result, Err(EnvelopeError::TooLarge { limit }) if limit == cap),
            "{result:?}"
        );
        assert!(
            peak <= cap + DECODER_OVERHEAD + READER_OVERHEAD,
            "cap {cap}: peak allocation {peak}"
        );
    }
}
