//! Rate limits announced by the server: `429` with `Retry-After`, and
//! `X-Sentry-Rate-Limits: <secs>:<cat;cat>:<scope>[:<reason>], ...` on any response
//! (read by [`crate::protocol::RateLimits`], the type the server writes it with).
//!
//! While a category is limited its items are dropped before sending and counted as
//! `ratelimit_backoff`. An empty category list limits everything except client reports.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::protocol::{self, DataCategory, ItemType};

/// The default backoff for a bare `429` without a usable `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);

/// The longest limit honoured (a day), whatever the server says.
const MAX_BACKOFF: Duration = Duration::from_secs(86_400);

/// Active limits, by category, plus one for all categories.
#[derive(Debug, Default, Clone)]
pub(crate) struct RateLimits {
    all: Option<Instant>,
    by_category: HashMap<DataCategory, Instant>,
}

impl RateLimits {
    /// Applies an `X-Sentry-Rate-Limits` value (read by [`protocol::RateLimits`]):
    /// an entry with an empty category list limits everything, one naming only unknown
    /// categories limits nothing, and the longest of overlapping limits wins.
    pub(crate) fn update_from_header(&mut self, value: &str, now: Instant) {
        for limit in protocol::RateLimits::parse(value).limits {
            let until = now + limit.retry_after.min(MAX_BACKOFF);
            if limit.applies_to_all() {
                self.all = Some(self.all.map_or(until, |u| u.max(until)));
                continue;
            }
            for cat in limit.categories {
                let slot = self.by_category.entry(cat).or_insert(until);
                *slot = (*slot).max(until);
            }
        }
    }

    /// Applies a `429` answer: the rate-limit header when present, else `Retry-After`
    /// (seconds), else 60 s, for all categories.
    pub(crate) fn update_from_429(
        &mut self,
        retry_after: Option<&str>,
        rate_limits: Option<&str>,
        now: Instant,
    ) {
        if let Some(h) = rate_limits {
            self.update_from_header(h, now);
            return;
        }
        let secs = retry_after
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(MAX_BACKOFF.as_secs_f64())))
            .unwrap_or(DEFAULT_BACKOFF);
        let until = now + secs;
        self.all = Some(self.all.map_or(until, |u| u.max(until)));
    }

    /// Whether items of `category` must not be sent now.
    pub(crate) fn is_limited(&self, category: DataCategory, now: Instant) -> bool {
        if category == DataCategory::Internal {
            return false;
        }
        let active = |u: Option<&Instant>| u.is_some_and(|u| *u > now);
        if active(self.all.as_ref()) || active(self.by_category.get(&category)) {
            return true;
        }
        // Events are `error` for limits; a limit on `default` covers them too.
        category == DataCategory::Error && active(self.by_category.get(&DataCategory::Default))
    }

    /// Whether an item type is limited now (items without a category never are).
    pub(crate) fn is_item_limited(&self, ty: &ItemType, now: Instant) -> bool {
        ty.data_category().is_some_and(|c| self.is_limited(c, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_limits_named_categories() {
        let now = Instant::now();
        let mut r = RateLimits::default();
        r.update_from_header(
            "60:error;transaction:key, 10::organization:quota, junk",
            now,
        );
        assert!(r.is_limited(DataCategory::Error, now + Duration::from_secs(30)));
        assert!(!r.is_limited(DataCategory::Error, now + Duration::from_secs(61)));
        assert!(r.is_limited(DataCategory::Session, now + Duration::from_secs(5)));
        assert!(!r.is_limited(DataCategory::Session, now + Duration::from_secs(11)));
        assert!(!r.is_limited(DataCategory::Internal, now));
        assert!(r.is_item_limited(&ItemType::Event, now));
        assert!(!r.is_item_limited(&ItemType::ClientReport, now));
    }

    #[test]
    fn bare_429_backs_off() {
        let now = Instant::now();
        let mut r = RateLimits::default();
        r.update_from_429(Some("2"), None, now);
        assert!(r.is_limited(DataCategory::Error, now + Duration::from_secs(1)));
        assert!(!r.is_limited(DataCategory::Error, now + Duration::from_secs(3)));
        let mut r = RateLimits::default();
        r.update_from_429(Some("Wed, 21 Oct 2015 07:28:00 GMT"), None, now);
        assert!(r.is_limited(DataCategory::Error, now + Duration::from_secs(59)));
        assert!(!r.is_limited(DataCategory::Error, now + DEFAULT_BACKOFF));
    }
}
