//! The `X-Sentry-Rate-Limits` header (protocol reference §5.4): comma-separated
//! limits, each `retry_after:categories:scope[:reason_code[:namespaces]]`.
//!
//! [`RateLimits::parse`] is lenient the way clients must be: whitespace is trimmed,
//! fractional seconds are accepted, an entry that lacks the retry time or the category
//! field (or whose retry time is not a non-negative number) is skipped, unknown
//! categories and scopes are kept by name, and fields after the namespaces are ignored.
//! [`RateLimits`]' `Display` writes the canonical form servers should emit: integer
//! seconds (rounded up), the scope always present, the reason only when there is one
//! (or an empty reason field when namespaces follow), entries joined by `", "`.
//!
//! ```
//! use std::time::Duration;
//! use sentry_client::protocol::{DataCategory, RateLimit, RateLimitScope, RateLimits};
//!
//! let limits = RateLimits::from(vec![RateLimit {
//!     retry_after: Duration::from_secs(7),
//!     categories: vec![DataCategory::Error, DataCategory::Default],
//!     scope: RateLimitScope::Key,
//!     reason_code: Some("key_quota".into()),
//!     ..RateLimit::default()
//! }]);
//! assert_eq!(limits.to_string(), "7:error;default:key:key_quota");
//! assert_eq!(RateLimits::parse(" 7 : error;default : key : key_quota "), limits);
//! ```

use std::fmt;
use std::time::Duration;

use super::client_report::DataCategory;

/// Who a limit applies to (the header's scope field). SDKs ignore it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum RateLimitScope {
    /// The whole organization.
    Organization,
    /// One project.
    Project,
    /// One project key (what this server limits).
    #[default]
    Key,
    /// A scope this crate does not know, by its wire name (empty when the field was
    /// missing).
    Other(String),
}

impl RateLimitScope {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            RateLimitScope::Organization => "organization",
            RateLimitScope::Project => "project",
            RateLimitScope::Key => "key",
            RateLimitScope::Other(s) => s,
        }
    }

    /// Reads a wire name; unknown names are kept as [`RateLimitScope::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "organization" => RateLimitScope::Organization,
            "project" => RateLimitScope::Project,
            "key" => RateLimitScope::Key,
            other => RateLimitScope::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for RateLimitScope {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One limit of the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// How long the limit holds.
    pub retry_after: Duration,
    /// The known categories it names, in header order.
    pub categories: Vec<DataCategory>,
    /// The category names it names that are not a [`DataCategory`] (never mapped to
    /// one: a limit naming only these limits nothing a client sends).
    pub unknown_categories: Vec<String>,
    /// Who it applies to.
    pub scope: RateLimitScope,
    /// Why, e.g. `key_quota`; `None` when the field is absent or empty.
    pub reason_code: Option<String>,
    /// Metric namespaces (only for `metric_bucket`); empty means all.
    pub namespaces: Vec<String>,
}

impl RateLimit {
    /// Whether the limit applies to every category (its category field is empty).
    pub fn applies_to_all(&self) -> bool {
        self.categories.is_empty() && self.unknown_categories.is_empty()
    }

    /// Reads one entry; `None` when it lacks the retry time or the category field, or
    /// the retry time is not a non-negative number.
    fn parse(entry: &str) -> Option<RateLimit> {
        let mut fields = entry.split(':').map(str::trim);
        let secs = fields.next()?.parse::<f64>().ok()?;
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        let retry_after = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
        let mut limit = RateLimit {
            retry_after,
            scope: RateLimitScope::Other(String::new()),
            ..RateLimit::default()
        };
        for name in fields.next()?.split(';').map(str::trim) {
            match DataCategory::parse(name) {
                Some(c) => limit.categories.push(c),
                None if name.is_empty() => {}
                None => limit.unknown_categories.push(name.to_owned()),
            }
        }
        if let Some(scope) = fields.next() {
            limit.scope = RateLimitScope::parse(scope);
        }
        limit.reason_code = fields.next().filter(|r| !r.is_empty()).map(str::to_owned);
        if let Some(ns) = fields.next() {
            limit.namespaces = ns
                .split(';')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Some(limit)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // Integer seconds: sentry-python skips an entry with a fraction. Round up so a
        // client never comes back early.
        let mut secs = self.retry_after.as_secs();
        if self.retry_after.subsec_nanos() > 0 {
            secs = secs.saturating_add(1);
        }
        write!(f, "{secs}:")?;
        let names = self
            .categories
            .iter()
            .map(|c| c.as_str())
            .chain(self.unknown_categories.iter().map(String::as_str));
        for (i, name) in names.enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(name)?;
        }
        write!(f, ":{}", self.scope)?;
        if self.reason_code.is_some() || !self.namespaces.is_empty() {
            write!(f, ":{}", self.reason_code.as_deref().unwrap_or(""))?;
        }
        if !self.namespaces.is_empty() {
            write!(f, ":{}", self.namespaces.join(";"))?;
        }
        Ok(())
    }
}

/// The value of an `X-Sentry-Rate-Limits` header: its limits, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// The limits.
    pub limits: Vec<RateLimit>,
}

impl RateLimits {
    /// Reads a header value leniently (see the module docs); unreadable entries are
    /// skipped, never an error.
    pub fn parse(value: &str) -> RateLimits {
        RateLimits {
            limits: value.split(',').filter_map(RateLimit::parse).collect(),
        }
    }

    /// The longest retry time of all limits (what `Retry-After` should say).
    pub fn max_retry_after(&self) -> Option<Duration> {
        self.limits.iter().map(|l| l.retry_after).max()
    }
}

