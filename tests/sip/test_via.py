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


# The plain-shape fast path must read every text it accepts exactly as the full grammar
# does, and leave everything else to it (errors included).
_PLAIN_PIECES = st.sampled_from(
    ["SIP/2.0/", "TCP", "tls", "UDP", " ", "  ", "\t", "host", "127.0.0.1", "a.b-c_d", "-x", ".", ":", "5060",
     "65535", "65536", "099999", "0", ";", "branch", "=", "z9hG4bK-12-3", "rport", "received", "10.0.0.1",
     '"', 'ms-internal-info="a;b,c"', "[", "]", "[2001:db8::1]", "::1", ",", "!%*_+`'~", "é", "²"]
)


def _assert_plain_agrees(text):
    from rccserver.sip.via import _parse_plain_via, _parse_via_by_grammar

    plain = _parse_plain_via(text)
    if plain is None:
        return
    assert plain == _parse_via_by_grammar(text)
    assert str(plain) == str(_parse_via_by_grammar(text))


@settings(deadline=None, max_examples=400)
@given(st.lists(_PLAIN_PIECES, max_size=14).map("".join))
def test_plain_fast_path_agrees_with_the_grammar_on_pieces(text):
    _assert_plain_agrees(text)


@settings(deadline=None)
@given(s.vias)
def test_plain_fast_path_agrees_with_the_grammar_on_vias(via):
    _assert_plain_agrees(str(via))


@settings(deadline=None)
@given(st.text(max_size=60))
def test_plain_fast_path_agrees_with_the_grammar_on_any_text(text):
    _assert_plain_agrees(text)


@pytest.mark.parametrize("text, plain", [
    ("SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1-2", True),
    ("SIP/2.0/tcp 127.0.0.1:40123", True),
    ("SIP/2.0/TLS host;rport;branch=z9hG4bK1", True),
    ('SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK1;ms-internal-info="a;b,c"', False),  # quoted: the grammar
    ("SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bK1", False),
    ("SIP/2.0/UDP host:70000", False),
    ("SIP / 2.0 / TCP host", False),
])
def test_which_vias_take_the_plain_path(text, plain):
    from rccserver.sip.via import _parse_plain_via

    assert (_parse_plain_via(text) is not None) is plain
    _assert_plain_agrees(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["branch", "BRANCH", "Branch", "rport", "x", "branchx"]),
                          st.one_of(st.none(), st.sampled_from(["", "z9hG4bK1", "a"]))), max_size=4))
def test_branch_is_the_branch_parameter(params):
    via = Via(transport="TCP", host="h", params=tuple(params))
    assert via.branch == via.param("branch")


def test_assembled_via_relies_on_via_having_no_validators_converters_or_post_init():
    # `_assembled_via` fills the slots directly: anything attrs' __init__ would add must not exist.
    import attrs

    assert all(f.validator is None and f.converter is None for f in attrs.fields(Via))
    assert not hasattr(Via, "__attrs_post_init__") and not hasattr(Via, "__attrs_pre_init__")


@settings(max_examples=200, deadline=None)
@given(
    protocol=st.sampled_from(["SIP/2.0", "sip/2.0"]),
    transport=st.sampled_from(["TCP", "tls", "UDP"]),
    host=st.sampled_from(["10.0.0.1", "pool.example.com", "[::1]"]),
    port=st.one_of(st.none(), st.integers(0, 65535)),
    params=st.lists(st.tuples(st.sampled_from(["branch", "rport", "received", "x"]),
                              st.one_of(st.none(), st.text("abc019.", max_size=6))), max_size=4).map(tuple),
)
def test_assembled_via_is_the_attrs_constructed_via(protocol, transport, host, port, params):
    from rccserver.sip.via import _assembled_via

    built = _assembled_via(protocol, transport, host, port, params)
    expected = Via(protocol=protocol, transport=transport, host=host, port=port, params=params)
    assert type(built) is Via
    assert built == expected and hash(built) == hash(expected) and repr(built) == repr(expected)
    assert str(built) == str(expected)
    with pytest.raises(AttributeError):  # still frozen
        built.host = "elsewhere"
