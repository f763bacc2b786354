//! `AddressPolicy`: which network addresses upstream calls may connect to. Link-local and cloud
//! metadata addresses never; private ranges and loopback when the operator says so
//! (`GATEHOUSE_UPSTREAM_FORBID`). Applied at connect time by `providers::address_guard`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address classes an operator may forbid besides those always forbidden.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7.
    pub forbid_private: bool,
    /// 127/8 and ::1 (allowed by default: test servers and sidecars listen there).
    pub forbid_loopback: bool,
}

impl AddressPolicy {
    /// Parses `GATEHOUSE_UPSTREAM_FORBID`: a comma-separated list of `private` and `loopback`,
    /// or `none`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut policy = AddressPolicy::default();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "none" => {}
                "private" => policy.forbid_private = true,
                "loopback" => policy.forbid_loopback = true,
                other => {
                    return Err(format!(
                        "unknown address class {other:?} (expected private, loopback or none)"
                    ))
                }
            }
        }
        Ok(policy)
    }

    /// Why `ip` may not be connected to, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        // An IPv6 address that carries an IPv4 one reaches it: judged as that address.
        let ip = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if always_forbidden(ip) {
            return Some("a link-local, metadata or unroutable address");
        }
        if ip.is_loopback() {
            return self.forbid_loopback.then_some("a loopback address");
        }
        if self.forbid_private && is_private(ip) {
            return Some("a private network address");
        }
        None
    }
}

/// The IPv4 address inside IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4 (`2002::/16`) addresses.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return Some(mapped);
    }
    if s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
        return Some(last);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(last);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

fn always_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_link_local() // 169.254/16, where cloud metadata services answer
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                // Alibaba Cloud's metadata service
                || v4 == Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                // the IPv6 metadata services of AWS, Google Cloud and Oracle Cloud
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
                || v6 == Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254)
                || v6 == Ipv6Addr::new(0xfd00, 0xc1, 0, 0, 0, 0, 0xa9fe, 0xa9fe)
        }
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        // unique local fc00::/7, and the deprecated site-local fec0::/10
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfec0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_are_always_refused() {
        let open = AddressPolicy::default();
        for bad in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "fd00:ec2::254",
            "100.100.100.200",
            "0.0.0.0",
            "::",
            "::ffff:169.254.169.254",
            "224.0.0.1",
            "fd20:ce::254",
            "fd00:c1::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "::169.254.169.254",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(open.refusal(ip(bad)).is_some(), "{bad}");
        }
        for good in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "93.184.216.34",
            "::1",
        ] {
            assert!(open.refusal(ip(good)).is_none(), "{good}");
        }
    }

    #[test]
    fn private_ranges_and_loopback_are_refused_when_the_operator_says_so() {
        let strict = AddressPolicy::parse("private, loopback").unwrap();
        for bad in [
            "10.0.0.1",
            "172.16.5.5",
            "192.168.0.10",
            "100.64.0.1",
            "fd12::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "2002:0a00:0001::1",
            "fec0::1",
            "127.0.0.1",
            "::1",
        ] {
            assert!(strict.refusal(ip(bad)).is_some(), "{bad}");
        }
        assert!(strict.refusal(ip("93.184.216.34")).is_none());
        assert!(AddressPolicy::parse("intranet").is_err());
    }
}
