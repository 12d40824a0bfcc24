//! Pure syntax checks, no resolution and no diagnostics: is this string a region, a
//! CIDR, an ARN, a Terraform reference, a time window? Each is table-tested below.

use std::net::IpAddr;

/// Parses `addr/prefix`, requiring the canonical network address (no host bits set).
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let bad = || format!("`{s}` is not a CIDR block");
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let canonical = match ip {
        IpAddr::V4(v4) => {
            if prefix > 32 {
                return Err(bad());
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            if prefix > 128 {
                return Err(bad());
            }
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    };
    if canonical != ip {
        return Err(format!(
            "`{s}` has host bits set; did you mean `{canonical}/{prefix}`?"
        ));
    }
    if canonical.to_string() != addr {
        return Err(format!(
            "`{s}` is not written canonically; write `{canonical}/{prefix}`"
        ));
    }
    Ok((ip, prefix))
}

/// A maintenance (weekly, `ddd:hh:mm-ddd:hh:mm`) or snapshot (daily, `hh:mm-hh:mm`)
/// window, as minutes from the start of the week (weekly) or of the day (daily).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    start: u32,
    end: u32,
    weekly: bool,
}

pub const WEEK: u32 = 7 * 24 * 60;
pub const DAY: u32 = 24 * 60;

impl Window {
    fn period(&self) -> u32 {
        if self.weekly { WEEK } else { DAY }
    }

    /// Length in minutes; a window may wrap past midnight or the end of the week.
    pub fn minutes(&self) -> u32 {
        (self.end + self.period() - self.start) % self.period()
    }

    /// Whether a daily window overlaps this weekly one on any day of the week.
    pub fn overlaps_daily(&self, daily: &Window) -> bool {
        (0..7).any(|day| {
            let start = day * DAY + daily.start;
            let len = daily.minutes();
            // Two intervals on a circle of WEEK minutes overlap when either starts inside the other.
            let inside = |a: u32, from: u32, len: u32| (a + WEEK - from) % WEEK < len;
            inside(start, self.start, self.minutes()) || inside(self.start, start % WEEK, len)
        })
    }
}

pub fn parse_window(s: &str, weekly: bool) -> Option<Window> {
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let point = |p: &str| -> Option<u32> {
        let (day, time) = if weekly {
            let (d, t) = p.split_once(':')?;
            (DAYS.iter().position(|x| *x == d)? as u32, t)
        } else {
            (0, p)
        };
        let (h, m) = time.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(day * DAY + h * 60 + m)
    };
    let (a, b) = s.split_once('-')?;
    Some(Window {
        start: point(a)?,
        end: point(b)?,
        weekly,
    })
}

pub use crate::rules::is_slug;

/// Names Windows reserves for devices in every directory (`con`, `nul`, `com1`, ...): a
/// file or directory of that name cannot be checked out there.
pub fn is_reserved_name(s: &str) -> bool {
    let base = s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    matches!(base.as_str(), "con" | "prn" | "aux" | "nul")
        || ((base.starts_with("com") || base.starts_with("lpt"))
            && base.len() == 4
            && base.as_bytes()[3].is_ascii_digit())
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub fn is_address(s: &str, kind: &str) -> bool {
    match s.split_once('.') {
        Some((t, name)) => {
            t == kind && is_identifier(name.trim_start_matches('_')) && !name.contains('.')
        }
        None => false,
    }
}

/// A Terraform reference such as `var.vpc_id`, `aws_vpc.main.id` or
/// `aws_subnet.private[*].id` (no functions, no operators).
pub fn is_reference(s: &str) -> bool {
    let mut parts = s.split('.');
    let first = parts.next().unwrap_or_default();
    !s.is_empty()
        && s.len() <= 200
        && is_identifier(first)
        && parts.clone().count() >= 1
        && parts.all(|p| {
            let name = p.strip_suffix("[*]").unwrap_or(p);
            let name = match name.split_once('[') {
                Some((n, idx)) => {
                    if !(idx.ends_with(']')
                        && idx[..idx.len() - 1].chars().all(|c| c.is_ascii_digit())
                        && idx.len() > 1)
                    {
                        return false;
                    }
                    n
                }
                None => name,
            };
            is_identifier(name) || (name.starts_with('_') && is_identifier(&name[1..]))
        })
}

pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

pub fn is_secret_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
}

