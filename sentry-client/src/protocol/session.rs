//! Release health: the `session` item (one session's update, [`SessionUpdate`]) and the
//! `sessions` item (pre-aggregated counts of request-mode sessions, [`SessionAggregates`]).
//!
//! The types and field names are the official `sentry::protocol` ones. Reading is lenient
//! in the ways the SDKs differ: timestamps as RFC 3339 text or Unix seconds, counts as
//! numbers or numeric strings, an `ip_address` that is no address (sentry-python may send
//! `{{auto}}`) read as absent, a missing `sid` replaced by a random one. What the protocol
//! requires stays required: `attrs.release` and a known `status`.
//!
//! ```
//! use sentry_client::protocol::{SessionStatus, SessionUpdate};
//!
//! let raw = br#"{"sid":"6b1e5a0c-4f0a-4a5e-9d3b-7f3c2e1a9b8d","did":"u1","init":true,
//!   "started":"2024-06-01T12:00:00Z","status":"exited","errors":"2","duration":1.5,
//!   "attrs":{"release":"app@1","environment":"production","ip_address":"{{auto}}"}}"#;
//! let update = SessionUpdate::from_slice(raw).unwrap();
//! assert_eq!(update.status, SessionStatus::Exited);
//! assert_eq!(update.errors, 2);
//! assert_eq!(update.attributes.release, "app@1");
//! assert!(update.attributes.ip_address.is_none());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::SystemTime;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use super::envelope::{Item, ItemType};
use super::event::EventError;
use super::values::Timestamp;

/// The state of a session.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum SessionStatus {
    /// Still running.
    #[default]
    Ok,
    /// Ended normally.
    Exited,
    /// Ended by a crash (an unhandled error, a panic).
    Crashed,
    /// Ended without a proper shutdown (killed, hung).
    Abnormal,
    /// Ended with errors (what some SDKs send instead of `exited` with `errors > 0`).
    Errored,
}

impl SessionStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Ok => "ok",
            SessionStatus::Exited => "exited",
            SessionStatus::Crashed => "crashed",
            SessionStatus::Abnormal => "abnormal",
            SessionStatus::Errored => "errored",
        }
    }

    /// Whether the session is over.
    pub fn is_terminal(self) -> bool {
        self != SessionStatus::Ok
    }
}

/// A session status name that is none of the protocol's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid session status")]
pub struct ParseSessionStatusError;

impl FromStr for SessionStatus {
    type Err = ParseSessionStatusError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "ok" => SessionStatus::Ok,
            "exited" => SessionStatus::Exited,
            "crashed" => SessionStatus::Crashed,
            "abnormal" => SessionStatus::Abnormal,
            "errored" => SessionStatus::Errored,
            _ => return Err(ParseSessionStatusError),
        })
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SessionStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SessionStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Cow<'de, str> = Deserialize::deserialize(d)?;
        s.parse()
            .map_err(|_| de::Error::custom(format_args!("unknown session status {s:?}")))
    }
}

/// What a session belongs to: release (required), environment, client address and agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionAttributes<'a> {
    /// The release, e.g. `app@1.2.3`.
    pub release: Cow<'a, str>,
    /// The environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Cow<'a, str>>,
    /// The client's IP address (absent when what was sent is no address).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_ip"
    )]
    pub ip_address: Option<IpAddr>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// One update of one session: the first has `init: true`, the last a terminal status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionUpdate<'a> {
    /// The session id (`sid`).
    #[serde(
        rename = "sid",
        default = "super::span_id::random_uuid",
        deserialize_with = "lenient_uuid"
    )]
    pub session_id: Uuid,
    /// The user (`did`): id, e-mail or user name.
    #[serde(
        rename = "did",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub distinct_id: Option<String>,
    /// A growing sequence number (`seq`).
    #[serde(
        rename = "seq",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub sequence: Option<u64>,
    /// When this update was made.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub timestamp: Option<SystemTime>,
    /// When the session started.
    #[serde(default = "SystemTime::now", with = "time_rfc3339")]
    pub started: SystemTime,
    /// Whether this is the session's first update.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "lenient_bool"
    )]
    pub init: bool,
    /// Seconds the session lasted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_f64"
    )]
    pub duration: Option<f64>,
    /// The status.
    #[serde(default)]
    pub status: SessionStatus,
    /// Errors seen during the session.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub errors: u64,
    /// Release, environment, client.
    #[serde(rename = "attrs")]
    pub attributes: SessionAttributes<'a>,
}

impl SessionUpdate<'static> {
    /// Reads a `session` item's payload.
    pub fn from_slice(bytes: &[u8]) -> Result<SessionUpdate<'static>, EventError> {
        super::event::from_slice_with_path(bytes)
    }
}

impl SessionUpdate<'_> {
    /// The update as a `session` envelope item.
    pub fn to_item(&self) -> Item {
        Item::json(
            ItemType::Session,
            serde_json::to_vec(self).unwrap_or_default(),
        )
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// The counts of the sessions that started in one bucket (a minute) by one user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionAggregateItem {
    /// The bucket's start.
    #[serde(with = "time_rfc3339")]
    pub started: SystemTime,
    /// The user (`did`).
    #[serde(
        rename = "did",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub distinct_id: Option<String>,
    /// Sessions that ended normally without errors.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "lenient_u32"
    )]
    pub exited: u32,
    /// Sessions that had errors.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "lenient_u32"
    )]
    pub errored: u32,
    /// Sessions that ended abnormally.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "lenient_u32"
    )]
    pub abnormal: u32,
    /// Sessions that crashed.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "lenient_u32"
    )]
    pub crashed: u32,
}

