//! The client's address: the socket peer, or the forwarding hop that the configured trusted
//! proxies vouch for, read from `X-Forwarded-For` or, when a request has none, from RFC 7239
//! `Forwarded`.

use crate::audit::{self, CONFIG_TARGET};
use axum::extract::ConnectInfo;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// The proxies whose forwarding headers are believed. Empty by default: the headers are then
/// ignored, since any client can write them.
///
/// A request that carries a forwarding header the proxies do not vouch for is logged once
/// (target `secure_api::config`), without the header's value: once when no proxy is trusted
/// at all, and once when some are but the peer is not one of them (a proxy left off the
/// list, or a client that reached the service around the proxies). Clones share these
/// once-flags.
#[derive(Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    warned: Arc<Warned>,
}

/// Which of the once-logged warnings have been logged.
#[derive(Default)]
struct Warned {
    no_proxy: AtomicBool,
    untrusted_peer: AtomicBool,
    no_client_address: AtomicBool,
}

impl std::fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TrustedProxies")
            .field(&self.networks)
            .finish()
    }
}

impl TrustedProxies {
    /// Proxies given as addresses or CIDR networks (`10.0.0.0/8`, `::1`).
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            networks: networks.into_iter().collect(),
            warned: Arc::default(),
        }
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
            .map(Self::new)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks
            .iter()
            .any(|network| network.contains(&address))
    }

    /// The client address for a request that arrived from `peer`.
    ///
    /// Walks the hops of `X-Forwarded-For` — or, only when the request has no such header,
    /// the `for=` of each `Forwarded` element — from the right, past every trusted proxy;
    /// the first address not trusted is the client. Entries left of it were written by the
    /// client and are ignored. An entry may be an address, `address:port` or `[IPv6]` with
    /// or without a port; anything else (`unknown`, an obfuscated `_name`, a `Forwarded`
    /// element without `for=`) stops the walk at the last hop the proxies vouched for. If
    /// the peer itself is not trusted the headers are ignored altogether.
    ///
    /// A proxy that writes `Forwarded` only must drop a client's `X-Forwarded-For`, which
    /// would otherwise be read first.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            self.warn_once_if_forwarded(client, headers);
            return client;
        }
        for hop in hops(headers).into_iter().rev() {
            // A malformed entry can only come from the far side of the proxies we trust;
            // the last hop they vouched for is as close to the client as we can know.
            let Some(address) = hop else {
                return client;
            };
            client = canonical(address);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }

    /// A forwarding header that is ignored is most often a proxy that nobody listed: every
    /// client then shares the proxy's per-IP limits. Said once, since a client may send the
    /// header on every request; its value is the client's text and is never logged.
    fn warn_once_if_forwarded(&self, peer: IpAddr, headers: &HeaderMap) {
        let flag = match self.networks.is_empty() {
            true => &self.warned.no_proxy,
            false => &self.warned.untrusted_peer,
        };
        if flag.load(Ordering::Relaxed) {
            return;
        }
        // Until the warning is said, this runs on every request: a look at the few names
        // costs less than a lookup, which hashes the name.
        let carries = |wanted| headers.keys().any(|name| *name == wanted);
        let header = match (carries(X_FORWARDED_FOR), carries(FORWARDED)) {
            (true, _) => "X-Forwarded-For",
            (false, true) => "Forwarded",
            (false, false) => return,
        };
        if flag.swap(true, Ordering::Relaxed) {
            return;
        }
        if self.networks.is_empty() {
            tracing::warn!(
                target: CONFIG_TARGET,
                header,
                "a request carried {header}, which is ignored because no proxy is trusted: \
                 every client is known by its socket address. Behind a proxy or load \
                 balancer, list its addresses in SECURE_API_TRUSTED_PROXIES \
                 (SecurityBuilder::trusted_proxies); logged once"
            );
        } else {
            tracing::warn!(
                target: CONFIG_TARGET,
                header,
                %peer,
                "a request from {peer}, which is not a trusted proxy, carried {header}; it is \
                 ignored. If {peer} is a proxy of this service, add it to \
                 SECURE_API_TRUSTED_PROXIES; logged once"
            );
        }
    }
}

/// What the operator of a server that hands the guard no client address must do.
const NO_CLIENT_ADDRESS: &str = "the client address is unknown, so every #[secure] handler \
    answers 500 \"server misconfigured\": serve the router with `secure_api::serve`, or with \
    `into_make_service_with_connect_info::<SocketAddr>()`; in tests, call it through \
    `secure_api::test::TestClient` or add axum's `MockConnectInfo` layer";

impl TrustedProxies {
    /// A request came without a client address. A misconfigured server sends every request
    /// here, so the fix is logged at error level once per configuration, then at debug.
    pub(crate) fn note_missing_client_address(&self, handler: &str) {
        let outcome = "deny";
        let reason = "no_client_address";
        if self.warned.no_client_address.swap(true, Ordering::Relaxed) {
            tracing::debug!(target: audit::TARGET, outcome, reason, handler, "{NO_CLIENT_ADDRESS}");
        } else {
            tracing::error!(
                target: audit::TARGET,
                outcome,
                reason,
                handler,
                "{NO_CLIENT_ADDRESS}; logged once, then at debug level"
            );
        }
    }
}

/// The forwarding hops, left to right, each `None` when it names no address.
fn hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    if headers.contains_key(X_FORWARDED_FOR) {
        // Split as bytes: junk the client wrote on the left of a line must not hide the
        // entries the proxies appended on its right.
        return headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
            .map(|entry| std::str::from_utf8(entry).ok().and_then(node_address))
            .collect();
    }
    headers
        .get_all(FORWARDED)
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => split_unquoted(text, ',')
                .into_iter()
                .map(forwarded_for)
                .collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The address of an `X-Forwarded-For` entry or a `Forwarded` `for=` value: `192.0.2.1`,
