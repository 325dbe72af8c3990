//! Reading envelopes: streaming and bounded by [`Limits`] at every step (a header
//! line, an item's declared length and the whole envelope are checked before bytes are
//! buffered), with typed [`EnvelopeError`]s.

use std::io::{self, BufRead, BufReader, Read};

use serde::Deserialize;

use super::super::encoding::grow_within;
use super::super::event::from_slice_with_path;
use super::{Envelope, EnvelopeHeaders, Item, ItemHeaders, ItemType};

/// Size limits applied while reading an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The whole envelope (decompressed). Default 100 MiB.
    pub max_envelope_bytes: usize,
    /// One header line. Default 8 KiB.
    pub max_header_bytes: usize,
    /// An `event`, `transaction`, `feedback`, `span` or `log` item. Default 1 MiB.
    pub max_event_bytes: usize,
    /// An attachment, profile, replay or unknown item. Default 100 MiB.
    pub max_attachment_bytes: usize,
    /// A `client_report` item. Default 4 KiB.
    pub max_client_report_bytes: usize,
    /// A session or check-in item. Default 100 KiB.
    pub max_session_bytes: usize,
    /// Items in one envelope. Default 100.
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_envelope_bytes: 100 * 1024 * 1024,
            max_header_bytes: 8 * 1024,
            max_event_bytes: 1024 * 1024,
            max_attachment_bytes: 100 * 1024 * 1024,
            max_client_report_bytes: 4 * 1024,
            max_session_bytes: 100 * 1024,
            max_items: 100,
        }
    }
}

impl Limits {
    /// The payload limit for an item type.
    pub fn item_limit(&self, ty: &ItemType) -> usize {
        use ItemType::*;
        match ty {
            Event | Transaction | Feedback | UserReport | Span | Log | OtelLog | TraceMetric => {
                self.max_event_bytes
            }
            ClientReport => self.max_client_report_bytes,
            Session | Sessions | CheckIn => self.max_session_bytes,
            _ => self.max_attachment_bytes,
        }
    }
}

/// Why an envelope could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The underlying reader failed.
    #[error("failed to read envelope: {0}")]
    Io(#[from] io::Error),
    /// The body is empty (no header line).
    #[error("empty envelope: missing header line")]
    Empty,
    /// A header line is longer than the limit.
    #[error("{what} header is longer than {limit} bytes")]
    HeaderTooLong {
        /// `envelope` or `item N`.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A header line is not a JSON object of the right shape.
    #[error("invalid {what} header: {reason}")]
    InvalidHeader {
        /// `envelope` or `item N`.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// An item header has no `type`.
    #[error("item {index} header has no type")]
    MissingItemType {
        /// 0-based item index.
        index: usize,
    },
    /// The body ended before an item's declared length.
    #[error("item {index} is truncated: expected {expected} bytes, got {got}")]
    Truncated {
        /// 0-based item index.
        index: usize,
        /// The declared length.
        expected: usize,
        /// What was there.
        got: usize,
    },
    /// After a payload of declared length came something other than a newline.
    #[error("item {index}: payload is not followed by a newline (wrong length?)")]
    MissingNewline {
        /// 0-based item index.
        index: usize,
    },
    /// An item is larger than the limit for its type.
    #[error("item {index} of type '{ty}' exceeds the size limit of {limit} bytes")]
    ItemTooLarge {
        /// 0-based item index.
        index: usize,
        /// The item type.
        ty: String,
        /// The limit.
        limit: usize,
    },
    /// The whole envelope is larger than the limit.
    #[error("envelope exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// More blank bytes between two items (or after the last) than a header line may
    /// hold.
    #[error("more than {limit} blank bytes before item {index}")]
    TooMuchPadding {
        /// 0-based index of the item that would come next.
        index: usize,
        /// The limit (the header line limit).
        limit: usize,
    },
    /// Too many items.
    #[error("envelope has more than {limit} items")]
    TooManyItems {
        /// The limit.
        limit: usize,
    },
}

impl EnvelopeError {
    /// Whether the error is about size (a server answers 413) rather than shape (400).
    pub fn is_size_error(&self) -> bool {
        matches!(
            self,
            EnvelopeError::TooLarge { .. }
                | EnvelopeError::ItemTooLarge { .. }
                | EnvelopeError::TooManyItems { .. }
                | EnvelopeError::HeaderTooLong { .. }
                | EnvelopeError::TooMuchPadding { .. }
        )
    }
}

/// Counts bytes and refuses to read past a limit.
struct Capped<R> {
    inner: R,
    remaining: usize,
    exceeded: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Probe one byte to tell "exactly at the limit" from "over the limit".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded = true;
                    Err(io::Error::other("envelope size limit exceeded"))
                }
            };
        }
        let max = buf.len().min(self.remaining);
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n;
        Ok(n)
    }
}

