//! The network guard: which exchanger addresses the probe may dial (SSRF).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::time::timeout;

use super::super::provider;
use super::{clip, Outcome, Prober, Target, ADDRESSES_PER_HOST, MAX_DETAIL_CHARS};

impl Prober {
    /// Returns the addresses to dial, in preference order, or the outcome when there is
    /// none: [`Outcome::SkippedPrivate`] when the guard removed them all.
    pub(super) async fn targets(&self, mx_hosts: &[String]) -> Result<Vec<Target>, Outcome> {
        let mut seen_hosts = HashSet::new();
        let mut seen_addrs = HashSet::new();
        let mut targets = Vec::new();
        let mut skipped_private = false;
        let mut misses = Vec::new();
        let hosts = mx_hosts
            .iter()
            .map(|host| host.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|host| !host.is_empty() && seen_hosts.insert(host.clone()))
            .take(self.cfg.max_hosts.max(1));
        for host in hosts {
            // The resolver has its own timeouts; this bound keeps a misbehaving one from
            // holding the probe forever.
            let ips = match timeout(self.cfg.command_timeout, self.resolver.resolve(&host)).await {
                Ok(ips) => ips,
                Err(_) => {
                    misses.push(format!("{host}: address lookup timed out"));
                    continue;
                }
            };
            if ips.is_empty() {
                misses.push(format!("{host}: no address"));
                continue;
            }
            let mut usable = 0;
            let providers = provider::bundled();
            let known = providers.of_host(&host);
            let accepts_any = known.is_some_and(|provider| provider.accepts_any);
            let timeouts = known
                .map(|provider| providers.timeouts(&provider))
                .unwrap_or_default();
            for ip in ips {
                // The SSRF guard: an exchanger name is chosen by whoever controls the
                // domain of the address, so it may point at our own network. We dial
                // the address we checked, never the name, so nothing can re-resolve it.
                if !self.cfg.allow_private && !is_public_address(ip) {
                    skipped_private = true;
                    continue;
                }
                let addr = SocketAddr::new(ip, self.cfg.port);
                if usable < ADDRESSES_PER_HOST && seen_addrs.insert(addr) {
                    targets.push(Target {
                        host: host.clone(),
                        addr,
                        accepts_any,
                        timeouts,
                        provider: known.map(|provider| provider.name),
                    });
                    usable += 1;
                }
            }
            if usable == 0 {
                misses.push(format!("{host}: no public address"));
            }
        }
        if !targets.is_empty() {
            Ok(targets)
        } else if skipped_private {
            Err(Outcome::SkippedPrivate)
        } else if misses.is_empty() {
            Err(Outcome::Unreachable {
                detail: "the domain has no mail exchanger to probe".to_string(),
            })
        } else {
            Err(Outcome::Unreachable {
                detail: clip(&misses.join("; "), MAX_DETAIL_CHARS),
            })
        }
    }
}

/// Tells whether the probe may dial `ip` without `allow_private`: a global unicast
/// address, not loopback, private, link-local, shared, documentation, benchmarking,
/// multicast, reserved, unspecified or unique-local, nor an IPv6 form of one of those.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network" (RFC 1122)
        || a == 10 // private (RFC 1918)
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 169 && b == 254) // link-local (RFC 3927), cloud metadata services
        || (a == 172 && (16..32).contains(&b)) // private (RFC 1918)
        || (a == 192 && b == 168) // private (RFC 1918)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (RFC 6890)
        || (a == 192 && b == 0 && c == 2) // documentation (RFC 5737)
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking (RFC 2544)
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [h1, h2] = high.to_be_bytes();
        let [l1, l2] = low.to_be_bytes();
        Ipv4Addr::new(h1, h2, l1, l2)
    };
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d, RFC 6052) reach the
    // IPv4 address inside; 6to4 (2002:aabb:ccdd::, RFC 3056) routes to it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    // Only 2000::/3 is global unicast; everything else (::, ::1, IPv4-compatible,
    // discard 100::/64, ULA fc00::/7, link-local fe80::/10, multicast ff00::/8, ...)
    // is not. Within it: IETF protocol assignments 2001::/23 (Teredo, ORCHID, ...)
    // and documentation 2001:db8::/32 (RFC 3849).
    (s[0] & 0xe000) == 0x2000 && !(s[0] == 0x2001 && (s[1] < 0x200 || s[1] == 0x0db8))
}
