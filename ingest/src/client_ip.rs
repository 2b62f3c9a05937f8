//! The sender's address: the TCP peer, or `X-Forwarded-For` when (and only
//! when) the peer is a configured trusted proxy, so senders cannot spoof it.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated addresses or CIDR ranges, e.g. `10.0.0.0/8,127.0.0.1`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an IP address or CIDR range: {p:?}"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Walks `X-Forwarded-For` from the nearest hop back while hops are
    /// trusted; the first untrusted hop is the client.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.ip().to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn ignores_forwarded_for_from_untrusted_peers() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let peer: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        assert_eq!(
            proxies.client_ip(peer, &xff("1.2.3.4")).to_string(),
            "203.0.113.9"
        );
    }

    #[test]
    fn takes_the_first_untrusted_hop_from_the_right() {
        let proxies: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let ip = proxies.client_ip(peer, &xff("6.6.6.6, 1.2.3.4, 10.1.1.1"));
        assert_eq!(ip.to_string(), "1.2.3.4");
    }

    #[test]
    fn rejects_garbage_configuration() {
        assert!("10.0.0.0/8,nope".parse::<TrustedProxies>().is_err());
    }
}