/// Reads an envelope item by item from any reader, within [`Limits`].
pub struct EnvelopeReader<R: Read> {
    reader: BufReader<Capped<R>>,
    limits: Limits,
    headers: EnvelopeHeaders,
    index: usize,
    done: bool,
}

impl<R: Read> EnvelopeReader<R> {
    /// Starts reading: reads and parses the envelope header line.
    pub fn new(reader: R, limits: Limits) -> Result<Self, EnvelopeError> {
        let capped = Capped {
            inner: reader,
            remaining: limits.max_envelope_bytes,
            exceeded: false,
        };
        let mut this = EnvelopeReader {
            reader: BufReader::with_capacity(16 * 1024, capped),
            limits,
            headers: EnvelopeHeaders::default(),
            index: 0,
            done: false,
        };
        let line = match this.read_line("envelope")? {
            Some(line) => line,
            None => return Err(EnvelopeError::Empty),
        };
        this.headers = parse_header(&line, "envelope")?;
        Ok(this)
    }

    /// The envelope header.
    pub fn headers(&self) -> &EnvelopeHeaders {
        &self.headers
    }

    fn map_io(&self, e: io::Error) -> EnvelopeError {
        if self.reader.get_ref().exceeded {
            EnvelopeError::TooLarge {
                limit: self.limits.max_envelope_bytes,
            }
        } else {
            EnvelopeError::Io(e)
        }
    }

    /// How many more bytes can arrive before the envelope limit is hit: what the cap
    /// still lets through plus what is already buffered. Payload buffers never grow past
    /// it, so an envelope costs at most its limit however large its declared lengths.
    fn budget(&self) -> usize {
        self.reader.get_ref().remaining + self.reader.buffer().len()
    }

    /// Reads one line (without the LF) of at most the header limit; `None` at EOF.
    fn read_line(&mut self, what: &str) -> Result<Option<Vec<u8>>, EnvelopeError> {
        let limit = self.limits.max_header_bytes;
        let mut line = Vec::new();
        let res = (&mut self.reader)
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut line);
        res.map_err(|e| self.map_io(e))?;
        if line.is_empty() {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > limit {
            return Err(EnvelopeError::HeaderTooLong {
                what: what.to_owned(),
                limit,
            });
        }
        Ok(Some(line))
    }

