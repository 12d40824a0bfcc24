//! Who reaches Redis, and where it listens: the port, the bind addresses, and the
//! CIDRs the security group admits besides the consumers.

use super::resolver::{Resolver, default_sp, item_pos};
use super::syntax::{
    PUBLIC_V4_LIMIT, PUBLIC_V6_LIMIT, covers_everything, parse_cidr, public_coverage,
};
use crate::diag::Code;
use crate::field::Field;
use crate::model::Val;
use crate::rules::PORT;
use std::net::IpAddr;

/// The network part of the `redis` section.
pub(super) struct Network {
    pub port: Val<u16>,
    pub bind: Val<Vec<String>>,
    /// `allowed_sources` as written (`vpc` not expanded).
    pub allowed_sources: Val<Vec<String>>,
    pub allowed_ipv4: Vec<String>,
    pub allowed_ipv6: Vec<String>,
}

/// The allowed sources as written, and expanded by family.
struct Sources {
    written: Val<Vec<String>>,
    v4: Vec<String>,
    v6: Vec<String>,
}

/// An address count as a reader takes it in: digits in groups of three up to 2^40, a
/// power of two beyond (IPv6 counts have 30 digits).
fn count(n: u128) -> String {
    if n >= 1 << 40 {
        let exp = (n as f64).log2();
        return if exp.fract() == 0.0 {
            format!("2^{exp}")
        } else {
            format!("about 2^{exp:.1}")
        };
    }
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const SOURCE_HELP: &str = "`vpc` (the VPC CIDR) or a CIDR such as `10.0.1.0/24`; at most one /8 of public IPv4 and one /32 of public IPv6 in all, never 0.0.0.0/0 or ::/0";

impl Resolver<'_> {
    pub(super) fn network(&mut self, vpc_cidr: Option<&Val<String>>) -> Option<Network> {
        let port = self.int(
            &PORT,
            Code::Port,
            |l| l.redis.as_ref()?.port.as_ref(),
            |p| format!("port {p} is out of range"),
        );
        let bind = self.bind();
        let sources = self.sources(vpc_cidr);
        let (bind, sources) = (bind?, sources?);
        Some(Network {
            port: port?,
            bind,
            allowed_sources: sources.written,
            allowed_ipv4: sources.v4,
            allowed_ipv6: sources.v6,
        })
    }

    /// Addresses Redis listens on: IP addresses Redis can bind together. It binds each
    /// in turn and aborts ("address already in use") on one listed twice, or on one a
    /// wildcard of its family already covers (0.0.0.0 and :: are separate: Redis binds
    /// :: as IPv6-only).
    fn bind(&mut self) -> Option<Val<Vec<String>>> {
        let raw = self.or(
            Field::RedisBind,
            |l| l.redis.as_ref()?.bind.as_ref(),
            vec![default_sp("0.0.0.0")],
        );
        let mut ok = self.ensure(
            !raw.value.is_empty(),
            Code::Bind,
            &raw,
            || "`bind` is empty".into(),
            "one or more IP addresses, e.g. `[0.0.0.0]`",
        );
        let mut set = std::collections::HashSet::new();
        let mut first: [Option<IpAddr>; 2] = [None, None];
        let mut wildcard: [Option<IpAddr>; 2] = [None, None];
        for b in &raw.value {
            let pos = item_pos(b, &raw);
            let Ok(ip) = b.value.parse::<IpAddr>() else {
                self.err_at(
                    Code::Bind,
                    pos,
                    raw.path(),
                    format!("`{}` is not an IP address", b.value),
                    "IPv4 or IPv6 addresses, e.g. `0.0.0.0` or `10.0.1.5`",
                );
                ok = false;
                continue;
            };
            // Linear: the same address, the family's wildcard, or (for a wildcard) the
            // family's first address.
            let family = usize::from(ip.is_ipv6());
            let clash = if set.contains(&ip) {
                Some(ip)
            } else if ip.is_unspecified() {
                first[family]
            } else {
                wildcard[family]
            };
            if let Some(other) = clash {
                self.err_at(
                    Code::BindOverlap,
                    pos,
                    raw.path(),
                    format!(
                        "`{}` overlaps `{other}`, also in `bind`: Redis would fail to start (address already in use)",
                        b.value
                    ),
                    "each address once; a wildcard (0.0.0.0 or ::) alone for its family",
                );
                ok = false;
            }
            set.insert(ip);
            first[family].get_or_insert(ip);
            if ip.is_unspecified() {
                wildcard[family].get_or_insert(ip);
            }
        }
        ok.then(|| raw.map(|v| v.iter().map(|s| s.value.clone()).collect()))
    }

    /// The allowed sources, as written and expanded into IPv4 and IPv6 CIDRs: each
    /// canonical, once, never the whole internet, alone or together.
    fn sources(&mut self, vpc_cidr: Option<&Val<String>>) -> Option<Sources> {
        let sources = self.or(
            Field::RedisAllowedSources,
            |l| l.redis.as_ref()?.allowed_sources.as_ref(),
            vec![default_sp("vpc")],
        );
        let mut ok = true;
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for s in &sources.value {
            let pos = item_pos(s, &sources);
            let cidr = if s.value == "vpc" {
                // An invalid VPC CIDR is reported once, at aws.vpc_cidr.
                match vpc_cidr {
                    Some(v) if parse_cidr(&v.value).is_ok() => v.value.clone(),
                    _ => continue,
                }
            } else {
                s.value.clone()
            };
            let (code, message) = match parse_cidr(&cidr) {
                Ok((_, 0)) => (
                    Code::WorldOpen,
                    format!("`{cidr}` would open the Redis port to the whole internet"),
                ),
                Ok((ip, _)) => {
                    let list = if ip.is_ipv4() { &mut v4 } else { &mut v6 };
                    if seen.insert(cidr.clone()) {
                        list.push(cidr);
                        continue;
                    }
                    (
                        Code::SourceTwice,
                        format!("`{}` is listed twice (as `{cidr}`)", s.value),
                    )
                }
                Err(e) => (Code::Source, e),
            };
            self.err_at(code, pos, sources.path(), message, SOURCE_HELP);
            ok = false;
        }
        for (family, list, v6, limit, limit_name) in [
            ("IPv4", &v4, false, PUBLIC_V4_LIMIT, "one /8"),
            ("IPv6", &v6, true, PUBLIC_V6_LIMIT, "one /32"),
        ] {
            if list.is_empty() {
                continue;
            }
            let (covered, total) = public_coverage(list, v6);
            if covered > limit {
                let every = if list.len() > 1 && covers_everything(list) {
                    format!(", every {family} address")
                } else {
                    String::new()
                };
                let listed: Vec<String> = list.iter().map(|c| format!("`{c}`")).collect();
                let verb = if list.len() > 1 {
                    "together cover"
                } else {
                    "covers"
                };
                self.err(
                    Code::WorldOpen,
                    &sources,
                    format!(
                        "{} {verb} {} public {family} addresses ({:.2}% of the public {family} space, {} addresses{every}); infragen refuses more than {} ({limit_name}): the Redis port would be open to a large part of the internet",
                        listed.join(", "),
                        count(covered),
                        covered as f64 * 100.0 / total as f64,
                        count(total),
                        count(limit),
                    ),
                    SOURCE_HELP,
                );
                ok = false;
            }
        }
        ok.then(|| Sources {
            written: sources.map(|v| v.iter().map(|s| s.value.clone()).collect()),
            v4,
            v6,
        })
    }
}
