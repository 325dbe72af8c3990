//! Authentication of ingestion requests: credentials from `X-Sentry-Auth`,
//! `Authorization: Sentry …` or `Basic`, the `sentry_key` query parameter or the
//! envelope header's `dsn` (protocol §2), checked against project keys, plus the
//! browser origin check (§2.5).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use parking_lot::RwLock;
use sentry_client::protocol::{Auth, AuthError, Dsn};

use super::IngestError;
use crate::secrets::constant_time_eq;
use crate::store::{ProjectKey, Store};

/// Credentials as sent, before they are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Public key.
    pub key: String,
    /// Legacy secret, if sent.
    pub secret: Option<String>,
    /// Project id named by a DSN, if the credentials came with one.
    pub dsn_project: Option<u64>,
}

impl From<Auth> for Credentials {
    fn from(a: Auth) -> Self {
        Credentials {
            key: a.key,
            secret: a.secret,
            dsn_project: None,
        }
    }
}

fn auth_error(source: &str, e: AuthError) -> IngestError {
    match e {
        AuthError::UnsupportedVersion(_) | AuthError::InvalidVersion(_) => {
            IngestError::BadRequest(format!("{source}: {e}"))
        }
        _ => IngestError::Unauthorized(format!("invalid {source}: {e}")),
    }
}

/// Reads credentials from HTTP headers and the query string. More than one distinct
/// set is refused (401), as Relay does.
pub fn from_request(
    auth_header: Option<&str>,
    authorization: Option<&str>,
    query: Option<&str>,
) -> Result<Option<Credentials>, IngestError> {
    let mut found: Vec<Credentials> = Vec::new();
    if let Some(h) = auth_header {
        found.push(
            Auth::from_header(h)
                .map_err(|e| auth_error("X-Sentry-Auth header", e))?
                .into(),
        );
    }
    if let Some(h) = authorization {
        let trimmed = h.trim_start();
        if trimmed.len() >= 6 && trimmed[..6].eq_ignore_ascii_case("basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(trimmed[6..].trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    IngestError::Unauthorized(
                        "invalid Authorization header: bad Basic credentials".into(),
                    )
                })?;
            let key = decoded.split(':').next().unwrap_or("").to_owned();
            if key.is_empty() {
                return Err(IngestError::Unauthorized(
                    "invalid Authorization header: empty key".into(),
                ));
            }
            found.push(Credentials {
                key,
                secret: None,
                dsn_project: None,
            });
        } else if trimmed.len() >= 7 && trimmed[..7].eq_ignore_ascii_case("sentry ") {
            found.push(
                Auth::from_header(h)
                    .map_err(|e| auth_error("Authorization header", e))?
                    .into(),
            );
        }
    }
    if let Some(q) = query.filter(|q| Auth::query_has_auth(q)) {
        found.push(
            Auth::from_query(q)
                .map_err(|e| auth_error("query string", e))?
                .into(),
        );
    }
    let first = found.first().cloned();
    if found
        .iter()
        .any(|c| Some(&c.key) != first.as_ref().map(|f| &f.key))
    {
        return Err(IngestError::Unauthorized(
            "multiple authorization payloads detected (different keys)".into(),
        ));
    }
    Ok(first)
}

/// Credentials from an envelope header's `dsn`.
pub fn from_dsn(dsn: &str) -> Result<Credentials, IngestError> {
    let dsn: Dsn = dsn
        .parse()
        .map_err(|e| IngestError::Unauthorized(format!("invalid dsn in envelope header: {e}")))?;
    Ok(Credentials {
        key: dsn.public_key().to_owned(),
        secret: dsn.secret_key().map(str::to_owned),
        dsn_project: Some(dsn.project_id()),
    })
}

/// A key with what the ingest path needs to know about its project.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// The key.
    pub key: ProjectKey,
    /// The project's allowed origins.
    pub allowed_origins: Vec<String>,
    /// The project's data-scrubbing settings.
    pub scrubbing: crate::store::ScrubSettings,
    /// Whether the project stores attachments.
    pub store_attachments: bool,
}

