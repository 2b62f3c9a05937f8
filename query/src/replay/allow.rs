//! Which targets server-side replay and forwarding may reach (SSRF guard).
//!
//! The allowlist (`CL_REPLAY_ALLOW_HOSTS`) holds host names, IP addresses and
//! CIDR ranges; the default is loopback only (`localhost,127.0.0.0/8,::1`).
//! Setting it replaces the default (list loopback again to keep it).
//!
//! The rule, applied to a target URL's host:
//! - an IP literal is allowed when it lies in a listed IP or range;
//! - a name is resolved, and is allowed when **either** it is listed by name
//!   (exactly, case-insensitive) **and** every address it resolves to is a
//!   public address or lies in a listed range, **or** every address it
//!   resolves to lies in a listed range. So a listed name that resolves (or is
//!   rebound) to an internal address (private, loopback, link-local, CGNAT,
//!   unique-local, metadata 169.254.169.254, ...) is refused unless that
//!   address is itself listed.
//!
//! The checked addresses are then pinned in the replay's HTTP client, so the
//! connection goes to an address that was checked (no DNS rebinding between
//! the check and the request), and redirects are never followed.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;
use reqwest::Url;

pub const DEFAULT: &str = "localhost,127.0.0.0/8,::1";

#[derive(Debug, Clone)]
pub struct Allowlist {
    names: Vec<String>,
    nets: Vec<IpNet>,
}

impl Default for Allowlist {
    fn default() -> Self {
        DEFAULT.parse().expect("default allowlist parses")
    }
}

impl FromStr for Allowlist {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let mut list = Self {
            names: Vec::new(),
            nets: Vec::new(),
        };
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = item.trim_matches(['[', ']']).parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if item.contains('/') {
                return Err(format!("not a valid CIDR range: {item:?}"));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                list.names
                    .push(item.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!("not a host name, IP or CIDR range: {item:?}"));
            }
        }
        Ok(list)
    }
}

/// Why a target was refused; the message is safe to show the caller.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("target host {0} is not in the replay allowlist (CL_REPLAY_ALLOW_HOSTS)")]
    NotListed(String),
    #[error(
        "target host {host} resolves to {addr}, an internal address outside the replay \
         allowlist (CL_REPLAY_ALLOW_HOSTS)"
    )]
    Internal { host: String, addr: IpAddr },
    #[error("target host {0} does not resolve")]
    Unresolved(String),
}

impl Allowlist {
    fn listed_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Checks `url`'s host per the module rule and returns the addresses to
    /// connect to.
    pub async fn check(&self, url: &Url) -> Result<Vec<SocketAddr>, Denied> {
        let port = url.port_or_known_default().unwrap_or(80);
        let host = url.host_str().unwrap_or_default();
        let bare = host.trim_matches(['[', ']']);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return if self.listed_ip(ip) {
                Ok(vec![SocketAddr::new(ip, port)])
            } else {
                Err(Denied::NotListed(host.to_owned()))
            };
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|_| Denied::Unresolved(host.to_owned()))?
            .collect();
        if addrs.is_empty() {
            return Err(Denied::Unresolved(host.to_owned()));
        }
        if addrs.iter().all(|a| self.listed_ip(a.ip())) {
            return Ok(addrs);
        }
        if !self.names.contains(&name) {
            return Err(Denied::NotListed(host.to_owned()));
        }
        match addrs
            .iter()
            .find(|a| !self.listed_ip(a.ip()) && is_internal(a.ip()))
        {
            Some(a) => Err(Denied::Internal {
                host: host.to_owned(),
                addr: a.ip(),
            }),
            None => Ok(addrs),
        }
    }
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Addresses that are not on the public internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x64 && s[1] == 0xff9b)
                || (s[0] == 0x2001 && s[1] == 0xdb8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[tokio::test]
    async fn default_allows_loopback_only() {
        let list = Allowlist::default();
        assert!(list.check(&url("http://127.0.0.1:9/")).await.is_ok());
        assert!(list.check(&url("http://[::1]:9/")).await.is_ok());
        assert!(list.check(&url("http://localhost:9/")).await.is_ok());
        for denied in [
            "http://10.0.0.1/",
            "http://169.254.169.254/",
            "http://8.8.8.8/",
        ] {
            assert!(
                matches!(list.check(&url(denied)).await, Err(Denied::NotListed(_))),
                "{denied}"
            );
        }
    }

    #[tokio::test]
    async fn a_listed_name_that_resolves_internally_is_refused() {
        // "localhost" listed by name only: it resolves to loopback, which is
        // internal and not listed as a range.
        let list: Allowlist = "localhost".parse().unwrap();
        assert!(matches!(
            list.check(&url("http://localhost:9/")).await,
            Err(Denied::Internal { .. })
        ));
    }

    #[test]
    fn ranges_and_names_parse() {
        let list: Allowlist = "10.0.0.0/8, staging.example.com, 2001:db8::1"
            .parse()
            .unwrap();
        assert!(list.listed_ip("10.1.2.3".parse().unwrap()));
        assert!(list.listed_ip("::ffff:10.1.2.3".parse().unwrap()));
        assert_eq!(list.names, vec!["staging.example.com"]);
        assert!("10.0.0.0/99".parse::<Allowlist>().is_err());
        assert!("bad host!".parse::<Allowlist>().is_err());
    }

    #[test]
    fn internal_ranges() {
        for ip in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
