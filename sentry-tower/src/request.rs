//! What the layer keeps of a request, and how it becomes the event's `request`, trace
//! context and request breadcrumb.
//!
//! The request path of the middleware only *keeps* things (the method, the URI, the
//! matched route and the header map are cheap clones of shared buffers) in one
//! [`RequestInfo`], the seed of the request's lazily forked hub. Turning them into scope
//! data (the transaction name, the trace context, an event processor) happens only when
//! the request's scope is first needed (the handler changes it, or an event is captured,
//! then on the SDK's background worker), and turning them into protocol values (strings,
//! scrubbed header lists, the breadcrumb) happens in that event processor, on the worker,
//! only for requests during which an event is captured. A request that goes well pays for
//! none of it.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName, HOST};
use http::{Method, Uri};
use sentry_client::protocol::{Breadcrumb, Event, PairList, Request, Timestamp, User};
use sentry_client::{BeforeCallback, Scope, ScopeSeed};
use serde_json::{Map, Value};

use crate::trace::TraceContext;

/// The value put in place of a scrubbed header or query parameter.
pub const FILTERED: &str = "[Filtered]";

/// Header and query parameter names that are always scrubbed, compared ignoring case.
const SENSITIVE_NAMES: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Parts of a name that make a header or query parameter sensitive (`X-Api-Key`,
/// `X-Auth-Token`, `client_secret`, `password`, `X-CSRF-Token`, `session_id`, ...).
const SENSITIVE_PARTS: &[&str] = &[
    "auth",
    "token",
    "secret",
    "key",
    "password",
    "passwd",
    "pwd",
    "session",
    "csrf",
    "credential",
    "signature",
];

/// Whether a header or query parameter called `name` is scrubbed, given the layer's
/// extra names (lowercase).
pub(crate) fn is_sensitive(name: &str, extra: &[String]) -> bool {
    // Header names from the `http` crate are lowercase already: no copy for them.
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        is_sensitive_lower(&name.to_ascii_lowercase(), extra)
    } else {
        is_sensitive_lower(name, extra)
    }
}

fn is_sensitive_lower(lower: &str, extra: &[String]) -> bool {
    SENSITIVE_NAMES.contains(&lower)
        || contains_sensitive_part(lower.as_bytes())
        || extra.iter().any(|e| e == lower)
}

/// Whether one of [`SENSITIVE_PARTS`] occurs in `name`. Header names are short, so a
/// direct scan (try the parts only where their first letter is) beats eleven `contains`
/// calls, each of which sets up a substring searcher.
fn contains_sensitive_part(name: &[u8]) -> bool {
    (0..name.len()).any(|i| {
        let rest = &name[i..];
        matches!(rest[0], b'a' | b't' | b's' | b'k' | b'p' | b'c')
            && SENSITIVE_PARTS
                .iter()
                .any(|p| rest.starts_with(p.as_bytes()))
    })
}

/// The request as the layer saw it when it started.
pub(crate) struct RequestInfo {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    /// axum's matched route, when the layer runs after routing.
    #[cfg(feature = "axum-matched-path")]
    pub(crate) route: Option<axum::extract::MatchedPath>,
    /// Only set when `send_default_pii` is on.
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) started: SystemTime,
    /// Whether to continue the trace of `sentry-trace` / `baggage` headers.
    pub(crate) continue_traces: bool,
    /// The incoming trace, or a fresh one, read or made the first time the scope or an
    /// event needs it, so that every event of one request carries the same trace id.
    pub(crate) trace: OnceLock<TraceContext>,
    pub(crate) breadcrumb: Option<BreadcrumbSettings>,
    pub(crate) extra_sensitive: Arc<[String]>,
}

/// What the request breadcrumb needs from the client options.
pub(crate) struct BreadcrumbSettings {
    pub(crate) before_breadcrumb: Option<BeforeCallback<Breadcrumb>>,
    pub(crate) max_breadcrumbs: usize,
}