/// A `sessions` item: buckets of request-mode sessions with their shared attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionAggregates<'a> {
    /// The buckets.
    #[serde(default)]
    pub aggregates: Vec<SessionAggregateItem>,
    /// Release, environment, client.
    #[serde(rename = "attrs")]
    pub attributes: SessionAttributes<'a>,
}

impl SessionAggregates<'static> {
    /// Reads a `sessions` item's payload.
    pub fn from_slice(bytes: &[u8]) -> Result<SessionAggregates<'static>, EventError> {
        super::event::from_slice_with_path(bytes)
    }
}

impl SessionAggregates<'_> {
    /// The aggregates as a `sessions` envelope item.
    pub fn to_item(&self) -> Item {
        Item::json(
            ItemType::Sessions,
            serde_json::to_vec(self).unwrap_or_default(),
        )
    }
}

/// A number read from a JSON number or a numeric string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Num<'a> {
    U(u64),
    F(f64),
    #[serde(borrow)]
    S(Cow<'a, str>),
    B(bool),
}

impl Num<'_> {
    fn as_f64(&self) -> Option<f64> {
        match self {
            Num::U(u) => Some(*u as f64),
            Num::F(f) => Some(*f).filter(|f| f.is_finite()),
            Num::S(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            Num::B(_) => None,
        }
    }
    fn as_u64(&self) -> Option<u64> {
        match self {
            Num::U(u) => Some(*u),
            other => other
                .as_f64()
                .filter(|f| *f >= 0.0 && *f < 1.8e19)
                .map(|f| f as u64),
        }
    }
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(lenient_opt_u64(d)?.unwrap_or(0))
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(lenient_opt_u64(d)?
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
        .unwrap_or(0))
}

fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n: Option<Num<'de>> = Option::deserialize(d)?;
    Ok(n.as_ref().and_then(Num::as_u64))
}

fn lenient_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let n: Option<Num<'de>> = Option::deserialize(d)?;
    Ok(n.as_ref().and_then(Num::as_f64))
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let n: Option<Num<'de>> = Option::deserialize(d)?;
    Ok(match n {
        Some(Num::B(b)) => b,
        Some(Num::S(s)) => s == "true" || s == "1",
        Some(other) => other.as_f64().is_some_and(|f| f != 0.0),
        None => false,
    })
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn lenient_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

fn lenient_uuid<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    let s: Cow<'de, str> = Deserialize::deserialize(d)?;
    Uuid::parse_str(s.trim()).map_err(de::Error::custom)
}

/// `SystemTime` as RFC 3339 text, read from text or Unix seconds.
pub(crate) mod time_rfc3339 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Timestamp::from(*t).to_rfc3339())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(Timestamp::deserialize(d)?.to_system_time())
    }
}

/// `Option<SystemTime>` as RFC 3339 text, read from text, Unix seconds or `null`.
pub(crate) mod opt_time {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => time_rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Ok(Option::<Timestamp>::deserialize(d)?.map(|t| t.to_system_time()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_other_sdks() {
        let update = SessionUpdate {
            session_id: Uuid::new_v4(),
            distinct_id: Some("u".into()),
            sequence: None,
            timestamp: Some(SystemTime::now()),
            started: SystemTime::now(),
            init: true,
            duration: None,
            status: SessionStatus::Ok,
            errors: 0,
            attributes: SessionAttributes {
                release: "r@1".into(),
                environment: Some("production".into()),
                ip_address: None,
                user_agent: None,
            },
        };
        let item = update.to_item();
        let back = SessionUpdate::from_slice(&item.payload).expect("read back");
        assert_eq!(back.session_id, update.session_id);
        assert!(back.init);
        // @sentry/node: numeric timestamps, errored status.
        let node =
            br#"{"sid":"6b1e5a0c4f0a4a5e9d3b7f3c2e1a9b8d","init":false,"started":1717243200.5,
            "timestamp":1717243260,"status":"errored","errors":1,"attrs":{"release":"n@2"}}"#;
        let n = SessionUpdate::from_slice(node).expect("node");
        assert_eq!(n.status, SessionStatus::Errored);
        assert!(SessionUpdate::from_slice(br#"{"status":"ok","attrs":{}}"#).is_err());
        assert!(
            SessionUpdate::from_slice(br#"{"status":"bogus","attrs":{"release":"x"}}"#).is_err()
        );
        let agg = br#"{"aggregates":[{"started":"2024-06-01T12:00:00Z","exited":"3","crashed":1}],
            "attrs":{"release":"p@1","environment":"dev"}}"#;
        let a = SessionAggregates::from_slice(agg).expect("aggregates");
        assert_eq!(a.aggregates[0].exited, 3);
        assert_eq!(a.aggregates[0].crashed, 1);
        assert_eq!(
            SessionAggregates::from_slice(&a.to_item().payload).expect("back"),
            a
        );
    }
}