/// Most known keys cached. Past it, stale entries go first, then single entries: the
/// known-good keys are never dropped wholesale.
pub const MAX_KNOWN_KEYS: usize = 10_000;
/// Most unknown keys remembered (negative lookups). A flood of made-up keys fills only
/// this map, which is emptied when full of fresh entries.
pub const MAX_UNKNOWN_KEYS: usize = 10_000;

/// When an entry was made and the store's key generation before it was made.
type Stamp = (Instant, u64);

#[derive(Default)]
struct Entries {
    known: HashMap<String, (Arc<KeyInfo>, Stamp)>,
    unknown: HashMap<String, Stamp>,
}

/// A short-lived cache of key lookups, so that the hot path does not query the database
/// for every event. Revocations take effect within the TTL, or at once when the store
/// reports key changes ([`Store::key_generation`]: on PostgreSQL, changes made by any
/// instance). Known keys and unknown ones are kept apart, each bounded
/// ([`MAX_KNOWN_KEYS`], [`MAX_UNKNOWN_KEYS`]).
pub struct KeyCache {
    store: Arc<dyn Store>,
    ttl: Duration,
    entries: RwLock<Entries>,
}

impl KeyCache {
    /// A cache over `store`.
    pub fn new(store: Arc<dyn Store>, ttl: Duration) -> Self {
        KeyCache {
            store,
            ttl,
            entries: RwLock::new(Entries::default()),
        }
    }

    fn fresh(&self, (at, made_in): &Stamp, generation: u64) -> bool {
        at.elapsed() < self.ttl && *made_in == generation
    }

    /// Looks a public key up (blocking on a cache miss: call from a blocking context or
    /// accept a short database read).
    pub fn lookup(&self, public_key: &str) -> Result<Option<Arc<KeyInfo>>, IngestError> {
        // Read before the lookup: an entry made while a change was committing carries the
        // old generation and is not used once the change is known.
        let generation = self.store.key_generation();
        {
            let entries = self.entries.read();
            if let Some((info, stamp)) = entries.known.get(public_key) {
                if self.fresh(stamp, generation) {
                    return Ok(Some(info.clone()));
                }
            }
            if let Some(stamp) = entries.unknown.get(public_key) {
                if self.fresh(stamp, generation) {
                    return Ok(None);
                }
            }
        }
        let info = match self.store.key_by_public(public_key)? {
            Some(key) => {
                let project = self.store.project_by_id(key.project_id)?;
                let (allowed_origins, scrubbing, store_attachments) = project
                    .map(|p| (p.allowed_origins, p.scrubbing, p.store_attachments))
                    .unwrap_or_default();
                Some(Arc::new(KeyInfo {
                    allowed_origins,
                    scrubbing,
                    store_attachments,
                    key,
                }))
            }
            None => None,
        };
        let stamp = (Instant::now(), generation);
        let mut entries = self.entries.write();
        match &info {
            Some(info) => {
                entries.unknown.remove(public_key);
                if entries.known.len() >= MAX_KNOWN_KEYS {
                    entries
                        .known
                        .retain(|_, (_, s)| s.0.elapsed() < self.ttl && s.1 == generation);
                }
                if entries.known.len() >= MAX_KNOWN_KEYS {
                    let any = entries.known.keys().next().cloned();
                    if let Some(any) = any {
                        entries.known.remove(&any);
                    }
                }
                entries
                    .known
                    .insert(public_key.to_owned(), (info.clone(), stamp));
            }
            None => {
                entries.known.remove(public_key);
                if entries.unknown.len() >= MAX_UNKNOWN_KEYS {
                    entries
                        .unknown
                        .retain(|_, s| s.0.elapsed() < self.ttl && s.1 == generation);
                }
                if entries.unknown.len() >= MAX_UNKNOWN_KEYS {
                    entries.unknown.clear();
                }
                entries.unknown.insert(public_key.to_owned(), stamp);
            }
        }
        Ok(info)
    }

