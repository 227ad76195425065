"""Which computers may connect to the RCC line ([line] access, access_exceptions).

`access` is the default for every address; each CIDR in `access_exceptions`
gets the opposite. IPv4 peers reaching a dual-stack (IPv6) socket show up as
IPv4-mapped addresses (::ffff:192.0.2.1); they are matched as the IPv4 address
they are, so IPv4 exceptions apply to them.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Literal

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

GRANTED = "granted"
DENIED = "denied"


class AccessListError(ValueError):
    """A bad default or exception entry; the message names the entry."""


def parse_address(ip: str) -> IPAddress:
    """The address a peer connected from, with IPv4-mapped IPv6 unwrapped and any zone id dropped."""
    text = ip.split("%", 1)[0]
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _parse_network(entry: str, index: int) -> IPNetwork:
    if not isinstance(entry, str):
        raise AccessListError(f"access_exceptions[{index}]: expected a CIDR string, got {entry!r}")
    try:
        network = ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError as error:
        raise AccessListError(f"access_exceptions[{index}]: {entry!r} is not an IP address or CIDR ({error})") from None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:  # ::ffff:a.b.c.d/n written out: match it as the IPv4 network
            return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)
    return network


class AccessList:
    """`allows(ip)`: the default, flipped for addresses inside any exception."""

    def __init__(self, default: Literal["granted", "denied"] = GRANTED, exceptions: Iterable[str] = ()) -> None:
        if default not in (GRANTED, DENIED):
            raise AccessListError(f"access must be {GRANTED!r} or {DENIED!r}, not {default!r}")
        self.default = default
        self.exceptions: tuple[IPNetwork, ...] = tuple(
            _parse_network(entry, index) for index, entry in enumerate(exceptions)
        )

    def allows(self, ip: str) -> bool:
        """Raises ValueError for text that is not an IP address."""
        address = parse_address(ip)
        excepted = any(address in network for network in self.exceptions if network.version == address.version)
        return (self.default == GRANTED) != excepted

    def __repr__(self) -> str:
        return f"AccessList({self.default!r}, {[str(n) for n in self.exceptions]!r})"
