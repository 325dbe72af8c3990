//! DSNs: `{scheme}://{public_key}[:{secret_key}]@{host}[:{port}]{path_prefix}/{project_id}`.
//!
//! ```
//! use sentry_client::protocol::Dsn;
//!
//! let dsn: Dsn = "https://e12d836b15bb49d7bbf99e64295d995b@o1.ingest.sentry.io/42".parse().unwrap();
//! assert_eq!(dsn.project_id(), 42);
//! assert_eq!(dsn.envelope_url(), "https://o1.ingest.sentry.io/api/42/envelope/");
//! ```

use std::fmt;
use std::str::FromStr;

/// The transport a DSN selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
    /// One envelope per UDP datagram (our extension; the port is required).
    Udp,
}

impl Scheme {
    /// The scheme name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Udp => "udp",
        }
    }

    /// The port used when the DSN names none (UDP has no default).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Http => Some(80),
            Scheme::Https => Some(443),
            Scheme::Udp => None,
        }
    }
}

/// What is wrong with a DSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsnError {
    /// The text is not a URL at all.
    #[error("invalid DSN {dsn:?}: not a URL ({reason})")]
    NotAUrl {
        /// The DSN text.
        dsn: String,
        /// Why the URL parser refused it.
        reason: String,
    },
    /// The scheme is not `http`, `https` or `udp`.
    #[error("invalid DSN: unsupported scheme {0:?} (expected http, https or udp)")]
    Scheme(String),
    /// There is no public key (the URL user name).
    #[error("invalid DSN: missing public key (the part before `@`)")]
    MissingPublicKey,
    /// There is no host.
    #[error("invalid DSN: missing host")]
    MissingHost,
    /// A `udp://` DSN without a port.
    #[error("invalid DSN: a udp:// DSN needs a port, e.g. udp://KEY@127.0.0.1:9001/1")]
    MissingUdpPort,
    /// The last path segment is missing.
    #[error("invalid DSN: missing project id (the last path segment)")]
    MissingProjectId,
    /// The project id is not a positive integer.
    #[error("invalid DSN: project id {0:?} is not a positive integer")]
    ProjectId(String),
}

/// A parsed DSN.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dsn {
    scheme: Scheme,
    public_key: String,
    secret_key: Option<String>,
    host: String,
    port: Option<u16>,
    path: String,
    project_id: u64,
}

impl Dsn {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    /// The public key.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }
    /// The legacy secret key, if the DSN has one.
    pub fn secret_key(&self) -> Option<&str> {
        self.secret_key.as_deref()
    }
    /// The host (IPv6 addresses in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The port as written, if any.
    pub fn explicit_port(&self) -> Option<u16> {
        self.port
    }
    /// The port, with the scheme's default when none is written.
    pub fn port(&self) -> u16 {
        self.port.or(self.scheme.default_port()).unwrap_or(0)
    }
    /// The path prefix, always starting and ending with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The project id.
    pub fn project_id(&self) -> u64 {
        self.project_id
    }

    /// `scheme://host[:port]{path}` with the port only when it is not the default.
    fn base_url(&self) -> String {
        let scheme = match self.scheme {
            // The HTTP endpoints of a UDP DSN's server are not known; keep http for display.
            Scheme::Udp => "http",
            s => s.as_str(),
        };
        match self.port {
            Some(p) if Some(p) != self.scheme.default_port() => {
                format!("{scheme}://{}:{p}{}", self.host, self.path)
            }
            _ => format!("{scheme}://{}{}", self.host, self.path),
        }
    }

    /// The envelope endpoint, e.g. `https://host/api/42/envelope/`.
    pub fn envelope_url(&self) -> String {
        format!("{}api/{}/envelope/", self.base_url(), self.project_id)
    }

    /// The legacy store endpoint, e.g. `https://host/api/42/store/`.
    pub fn store_url(&self) -> String {
        format!("{}api/{}/store/", self.base_url(), self.project_id)
    }

