//! Request body encodings: `gzip`, `deflate` (zlib-wrapped or raw), `br` and `zstd`, each
//! decoded with a hard cap on the decompressed size, so that a compression bomb costs at
//! most the cap in memory and gets an error. Besides its output a decoder holds only its
//! window, which the format bounds: 32 KiB for deflate, 16 MiB for brotli (large-window
//! streams are refused) and 8 MiB for zstd ([`ZSTD_MAX_WINDOW_LOG`]).
//!
//! `br`, `zstd` and raven's base64 `/store/` bodies ([`decode_legacy_store_body`]) need the
//! feature `server-decoders` (only a server reads them; the SDK sends gzip). Without it
//! [`ContentEncoding::from_header`] refuses `br` and `zstd` as unsupported.
//!
//! ```
//! use sentry_client::protocol::encoding::{decompress, gzip, ContentEncoding};
//!
//! let body = gzip(b"hello", 6);
//! assert_eq!(decompress(ContentEncoding::Gzip, &body, 1024).unwrap(), b"hello");
//! assert!(decompress(ContentEncoding::Gzip, &gzip(&[0u8; 4096], 9), 1000).is_err());
//! ```

use std::io::{self, Read, Write};

#[cfg(feature = "server-decoders")]
use base64::Engine;
#[cfg(feature = "server-decoders")]
use brotli::{BrotliResult, HeapAlloc};

/// A `Content-Encoding` we can decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentEncoding {
    /// No encoding.
    Identity,
    /// gzip (RFC 1952); `x-gzip` is an alias.
    Gzip,
    /// deflate: zlib-wrapped (RFC 1950) or raw (RFC 1951), detected from the first bytes.
    Deflate,
    /// Brotli.
    Brotli,
    /// Zstandard.
    Zstd,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The `Content-Encoding` is not one we decode.
    #[error("unsupported content encoding {0:?}")]
    Unsupported(String),
    /// The decompressed body is larger than the cap.
    #[error("decompressed body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The compressed stream is corrupt.
    #[error("failed to decode {encoding} body: {reason}")]
    Corrupt {
        /// The encoding being decoded.
        encoding: &'static str,
        /// What the decoder said.
        reason: String,
    },
}

impl ContentEncoding {
    /// Parses a `Content-Encoding` header value (case-insensitive, trimmed).
    pub fn from_header(value: &str) -> Result<Self, DecodeError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(ContentEncoding::Identity),
            "gzip" | "x-gzip" => Ok(ContentEncoding::Gzip),
            "deflate" => Ok(ContentEncoding::Deflate),
            #[cfg(feature = "server-decoders")]
            "br" => Ok(ContentEncoding::Brotli),
            #[cfg(feature = "server-decoders")]
            "zstd" => Ok(ContentEncoding::Zstd),
            _ => Err(DecodeError::Unsupported(value.to_owned())),
        }
    }

    /// The header name of the encoding.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentEncoding::Identity => "identity",
            ContentEncoding::Gzip => "gzip",
            ContentEncoding::Deflate => "deflate",
            ContentEncoding::Brotli => "br",
            ContentEncoding::Zstd => "zstd",
        }
    }

    /// Detects gzip or zstd by their magic bytes (for UDP datagrams, which have no headers).
    pub fn sniff(body: &[u8]) -> Option<Self> {
        if body.starts_with(&[0x1f, 0x8b]) {
            Some(ContentEncoding::Gzip)
        } else if cfg!(feature = "server-decoders") && body.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(ContentEncoding::Zstd)
        } else {
            None
        }
    }
}

/// Whether the bytes start with a zlib header (RFC 1950).
pub fn is_zlib(body: &[u8]) -> bool {
    match body {
        [b0, b1, ..] => (b0 & 0x0f) == 8 && (u16::from(*b0) * 256 + u16::from(*b1)) % 31 == 0,
        _ => false,
    }
}

/// A reader that decodes `body` with `encoding`.
pub fn decoder<'a>(encoding: ContentEncoding, body: &'a [u8]) -> Box<dyn Read + 'a> {
    match encoding {
        ContentEncoding::Identity => Box::new(body),
        ContentEncoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(body)),
        ContentEncoding::Deflate if is_zlib(body) => Box::new(flate2::read::ZlibDecoder::new(body)),
        ContentEncoding::Deflate => Box::new(flate2::read::DeflateDecoder::new(body)),
        #[cfg(feature = "server-decoders")]
        ContentEncoding::Brotli => Box::new(StrictBrotli::new(body)),
        #[cfg(feature = "server-decoders")]
        ContentEncoding::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(body).and_then(|mut d| {
                d.window_log_max(ZSTD_MAX_WINDOW_LOG)?;
                Ok(d)
            });
            match decoder {
                Ok(d) => Box::new(d),
                Err(e) => Box::new(FailingReader(Some(e))),
            }
        }
        #[cfg(not(feature = "server-decoders"))]
        ContentEncoding::Brotli | ContentEncoding::Zstd => Box::new(FailingReader(Some(
            io::Error::new(io::ErrorKind::Unsupported, UNSUPPORTED_HERE),
        ))),
    }
}

