"""RFC 5118 IPv6 torture messages: the wire/ (CRLF) forms test IPv6 handling; the
archive-exact LF forms test tolerance of bare-LF input and of their known defects."""
import pytest

from rccserver.sip.message import Request
from rccserver.sip.parser import SipParseError, parse_message
from rccserver.sip.uri import SipUri, parse_name_addr

VALID = [
    "ipv4-mapped-ipv6", "ipv6-bug-abnf-3-colons", "ipv6-correct-abnf-2-colons", "ipv6-good",
    "ipv6-in-sdp", "mult-ip-in-header", "mult-ip-in-sdp", "port-ambiguous", "port-unambiguous",
    "via-received-param-no-delim", "via-received-param-with-delim",
]


def wire(corpora, name):
    return parse_message((corpora / "rfc5118" / "wire" / f"{name}.dat").read_bytes())


@pytest.mark.parametrize("name", VALID)
def test_valid_wire_form_parses_and_round_trips(corpora, name):
    message = wire(corpora, name)
    assert isinstance(message, Request)
    assert parse_message(message.to_bytes()) == message
    message.request_uri, message.vias, message.from_, message.to


def test_ipv6_bad_refused(corpora):
    data = (corpora / "rfc5118" / "wire" / "ipv6-bad.dat").read_bytes()
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.status == 400
    assert "IPv6" in info.value.reason and "Request-URI" in info.value.reason
    assert info.value.partial is not None


def test_ipv6_good(corpora):
    m = wire(corpora, "ipv6-good")
    assert m.request_uri == SipUri(host="[2001:db8::10]")
    assert (m.top_via.host, m.top_via.port) == ("[2001:db8::9:1]", None)
    assert parse_name_addr(m.headers.get("Contact")).uri.host == "[2001:db8::1]"


def test_port_ambiguous_is_one_address_without_port(corpora):
    uri = wire(corpora, "port-ambiguous").request_uri
    assert (uri.host, uri.port) == ("[2001:db8::10:5070]", None)


def test_port_unambiguous(corpora):
    uri = wire(corpora, "port-unambiguous").request_uri
    assert (uri.host, uri.port) == ("[2001:db8::10]", 5070)


def test_received_with_and_without_brackets(corpora):
    assert wire(corpora, "via-received-param-with-delim").top_via.received == "[2001:db8::9:255]"
    assert wire(corpora, "via-received-param-no-delim").top_via.received == "2001:db8::9:255"


def test_mixed_ip_vias(corpora):
    vias = wire(corpora, "mult-ip-in-header").vias
    assert [(v.host, v.port) for v in vias] == [
        ("[2001:db8::9:1]", 6050), ("192.0.2.1", None), ("[2001:db8::9:255]", None)]
    assert vias[2].received == "192.0.2.200"


def test_three_colon_form_tolerated(corpora):
    m = wire(corpora, "ipv6-bug-abnf-3-colons")
    assert m.request_uri.host == "[2001:db8:::192.0.2.1]"
    assert wire(corpora, "ipv4-mapped-ipv6").vias[0].host == "[::ffff:192.0.2.10]"


def test_sdp_bodies_untouched(corpora):
    assert b"c=IN IP6 2001:db8::20" in wire(corpora, "ipv6-in-sdp").body
    assert b"c=IN IP6 2001:db8::1" in wire(corpora, "mult-ip-in-sdp").body


# The archive-exact files have bare-LF line ends; two announce more body than they carry.
ARCHIVE_DEFECTS = {"ipv6-in-sdp": "Content-Length 268", "mult-ip-in-sdp": "Content-Length 181"}


@pytest.mark.parametrize("name", VALID)
def test_archive_lf_form(corpora, name):
    data = (corpora / "rfc5118" / "valid" / f"{name}.dat").read_bytes()
    assert b"\r" not in data
    if name in ARCHIVE_DEFECTS:
        with pytest.raises(SipParseError, match=ARCHIVE_DEFECTS[name]):
            parse_message(data)
        return
    lf = parse_message(data)
    crlf = wire(corpora, name)
    # Same headers; bodies differ only by their line ends.
    assert lf.headers.get_all("Via") == crlf.headers.get_all("Via")
    assert [h for h in lf.headers if h[0] != "Content-Length"] == [
        h for h in crlf.headers if h[0] != "Content-Length"]
    assert lf.body.replace(b"\n", b"\r\n") == crlf.body


def test_archive_lf_ipv6_bad_refused(corpora):
    with pytest.raises(SipParseError, match="IPv6"):
        parse_message((corpora / "rfc5118" / "invalid" / "ipv6-bad.dat").read_bytes())
