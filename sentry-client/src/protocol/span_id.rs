//! Trace and span ids (hex on the wire: 32 and 16 digits) and span statuses, under the
//! official `sentry::protocol` names. A default id is random: 64 bits per `RandomState`
//! of std (SipHash keyed from the OS's random source), no system call per id.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A hex id that is not the right length or not hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid id {0:?}: expected {1} hex digits")]
pub struct ParseIdError(String, usize);

fn random_u64() -> u64 {
    // Each `RandomState::new()` gets fresh keys (std increments them per call).
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u8(0);
    hasher.finish()
}

/// A random (version 4) UUID, for event ids, without the `uuid` crate's OS random
/// source (which the protocol-only build does without).
pub(crate) fn random_uuid() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], ParseIdError> {
    let err = || ParseIdError(s.to_owned(), N * 2);
    if s.len() != N * 2 || !s.is_ascii() {
        return Err(err());
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).map_err(|_| err())?;
    }
    Ok(out)
}

/// Writes `bytes` as lowercase hex digits into `out` (twice as long): ids are formatted
/// on every event, span and log, and a formatter call per byte cost more than the rest
/// of the id's serialization.
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
}

macro_rules! hex_id {
    ($(#[$meta:meta])* $name:ident, $len:literal) => {
        $(#[$meta])*
        #[derive(Serialize, Deserialize, Copy, Clone, Eq, PartialEq, Hash)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name([u8; $len]);

        impl Default for $name {
            fn default() -> Self {
                let mut bytes = [0u8; $len];
                for chunk in bytes.chunks_mut(8) {
                    chunk.copy_from_slice(&random_u64().to_le_bytes()[..chunk.len()]);
                }
                $name(bytes)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut out = [0u8; $len * 2];
                hex_into(&self.0, &mut out);
                f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, ParseIdError> {
                parse_hex::<$len>(s).map($name)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseIdError;
            fn try_from(s: String) -> Result<Self, ParseIdError> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                $name(bytes)
            }
        }
    };
}

hex_id!(
    /// A span's id: 8 bytes, 16 hex digits.
    SpanId,
    8
);
hex_id!(
    /// A trace's id: 16 bytes, 32 hex digits.
    TraceId,
    16
);

/// How a span ended.
#[derive(Serialize, Deserialize, Debug, Copy, Clone, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SpanStatus {
    /// Completed successfully.
    Ok,
    /// The deadline passed first.
    DeadlineExceeded,
    /// Not authenticated (401).
    Unauthenticated,
    /// Not allowed (403).
    PermissionDenied,
    /// Not found (404).
    NotFound,
    /// Too many requests (429).
    ResourceExhausted,
    /// A bad argument (4xx).
    InvalidArgument,
    /// Not implemented (501).
    Unimplemented,
    /// Unavailable (503).
    Unavailable,
    /// Another server error (5xx).
    InternalError,
    /// A status of no other kind.
    UnknownError,
    /// Cancelled, usually by the user.
    Cancelled,
    /// Already exists (409).
    AlreadyExists,
    /// The system was not in the state the operation needs.
    FailedPrecondition,
    /// Aborted, usually by a concurrency conflict.
    Aborted,
    /// Past the valid range.
    OutOfRange,
    /// Data lost or corrupt.
    DataLoss,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_hex_and_default_to_random() {
        let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736"
            .parse()
            .expect("trace id");
        assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let json = serde_json::to_string(&id).expect("json");
        assert_eq!(json, "\"4bf92f3577b34da6a3ce929d0e0e4736\"");
        assert_eq!(serde_json::from_str::<TraceId>(&json).expect("back"), id);
        let span: SpanId = "00f067aa0ba902b7".parse().expect("span id");
        assert_eq!(format!("{span:?}"), "SpanId(00f067aa0ba902b7)");
        for bad in ["00f067aa0ba902b", "00f067aa0ba902bz", "ü0f067aa0ba902b"] {
            assert!(bad.parse::<SpanId>().is_err(), "{bad}");
        }
        assert_ne!(TraceId::default(), TraceId::default());
        assert_ne!(SpanId::default(), SpanId::default());
        assert_eq!(
            serde_json::to_value(SpanStatus::DeadlineExceeded).expect("json"),
            "deadline_exceeded"
        );
    }
}
