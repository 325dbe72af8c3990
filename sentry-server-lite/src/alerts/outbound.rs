//! Outbound safety of webhook deliveries: only `http`/`https` URLs; no loopback, private,
//! link-local or otherwise special address unless private networks are allowed; time
//! limits, no redirects, no proxies, and a cap on how much of an answer is read.
//!
//! The address check cannot be done on the URL alone: a name may resolve to a private
//! address, and to a different one at send time than when the rule was saved (DNS
//! rebinding). So the HTTP client resolves names through [`CheckedResolver`], which drops
//! every address the policy refuses, and connects only to the addresses it returned;
//! IP-literal hosts (which never reach a resolver) are checked before each request
//! ([`check_url`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

/// The most bytes of a receiver's answer read (the rest is ignored).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Whether `ip` is loopback, private, link-local, shared, unspecified, broadcast,
/// multicast or documentation space: anything but a public unicast address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0) // NAT64 prefix base
        }
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64/10
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || a >= 240
}

/// Why a URL may not be an alert target.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// Not a URL.
    #[error("{0:?} is not a URL")]
    Invalid(String),
    /// Not http(s).
    #[error("{0:?}: only http and https URLs can receive alerts")]
    Scheme(String),
    /// A private address while private networks are not allowed.
    #[error(
        "{0:?} is a loopback, private or link-local address (start the server with \
         --alert-allow-private-networks to allow it)"
    )]
    Private(String),
}

/// The URL, once it is http(s), has a host and (with `allow_private` false) does not
/// name a private address literally or as `localhost`. Names that resolve to private
/// addresses are refused at send time by [`CheckedResolver`].
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, UrlRefused> {
    let url = Url::parse(raw.trim()).map_err(|_| UrlRefused::Invalid(raw.to_owned()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRefused::Scheme(raw.to_owned()));
    }
    let private = match url.host() {
        None => return Err(UrlRefused::Invalid(raw.to_owned())),
        Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if private && !allow_private {
        return Err(UrlRefused::Private(raw.to_owned()));
    }
    Ok(url)
}

/// A resolver that leaves out the addresses the policy refuses (see the module
/// documentation); a name left with none fails to resolve.
#[derive(Clone, Copy, Debug)]
pub struct CheckedResolver {
    /// Whether private addresses are allowed.
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || !is_private(a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{host} resolves to no public address (private networks are not allowed)"
                )
                .into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client of deliveries (see the module documentation).
pub fn client(allow_private: bool, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(CheckedResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .user_agent(concat!("sentry-server-lite/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of an answer's body (for the error message).
pub async fn read_capped(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_RESPONSE_BYTES);
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn urls() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(matches!(
            check_url("ftp://example.com/", false),
            Err(UrlRefused::Scheme(_))
        ));
        assert!(matches!(
            check_url("not a url", false),
            Err(UrlRefused::Invalid(_))
        ));
        for private in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://localhost/",
            "http://169.254.169.254/latest/meta-data",
            "http://0x7f000001/",
        ] {
            assert!(
                matches!(check_url(private, false), Err(UrlRefused::Private(_))),
                "{private}"
            );
            assert!(check_url(private, true).is_ok(), "{private} allowed");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        use reqwest::dns::Resolve;
        let name = |n: &str| n.parse::<reqwest::dns::Name>().expect("name");
        let refused = CheckedResolver {
            allow_private: false,
        }
        .resolve(name("localhost"))
        .await;
        assert!(refused.is_err(), "localhost resolves only to loopback");
        let allowed = CheckedResolver {
            allow_private: true,
        }
        .resolve(name("localhost"))
        .await
        .expect("allowed");
        assert!(allowed.into_iter().all(|a| a.ip().is_loopback()));
    }
}