/// `192.0.2.1:443`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:8080`.
fn node_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = text.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// The address in the single `for=` parameter of one `Forwarded` element (RFC 7239 §4), its
/// value a token or a quoted string.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut values = split_unquoted(element, ';')
        .into_iter()
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
        .map(|(_, value)| value.trim());
    let value = values.next()?;
    if values.next().is_some() {
        // Two `for=` in one element: no telling which one the proxy wrote.
        return None;
    }
    let value = match value.strip_prefix('"') {
        // An address never needs a quoted-pair; a backslash is not one of ours.
        Some(quoted) => quoted
            .strip_suffix('"')
            .filter(|inner| !inner.contains('\\'))?,
        None => value,
    };
    node_address(value)
}

/// `text` split at `separator` where it is not inside a quoted string.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, character) in text.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ if character == separator && !quoted => {
                parts.push(&text[start..at]);
                start = at + character.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address of a request, or `None` when the server was started neither by
/// `secure_api::serve` nor with `into_make_service_with_connect_info::<SocketAddr>()`. Like
/// axum's `ConnectInfo` extractor, it falls back to the address of a `MockConnectInfo` layer,
/// which the application's own code adds for its tests.
pub(crate) fn client_address(parts: &Parts, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => peer,
        None => &parts.extensions.get::<MockConnectInfo<SocketAddr>>()?.0,
    };
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

    /// The client behind the trusted proxy 10.0.0.7, from these headers.
    fn behind_the_proxy(headers: &[(&str, &str)]) -> IpAddr {
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("list");
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name: HeaderName = name.parse().expect("header name");
            map.append(name, value.parse().expect("header value"));
        }
        proxies.client_address(ip("10.0.0.7"), &map)
    }

    #[test]
    fn entries_may_carry_a_port_or_brackets() {
        for (entry, client) in [
            ("192.0.2.1:443", "192.0.2.1"),
            ("[2001:db8::1]:8080", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[::ffff:192.0.2.1]:80", "192.0.2.1"),
            ("6.6.6.6, 192.0.2.1:443 , 10.0.0.5:80", "192.0.2.1"),
        ] {
            let headers = [("x-forwarded-for", entry)];
            assert_eq!(behind_the_proxy(&headers), ip(client), "{entry}");
        }
        for malformed in [
            "192.0.2.1:99999",
            "[192.0.2.1]",
            "[2001:db8::1",
            "unknown",
            "",
        ] {
            let headers = [("x-forwarded-for", malformed)];
            assert_eq!(behind_the_proxy(&headers), ip("10.0.0.7"), "{malformed}");
        }
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        for (value, client) in [
            ("for=192.0.2.60", "192.0.2.60"),
            ("for=\"[2001:db8::1]:4711\"", "2001:db8::1"),
            ("for=\"[2001:db8::1]\"", "2001:db8::1"),
            (
                "For=\"192.0.2.60:80\";proto=https;by=10.0.0.7",
                "192.0.2.60",
            ),
            ("for=6.6.6.6, for=192.0.2.60", "192.0.2.60"),
            ("for=192.0.2.60;by=\"x;y,z\", for=10.0.0.5", "192.0.2.60"),
        ] {
            let headers = [("forwarded", value)];
            assert_eq!(behind_the_proxy(&headers), ip(client), "{value}");
        }
        for malformed in [
            "for=_hidden",
            "for=unknown",
            "proto=https;by=10.0.0.7",
            "for=\"[2001:db8::1]:_port\"",
            "for=192.0.2.60;for=192.0.2.61",
            "for=\"192.0.2.60",
            "for=\"192.0.2.\\60\"",
        ] {
            let headers = [("forwarded", malformed)];
            assert_eq!(behind_the_proxy(&headers), ip("10.0.0.7"), "{malformed}");
        }
        // X-Forwarded-For, when present, is the one read.
        let both = [
            ("forwarded", "for=192.0.2.60"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(behind_the_proxy(&both), ip("203.0.113.9"));
    }

    #[test]
    fn an_ignored_header_is_noted_once_per_case() {
        let none = TrustedProxies::default();
        let plain = HeaderMap::new();
        none.client_address(ip("198.51.100.1"), &plain);
        assert!(
            !none.warned.no_proxy.load(Ordering::Relaxed),
            "no header, nothing to say"
        );
        let clone = none.clone();
        clone.client_address(ip("198.51.100.1"), &forwarded(&["203.0.113.9"]));
        assert!(
            none.warned.no_proxy.load(Ordering::Relaxed),
            "clones share the flag"
        );
        assert!(!none.warned.untrusted_peer.load(Ordering::Relaxed));
        let some = TrustedProxies::parse("10.0.0.0/8").expect("list");
        let mut header = HeaderMap::new();
        header.insert(FORWARDED, "for=203.0.113.9".parse().expect("value"));
        some.client_address(ip("10.0.0.7"), &header);
        assert!(
            !some.warned.untrusted_peer.load(Ordering::Relaxed),
            "a trusted peer"
        );
        some.client_address(ip("198.51.100.1"), &header);
        assert!(some.warned.untrusted_peer.load(Ordering::Relaxed));
    }

    #[test]
    fn rejects_a_malformed_list() {
        assert!(TrustedProxies::parse("10.0.0.0/8, nope").is_err());
    }
}
