"""Via values: fields, Lync/sipe quirks, IPv6, parameter helpers, errors, round trip."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sip_strategies as s
from rccserver.sip.errors import SipParseError
from rccserver.sip.via import Via, parse_via


def test_fields():
    via = parse_via("SIP/2.0/TLS 172.24.32.119:51063;branch=z9hG4bK77;received=10.1.1.1;rport=51063")
    assert via == Via(protocol="SIP/2.0", transport="TLS", host="172.24.32.119", port=51063,
                      params=(("branch", "z9hG4bK77"), ("received", "10.1.1.1"), ("rport", "51063")))
    assert via.sent_by == "172.24.32.119:51063"
    assert (via.branch, via.received, via.rport) == ("z9hG4bK77", "10.1.1.1", "51063")


def test_sipe_in_dialog_via_without_branch_and_lowercase_transport():
    via = parse_via("SIP/2.0/tcp 127.0.0.1:40123")
    assert via.transport == "tcp" and via.transport_upper == "TCP"
    assert via.branch is None and via.rport is None


def test_rport_flag_and_with_param():
    via = parse_via("SIP/2.0/TCP host;rport;branch=z9hG4bK1")
    assert via.rport == ""
    answered = via.with_param("rport", "5070").with_param("received", "192.0.2.1")
    assert str(answered) == "SIP/2.0/TCP host;rport=5070;branch=z9hG4bK1;received=192.0.2.1"
    assert via.with_param("RPORT", None).params == (("rport", None), ("branch", "z9hG4bK1"))


def test_spacing_is_tolerated():
    via = parse_via("SIP  / 2.0  / TCP     spindle.example.com : 5060  ;  branch  =   z9hG4bK9ikj8")
    assert (via.protocol, via.transport, via.host, via.port, via.branch) == (
        "SIP/2.0", "TCP", "spindle.example.com", 5060, "z9hG4bK9ikj8")
    assert str(via) == "SIP/2.0/TCP spindle.example.com:5060;branch=z9hG4bK9ikj8"


def test_ipv6_sent_by_and_received():
    via = parse_via("SIP/2.0/UDP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3")
    assert (via.host, via.port, via.received) == ("[2001:db8::9:1]", 6050, "2001:db8::9:255")


def test_quoted_extension_param():
    via = parse_via('SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK1;ms-internal-info="a;b,c"')
    assert via.param("ms-internal-info") == '"a;b,c"'


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("SIP/2.0 host", ["sent-protocol"]),
    ("SIP/2.0/UDP", ["missing sent-by"]),
    ("SIP/2.0/UDP ;branch=1", ["missing sent-by"]),
    ("SIP/2.0/UDP host:70000", ["sent-by"]),
    ("SIP/2.0/UDP 2001:db8::1", ["sent-by"]),
    ("SIP/2.0/UDP 192.0.2.15;;", ["empty parameter"]),
    ("SIP/2.0/UDP host;branch=", ["malformed parameter"]),
    ("SIP/2.0/UDP host, ", ["empty element"]),
])
def test_errors_are_precise(text, words):
    with pytest.raises(SipParseError) as info:
        parse_via(text)
    assert "Via" in info.value.reason
    for word in words:
        assert word in info.value.reason, info.value.reason


@settings(deadline=None)
@given(s.vias)
def test_round_trip(via):
    assert parse_via(str(via)) == via


@settings(deadline=None)
@given(st.text(max_size=80))
def test_parse_never_raises_anything_else(text):
    try:
        parse_via(text)
    except SipParseError as exc:
        assert exc.reason.startswith("malformed Via")