#[cfg(not(feature = "server-decoders"))]
const UNSUPPORTED_HERE: &str = "built without the `server-decoders` feature";

/// The largest zstd window accepted, as a power of two: 8 MiB, the limit RFC 9659 sets
/// for the `zstd` content coding. A frame that asks for more is refused instead of making
/// the decoder allocate its window (up to 128 MiB by zstd's default, more with `--long`).
pub const ZSTD_MAX_WINDOW_LOG: u32 = 23;

#[cfg(feature = "server-decoders")]
type BrotliState =
    brotli::BrotliState<HeapAlloc<u8>, HeapAlloc<u32>, HeapAlloc<brotli::HuffmanCode>>;

/// A brotli decoder for standard (RFC 7932) streams only, whose window is at most 16 MiB.
/// `brotli::Decompressor` also accepts "large window" streams, which can make it allocate
/// a ring buffer of up to 1 GiB from a few bytes of input.
#[cfg(feature = "server-decoders")]
struct StrictBrotli<'a> {
    input: &'a [u8],
    offset: usize,
    state: BrotliState,
    done: bool,
}

#[cfg(feature = "server-decoders")]
impl<'a> StrictBrotli<'a> {
    fn new(input: &'a [u8]) -> Self {
        StrictBrotli {
            input,
            offset: 0,
            state: BrotliState::new_strict(
                HeapAlloc::new(0),
                HeapAlloc::new(0),
                HeapAlloc::new(brotli::HuffmanCode::default()),
            ),
            done: false,
        }
    }
}

#[cfg(feature = "server-decoders")]
impl Read for StrictBrotli<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let mut avail_in = self.input.len() - self.offset;
        let mut avail_out = buf.len();
        let mut written = 0;
        let mut total_out = 0;
        let result = brotli::BrotliDecompressStream(
            &mut avail_in,
            &mut self.offset,
            self.input,
            &mut avail_out,
            &mut written,
            buf,
            &mut total_out,
            &mut self.state,
        );
        match result {
            BrotliResult::ResultSuccess => {
                self.done = true;
                if self.offset < self.input.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "trailing bytes after the brotli stream",
                    ));
                }
                Ok(written)
            }
            BrotliResult::NeedsMoreOutput | BrotliResult::NeedsMoreInput if written > 0 => {
                Ok(written)
            }
            BrotliResult::NeedsMoreInput => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated brotli stream",
            )),
            BrotliResult::NeedsMoreOutput => {
                Err(io::Error::other("brotli decoder made no progress"))
            }
            BrotliResult::ResultFailure => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "invalid brotli stream (or a large-window one)",
            )),
        }
    }
}

struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| io::Error::other("decoder failed")))
    }
}

/// Reads all of `reader` into memory, failing once more than `limit` bytes come out.
pub fn read_capped(
    mut reader: impl Read,
    limit: usize,
    encoding: ContentEncoding,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(DecodeError::Corrupt {
                    encoding: encoding.as_str(),
                    reason: e.to_string(),
                })
            }
        };
        if out.len() + n > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        // Grow by doubling, but never past the limit: a bomb costs at most `limit`.
        grow_within(&mut out, n, limit);
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Makes room for `n` more bytes, doubling as `Vec` does but never past `cap` unless the
/// bytes themselves need it.
pub(crate) fn grow_within(out: &mut Vec<u8>, n: usize, cap: usize) {
    if out.capacity() - out.len() < n {
        let need = out.len() + n;
        let target = (out.capacity() * 2).min(cap).max(need);
        out.reserve_exact(target - out.len());
    }
}

/// Decodes `body` with `encoding`, allowing at most `limit` bytes of output.
pub fn decompress(
    encoding: ContentEncoding,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    #[cfg(not(feature = "server-decoders"))]
    if matches!(encoding, ContentEncoding::Brotli | ContentEncoding::Zstd) {
        return Err(DecodeError::Unsupported(format!(
            "{} ({UNSUPPORTED_HERE})",
            encoding.as_str()
        )));
    }
    if encoding == ContentEncoding::Identity {
        if body.len() > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        return Ok(body.to_vec());
    }
    read_capped(decoder(encoding, body), limit, encoding)
}

/// Decodes a legacy `/store/` body that came without `Content-Encoding`: plain JSON,
/// `base64(zlib(json))`, `zlib(json)` or `base64(json)`, as old raven clients sent.
#[cfg(feature = "server-decoders")]
pub fn decode_legacy_store_body(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let trimmed = body.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        return decompress(ContentEncoding::Identity, body, limit);
    }
    if is_zlib(trimmed) {
        return decompress(ContentEncoding::Deflate, trimmed, limit);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(trimmed.trim_ascii_end())
        .map_err(|e| DecodeError::Corrupt {
            encoding: "base64",
            reason: e.to_string(),
        })?;
    if is_zlib(&decoded) {
        decompress(ContentEncoding::Deflate, &decoded, limit)
    } else {
        decompress(ContentEncoding::Identity, &decoded, limit)
    }
}