    /// Whether a fresh lookup of `public_key` is cached (known or unknown).
    pub fn is_cached(&self, public_key: &str) -> bool {
        let generation = self.store.key_generation();
        let entries = self.entries.read();
        entries
            .known
            .get(public_key)
            .map(|(_, s)| s)
            .or(entries.unknown.get(public_key))
            .is_some_and(|s| self.fresh(s, generation))
    }

    /// Forgets every cached key (after an admin change in this process).
    pub fn clear(&self) {
        let mut entries = self.entries.write();
        entries.known.clear();
        entries.unknown.clear();
    }
}

/// Checks credentials against the key store for `url_project` (the project id in the
/// URL, when there is one). Unknown, revoked and other projects' keys are 403.
pub fn check_key(
    cache: &KeyCache,
    creds: &Credentials,
    url_project: Option<u64>,
) -> Result<Arc<KeyInfo>, IngestError> {
    let info = cache
        .lookup(&creds.key)?
        .ok_or_else(|| IngestError::Forbidden("unknown public key".into()))?;
    if !info.key.is_active {
        return Err(IngestError::Forbidden("project key is revoked".into()));
    }
    if let Some(secret) = &creds.secret {
        if !constant_time_eq(secret.as_bytes(), info.key.secret_key.as_bytes()) {
            return Err(IngestError::Forbidden("secret key does not match".into()));
        }
    }
    let project = info.key.project_id as u64;
    for (what, id) in [("URL", url_project), ("DSN", creds.dsn_project)] {
        if let Some(id) = id {
            if id != project {
                return Err(IngestError::Forbidden(format!(
                    "public key belongs to another project (project in {what}: {id})"
                )));
            }
        }
    }
    Ok(info)
}

/// The origin of a browser request: the `Origin` header, else the scheme and host of an
/// http(s) `Referer`. An http(s) origin is `scheme://host[:port]` in lowercase; any other
/// `Origin` (`null` from sandboxed frames and `file://` pages, `chrome-extension://…`)
/// is kept as sent (lowercase, without a path), so that an allow-list can refuse it:
/// only `*` or the exact value allows such an origin (see [`origin_allowed`]).
pub fn request_origin(origin: Option<&str>, referer: Option<&str>) -> Option<String> {
    if let Some(o) = origin.map(str::trim).filter(|o| !o.is_empty()) {
        return Some(url_origin(o).unwrap_or_else(|| opaque_origin(o)));
    }
    url_origin(referer?)
}

/// A non-http(s) origin as one comparable value: `null`, or `scheme://host` without
/// path or query.
fn opaque_origin(o: &str) -> String {
    let o = o.to_ascii_lowercase();
    match o.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{host}")
        }
        None => o,
    }
}