/// `arn:<partition>:<service>:<region>:<12-digit account>:<resource>`, each part
/// checked (the resource by the caller). Quotes, `${`, spaces and newlines never pass.
pub fn arn_parts<'a>(s: &'a str, service: &str) -> Option<&'a str> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, svc, region, account, resource] = parts[..] else {
        return None;
    };
    let partition_ok = matches!(
        partition,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    );
    (arn == "arn"
        && partition_ok
        && svc == service
        && is_region(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit()))
    .then_some(resource)
}

pub fn is_kms_arn(s: &str) -> bool {
    let Some(resource) = arn_parts(s, "kms") else {
        return false;
    };
    let name_ok = |n: &str, extra: &str| {
        !n.is_empty()
            && n.len() <= 256
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    match resource.split_once('/') {
        // A key id (a UUID, or mrk-<hex> for a multi-Region key).
        Some(("key", id)) => name_ok(id, "-"),
        Some(("alias", name)) => name_ok(name, "/_-"),
        _ => false,
    }
}

/// An SNS topic ARN: a topic name of 1-256 letters, digits, `-` and `_` (and `.fifo`).
pub fn is_sns_arn(s: &str) -> bool {
    arn_parts(s, "sns").is_some_and(|topic| {
        let name = topic.strip_suffix(".fifo").unwrap_or(topic);
        !name.is_empty()
            && topic.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// YAML 1.1 spellings of booleans and null: a bare scalar with one of these is not a
/// string to every YAML reader.
pub fn is_yaml_special(s: &str) -> bool {
    const WORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// Whether the CIDRs (all of one family, canonical) together cover every address of
/// that family.
pub fn covers_everything(cidrs: &[String]) -> bool {
    let mut ranges: Vec<(u128, u128)> = Vec::new();
    let mut bits = 32;
    for c in cidrs {
        let Ok((ip, prefix)) = parse_cidr(c) else {
            continue;
        };
        let (start, width) = match ip {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        bits = width;
        let size_minus_one = if u32::from(prefix) >= width {
            0
        } else {
            (u128::MAX >> (128 - width)) >> prefix
        };
        ranges.push((start, start.saturating_add(size_minus_one)));
    }
    let top = u128::MAX >> (128 - bits);
    ranges.sort();
    let mut next = 0u128; // the first address not yet covered
    for (start, end) in ranges {
        if start > next {
            return false;
        }
        if end >= next {
            if end == top {
                return true;
            }
            next = end + 1;
        }
    }
    false
}

/// Addresses that are not on the public internet, as (first, last) ranges: IPv4's
/// private, shared, loopback, link-local, documentation, benchmark, multicast and
/// reserved blocks (RFC 6890).
const IPV4_NOT_PUBLIC: &[(&str, u8)] = &[
    ("0.0.0.0", 8),
    ("10.0.0.0", 8),
    ("100.64.0.0", 10),
    ("127.0.0.0", 8),
    ("169.254.0.0", 16),
    ("172.16.0.0", 12),
    ("192.0.0.0", 24),
    ("192.0.2.0", 24),
    ("192.168.0.0", 16),
    ("198.18.0.0", 15),
    ("198.51.100.0", 24),
    ("203.0.113.0", 24),
    ("224.0.0.0", 3),
];

/// The most public addresses the Redis port may be opened to: one /8 of IPv4 (16.8
/// million, about 0.45 % of the public space), one /32 of IPv6 (an ISP's allocation).
/// More is the internet at large, not a client network.
pub const PUBLIC_V4_LIMIT: u128 = 1 << 24;
pub const PUBLIC_V6_LIMIT: u128 = 1 << 96;

/// Merged (first, last) ranges of canonical CIDRs of one family.
fn ranges_of(cidrs: &[String]) -> Vec<(u128, u128)> {
    let mut ranges: Vec<(u128, u128)> = Vec::new();
    for c in cidrs {
        let Ok((ip, prefix)) = parse_cidr(c) else {
            continue;
        };
        let (start, width) = match ip {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32),
            IpAddr::V6(a) => (u128::from(a), 128u32),
        };
        let size_minus_one = if u32::from(prefix) >= width {
            0
        } else {
            (u128::MAX >> (128 - width)) >> prefix
        };
        ranges.push((start, start.saturating_add(size_minus_one)));
    }
    merge(ranges)
}

fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort();
    let mut out: Vec<(u128, u128)> = Vec::new();
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The public address ranges of a family: IPv4 without [`IPV4_NOT_PUBLIC`]; IPv6's
/// global unicast block 2000::/3 without the documentation block 2001:db8::/32.
fn public_ranges(v6: bool) -> Vec<(u128, u128)> {
    let (all, holes): ((u128, u128), Vec<String>) = if v6 {
        (
            (0x2000u128 << 112, (0x4000u128 << 112) - 1),
            vec!["2001:db8::/32".to_string()],
        )
    } else {
        (
            (0, u128::from(u32::MAX)),
            IPV4_NOT_PUBLIC
                .iter()
                .map(|(a, p)| format!("{a}/{p}"))
                .collect(),
        )
    };
    let mut out = Vec::new();
    let mut next = all.0;
    for (s, e) in ranges_of(&holes) {
        if s > next {
            out.push((next, s - 1));
        }
        next = next.max(e.saturating_add(1));
    }
    if next <= all.1 {
        out.push((next, all.1));
    }
    out
}

/// How many public addresses the CIDRs (one family, canonical) cover together, and how
/// many public addresses the family has.
pub fn public_coverage(cidrs: &[String], v6: bool) -> (u128, u128) {
    let public = public_ranges(v6);
    let total = public.iter().map(|(s, e)| e - s + 1).sum();
    let mut covered = 0u128;
    for (s, e) in ranges_of(cidrs) {
        for (ps, pe) in &public {
            let (lo, hi) = (s.max(*ps), e.min(*pe));
            if lo <= hi {
                covered += hi - lo + 1;
            }
        }
    }
    (covered, total)
}

/// An email address an SNS subscription takes: `local@domain.tld`, printable, no
/// spaces, quotes or brackets.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&*+/=?^_`{|}~.-".contains(c))
        && !local.contains("..")
        && domain.contains('.')
        && domain.split('.').all(label)
        && domain.rsplit('.').next().is_some_and(|tld| tld.len() >= 2)
}

/// An `https://` endpoint an SNS subscription takes: a host name, then an optional
/// path of URL-safe characters (no spaces, quotes, `${`).
pub fn is_https_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    s.len() <= 2048
        && !host.is_empty()
        && host.contains('.')
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/?#[]@!&'()*+,;=%:".contains(c))
        && !path.contains("${")
}

/// An S3 bucket name: 3-63 lower-case letters, digits, `-` and `.`, starting and ending
/// with a letter or digit, no `..`, not an IP address, not AWS's reserved prefixes and
/// suffixes.
pub fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !s.contains("..")
        && s.parse::<std::net::Ipv4Addr>().is_err()
        && !s.starts_with("xn--")
        && !["sthree-", "amzn-s3-demo-"]
            .iter()
            .any(|p| s.starts_with(p))
        && !["-s3alias", "--ol-s3", "--x-s3", "--table-s3"]
            .iter()
            .any(|x| s.ends_with(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each check against values it must accept and values it must refuse.
    #[test]
    fn checks_accept_and_refuse() {
        type Check = fn(&str) -> bool;
        let table: &[(&str, Check, &[&str], &[&str])] = &[
            (
                "region",
                is_region,
                &["us-east-1", "us-gov-west-1", "eu-central-2"],
                &["us-east", "US-east-1", "us-east-x", ""],
            ),
            (
                "version",
                |s| crate::rules::Version::parse(s).is_some(),
                &["7", "7.0", "7.2.4", "8.1"],
                &["7.x", "7.0.0.1", "7.1234", "", ".1", "v8"],
            ),
            (
                "name",
                |s| is_slug(s, 40),
                &["dev", "voice-campaign", "a1"],
                &["", "Dev", "../x", "dev-", "1dev", &"a".repeat(41)],
            ),
            (
                "identifier",
                is_identifier,
                &["compute", "data_2", "x-y"],
                &["", "2x", "a.b", "a b"],
            ),
            (
                "reference",
                is_reference,
                &[
                    "var.vpc_id",
                    "aws_vpc.main.id",
                    "aws_subnet.private[*].id",
                    "module.lambda.x",
                    "aws_subnet.a[0].id",
                ],
                &["vpc", "", "var.", "aws_vpc.main.id()", "var.a[x]", "\"x\""],
            ),
            (
                "secret name",
                is_secret_name,
                &["a/b/c", "x_y+z=@.-"],
                &["", "a b", "a\"b"],
            ),
            (
                "kms arn",
                is_kms_arn,
                &[
                    "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                    "arn:aws:kms:us-east-1:123456789012:alias/redis",
                ],
                &[
                    "arn:aws:kms:us-east-1:123456789012:key/a b",
                    "arn:aws-evil:kms:us-east-1:123456789012:key/abc",
                    "arn:aws:kms:us-east-1:1234:key/abc",
                ],
            ),
            (
                "sns arn",
                is_sns_arn,
                &[
                    "arn:aws:sns:eu-central-1:123456789012:oncall",
                    "arn:aws:sns:us-east-1:123456789012:a.fifo",
                ],
                &[
                    "arn:aws:sns:eu-central-1:123456789012:on\"call",
                    "arn:aws:sns:eu-central-1:123456789012:${x}",
                    "arn:aws:sns:eu-central-1:12345:oncall",
                    "arn:aws:sqs:eu-central-1:123456789012:oncall",
                ],
            ),
            (
                "yaml special",
                is_yaml_special,
                &["yes", "No", "TRUE", "off", "null", "y"],
                &["asterisk", "yesno", ""],
            ),
        ];
        for (what, check, good, bad) in table {
            for v in *good {
                assert!(check(v), "{what}: `{v}` must be accepted");
            }
            for v in *bad {
                assert!(!check(v), "{what}: `{v}` must be refused");
            }
        }
        assert!(is_address("aws_instance.asterisk", "aws_instance"));
        assert!(!is_address("aws_instance", "aws_instance"));
        assert!(!is_address("aws_security_group.a", "aws_instance"));
    }

    #[test]
    fn cidrs() {
        for (s, ok) in [
            ("10.0.0.0/16", true),
            ("2001:db8::/32", true),
            ("0.0.0.0/0", true),
            ("10.0.0.0/33", false),
            ("10.0.0.0", false),
            ("10.0.0.1/16", false),
            ("2001:0db8::/32", false),
        ] {
            assert_eq!(parse_cidr(s).is_ok(), ok, "{s}");
        }
        assert!(
            parse_cidr("10.0.0.1/16")
                .unwrap_err()
                .contains("did you mean `10.0.0.0/16`")
        );
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().1, 0);
    }

    #[test]
    fn unions_that_cover_every_address() {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (cidrs, all) in [
            (&["0.0.0.0/1", "128.0.0.0/1"][..], true),
            (&["128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2"][..], true),
            (&["0.0.0.0/1", "128.0.0.0/2"][..], false),
            (&["10.0.0.0/8", "172.16.0.0/12"][..], false),
            (&["::/1", "8000::/1"][..], true),
            (&["::/1", "8000::/2"][..], false),
        ] {
            assert_eq!(covers_everything(&v(cidrs)), all, "{cidrs:?}");
        }
    }

    #[test]
    fn public_coverage_counts_only_public_addresses() {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (all4, total4) = public_coverage(&v(&["0.0.0.0/0"]), false);
        assert_eq!(all4, total4);
        // 2^32 minus the non-public blocks.
        assert_eq!(total4, 3_702_258_688);
        assert_eq!(
            public_coverage(&v(&["10.0.0.0/8", "192.168.0.0/16"]), false).0,
            0
        );
        assert_eq!(
            public_coverage(&v(&["0.0.0.0/1"]), false).0,
            2_147_483_648 - 16_777_216 * 3 - 4_194_304
        );
        assert_eq!(public_coverage(&v(&["8.8.8.0/24"]), false).0, 256);
        let (g, total6) = public_coverage(&v(&["2000::/3"]), true);
        assert_eq!(g, total6);
        assert_eq!(
            public_coverage(&v(&["fd00::/8", "2001:db8::/32"]), true).0,
            0
        );
    }

    #[test]
    fn windows() {
        let m = parse_window("sun:05:00-sun:06:00", true).unwrap();
        assert_eq!(m.minutes(), 60);
        assert_eq!(
            parse_window("sat:23:30-sun:00:30", true).unwrap().minutes(),
            60
        );
        assert_eq!(parse_window("23:30-00:30", false).unwrap().minutes(), 60);
        for bad in ["sun:5:00-sun:06:00", "xyz:05:00-sun:06:00"] {
            assert!(parse_window(bad, true).is_none(), "{bad}");
        }
        assert!(parse_window("03:00-24:00", false).is_none());
        let snap = |s| parse_window(s, false).unwrap();
        for (daily, overlaps) in [
            ("03:00-04:00", false),
            ("05:30-06:30", true),
            ("04:30-05:30", true),
            ("04:00-07:00", true),
            ("06:00-07:00", false),
        ] {
            assert_eq!(m.overlaps_daily(&snap(daily)), overlaps, "{daily}");
        }
    }
}