impl ScopeSeed for RequestInfo {
    /// The request's scope data: the transaction name, the trace, and the
    /// processor that adds the request to events.
    fn seed(self: Arc<Self>, scope: &mut Scope) {
        scope.set_transaction(Some(&self.transaction_name()));
        scope.set_context("trace", self.trace().to_value());
        scope.add_event_processor(move |event| self.apply(event));
    }
}

impl RequestInfo {
    /// The caller's trace from the request headers, else a fresh one; the same for
    /// every event of the request.
    pub(crate) fn trace(&self) -> &TraceContext {
        self.trace.get_or_init(|| {
            self.continue_traces
                .then(|| TraceContext::from_headers(&self.headers))
                .flatten()
                .unwrap_or_else(TraceContext::fresh)
        })
    }

    /// `METHOD route` with axum's matched route when there is one, else `METHOD path`.
    pub(crate) fn transaction_name(&self) -> String {
        #[cfg(feature = "axum-matched-path")]
        if let Some(route) = &self.route {
            return format!("{} {}", self.method, route.as_str());
        }
        format!("{} {}", self.method, self.uri.path())
    }

    /// The full URL without the query: scheme and host from the URI when it is absolute
    /// (HTTP/2, proxies), else `X-Forwarded-Proto`/`http` and the `Host` header.
    pub(crate) fn url(&self) -> String {
        let path = self.uri.path();
        match (self.uri.scheme_str(), self.uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{path}"),
            _ => {
                let host = self
                    .headers
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                let scheme = self
                    .headers
                    .get("x-forwarded-proto")
                    .and_then(|h| h.to_str().ok())
                    .filter(|s| *s == "https" || *s == "http")
                    .unwrap_or("http");
                format!("{scheme}://{host}{path}")
            }
        }
    }

    /// The query string with the values of sensitive parameters replaced.
    pub(crate) fn scrubbed_query(&self) -> Option<String> {
        let query = self.uri.query().filter(|q| !q.is_empty())?;
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split('=').next().unwrap_or(pair);
                if pair.contains('=') && is_sensitive(name, &self.extra_sensitive) {
                    format!("{name}={FILTERED}")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        Some(parts.join("&"))
    }

    /// Headers as pairs, sensitive values replaced; repeated headers stay repeated.
    pub(crate) fn scrubbed_headers(&self) -> PairList {
        let mut out = PairList::new();
        for (name, value) in &self.headers {
            let shown = if is_sensitive(name.as_str(), &self.extra_sensitive) {
                FILTERED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            out.push(header_title(name), shown);
        }
        out
    }

    /// The protocol `request`.
    pub(crate) fn to_request(&self) -> Request {
        let mut request = Request {
            method: Some(self.method.as_str().to_owned()),
            url: Some(self.url()),
            query_string: self.scrubbed_query().map(Value::String),
            headers: self.scrubbed_headers(),
            ..Default::default()
        };
        if let Some(ip) = self.client_ip {
            request
                .env
                .insert("REMOTE_ADDR".into(), Value::String(ip.to_string()));
        }
        request
    }

    /// The `http` breadcrumb for this request (before `before_breadcrumb`).
    fn to_breadcrumb(&self) -> Breadcrumb {
        let mut data = Map::new();
        data.insert("method".into(), Value::String(self.method.to_string()));
        data.insert("url".into(), Value::String(self.url()));
        Breadcrumb {
            timestamp: Some(Timestamp::from(self.started)),
            ty: Some("http".into()),
            category: Some("http.server".into()),
            message: Some(format!("{} {}", self.method, self.uri.path())),
            data,
            ..Default::default()
        }
    }

    /// The event processor: fills `request`, the client IP, the trace context and the
    /// request breadcrumb, never overwriting what the event or a closer scope set.
    pub(crate) fn apply(&self, mut event: Event) -> Option<Event> {
        if event.request.is_none() {
            event.request = Some(self.to_request());
        }
        if let Some(ip) = self.client_ip {
            let user = event.user.get_or_insert_with(User::default);
            if user.ip_address.is_none() {
                user.ip_address = Some(ip.to_string());
            }
        }
        if !event.contexts.contains_key("trace") {
            event
                .contexts
                .insert("trace".into(), self.trace().to_value());
        }
        if let Some(settings) = &self.breadcrumb {
            self.insert_breadcrumb(&mut event, settings);
        }
        Some(event)
    }

    /// Inserts the request breadcrumb where its timestamp puts it: after what happened
    /// before the request, before what the handler recorded.
    fn insert_breadcrumb(&self, event: &mut Event, settings: &BreadcrumbSettings) {
        if settings.max_breadcrumbs == 0 {
            return;
        }
        let mut crumb = Some(self.to_breadcrumb());
        if let Some(cb) = &settings.before_breadcrumb {
            let cb = Arc::clone(cb);
            let taken = crumb.take();
            crumb = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                taken.and_then(|c| cb(c))
            }))
            .ok()
            .flatten();
        }
        let Some(crumb) = crumb else { return };
        let at = Timestamp::from(self.started).as_unix();
        let crumbs = &mut event.breadcrumbs.values;
        let pos = crumbs
            .iter()
            .position(|c| c.timestamp.as_ref().is_some_and(|t| t.as_unix() > at))
            .unwrap_or(crumbs.len());
        crumbs.insert(pos, crumb);
        let excess = crumbs.len().saturating_sub(settings.max_breadcrumbs);
        crumbs.drain(..excess);
    }
}