/// gzip-compresses `data` at `level` (0–9).
pub fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level.min(9)));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(enc: ContentEncoding, data: &[u8]) -> Vec<u8> {
        match enc {
            ContentEncoding::Identity => data.to_vec(),
            ContentEncoding::Gzip => gzip(data, 6),
            ContentEncoding::Deflate => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).expect("write");
                e.finish().expect("finish")
            }
            ContentEncoding::Brotli => {
                let mut out = Vec::new();
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    w.write_all(data).expect("write");
                }
                out
            }
            ContentEncoding::Zstd => zstd::stream::encode_all(data, 3).expect("zstd"),
        }
    }

    #[test]
    fn every_encoding_round_trips_and_is_capped() {
        let data = br#"{"message":"hello"}"#.repeat(100);
        for enc in [
            ContentEncoding::Identity,
            ContentEncoding::Gzip,
            ContentEncoding::Deflate,
            ContentEncoding::Brotli,
            ContentEncoding::Zstd,
        ] {
            let body = encode(enc, &data);
            assert_eq!(
                decompress(enc, &body, data.len()).expect("decode"),
                data,
                "{enc:?}"
            );
            assert!(
                matches!(
                    decompress(enc, &body, data.len() - 1),
                    Err(DecodeError::TooLarge { .. })
                ),
                "{enc:?}"
            );
        }
    }

    #[test]
    fn brotli_large_window_streams_are_refused() {
        // A "large window" stream (here 1 GiB) would make a permissive decoder allocate a
        // ring buffer that large; the standard form of the same data decodes.
        let data = b"large window ".repeat(1000);
        for (large, lgwin) in [(true, 30), (false, 24)] {
            let params = brotli::enc::BrotliEncoderParams {
                large_window: large,
                lgwin,
                quality: 5,
                ..Default::default()
            };
            let mut body = Vec::new();
            brotli::BrotliCompress(&mut &data[..], &mut body, &params).expect("compress");
            let result = decompress(ContentEncoding::Brotli, &body, 1 << 20);
            if large {
                assert!(
                    matches!(result, Err(DecodeError::Corrupt { .. })),
                    "{result:?}"
                );
            } else {
                assert_eq!(result.expect("standard stream"), data);
            }
        }
    }

    #[test]
    fn brotli_truncated_or_trailing_bytes() {
        let body = encode(ContentEncoding::Brotli, &b"abc".repeat(500));
        let truncated = decompress(ContentEncoding::Brotli, &body[..body.len() / 2], 1 << 20);
        assert!(matches!(truncated, Err(DecodeError::Corrupt { .. })));
        let mut trailing = body.clone();
        trailing.extend_from_slice(b"junk");
        let trailing = decompress(ContentEncoding::Brotli, &trailing, 1 << 20);
        assert!(matches!(trailing, Err(DecodeError::Corrupt { .. })));
    }

    #[test]
    fn zstd_windows_above_8_mib_are_refused() {
        let data = vec![7u8; 64 * 1024];
        for (log, ok) in [
            (ZSTD_MAX_WINDOW_LOG, true),
            (ZSTD_MAX_WINDOW_LOG + 4, false),
        ] {
            let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("encoder");
            enc.window_log(log).expect("window");
            // Without a content size the decoder must allocate the whole window.
            enc.include_contentsize(false).expect("flag");
            enc.write_all(&data).expect("write");
            let body = enc.finish().expect("finish");
            let result = decompress(ContentEncoding::Zstd, &body, 1 << 20);
            assert_eq!(result.is_ok(), ok, "window log {log}: {result:?}");
            if !ok {
                assert!(matches!(result, Err(DecodeError::Corrupt { .. })));
            }
        }
    }

    #[test]
    fn raw_deflate_is_detected() {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"raw").expect("write");
        let body = e.finish().expect("finish");
        assert!(!is_zlib(&body));
        assert_eq!(
            decompress(ContentEncoding::Deflate, &body, 10).expect("decode"),
            b"raw"
        );
    }

    #[test]
    fn corrupt_and_unsupported() {
        assert!(matches!(
            decompress(ContentEncoding::Gzip, b"\x1f\x8bnot gzip", 100),
            Err(DecodeError::Corrupt { .. })
        ));
        assert!(matches!(
            ContentEncoding::from_header("compress"),
            Err(DecodeError::Unsupported(_))
        ));
        assert_eq!(
            ContentEncoding::from_header(" X-GZIP ").expect("alias"),
            ContentEncoding::Gzip
        );
    }

    #[test]
    fn legacy_store_bodies() {
        let json = br#"{"message":"m"}"#;
        let zlib = encode(ContentEncoding::Deflate, json);
        let b64 = |d: &[u8]| {
            base64::engine::general_purpose::STANDARD
                .encode(d)
                .into_bytes()
        };
        for body in [json.to_vec(), zlib.clone(), b64(&zlib), b64(json)] {
            assert_eq!(decode_legacy_store_body(&body, 1000).expect("decode"), json);
        }
        assert!(decode_legacy_store_body(b"%%%", 1000).is_err());
    }
}
