//! The address a request comes from: the TCP peer, or, when the peer is one of the reverse
//! proxies named in `GATEHOUSE_TRUSTED_PROXIES`, the client that proxy saw (`X-Forwarded-For`,
//! or the standard `Forwarded` of RFC 7239 from proxies that send only that). Per-IP rate
//! limits, sign-in throttling and the tenant's log use this address.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{HeaderMap, FORWARDED, X_FORWARDED_FOR};
use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::domain::Requester;

/// Longest user agent kept; browsers send a few hundred characters, anything longer is noise.
const MAX_USER_AGENT_CHARS: usize = 512;

impl Requester {
    /// Who sent `req`: its client address (through trusted proxies) and user agent.
    pub fn of(req: &HttpRequest, trusted: &[IpNet]) -> Self {
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(MAX_USER_AGENT_CHARS)
                    .collect::<String>()
            })
            .filter(|ua| !ua.is_empty());
        Requester {
            ip: client_ip(req, trusted).map(|ip| ip.to_string()),
            user_agent,
        }
    }
}

/// The client's address, or `None` when the connection has no peer address (tests).
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    Some(resolve(peer, req.headers(), trusted))
}

/// Without trusted proxies the peer is the client, whatever the headers say (a client cannot
/// choose its own bucket). Behind trusted ones, `X-Forwarded-For` is read from the right,
/// where the nearest proxy appended what it saw, skipping the trusted hops: the first address
/// not trusted is the client. Anything to its left was written by the client and is ignored.
/// An entry that is not an address ends the walk at the last trusted hop.
fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Several headers count as one list, in order (RFC 9110, 5.3).
    let mut entries: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if entries.is_empty() {
        entries = forwarded_for(headers);
    }
    let mut client = peer;
    for entry in entries.iter().rev() {
        match parse_entry(entry) {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            None => break,
        }
    }
    client
}

/// The `for=` of each element of `Forwarded` headers (RFC 7239), in order: `for=192.0.2.43`,
/// `for="[2001:db8::1]:4711"`. An element without one counts as an entry that is not an address
/// (it ends the walk), as do `unknown` and obfuscated identifiers (`_hidden`).
fn forwarded_for(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .map(|(_, value)| value.trim().trim_matches('"'))
                .unwrap_or("")
        })
        .collect()
}

/// `203.0.113.7`, `2001:db8::1`, or with a port as some proxies write it (`203.0.113.7:4711`,
/// `[2001:db8::1]:4711`), or bracketed without one (`[2001:db8::1]`, as `Forwarded` writes it).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .unwrap_or(entry);
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_trusted;
    use actix_web::http::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let got = resolve(ip("198.51.100.9"), &headers(&["203.0.113.7"]), &[]);
        assert_eq!(got, ip("198.51.100.9"));
    }

    #[test]
    fn a_peer_that_is_not_trusted_cannot_name_another_client() {
        let trusted = parse_trusted("10.0.0.0/8").unwrap();
        let got = resolve(ip("198.51.100.9"), &headers(&["203.0.113.7"]), &trusted);
        assert_eq!(got, ip("198.51.100.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let trusted = parse_trusted("10.0.0.0/8, 192.0.2.1").unwrap();
        // The client wrote "1.1.1.1" itself; the edge proxy appended what it saw, the inner
        // proxy (192.0.2.1) appended the edge proxy's address.
        let h = headers(&["1.1.1.1, 203.0.113.7", "10.0.0.5"]);
        assert_eq!(resolve(ip("192.0.2.1"), &h, &trusted), ip("203.0.113.7"));
    }

    #[test]
    fn ports_and_ipv6_are_understood() {
        let trusted = parse_trusted("fd00::/8").unwrap();
        let h = headers(&["[2001:db8::7]:4711"]);
        assert_eq!(resolve(ip("fd00::1"), &h, &trusted), ip("2001:db8::7"));
        let trusted = parse_trusted("127.0.0.1").unwrap();
        let h = headers(&["203.0.113.7:4711"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("203.0.113.7"));
    }

    #[test]
    fn garbage_or_a_missing_header_leaves_the_last_trusted_hop() {
        let trusted = parse_trusted("10.0.0.0/8").unwrap();
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers(&["not-an-ip, 10.0.0.2"]), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers(&[]), &trusted),
            ip("10.0.0.1")
        );
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(FORWARDED, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_standard_forwarded_header_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = parse_trusted("10.0.0.0/8").unwrap();
        // The client wrote the first element; the edge proxy (10.0.0.5 to us) appended its view.
        let h = forwarded(&[r#"for=1.1.1.1, for=203.0.113.7;proto=https;by=10.0.0.5"#]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("203.0.113.7"));
        let h = forwarded(&[r#"For="[2001:db8::7]:4711""#, "for=10.0.0.9"]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("2001:db8::7"));
        let h = forwarded(&[r#"for="[2001:db8::8]""#]);
        assert_eq!(resolve(ip("10.0.0.5"), &h, &trusted), ip("2001:db8::8"));
        // Unknown or obfuscated clients, or an element without `for`, leave the last trusted hop.
        for (opaque, last_trusted) in [
            ("for=unknown", "10.0.0.5"),
            ("for=_hidden, for=10.0.0.9", "10.0.0.9"),
            ("proto=https", "10.0.0.5"),
        ] {
            let got = resolve(ip("10.0.0.5"), &forwarded(&[opaque]), &trusted);
            assert_eq!(got, ip(last_trusted), "{opaque}");
        }
        // An untrusted peer still cannot name another client this way.
        let h = forwarded(&["for=203.0.113.7"]);
        assert_eq!(
            resolve(ip("198.51.100.9"), &h, &trusted),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn bad_ranges_are_refused_with_the_entry() {
        assert!(parse_trusted("").unwrap().is_empty());
        assert_eq!(parse_trusted("10.0.0.1, ::1").unwrap().len(), 2);
        let err = parse_trusted("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(err.contains("proxy.internal"), "{err}");
        assert!(parse_trusted("10.0.0.0/33").is_err());
    }
}
