//! Connections to PostgreSQL: the URL, TLS (rustls with the webpki roots, or the CA of
//! `sslrootcert=FILE`), a small blocking pool that drops broken connections and opens new
//! ones on demand (so the server recovers by itself when the database comes back), and a
//! cache of prepared statements per connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ::postgres::config::Host;
use parking_lot::{Condvar, Mutex};
use postgres::config::SslMode;
use postgres::{Client, Config, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::{StoreError, StoreResult};

/// How long opening a connection may take before it is an error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a free connection when the pool is at its limit.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed database URL with what error messages show of it (never the password).
#[derive(Clone)]
pub struct DbTarget {
    pub(super) config: Config,
    root_cert: Option<std::path::PathBuf>,
    /// `host:port/dbname`, for messages.
    pub display: String,
}

impl std::fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl DbTarget {
    /// Parses `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=...&sslrootcert=FILE]` (or
    /// the key=value form). A connect timeout of 10 s applies unless the URL sets one.
    pub fn parse(url: &str) -> StoreResult<DbTarget> {
        let (url, root_cert) = take_param(url, "sslrootcert");
        let mut config: Config = url.parse().map_err(|e| {
            StoreError::Invalid(format!(
                "database URL {}: {e}",
                redact(&url).unwrap_or_else(|| "(unparseable)".into())
            ))
        })?;
        if config.get_hosts().is_empty() {
            return Err(StoreError::Invalid(
                "database URL names no host (postgres://USER@HOST:PORT/DB)".into(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("sentry-server-lite");
        }
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let display = format!(
            "{host}:{port}/{}",
            config
                .get_dbname()
                .unwrap_or(config.get_user().unwrap_or("postgres"))
        );
        Ok(DbTarget {
            config,
            root_cert: root_cert.map(Into::into),
            display,
        })
    }

    /// The same server, another database (tests and `db copy` create databases).
    pub fn with_dbname(&self, dbname: &str) -> DbTarget {
        let mut t = self.clone();
        t.config.dbname(dbname);
        if let Some((hostport, _)) = t.display.rsplit_once('/') {
            t.display = format!("{hostport}/{dbname}");
        }
        t
    }

    fn tls(&self) -> StoreResult<MakeRustlsConnect> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                use rustls::pki_types::pem::PemObject;
                let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                    .map_err(|e| StoreError::Invalid(format!("sslrootcert {path:?}: {e}")))?;
                for cert in certs {
                    let cert = cert
                        .map_err(|e| StoreError::Invalid(format!("sslrootcert {path:?}: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| StoreError::Invalid(format!("sslrootcert {path:?}: {e}")))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Invalid(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    /// Opens one connection; the error names the host and the reason.
    ///
    /// With `sslmode=prefer` (the default when the URL names none), TLS is used when the
    /// server offers it and its certificate checks out; when the certificate is rejected,
    /// the connection is made again without TLS (libpq's `prefer` connects to such a
    /// server too), with a warning. `sslmode=require` never falls back.
    pub fn connect(&self) -> StoreResult<Client> {
        let tls = self.tls()?;
        let failed = |e: &::postgres::Error, problem: &Option<String>| match problem {
            Some(p) => format!("TLS: {p} ({})", error_chain(e)),
            None => error_chain(e),
        };
        match self.connect_with(&self.config, tls.clone()) {
            Ok(client) => Ok(client),
            Err((e, Some(problem))) if self.config.get_ssl_mode() == SslMode::Prefer => {
                tracing::warn!(
                    host = %self.display,
                    %problem,
                    "PostgreSQL offers TLS but its certificate is not accepted; connecting \
                     without TLS (sslmode=prefer). Give its CA with sslrootcert=FILE and set \
                     sslmode=require, or set sslmode=disable"
                );
                let mut plain = self.config.clone();
                plain.ssl_mode(SslMode::Disable);
                self.connect_with(&plain, tls).map_err(|(plain_err, p)| {
                    StoreError::Unavailable(format!(
                        "cannot connect to PostgreSQL at {}: {} (with TLS: {})",
                        self.display,
                        failed(&plain_err, &p),
                        failed(&e, &Some(problem))
                    ))
                })
            }
            Err((e, problem)) => Err(StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {}: {}",
                self.display,
                failed(&e, &problem)
            ))),
        }
    }

    /// One attempt with `config`; on failure the error and, when the server's certificate
    /// was rejected, what that means for the user.
    fn connect_with(
        &self,
        config: &Config,
        tls: MakeRustlsConnect,
    ) -> Result<Client, (::postgres::Error, Option<String>)> {
        outside_runtime(|| config.connect(tls)).map_err(|e| {
            let problem = self.certificate_problem(&e);
            (e, problem)
        })
    }

    /// What a rejected server certificate means for the user, when that is the error.
    fn certificate_problem(&self, e: &::postgres::Error) -> Option<String> {
        use rustls::CertificateError as C;
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let tls_error = std::iter::from_fn(|| {
            let current = source?;
            source = current.source();
            Some(current)
        })
        .find_map(|err| {
            err.downcast_ref::<rustls::Error>().or_else(|| {
                err.downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            })
        })?;
        let rustls::Error::InvalidCertificate(cert) = tls_error else {
            return None;
        };
        let trusted = match &self.root_cert {
            Some(path) => format!("the CA certificate(s) in sslrootcert {path:?}"),
            None => "the webpki roots (for a private CA, add sslrootcert=FILE)".to_owned(),
        };
        let hostport = self.display.split('/').next().unwrap_or(&self.display);
        let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
        Some(match cert {
            C::UnknownIssuer | C::BadSignature => {
                format!("the server's certificate is not trusted: it is not signed by {trusted}")
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("the server's certificate is not valid for {host:?}")
            }
            C::Expired | C::ExpiredContext { .. } => {
                "the server's certificate has expired".to_owned()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet".to_owned()
            }
            _ => "the server's certificate was rejected".to_owned(),
        })
    }
}

/// The error with its sources ("error connecting to server: Connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        source = inner.source();
    }
    s
}

/// Removes `name=value` from a URL's query (or a key=value string) and returns it.
fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut found = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => {
                found = Some(v.to_owned());
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, found)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            Some(format!("{scheme}://{user}@{host}"))
        }
        None => Some(url.to_owned()),
    }
}

/// Runs blocking client code. The `postgres` client drives its connection with its own
/// small runtime, which must not be started from inside an async context: there the work
/// moves off the async worker (`block_in_place`) or, on a single-threaded runtime, to a
/// short-lived thread.
pub fn outside_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// A connection with its prepared statements.
pub struct Conn {
    /// The client.
    pub client: Client,
    statements: HashMap<&'static str, Statement>,
    /// The shared SQL layer's statements, prepared on first use (see
    /// `driver::SHARED_STATEMENTS` for the bound).
    pub(crate) shared: HashMap<String, Statement>,
}

impl Conn {
    /// A statement prepared once per connection.
    pub fn stmt(&mut self, sql: &'static str) -> Result<Statement, ::postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// A blocking pool of at most `max` connections.
pub struct Pool {
    target: DbTarget,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

/// A checked-out connection; goes back to the pool on drop unless it broke.
pub struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut st = self.pool.state.lock();
        match self.conn.take() {
            Some(c) if !c.client.is_closed() => st.idle.push(c),
            _ => st.open -= 1,
        }
        drop(st);
        self.pool.freed.notify_one();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a client runs its runtime: not on an async worker.
        let idle = std::mem::take(&mut self.state.get_mut().idle);
        outside_runtime(move || drop(idle));
    }
}

impl Pool {
    /// A pool for `target`; connections open on first use.
    pub fn new(target: DbTarget, max: usize) -> Pool {
        Pool {
            target,
            max: max.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// The target, for messages.
    pub fn target(&self) -> &DbTarget {
        &self.target
    }

    /// A connection: an idle one, a new one, or the next one freed.
    pub fn get(&self) -> StoreResult<Pooled<'_>> {
        let mut st = self.state.lock();
        loop {
            if let Some(c) = st.idle.pop() {
                if c.client.is_closed() {
                    st.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    conn: Some(c),
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match self.target.connect() {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        conn: Some(Conn {
                            client,
                            statements: HashMap::new(),
                            shared: HashMap::new(),
                        }),
                    }),
                    Err(e) => {
                        self.state.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            if self.freed.wait_for(&mut st, CHECKOUT_TIMEOUT).timed_out() {
                return Err(StoreError::Unavailable(format!(
                    "no free connection to {} within {CHECKOUT_TIMEOUT:?}",
                    self.target.display
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = DbTarget::parse("postgres://u:secret@db.example:6543/sentry?sslmode=require")
            .expect("parse");
        assert_eq!(t.display, "db.example:6543/sentry");
        assert_eq!(
            t.config.get_ssl_mode(),
            ::postgres::config::SslMode::Require
        );
        assert_eq!(t.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(t.with_dbname("other").display, "db.example:6543/other");
        let t = DbTarget::parse("postgres://u@h/d?sslrootcert=/tmp/ca.pem&sslmode=require")
            .expect("parse");
        assert_eq!(
            t.root_cert.as_deref(),
            Some(std::path::Path::new("/tmp/ca.pem"))
        );
        let e = DbTarget::parse("postgres://u:secret@h:notaport/d").expect_err("bad port");
        let msg = e.to_string();
        assert!(msg.contains("postgres://u@h:notaport/d"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
        assert_eq!(
            redact("postgresql://a:b@c/d").as_deref(),
            Some("postgresql://a@c/d")
        );
    }
}