    /// Consumes ASCII whitespace up to the next other byte or the end, refusing more
    /// than the header line limit of it.
    fn skip_blank(&mut self, index: usize) -> Result<(), EnvelopeError> {
        let limit = self.limits.max_header_bytes;
        let mut skipped = 0usize;
        loop {
            let res = self.reader.fill_buf();
            let buf = match res {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.map_io(e)),
            };
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(buf.len());
            let at_content = n < buf.len();
            self.reader.consume(n);
            skipped += n;
            if skipped > limit {
                return Err(EnvelopeError::TooMuchPadding { index, limit });
            }
            if at_content {
                return Ok(());
            }
        }
    }

    /// Reads the next item; `None` after the last one.
    pub fn next_item(&mut self) -> Result<Option<Item>, EnvelopeError> {
        if self.done {
            return Ok(None);
        }
        let index = self.index;
        let what = format!("item {index}");
        // Blank lines between items are tolerated, skipped in bulk (linear in their
        // bytes), and at most a header line's worth of them.
        self.skip_blank(index)?;
        let line = match self.read_line(&what)? {
            None => {
                self.done = true;
                return Ok(None);
            }
            Some(l) => l,
        };
        if index >= self.limits.max_items {
            return Err(EnvelopeError::TooManyItems {
                limit: self.limits.max_items,
            });
        }
        let headers: ItemHeaders = parse_header(&line, &what)?;
        if headers.ty == ItemType::Missing {
            return Err(EnvelopeError::MissingItemType { index });
        }
        let limit = self.limits.item_limit(&headers.ty);
        let payload = match headers.length {
            Some(len) => {
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > limit {
                    return Err(EnvelopeError::ItemTooLarge {
                        index,
                        ty: headers.ty.to_string(),
                        limit,
                    });
                }
                let budget = self.budget();
                let mut payload = Vec::with_capacity(len.min(budget).min(64 * 1024));
                let res = read_bounded(&mut self.reader, len, false, budget, &mut payload);
                res.map_err(|e| self.map_io(e))?;
                if payload.len() < len {
                    return Err(EnvelopeError::Truncated {
                        index,
                        expected: len,
                        got: payload.len(),
                    });
                }
                let mut next = [0u8; 1];
                let res = self.reader.read(&mut next);
                match res.map_err(|e| self.map_io(e))? {
                    0 => self.done = true,
                    _ if next[0] == b'\n' => {}
                    _ => return Err(EnvelopeError::MissingNewline { index }),
                }
                payload
            }
            None => {
                let mut payload = Vec::new();
                let budget = self.budget();
                let res = read_bounded(&mut self.reader, limit + 1, true, budget, &mut payload);
                res.map_err(|e| self.map_io(e))?;
                if payload.last() == Some(&b'\n') {
                    payload.pop();
                } else if payload.len() > limit {
                    return Err(EnvelopeError::ItemTooLarge {
                        index,
                        ty: headers.ty.to_string(),
                        limit,
                    });
                } else {
                    self.done = true;
                }
                payload
            }
        };
        self.index += 1;
        Ok(Some(Item { headers, payload }))
    }

    /// Reads every remaining item into an [`Envelope`].
    pub fn read_all(mut self) -> Result<Envelope, EnvelopeError> {
        let mut items = Vec::new();
        while let Some(item) = self.next_item()? {
            items.push(item);
        }
        Ok(Envelope {
            headers: self.headers,
            items,
        })
    }
}

/// Appends at most `max` bytes of `reader` to `out` — stopping after the first LF when
/// `until_newline` — and never lets `out`'s capacity grow beyond `cap` (or beyond what
/// the bytes read need). `Read::read_to_end` and `read_until` double their buffer, which
/// can overshoot a limit by up to twice.
fn read_bounded(
    reader: &mut impl BufRead,
    max: usize,
    until_newline: bool,
    cap: usize,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    while out.len() < max {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(());
        }
        let avail = &buf[..buf.len().min(max - out.len())];
        let (n, at_newline) = match until_newline {
            true => match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            },
            false => (avail.len(), false),
        };
        grow_within(out, n, cap);
        out.extend_from_slice(&avail[..n]);
        reader.consume(n);
        if at_newline {
            return Ok(());
        }
    }
    Ok(())
}

fn parse_header<T: for<'a> Deserialize<'a>>(line: &[u8], what: &str) -> Result<T, EnvelopeError> {
    from_slice_with_path(line).map_err(|e| EnvelopeError::InvalidHeader {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}