    /// `host:port`, for socket addresses.
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port())
    }

    /// The organization a sentry.io DSN names in its host (`o123.ingest.sentry.io` →
    /// 123), used to decide whether an incoming trace is the same organization's.
    pub fn org_id(&self) -> Option<OrganizationId> {
        let first = self.host.split('.').next()?;
        let digits = first.strip_prefix('o')?;
        if self.host.split('.').count() < 3 {
            return None;
        }
        digits.parse().ok().map(OrganizationId)
    }
}

/// A Sentry organization's numeric id, as DSN hosts and the `sentry-org_id` baggage
/// entry carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrganizationId(u64);

impl From<u64> for OrganizationId {
    fn from(id: u64) -> Self {
        OrganizationId(id)
    }
}

impl std::fmt::Display for OrganizationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for OrganizationId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(OrganizationId)
    }
}

impl FromStr for Dsn {
    type Err = DsnError;

    fn from_str(s: &str) -> Result<Self, DsnError> {
        let s = s.trim();
        let not_a_url = |reason: &str| DsnError::NotAUrl {
            dsn: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| not_a_url("no `scheme://`"))?;
        if scheme.is_empty()
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(not_a_url("invalid scheme"));
        }
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "udp" => Scheme::Udp,
            other => return Err(DsnError::Scheme(other.to_owned())),
        };
        // The authority runs to the first `/`, `?` or `#`; query and fragment are ignored.
        let (authority, rest) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        let url_path = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
        if authority.contains(char::is_whitespace) || url_path.contains(char::is_whitespace) {
            return Err(not_a_url("whitespace inside"));
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (userinfo, host_port),
            None => ("", authority),
        };
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        let (host, port) = split_host_port(host_port).map_err(not_a_url)?;
        let public_key = percent_decode(user);
        if public_key.is_empty() {
            return Err(DsnError::MissingPublicKey);
        }
        let secret_key = password.map(percent_decode).filter(|s| !s.is_empty());
        if host.is_empty() {
            return Err(DsnError::MissingHost);
        }
        // As URL parsers do for http(s): the default port is not kept.
        let port = port.filter(|p| Some(*p) != scheme.default_port() || scheme == Scheme::Udp);
        if scheme == Scheme::Udp && port.is_none() {
            return Err(DsnError::MissingUdpPort);
        }
        let trimmed = url_path.trim_matches('/');
        let (prefix, id) = match trimmed.rsplit_once('/') {
            Some((prefix, id)) => (prefix, id),
            None => ("", trimmed),
        };
        if id.is_empty() {
            return Err(DsnError::MissingProjectId);
        }
        let project_id = id
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| DsnError::ProjectId(id.to_owned()))?;
        let path = if prefix.is_empty() {
            "/".to_owned()
        } else {
            format!("/{prefix}/")
        };
        Ok(Dsn {
            scheme,
            public_key,
            secret_key,
            host,
            port,
            path,
            project_id,
        })
    }
}

/// Splits `host[:port]` (IPv6 addresses in brackets, written back in their shortest form;
/// names lowercased). Host names must be ASCII: an internationalized name is written in
/// its `xn--` form, which is what DNS resolves anyway.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let (addr, after) = inner.split_once(']').ok_or("unclosed `[` in the host")?;
        let addr: std::net::Ipv6Addr = addr.parse().map_err(|_| "invalid IPv6 address")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after the IPv6 address")?),
        };
        (format!("[{addr}]"), port)
    } else {
        let (host, port) = match s.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        };
        if !host.is_ascii() {
            return Err("non-ASCII host name (write it in its xn-- form)");
        }
        if host.contains(|c: char| "<>[]^|\\%\"`{}".contains(c) || c.is_ascii_control()) {
            return Err("invalid character in the host");
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| "invalid port number")?),
    };
    Ok((host, port))
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.public_key)?;
        if let Some(secret) = &self.secret_key {
            write!(f, ":{secret}")?;
        }
        write!(f, "@{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}{}", self.path, self.project_id)
    }
}

