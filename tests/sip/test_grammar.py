"""The endpoint's header shortcuts agree with the full parser: `tag_of` (and its cache)."""
import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import sip_strategies as s
from rccserver.sip import grammar
from rccserver.sip.errors import SipParseError
from rccserver.sip.grammar import field_tag, from_to_tags, tag_of
from rccserver.sip.message import Request
from rccserver.sip.uri import parse_name_addr

_tags = st.none() | st.text("abcdefABCDEF0123456789-.", min_size=1, max_size=10)


def _read_twice(raw):
    """tag_of on a cold and a warm cache."""
    grammar._TAGS.pop(raw, None)
    first = tag_of(raw, lambda: parse_name_addr(raw))
    return first, tag_of(raw, lambda: parse_name_addr(raw))


@settings(deadline=None)
@given(s.name_addrs, _tags)
def test_tag_of_agrees_with_the_parser_cold_and_cached(name_addr, tag):
    if tag is not None:
        name_addr = attrs.evolve(name_addr, params=(*name_addr.params, ("tag", tag)))
    raw = str(name_addr)
    try:
        expected = parse_name_addr(raw).tag
    except SipParseError:
        return
    assert _read_twice(raw) == (expected, expected)


@settings(deadline=None)
@given(s.name_addr_texts)
def test_tag_of_agrees_with_the_parser_on_grammar_texts(raw):
    try:
        expected = parse_name_addr(raw).tag
    except SipParseError:
        return
    assert _read_twice(raw) == (expected, expected)


def test_quoted_parameters_go_to_the_parser_every_time():
    raw = '<sip:a@b>;x="tag=no;";tag=yes'
    calls = []

    def parsed():
        calls.append(1)
        return parse_name_addr(raw)

    assert tag_of(raw, parsed) == "yes" and tag_of(raw, parsed) == "yes"
    assert len(calls) == 2 and raw not in grammar._TAGS


def test_the_cache_is_bounded():
    grammar._TAGS.clear()
    for n in range(grammar._TAGS_LIMIT + 10):
        assert tag_of(f"<sip:a@b>;tag={n}", lambda: None) == str(n)
    assert len(grammar._TAGS) <= grammar._TAGS_LIMIT


def test_field_tag_reads_from_and_to_like_the_parsed_headers():
    request = Request("INFO", "sip:a@b", headers=[
        ("Via", "SIP/2.0/TCP h;branch=z9hG4bK1"), ("From", '"A" <sip:a@b>;tag=f1;epid=x'),
        ("To", "<sip:b@c>"), ("Call-ID", "c"), ("CSeq", "1 INFO"),
    ])
    assert field_tag(request, "From") == request.from_.tag == "f1"
    assert field_tag(request, "To") is request.to.tag is None
    assert field_tag(request, "From") == "f1"  # cached
    request.headers.set("To", '<sip:b@c>;q="x";tag=t9')
    assert field_tag(request, "To") == request.to.tag == "t9"


_PARAMS = st.sampled_from(["", ";epid=x", ';q="a;tag=no"', ";TAG=up", ";tag=", ";tag"])


@settings(deadline=None)
@given(_tags, _tags, _PARAMS, _PARAMS, st.booleans())
def test_from_to_tags_is_field_tag_of_from_and_to(from_tag, to_tag, from_params, to_params, warm):
    """The shortcut read per request agrees with `field_tag` (and the parser), cold or warm."""
    def value(tag, params):
        return "<sip:a@b>" + params + ("" if tag is None else f";tag={tag}")

    request = Request("INFO", "sip:a@b", headers=[
        ("Via", "SIP/2.0/TCP h;branch=z9hG4bK1"), ("From", value(from_tag, from_params)),
        ("To", value(to_tag, to_params)), ("Call-ID", "c"), ("CSeq", "1 INFO"),
    ])
    if not warm:
        grammar._TAGS.clear()
    expected = (field_tag(request, "From"), field_tag(request, "To"))  # the path it replaces
    if not warm:
        grammar._TAGS.clear()
    assert from_to_tags(request) == expected
    assert from_to_tags(request) == expected  # now from the cache
    if from_params in ("", ";epid=x") and to_params in ("", ";epid=x"):
        assert expected == (request.from_.tag, request.to.tag)