/// `content-type` → `Content-Type`, the spelling Sentry's UI shows.
fn header_title(name: &HeaderName) -> String {
    let mut out = String::with_capacity(name.as_str().len());
    let mut upper = true;
    for c in name.as_str().chars() {
        if upper {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
        upper = c == '-';
    }
    out
}

/// The client's IP: the first `X-Forwarded-For` entry, else `X-Real-IP`, else the peer
/// address from the request extensions (axum's `ConnectInfo`, or a plain `SocketAddr`
/// a hyper server put there).
pub(crate) fn client_ip<B>(req: &http::Request<B>) -> Option<IpAddr> {
    let headers = req.headers();
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|h| h.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if forwarded.is_some() {
        return forwarded;
    }
    let real = headers
        .get("x-real-ip")
        .and_then(|h| h.to_str().ok())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if real.is_some() {
        return real;
    }
    #[cfg(feature = "axum-matched-path")]
    if let Some(info) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    req.extensions().get::<SocketAddr>().map(SocketAddr::ip)
}

/// axum's matched route of the request, if routing ran before the layer.
#[cfg(feature = "axum-matched-path")]
pub(crate) fn matched_route<B>(req: &http::Request<B>) -> Option<axum::extract::MatchedPath> {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned()
}

/// A fresh random id as `len` (at most 32) hex digits: trace ids (32), span ids (16).
/// From the thread-local generator, not the OS: no system call per id.
pub(crate) fn random_hex(len: usize) -> String {
    let mut s = format!("{:032x}", sentry_client::integrations::random_u128());
    s.truncate(len);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(uri: &str, headers: &[(&str, &str)]) -> RequestInfo {
        let mut req = http::Request::builder().method("POST").uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(()).expect("request");
        RequestInfo {
            method: req.method().clone(),
            uri: req.uri().clone(),
            headers: req.headers().clone(),
            #[cfg(feature = "axum-matched-path")]
            route: None,
            client_ip: None,
            started: SystemTime::now(),
            continue_traces: true,
            trace: OnceLock::new(),
            breadcrumb: None,
            extra_sensitive: Arc::from(vec!["x-internal".to_owned()]),
        }
    }

    #[test]
    fn sensitive_names() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "set-cookie",
            "X-Api-Key",
            "x-auth-token",
            "X-CSRF-Token",
            "client_secret",
            "password",
            "X-Session-Id",
            "x-internal",
        ] {
            assert!(is_sensitive(name, &["x-internal".into()]), "{name}");
        }
        for name in ["Content-Type", "User-Agent", "Accept", "Host", "Keep-Alive"] {
            assert!(!is_sensitive(name, &[]), "{name}");
        }
    }

    #[test]
    fn part_scan_agrees_with_substring_search() {
        let names = [
            "x-api-key",
            "keep-alive",
            "accept",
            "x-auth-token",
            "user-agent",
            "pwd",
            "xpwdx",
            "content-type",
            "x-csrftoken",
            "credentials",
            "x-signature-v2",
            "host",
            "k",
            "",
            "sessionid",
            "tokens",
            "x-secret",
            "passwd1",
            "cache-control",
            "x-forwarded-for",
        ];
        for name in names {
            let naive = SENSITIVE_PARTS.iter().any(|p| name.contains(p));
            assert_eq!(contains_sensitive_part(name.as_bytes()), naive, "{name}");
        }
    }

    #[test]
    fn request_is_scrubbed_and_complete() {
        let i = info(
            "/orders/7?page=2&api_key=abc&token=t",
            &[
                ("host", "shop.example:8080"),
                ("authorization", "Bearer sekrit"),
                ("cookie", "sid=1"),
                ("x-internal", "zzz"),
                ("accept", "text/html"),
                ("accept", "application/json"),
            ],
        );
        let r = i.to_request();
        assert_eq!(r.method.as_deref(), Some("POST"));
        assert_eq!(r.url.as_deref(), Some("http://shop.example:8080/orders/7"));
        assert_eq!(
            r.query_string,
            Some(Value::String(format!(
                "page=2&api_key={FILTERED}&token={FILTERED}"
            )))
        );
        assert_eq!(r.headers.get("Authorization"), Some(FILTERED));
        assert_eq!(r.headers.get("Cookie"), Some(FILTERED));
        assert_eq!(r.headers.get("X-Internal"), Some(FILTERED));
        assert_eq!(r.headers.get("Host"), Some("shop.example:8080"));
        let accepts: Vec<_> = r
            .headers
            .iter()
            .filter(|(k, _)| *k == "Accept")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(accepts, ["text/html", "application/json"]);
        assert!(r.env.is_empty(), "no client IP without send_default_pii");
        assert!(r.data.is_none() && r.cookies.is_none());
    }

    #[test]
    fn absolute_uri_and_forwarded_proto() {
        let i = info("https://api.example/v1?x=1", &[]);
        assert_eq!(i.url(), "https://api.example/v1");
        let i = info("/v1", &[("host", "h"), ("x-forwarded-proto", "https")]);
        assert_eq!(i.url(), "https://h/v1");
    }

    #[test]
    fn client_ip_sources() {
        let req = http::Request::builder()
            .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
            .body(())
            .expect("request");
        assert_eq!(client_ip(&req), "203.0.113.9".parse().ok());
        let mut req = http::Request::new(());
        req.extensions_mut()
            .insert(SocketAddr::from(([192, 0, 2, 1], 5000)));
        assert_eq!(client_ip(&req), "192.0.2.1".parse().ok());
        assert_eq!(client_ip(&http::Request::new(())), None);
    }

    #[test]
    fn breadcrumb_goes_by_timestamp_and_respects_the_limit() {
        let mut i = info("/a", &[]);
        i.started = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(100);
        i.breadcrumb = Some(BreadcrumbSettings {
            before_breadcrumb: None,
            max_breadcrumbs: 3,
        });
        let mut event = Event::new();
        for (t, m) in [(90.0, "before1"), (95.0, "before2"), (110.0, "during")] {
            event.breadcrumbs.values.push(Breadcrumb {
                timestamp: Some(Timestamp::from_unix(t)),
                message: Some(m.into()),
                ..Default::default()
            });
        }
        let event = i.apply(event).expect("kept");
        let got: Vec<_> = event
            .breadcrumbs
            .iter()
            .map(|c| c.message.clone().unwrap_or_default())
            .collect();
        assert_eq!(got, ["before2", "POST /a", "during"]);
        assert_eq!(event.breadcrumbs.values[1].ty.as_deref(), Some("http"));
    }
}