fn url_origin(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// Whether `origin` (from [`request_origin`]) is allowed by the list: `*`, an exact
/// origin, a host (`example.com`, any http(s) scheme and port) or `*.example.com`. An
/// origin that is not http(s) (`null`, `chrome-extension://…`) is allowed only by `*`
/// or by its exact value.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    let web = origin.starts_with("http://") || origin.starts_with("https://");
    let host_port = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    let host = host_port.split(':').next().unwrap_or(host_port);
    allowed.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        if a == "*" {
            return true;
        }
        if a.contains("://") || !web {
            return a.trim_end_matches('/') == origin;
        }
        if let Some(suffix) = a.strip_prefix("*.") {
            return host == suffix || host.ends_with(&format!(".{suffix}"));
        }
        a == host || a == host_port
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_sources() {
        let c = from_request(Some("Sentry sentry_key=abc, sentry_version=7"), None, None)
            .expect("ok")
            .expect("some");
        assert_eq!(c.key, "abc");
        let q = from_request(None, None, Some("sentry_key=def&sentry_version=7")).expect("ok");
        assert_eq!(q.expect("some").key, "def");
        let basic = base64::engine::general_purpose::STANDARD.encode("k1:");
        let b = from_request(None, Some(&format!("Basic {basic}")), None).expect("ok");
        assert_eq!(b.expect("some").key, "k1");
        assert_eq!(from_request(None, None, Some("a=b")).expect("ok"), None);
        let both = from_request(Some("Sentry sentry_key=a"), None, Some("sentry_key=b"));
        assert!(matches!(both, Err(IngestError::Unauthorized(_))));
        let same = from_request(Some("Sentry sentry_key=a"), None, Some("sentry_key=a"));
        assert!(same.expect("same key twice is fine").is_some());
        assert!(matches!(
            from_request(Some("Sentry sentry_key=a, sentry_version=9"), None, None),
            Err(IngestError::BadRequest(_))
        ));
        assert!(matches!(
            from_request(Some("Bearer x"), None, None),
            Err(IngestError::Unauthorized(_))
        ));
        let d = from_dsn("http://k:s@h:9/42").expect("dsn");
        assert_eq!((d.key.as_str(), d.dsn_project), ("k", Some(42)));
    }

    #[test]
    fn unknown_keys_do_not_evict_known_ones() {
        use crate::store::{SqliteStore, Synchronous};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("db"), Synchronous::Normal).expect("open");
        let team = store.create_team("t", "T", None).expect("team");
        let project = store
            .create_project(team.id, "p", "P", None)
            .expect("project");
        let key = store.create_key(project.id, "k").expect("key");
        let cache = KeyCache::new(Arc::new(store), Duration::from_secs(3600));
        assert!(cache.lookup(&key.public_key).expect("lookup").is_some());
        // A flood of made-up keys, more than either map holds.
        for i in 0..(MAX_UNKNOWN_KEYS + MAX_KNOWN_KEYS + 10) {
            assert!(cache.lookup(&format!("nope{i}")).expect("lookup").is_none());
        }
        assert!(
            cache.is_cached(&key.public_key),
            "the real key stays cached"
        );
        assert!(
            cache.is_cached("nope20009"),
            "recent unknown keys are remembered"
        );
        let entries = cache.entries.read();
        assert!(entries.unknown.len() <= MAX_UNKNOWN_KEYS);
        assert_eq!(entries.known.len(), 1);
    }

    #[test]
    fn origins() {
        assert_eq!(
            request_origin(None, Some("https://App.example.com/page?x=1")),
            Some("https://app.example.com".into())
        );
        // Opaque and non-web origins are kept, so that an allow-list sees them.
        assert_eq!(request_origin(Some("null"), None), Some("null".into()));
        assert_eq!(
            request_origin(Some("file://x"), None),
            Some("file://x".into())
        );
        assert_eq!(
            request_origin(Some("chrome-extension://AbC/x"), Some("https://a.com/")),
            Some("chrome-extension://abc".into())
        );
        assert_eq!(request_origin(None, Some("file:///etc")), None);
        assert!(!origin_allowed(&["a.com".into()], "null"));
        assert!(!origin_allowed(&["abc".into()], "chrome-extension://abc"));
        assert!(origin_allowed(&["*".into()], "null"));
        assert!(origin_allowed(
            &["chrome-extension://abc".into()],
            "chrome-extension://abc"
        ));
        let allowed: Vec<String> = vec!["https://a.com".into(), "*.b.org".into(), "c.net".into()];
        assert!(origin_allowed(&allowed, "https://a.com"));
        assert!(!origin_allowed(&allowed, "http://a.com"));
        assert!(origin_allowed(&allowed, "https://x.b.org"));
        assert!(origin_allowed(&allowed, "http://c.net:8080"));
        assert!(!origin_allowed(&allowed, "https://evil.com"));
        assert!(origin_allowed(&["*".into()], "https://evil.com"));
    }
}
