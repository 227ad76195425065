"""AccessList: default plus CIDR exceptions, IPv4 / IPv6 / IPv4-mapped IPv6."""
from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, strategies as st

from rccserver.transport.access import AccessList, AccessListError

ipv4 = st.ip_addresses(v=4)
ipv6 = st.ip_addresses(v=6)


def test_default_granted_with_exceptions():
    access = AccessList("granted", ["10.0.0.0/8", "2001:db8::/32"])
    assert access.allows("192.0.2.1") and access.allows("::1")
    assert not access.allows("10.20.30.40")
    assert not access.allows("2001:db8:1::5")


def test_default_denied_with_exceptions():
    access = AccessList("denied", ["192.0.2.0/24", "fe80::/10"])
    assert access.allows("192.0.2.99")
    assert access.allows("fe80::1%eth0")  # a link-local peer arrives with its zone id
    assert not access.allows("192.0.3.1") and not access.allows("2001:db8::1")


def test_ipv4_mapped_peers_match_ipv4_exceptions_and_mapped_exceptions_match_ipv4_peers():
    assert not AccessList("granted", ["127.0.0.0/8"]).allows("::ffff:127.0.0.1")
    assert AccessList("denied", ["::ffff:192.168.0.0/112"]).allows("192.168.7.7")
    assert not AccessList("denied", ["::ffff:192.168.0.0/112"]).allows("192.169.0.1")


@given(address=ipv4, network_address=ipv4, prefix=st.integers(0, 32), default=st.sampled_from(["granted", "denied"]))
def test_mapped_and_plain_ipv4_always_get_the_same_answer(address, network_address, prefix, default):
    network = ipaddress.ip_network(f"{network_address}/{prefix}", strict=False)
    access = AccessList(default, [str(network)])
    mapped = f"::ffff:{address}"
    assert access.allows(str(address)) == access.allows(mapped)
    assert access.allows(str(address)) == ((default == "granted") != (address in network))


@given(address=ipv6, default=st.sampled_from(["granted", "denied"]))
def test_without_exceptions_the_default_decides(address, default):
    assert AccessList(default).allows(str(address)) == (default == "granted")


@given(address=ipv6)
def test_ipv4_exceptions_never_catch_native_ipv6_peers(address):
    if address.ipv4_mapped is not None:
        return
    assert AccessList("granted", ["0.0.0.0/0"]).allows(str(address))


def test_bad_entries_are_named():
    with pytest.raises(AccessListError, match=r"access_exceptions\[1\]: '10\.0\.0\.0/33' is not an IP"):
        AccessList("granted", ["10.0.0.0/8", "10.0.0.0/33"])
    with pytest.raises(AccessListError, match=r"access_exceptions\[0\]: expected a CIDR string, got 5"):
        AccessList("granted", [5])
    with pytest.raises(AccessListError, match="access must be 'granted' or 'denied', not 'allow'"):
        AccessList("allow")
    with pytest.raises(ValueError):
        AccessList().allows("not-an-ip")
