//! Authentication: the `X-Sentry-Auth` header and its query-string form.
//!
//! ```
//! use sentry_client::protocol::Auth;
//!
//! let auth = Auth::from_header("Sentry sentry_key=abc, sentry_version=7, sentry_client=x/1").unwrap();
//! assert_eq!(auth.key, "abc");
//! assert_eq!(auth.version, 7);
//! assert_eq!(auth.to_header(), "Sentry sentry_key=abc, sentry_version=7, sentry_client=x/1");
//! ```

use super::dsn::Dsn;

/// The newest protocol version we speak.
pub const PROTOCOL_VERSION: u16 = 7;

/// Credentials sent with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    /// The DSN public key.
    pub key: String,
    /// The legacy secret key.
    pub secret: Option<String>,
    /// The protocol version (7 when not given).
    pub version: u16,
    /// The client identifier, e.g. `sentry.rust/0.1.0`.
    pub client: Option<String>,
}

/// Why credentials could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The header does not start with `Sentry `.
    #[error("auth header must start with \"Sentry \"")]
    MissingPrefix,
    /// No `sentry_key` was given.
    #[error("missing sentry_key")]
    MissingKey,
    /// `sentry_version` is not a number.
    #[error("invalid sentry_version {0:?}")]
    InvalidVersion(String),
    /// `sentry_version` is newer than we speak.
    #[error("unsupported protocol version {0} (newest supported: 7)")]
    UnsupportedVersion(u16),
}

impl Auth {
    /// Credentials for a DSN with our client name.
    pub fn for_dsn(dsn: &Dsn, client: &str) -> Self {
        Auth {
            key: dsn.public_key().to_owned(),
            secret: dsn.secret_key().map(str::to_owned),
            version: PROTOCOL_VERSION,
            client: Some(client.to_owned()),
        }
    }

    /// Reads an `X-Sentry-Auth` (or `Authorization: Sentry ...`) header value.
    pub fn from_header(value: &str) -> Result<Self, AuthError> {
        let v = value.trim_start();
        if v.len() < 7 || !v.as_bytes()[..7].eq_ignore_ascii_case(b"sentry ") {
            return Err(AuthError::MissingPrefix);
        }
        Self::from_pairs(v[7..].split(',').filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim(), v.trim()))
        }))
    }

    /// Reads `sentry_key` / `sentry_version` / `sentry_client` from a URL query string.
    pub fn from_query(query: &str) -> Result<Self, AuthError> {
        Self::from_pairs(query.split('&').filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k, v))
        }))
    }

    /// Whether a query string carries credentials at all.
    pub fn query_has_auth(query: &str) -> bool {
        query
            .split('&')
            .any(|p| p.starts_with("sentry_key=") || p.starts_with("sentry_secret="))
    }

    fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Self, AuthError> {
        let mut auth = Auth {
            key: String::new(),
            secret: None,
            version: PROTOCOL_VERSION,
            client: None,
        };
        for (k, v) in pairs {
            match k {
                "sentry_key" => auth.key = v.to_owned(),
                "sentry_secret" if !v.is_empty() => auth.secret = Some(v.to_owned()),
                "sentry_client" => auth.client = Some(v.replace("%2F", "/").replace("%2f", "/")),
                "sentry_version" => {
                    let version = v
                        .parse::<f32>()
                        .ok()
                        .filter(|f| f.is_finite() && *f >= 0.0)
                        .ok_or_else(|| AuthError::InvalidVersion(v.to_owned()))?;
                    if version > f32::from(PROTOCOL_VERSION) {
                        return Err(AuthError::UnsupportedVersion(version as u16));
                    }
                    auth.version = version as u16;
                }
                _ => {}
            }
        }
        if auth.key.is_empty() {
            return Err(AuthError::MissingKey);
        }
        Ok(auth)
    }

    /// The `X-Sentry-Auth` header value.
    pub fn to_header(&self) -> String {
        let mut out = format!(
            "Sentry sentry_key={}, sentry_version={}",
            self.key, self.version
        );
        if let Some(client) = &self.client {
            out.push_str(", sentry_client=");
            out.push_str(client);
        }
        if let Some(secret) = &self.secret {
            out.push_str(", sentry_secret=");
            out.push_str(secret);
        }
        out
    }

    /// The query-string form, e.g. `sentry_key=abc&sentry_version=7`.
    pub fn to_query(&self) -> String {
        let mut out = format!("sentry_key={}&sentry_version={}", self.key, self.version);
        if let Some(client) = &self.client {
            out.push_str("&sentry_client=");
            out.push_str(&client.replace('/', "%2F"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let a = Auth::from_header(
            "sentry sentry_key=k,sentry_version=7,sentry_timestamp=1.5,sentry_client=sentry.rust/0.1, sentry_secret=s",
        )
        .expect("parse");
        assert_eq!(a.key, "k");
        assert_eq!(a.secret.as_deref(), Some("s"));
        assert_eq!(a.client.as_deref(), Some("sentry.rust/0.1"));
        assert_eq!(
            Auth::from_header("Sentry sentry_key=k").expect("v").version,
            7
        );
        assert_eq!(
            Auth::from_header("Basic abc"),
            Err(AuthError::MissingPrefix)
        );
        assert_eq!(
            Auth::from_header("Sentry sentry_version=7"),
            Err(AuthError::MissingKey)
        );
        assert_eq!(
            Auth::from_header("Sentry sentry_key=k, sentry_version=8"),
            Err(AuthError::UnsupportedVersion(8))
        );
        assert!(matches!(
            Auth::from_header("Sentry sentry_key=k, sentry_version=x"),
            Err(AuthError::InvalidVersion(_))
        ));
    }

    #[test]
    fn query_round_trip() {
        let a = Auth {
            key: "k".into(),
            secret: None,
            version: 7,
            client: Some("sentry.javascript.browser/8.0.0".into()),
        };
        let q = a.to_query();
        assert!(Auth::query_has_auth(&q));
        assert_eq!(Auth::from_query(&q).expect("parse"), a);
        assert_eq!(Auth::from_header(&a.to_header()).expect("parse"), a);
    }
}