impl serde::Serialize for Dsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Dsn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_id_comes_from_sentry_io_hosts_only() {
        let dsn: Dsn = "https://k@o123.ingest.sentry.io/42".parse().expect("dsn");
        assert_eq!(dsn.org_id(), Some(OrganizationId::from(123)));
        for other in [
            "https://k@sentry.example/1",
            "http://k@o1/1",
            "https://k@oops.example.com/1",
        ] {
            let dsn: Dsn = other.parse().expect("dsn");
            assert_eq!(dsn.org_id(), None, "{other}");
        }
        assert_eq!(
            "77".parse::<OrganizationId>().map(|o| o.to_string()),
            Ok("77".into())
        );
    }

    #[test]
    fn parses_and_displays() {
        let cases = [
            "https://e12d836b15bb49d7bbf99e64295d995b@o1.ingest.sentry.io/42",
            "http://k:s@localhost:9000/sentry/7",
            "udp://k@127.0.0.1:9001/3",
            "http://k@[::1]:9000/5",
        ];
        for c in cases {
            let d: Dsn = c.parse().expect(c);
            assert_eq!(d.to_string(), c);
        }
        let d: Dsn = "http://k:s@localhost:9000/sentry/7".parse().expect("dsn");
        assert_eq!(d.secret_key(), Some("s"));
        assert_eq!(d.path(), "/sentry/");
        assert_eq!(
            d.envelope_url(),
            "http://localhost:9000/sentry/api/7/envelope/"
        );
        assert_eq!(d.store_url(), "http://localhost:9000/sentry/api/7/store/");
        let d: Dsn = "https://k@h:443/1".parse().expect("dsn");
        assert_eq!(d.envelope_url(), "https://h/api/1/envelope/");
        let d: Dsn = "HTTPS://k@H.Example:443/1?x=1#f"
            .parse()
            .expect("normalized");
        assert_eq!(d.to_string(), "https://k@h.example/1");
        let d: Dsn = "http://k%40x@[0:0::1]:9000/p/q/5".parse().expect("ipv6");
        assert_eq!((d.public_key(), d.host(), d.port()), ("k@x", "[::1]", 9000));
        assert_eq!(d.path(), "/p/q/");
        let d: Dsn = "udp://k@h:80/1".parse().expect("udp keeps its port");
        assert_eq!(d.explicit_port(), Some(80));
        let d: Dsn = "http://k:@h/1".parse().expect("empty secret");
        assert_eq!(d.secret_key(), None);
    }

    #[test]
    fn names_the_wrong_part() {
        assert!(matches!(
            "nope".parse::<Dsn>(),
            Err(DsnError::NotAUrl { .. })
        ));
        for bad in [
            "http://k@h:99999/1",
            "http://k@[::1/1",
            "http://k@[zz]/1",
            "http://k@bücher.de/1",
            "http://k@h o/1",
            "1http://k@h/1",
        ] {
            assert!(
                matches!(bad.parse::<Dsn>(), Err(DsnError::NotAUrl { .. })),
                "{bad}"
            );
        }
        assert_eq!("http://k@/1".parse::<Dsn>(), Err(DsnError::MissingHost));
        assert_eq!(
            "ftp://k@h/1".parse::<Dsn>(),
            Err(DsnError::Scheme("ftp".into()))
        );
        assert_eq!("http://h/1".parse::<Dsn>(), Err(DsnError::MissingPublicKey));
        assert_eq!("udp://k@h/1".parse::<Dsn>(), Err(DsnError::MissingUdpPort));
        assert_eq!(
            "http://k@h/".parse::<Dsn>(),
            Err(DsnError::MissingProjectId)
        );
        assert_eq!(
            "http://k@h/abc".parse::<Dsn>(),
            Err(DsnError::ProjectId("abc".into()))
        );
        assert_eq!(
            "http://k@h/0".parse::<Dsn>(),
            Err(DsnError::ProjectId("0".into()))
        );
    }
}
