"""URIs and name-addr values: parsing, canonical text, comparison, errors."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sip_strategies as s
from rccserver.sip.errors import SipParseError, UriError
from rccserver.sip.uri import (
    AbsoluteUri,
    NameAddr,
    SipUri,
    TelUri,
    parse_name_addr,
    parse_uri,
    quote_string,
    split_header_list,
    unquote_string,
    uri_equal,
)


def test_sip_uri_fields():
    uri = parse_uri("sips:alice:secret@Example.COM:5061;transport=TLS;lr;maddr=10.0.0.1?Subject=hi&Priority=urgent")
    assert uri == SipUri(scheme="sips", user="alice", password="secret", host="Example.COM", port=5061,
                         params=(("transport", "TLS"), ("lr", None), ("maddr", "10.0.0.1")),
                         headers=(("Subject", "hi"), ("Priority", "urgent")))
    assert uri.transport == "tls"
    assert uri.param("LR") == "" and uri.param("ttl") is None and uri.param("maddr") == "10.0.0.1"
    assert uri.hostport == "Example.COM:5061"


def test_scheme_is_case_insensitive_and_lowercased():
    assert parse_uri("SIP:bob@example.com").scheme == "sip"
    assert str(parse_uri("SIP:bob@example.com")) == "sip:bob@example.com"


def test_lync_route_uri_unknown_params_kept_opaque():
    text = ("sip:fe01.contoso.com:5061;transport=tls;ms-role-rs-from;lr;"
            "ms-route-sig=fsw3ylQ4X4vWNp2izAEQzWGw7NpJnQ1WDx_Z8P0wAA")
    uri = parse_uri(text)
    assert uri.params == (("transport", "tls"), ("ms-role-rs-from", None), ("lr", None),
                          ("ms-route-sig", "fsw3ylQ4X4vWNp2izAEQzWGw7NpJnQ1WDx_Z8P0wAA"))
    assert str(uri) == text
    assert parse_uri("sip:fe.contoso.com;opaque=state:T:F:Ci.R2f4f00;ms-route-sig=ab==").param("ms-route-sig") == "ab=="


def test_tel_uris():
    uri = parse_uri("tel:73124;phone-context=dialstring;partition=BE_BRS_INT")
    assert uri == TelUri(number="73124", params=(("phone-context", "dialstring"), ("partition", "BE_BRS_INT")))
    assert str(uri) == "tel:73124;phone-context=dialstring;partition=BE_BRS_INT"
    written = parse_uri("tel:+1-317-555-1010")
    assert written.number == "+1-317-555-1010" and written.digits == "+13175551010"
    assert written.scheme == "tel"


@pytest.mark.parametrize("text", ["tel:+1 (317) 555-1010", "tel:", "tel:+", "tel:5555551234v:41234"])
def test_bad_tel_uris_refused(text):
    with pytest.raises(UriError):
        parse_uri(text)


def test_absolute_uris_kept_opaque():
    assert parse_uri("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6") == AbsoluteUri(
        scheme="urn", rest="uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    assert parse_uri("mailto:joe@example.com").scheme == "mailto"
    assert str(parse_uri("soap.beep://192.0.2.103:3002")) == "soap.beep://192.0.2.103:3002"


def test_ipv6_hosts():
    uri = parse_uri("sip:[2001:db8::10]:5070;transport=tcp")
    assert (uri.host, uri.port) == ("[2001:db8::10]", 5070)
    assert parse_uri("sip:alice@[::1]").host == "[::1]"


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("<sip:a@b>", ["'<'"]),
    ("sip:a@b c", ["whitespace"]),
    ("example.com", ["scheme"]),
    ("sip:2001:db8::10", ["IPv6", "[", "]"]),
    ("sip:[2001:db8::10", ["unterminated IPv6"]),
    ("sip:alice@host:99999", ["port"]),
    ("sip:alice@host:5060x", ["port"]),
    ("sip:al ice@host", ["whitespace"]),
    ("sip:al%zzice@host", ["user part"]),
    ("sip:@host", ["empty user"]),
    ("sip:alice@", ["missing host"]),
    ("sip:alice@ho$t", ["host"]),
    ("sip:alice@host;;lr", ["empty SIP URI parameter"]),
    ("sip:alice@host;a=b=c;x=\u00e9", ["parameter"]),
    ("sip:alice@host?a", ["header"]),
    ("sip:", ["empty SIP URI"]),
    ("tel:12;a==", ["tel URI parameter"]),
    ("http:", ["http"]),
])
def test_uri_errors_are_precise(text, words):
    with pytest.raises(UriError) as info:
        parse_uri(text)
    assert isinstance(info.value, SipParseError) and info.value.status == 400
    for word in words:
        assert word in info.value.reason, info.value.reason


def test_uri_equal_rfc3261_examples():
    assert uri_equal("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp")
    assert uri_equal("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5")
    assert uri_equal("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5")
    assert uri_equal("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com")
    assert not uri_equal("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP")
    assert not uri_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060")
    assert not uri_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp")
    assert not uri_equal("sip:carol@chicago.com;newparam=6", "sip:carol@chicago.com;newparam=5")
    assert not uri_equal("sip:alice@example.com", "sips:alice@example.com")
    assert not uri_equal("sip:a@b?x=1", "sip:a@b")
    assert uri_equal("tel:+1-317-555-1010", "tel:+13175551010")
    assert not uri_equal("tel:+13175551010", "sip:+13175551010@example.com")
    assert uri_equal("urn:a%41", "urn:aA")
    assert not uri_equal("sip:a b", "sip:a b")  # unparsable never equal


def test_name_addr_forms():
    full = parse_name_addr('"Alice \\"A\\" Smith" <sip:alice@example.com;transport=tcp>;tag=1234;epid=bd23d94254')
    assert full.display_name == 'Alice "A" Smith'
    assert full.uri.param("transport") == "tcp"
    assert full.tag == "1234" and full.param("EPID") == "bd23d94254"
    tokens = parse_name_addr("Alice  Smith <sip:alice@example.com>")
    assert tokens.display_name == "Alice  Smith"
    bare = parse_name_addr("sip:alice@example.com;transport=tcp;tag=9")
    assert bare.display_name is None and bare.uri.params == ()
    assert bare.params == (("transport", "tcp"), ("tag", "9"))
    empty = parse_name_addr('"" <tel:+123>')
    assert empty.display_name == "" and empty.uri == TelUri(number="+123")
    assert parse_name_addr("  <sip:a@b>  ").uri == SipUri(user="a", host="b")


def test_lync_from_with_epid():
    na = parse_name_addr("<sip:alice@example.com>;tag=9708e2df90;epid=bd23d94254")
    assert na.tag == "9708e2df90" and na.param("epid") == "bd23d94254"
    assert str(na) == "<sip:alice@example.com>;tag=9708e2df90;epid=bd23d94254"


def test_name_addr_str_and_with_param():
    na = NameAddr(display_name='Bob "B"', uri=SipUri(user="bob", host="example.com"), params=(("tag", "1"),))
    assert str(na) == '"Bob \\"B\\"" <sip:bob@example.com>;tag=1'
    assert str(na.with_param("tag", "2")) == '"Bob \\"B\\"" <sip:bob@example.com>;tag=2'
    assert na.with_param("lr", None).params == (("tag", "1"), ("lr", None))
    with pytest.raises(ValueError):
        NameAddr(display_name="a\r\nVia: x", uri=SipUri(host="h"))


@pytest.mark.parametrize("text, words", [
    ('"unterminated <sip:a@b>', ["unterminated quoted"]),
    ("Bell, Alexander <sip:a@b>", ["display name", "quoting"]),
    ("< sip:a@b >", ["whitespace inside"]),
    ("<sip:a@b", ["missing '>'"]),
    ("sip:a@b?Route=x", ["'?'", "<"]),
    ("<sip:a@b>;;", ["empty parameter"]),
    ("<sip:a@b>;tag=", ["malformed parameter"]),
    ("<sip:a@b> junk", ["unexpected characters"]),
    ('"x" sip:a@b', ["quoted display name", "'<'"]),
    ("Alice sip:a@b", ["display name"]),
    ("<sip:a@[::1>", ["IPv6"]),
    ("", ["empty"]),
])
def test_name_addr_errors_are_precise(text, words):
    with pytest.raises(UriError) as info:
        parse_name_addr(text)
    for word in words:
        assert word in info.value.reason, info.value.reason


def test_split_header_list_honours_quotes_and_brackets():
    assert split_header_list('"a, b" <sip:x@y;p=1,2>, <sip:z@w> ,sip:q@r') == [
        '"a, b" <sip:x@y;p=1,2>', "<sip:z@w>", "sip:q@r"]
    assert split_header_list("INVITE, ACK,,BYE ,") == ["INVITE", "ACK", "BYE"]
    assert split_header_list('"esc \\" , still" <sip:a@b>, x') == ['"esc \\" , still" <sip:a@b>', "x"]
    assert split_header_list("") == []
    assert split_header_list('<sip:a,b>,, "x,y" <sip:c>,', keep_empty=True) == [
        "<sip:a,b>", "", '"x,y" <sip:c>', ""]


@settings(deadline=None)
@given(st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))))
def test_quote_unquote_round_trip(text):
    assert unquote_string(quote_string(text)) == text


@settings(deadline=None)
@given(s.uris)
def test_uri_object_text_round_trip(uri):
    assert parse_uri(str(uri)) == uri


@settings(max_examples=150, deadline=None)
@given(s.uri_texts)
def test_uri_text_is_stable(text):
    uri = parse_uri(text)
    assert parse_uri(str(uri)) == uri
    assert uri_equal(uri, str(uri))


@settings(deadline=None)
@given(s.name_addrs)
def test_name_addr_object_text_round_trip(na):
    assert parse_name_addr(str(na)) == na


@settings(max_examples=150, deadline=None)
@given(s.name_addr_texts)
def test_name_addr_text_is_stable(text):
    na = parse_name_addr(text)
    assert parse_name_addr(str(na)) == na


@settings(deadline=None)
@given(st.text(max_size=60))
def test_parse_never_raises_anything_else(text):
    for parse in (parse_uri, parse_name_addr):
        try:
            parse(text)
        except SipParseError as exc:
            assert exc.reason


@settings(max_examples=300, deadline=None)
@given(s.header_params)
def test_split_params_shortcut_reads_what_the_grammar_reads(params):
    from rccserver.sip.uri import _GENERIC_PARAM_RE, _format_params, split_params

    text = _format_params(params)
    assert split_params(text) == tuple((m.group("name"), m.group("value")) for m in _GENERIC_PARAM_RE.finditer(text))
