//! The client's address behind trusted reverse proxies.
//!
//! Per-IP rate limits and audit records need the address of the client, not of the proxy in
//! front of the server. Proxies report it in `X-Forwarded-For`, which anyone can also send, so
//! the header is believed only as far as it was written by a trusted proxy: starting from the
//! TCP peer, while the address at hand is a trusted proxy, the next hop to the left of the
//! header is taken; the first address that is not a trusted proxy is the client. A peer that is
//! not trusted is the client whatever it sends. A hop that does not parse ends the walk at the
//! last trusted address (nothing past a garbled entry can be believed).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use ipnet::IpNet;

/// The client's address as [`layer`] resolved it; [`crate::Caller`] prefers it to the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Hops looked at, at most (a header of thousands of entries costs no more than this).
const MAX_HOPS: usize = 32;

/// Resolves each request's [`ClientAddr`] from its TCP peer and, when the peer is one of
/// `trusted`, its `X-Forwarded-For` header. With no trusted proxies the peer is the client.
pub fn layer<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    trusted: Vec<IpNet>,
) -> Router<S> {
    let trusted: Arc<[IpNet]> = trusted.into();
    router.layer(middleware::from_fn(move |mut req: Request, next: Next| {
        let trusted = trusted.clone();
        async move {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            if let Some(peer) = peer {
                let client = resolve(peer, req.headers(), &trusted);
                req.extensions_mut().insert(ClientAddr(client));
            }
            next.run(req).await
        }
    }))
}

/// The client's address for a request from `peer` with `headers` (see the module docs).
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    // Every X-Forwarded-For header, in order; the rightmost hop was added by the nearest proxy.
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return client;
        };
        hops.extend(text.split(',').map(str::trim));
    }
    for hop in hops.iter().rev().take(MAX_HOPS) {
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`, with or without a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = xff(&["198.51.100.7"]);
        assert_eq!(resolve(ip("203.0.113.9"), &h, &trusted), ip("203.0.113.9"));
        assert_eq!(resolve(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        // A client that forged a first entry, then two proxies of ours.
        let h = xff(&["6.6.6.6, 198.51.100.7", "10.1.2.3"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let trusted = nets(&["127.0.0.1/32"]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_trusted_address() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        let h = xff(&["198.51.100.7, not-an-ip, 10.0.0.5"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("10.0.0.5"));
        let h = xff(&["198.51.100.7,"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("127.0.0.1"));
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"198.51.100.7\xff").unwrap(),
        );
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("127.0.0.1"));
    }

    #[test]
    fn ports_ipv6_and_mapped_addresses() {
        let trusted = nets(&["::1/128", "10.0.0.0/8"]);
        let h = xff(&["[2001:db8::7]:4711"]);
        assert_eq!(resolve(ip("::1"), &h, &trusted), ip("2001:db8::7"));
        let h = xff(&["198.51.100.7:4711"]);
        assert_eq!(resolve(ip("::1"), &h, &trusted), ip("198.51.100.7"));
        // An IPv4 peer seen on a dual-stack socket.
        let h = xff(&["198.51.100.7"]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn only_so_many_hops_are_walked() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        let chain = vec!["10.0.0.1"; 1000].join(", ");
        let h = xff(&[&format!("198.51.100.7, {chain}")]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("10.0.0.1"));
    }
}
