"""Project policy for checkov: the Redis port must never be reachable from the whole
internet: not from 0.0.0.0/0 or ::/0, and not from sources whose union covers every
address (0.0.0.0/1 plus 128.0.0.0/1). checkov has no built-in check for this port.

Sources are united within a resource (an inline ingress list, a list of CIDRs) and
across the standalone rules of one security group (same `security_group_id`): the rule
that completes the union fails, naming the group.

Run with `checkov --external-checks-dir policies/checkov ...`. The Redis ports to guard
come from INFRAGEN_REDIS_PORTS (comma-separated, default 6379). A rule whose port or
source cannot be resolved statically counts as open when its source is the world:
the policy errs on the side of failing.
"""

import ipaddress
import os

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

WORLD = {"0.0.0.0/0", "::/0"}
PORTS = [int(p) for p in os.environ.get("INFRAGEN_REDIS_PORTS", "6379").split(",") if p.strip()]


def _scalar(value):
    """checkov wraps attribute values in one-element lists."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _values(value):
    """Every string in an attribute that may hold one CIDR or a list of them."""
    value = _scalar(value)
    if isinstance(value, list):
        out = []
        for v in value:
            out.extend(_values(v))
        return out
    return [value] if isinstance(value, str) else []


def _port(value):
    value = _scalar(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _covers_redis(rule):
    protocol = str(_scalar(rule.get("ip_protocol", rule.get("protocol", "tcp")))).lower()
    if protocol in ("-1", "all"):
        return True
    low, high = _port(rule.get("from_port")), _port(rule.get("to_port"))
    if low is None or high is None:
        return True
    return any(low <= p <= high for p in PORTS)


def _sources(rule):
    out = []
    for key in ("cidr_ipv4", "cidr_ipv6", "cidr_blocks", "ipv6_cidr_blocks"):
        out.extend(_values(rule.get(key)))
    return out


def _covers_everything(cidrs):
    """Whether the CIDRs, of either family, together cover every IPv4 or every IPv6
    address. Unparsable sources (unresolved references) count for nothing."""
    for version, world in ((4, "0.0.0.0/0"), (6, "::/0")):
        nets = []
        for c in cidrs:
            try:
                net = ipaddress.ip_network(c, strict=False)
            except ValueError:
                continue
            if net.version == version:
                nets.append(net)
        if ipaddress.ip_network(world) in ipaddress.collapse_addresses(nets):
            return True
    return False


# Sources of the Redis-port rules seen so far, per security group (one checkov run).
_SEEN = {}


class RedisPortNotWorldOpen(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="Ensure the Redis port is not reachable from 0.0.0.0/0 or ::/0",
            id="CKV_INFRAGEN_1",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_vpc_security_group_ingress_rule",
                "aws_security_group_rule",
                "aws_security_group",
            ],
        )

    def scan_resource_conf(self, conf):
        if self.entity_type == "aws_security_group":
            rules = [r for r in conf.get("ingress", []) if isinstance(r, dict)]
            group = None
        elif self.entity_type == "aws_security_group_rule":
            if str(_scalar(conf.get("type"))) != "ingress":
                return CheckResult.PASSED
            rules = [conf]
            group = str(_scalar(conf.get("security_group_id")))
        else:
            rules = [conf]
            group = str(_scalar(conf.get("security_group_id")))
        sources = [s for r in rules if _covers_redis(r) for s in _sources(r)]
        if not sources:
            return CheckResult.PASSED
        if any(s in WORLD for s in sources) or _covers_everything(sources):
            return CheckResult.FAILED
        if group is not None:
            seen = _SEEN.setdefault(group, [])
            seen.extend(sources)
            if _covers_everything(seen):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = RedisPortNotWorldOpen()
