//! The client's address: the socket peer, or the `X-Forwarded-For` hop that the configured
//! trusted proxies vouch for.

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The proxies whose `X-Forwarded-For` entries are believed. Empty by default: the header is
/// then ignored, since any client can write it.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Proxies given as addresses or CIDR networks (`10.0.0.0/8`, `::1`).
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self(networks.into_iter().collect())
    }

    /// Parses a comma-separated list such as `"10.0.0.0/8, 192.0.2.1"`.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{entry}` is not an IP address or CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client address for a request that arrived from `peer`.
    ///
    /// Walks `X-Forwarded-For` from the right, past every trusted proxy; the first address
    /// not trusted is the client. Entries left of it were written by the client and are
    /// ignored. If the peer itself is not trusted the header is ignored altogether.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Ok(address) = hop.trim().parse::<IpAddr>() else {
                // A malformed entry can only come from the far side of the proxies we trust;
                // the last hop they vouched for is as close to the client as we can know.
                return client;
            };
            client = canonical(address);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address of a request, or `None` when the server was started neither by
/// `secure_api::serve` nor with `into_make_service_with_connect_info::<SocketAddr>()`.
pub(crate) fn client_address(parts: &Parts, proxies: &TrustedProxies) -> Option<IpAddr> {
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(proxies.client_address(peer.ip(), &parts.headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().expect("header value"));
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn header_ignored_without_trusted_proxies() {
        let proxies = TrustedProxies::default();
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            proxies.client_address(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn header_ignored_from_an_untrusted_peer() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("list");
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            proxies.client_address(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").expect("list");
        // The client forged the first entry; the proxies appended the real one and themselves.
        let headers = forwarded(&["6.6.6.6, 203.0.113.9", "10.1.1.1"]);
        assert_eq!(
            proxies.client_address(ip("192.0.2.1"), &headers),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn all_trusted_hops_leave_the_leftmost() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("list");
        let headers = forwarded(&["10.0.0.5, 10.0.0.6"]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.7"), &headers),
            ip("10.0.0.5")
        );
        let garbage = forwarded(&["not-an-ip, 10.0.0.6"]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.7"), &garbage),
            ip("10.0.0.6")
        );
    }

    #[test]
    fn rejects_a_malformed_list() {
        assert!(TrustedProxies::parse("10.0.0.0/8, nope").is_err());
    }
}
