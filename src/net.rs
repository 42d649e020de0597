//! Who is on the other end of a connection: the peer address, or behind a trusted reverse
//! proxy the client it names in `X-Forwarded-For`. Everything that counts per address (the
//! login brake, the audit log) asks here, so a proxy never turns the whole staff into one
//! address and a stranger never chooses their own.

use std::net::IpAddr;

/// An address or a CIDR range (`10.0.0.0/8`, `::1`, `192.168.1.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    net: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Reads `addr` or `addr/prefix`; `None` when it is neither.
    pub fn parse(text: &str) -> Option<IpRange> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpRange { net, prefix })
    }

    /// Whether `ip` lies in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client of a request: the peer, unless the peer is a trusted proxy; then the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy (the left part of the
/// header is whatever the client chose to send and is never believed).
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpRange]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for
        .iter()
        .rev()
        .flat_map(|h| h.rsplit(','))
        .map(str::trim)
    {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_hold_their_addresses_only() {
        let r = IpRange::parse("10.1.0.0/16").unwrap();
        assert!(r.contains(ip("10.1.200.3")));
        assert!(!r.contains(ip("10.2.0.1")));
        assert!(r.contains(ip("::ffff:10.1.0.9")));
        assert!(IpRange::parse("::1").unwrap().contains(ip("::1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert_eq!(IpRange::parse("10.0.0.0/33"), None);
        assert_eq!(IpRange::parse("localhost"), None);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let trusted = [IpRange::parse("127.0.0.1").unwrap()];
        // Without a trusted peer the header is the client's own invention.
        assert_eq!(
            client_address(ip("203.0.113.9"), &["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        // Behind the proxy: the address the proxy saw, not what the client prepended.
        assert_eq!(
            client_address(ip("127.0.0.1"), &["1.2.3.4, 198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &["1.2.3.4", "198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // A garbled header leaves the proxy's own address.
        assert_eq!(
            client_address(ip("127.0.0.1"), &["nonsense"], &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(client_address(ip("127.0.0.1"), &[], &[]), ip("127.0.0.1"));
    }
}