impl From<Vec<RateLimit>> for RateLimits {
    fn from(limits: Vec<RateLimit>) -> Self {
        RateLimits { limits }
    }
}

impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, limit) in self.limits.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{limit}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_examples() {
        let r = RateLimits::parse("60:transaction:key, 2700:default;error;security:organization");
        assert_eq!(r.limits.len(), 2);
        assert_eq!(r.limits[0].retry_after, Duration::from_secs(60));
        assert_eq!(r.limits[0].categories, vec![DataCategory::Transaction]);
        assert_eq!(r.limits[0].scope, RateLimitScope::Key);
        assert_eq!(r.limits[0].reason_code, None);
        assert_eq!(
            r.limits[1].categories,
            vec![
                DataCategory::Default,
                DataCategory::Error,
                DataCategory::Security
            ]
        );
        assert_eq!(r.limits[1].scope, RateLimitScope::Organization);
        assert_eq!(r.max_retry_after(), Some(Duration::from_secs(2700)));

        let r = RateLimits::parse("60::organization, 2700::organization");
        assert!(r.limits.iter().all(RateLimit::applies_to_all));

        let r = RateLimits::parse("2700:metric_bucket:organization:quota_exceeded:custom");
        let l = &r.limits[0];
        assert!(l.categories.is_empty());
        assert_eq!(l.unknown_categories, vec!["metric_bucket".to_owned()]);
        assert!(!l.applies_to_all());
        assert_eq!(l.reason_code.as_deref(), Some("quota_exceeded"));
        assert_eq!(l.namespaces, vec!["custom".to_owned()]);
        assert_eq!(
            r.to_string(),
            "2700:metric_bucket:organization:quota_exceeded:custom"
        );
    }

    #[test]
    fn lenient_reading() {
        let r = RateLimits::parse(
            "junk, -1:error:key, NaN:error:key, 60, 1.5:error, ,9:log_item:x:y:z:extra",
        );
        assert_eq!(r.limits.len(), 2);
        assert_eq!(r.limits[0].retry_after, Duration::from_millis(1500));
        assert_eq!(r.limits[0].scope, RateLimitScope::Other(String::new()));
        assert_eq!(r.limits[1].categories, vec![DataCategory::LogItem]);
        assert_eq!(r.limits[1].scope, RateLimitScope::Other("x".into()));
        assert_eq!(r.limits[1].reason_code.as_deref(), Some("y"));
        assert_eq!(r.limits[1].namespaces, vec!["z".to_owned()]);
        // A huge number does not panic.
        let r = RateLimits::parse("1e300:error:key");
        assert_eq!(r.limits[0].retry_after, Duration::MAX);
        assert!(RateLimits::parse("").limits.is_empty());
    }

    #[test]
    fn canonical_writing() {
        let limit = RateLimit {
            retry_after: Duration::from_millis(1500),
            namespaces: vec!["custom".into()],
            ..RateLimit::default()
        };
        // Seconds rounded up, scope always written, an empty reason before namespaces.
        assert_eq!(limit.to_string(), "2::key::custom");
        let r = RateLimits::from(vec![
            RateLimit {
                retry_after: Duration::from_secs(60),
                categories: vec![DataCategory::Transaction],
                ..RateLimit::default()
            },
            RateLimit {
                retry_after: Duration::from_secs(10),
                scope: RateLimitScope::Project,
                ..RateLimit::default()
            },
        ]);
        assert_eq!(r.to_string(), "60:transaction:key, 10::project");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// A name that is neither a known category/scope nor contains a separator.
        fn token() -> impl Strategy<Value = String> {
            "[a-z_]{1,12}".prop_filter("unknown name", |s| {
                DataCategory::parse(s).is_none()
                    && !matches!(s.as_str(), "organization" | "project" | "key")
            })
        }

        fn scope() -> impl Strategy<Value = RateLimitScope> {
            prop_oneof![
                Just(RateLimitScope::Organization),
                Just(RateLimitScope::Project),
                Just(RateLimitScope::Key),
                Just(RateLimitScope::Other(String::new())),
                token().prop_map(RateLimitScope::Other),
            ]
        }

        fn limit() -> impl Strategy<Value = RateLimit> {
            (
                0u64..200_000,
                proptest::collection::vec(proptest::sample::select(&DataCategory::ALL[..]), 0..4),
                proptest::collection::vec(token(), 0..3),
                scope(),
                proptest::option::of(token()),
                proptest::collection::vec(token(), 0..3),
            )
                .prop_map(
                    |(secs, categories, unknown_categories, scope, reason_code, namespaces)| {
                        RateLimit {
                            retry_after: Duration::from_secs(secs),
                            categories,
                            unknown_categories,
                            scope,
                            reason_code,
                            namespaces,
                        }
                    },
                )
        }

        proptest! {
            #[test]
            fn format_then_parse_round_trips(limits in proptest::collection::vec(limit(), 0..5)) {
                let limits = RateLimits::from(limits);
                let text = limits.to_string();
                prop_assert_eq!(RateLimits::parse(&text), limits.clone());
                // Canonical: writing what was read gives the same text.
                prop_assert_eq!(RateLimits::parse(&text).to_string(), text);
            }

            #[test]
            fn parse_never_panics(text in "[ -~]{0,80}") {
                let parsed = RateLimits::parse(&text);
                // Whatever was read writes back to something that reads the same.
                let again = RateLimits::parse(&parsed.to_string());
                prop_assert_eq!(again.limits.len(), parsed.limits.len());
            }
        }
    }
}
