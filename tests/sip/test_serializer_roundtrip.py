"""Serializer and message helpers: to_bytes, Content-Length, equality, make_response, round trips."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sip_strategies as s
from testkit.messages import lync_info, sipe_invite
from rccserver.sip.errors import SipParseError
from rccserver.sip.headers import Headers
from rccserver.sip.message import REASON_PHRASES, Request, Response, make_response, reason_phrase
from rccserver.sip.parser import parse_message


def test_to_bytes_writes_canonical_names_and_content_length():
    data = (b"INFO sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 99\r\nf: <sip:x@y>;tag=1\r\n"
            b"t: <sip:a@b>\r\ni: c\r\nCSEQ: 1 INFO\r\n\r\n")
    m = parse_message(data.replace(b"l: 99", b"l: 0"))
    m.body = b"abc"
    assert m.to_bytes() == (
        b"INFO sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 3\r\n"
        b"From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INFO\r\n\r\nabc")


def test_content_length_appended_when_absent_and_duplicates_collapsed():
    r = Request("BYE", "sip:a@b", [("Call-ID", "x"), ("l", "7"), ("Content-Length", "7")])
    assert r.to_bytes() == b"BYE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"
    assert Response(200).to_bytes() == b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"


def test_equality_ignores_content_length_only():
    a = parse_message(lync_info())
    b = parse_message(lync_info())
    assert a == b
    b.headers.remove("Content-Length")
    assert a == b
    b.headers.set("Max-Forwards", "68")
    assert a != b
    c = parse_message(lync_info())
    c.body = b"x"
    assert a != c
    assert a != parse_message(lync_info(cseq=4))
    assert (a == "text") is False


@pytest.mark.parametrize("data", [lync_info(), sipe_invite()])
def test_lync_messages_round_trip_byte_exact(data):
    assert parse_message(data).to_bytes() == data


def test_cached_properties_follow_header_edits():
    m = parse_message(lync_info())
    assert m.from_.tag == "9708e2df90"
    m.headers.set("From", "<sip:bob@example.com>;tag=new")
    assert m.from_.tag == "new"
    assert m.cseq == (3, "INFO")
    m.headers.set("CSeq", "4 INFO")
    assert m.cseq == (4, "INFO")
    first = m.vias
    m.headers.prepend("Via", "SIP/2.0/TCP proxy;branch=z9hG4bKp")
    assert len(m.vias) == len(first) + 1 and m.top_via.host == "proxy"
    m.uri = "sip:other@example.com"
    assert m.request_uri.user == "other"


def test_missing_or_bad_headers_raise_sip_parse_error_on_access():
    r = Request("OPTIONS", "sip:a@b")
    for attribute in ("call_id", "cseq", "from_", "to", "top_via"):
        with pytest.raises(SipParseError, match="missing"):
            getattr(r, attribute)
    assert r.vias == [] and r.content_type is None and r.max_forwards is None
    r.headers.add("Max-Forwards", "x")
    with pytest.raises(SipParseError, match="Max-Forwards"):
        r.max_forwards


def test_constructor_checks():
    with pytest.raises(ValueError):
        Request("IN FO", "sip:a@b")
    with pytest.raises(ValueError):
        Request("INFO", "sip:a@b SIP/2.0\r\nX:")
    with pytest.raises(ValueError):
        Response(99)
    with pytest.raises(ValueError):
        Response(200, "OK\r\nVia: x")
    with pytest.raises(TypeError):
        Request("INFO", "sip:a@b", body="text")
    assert Response(299).reason == "Success" and Response(488).reason == "Not Acceptable Here"


def test_reason_phrases():
    assert reason_phrase(481) == "Call/Transaction Does Not Exist"
    assert reason_phrase(415) == "Unsupported Media Type"
    assert reason_phrase(799) == "Unknown"
    assert all(100 <= code <= 699 for code in REASON_PHRASES)


def test_make_response_copies_the_rfc_fields():
    req = parse_message(sipe_invite())
    resp = make_response(req, 200, to_tag="ourtag", headers=[("Contact", "<sip:rcc@10.0.0.1:11001;transport=tcp>")],
                         body=b"<x/>", copy_record_route=True)
    assert [name for name, _ in resp.headers] == ["Via", "Record-Route", "From", "To", "Call-ID", "CSeq", "Contact"]
    assert resp.headers.get("Via") == req.headers.get("Via")
    assert resp.to.tag == "ourtag"
    assert resp.headers.get("From") == req.headers.get("From")
    assert (resp.status, resp.reason, resp.body) == (200, "OK", b"<x/>")
    again = parse_message(resp.to_bytes())
    assert again == resp and again.cseq == (1, "INVITE")


def test_make_response_keeps_existing_to_tag_and_all_vias_in_order():
    req = parse_message(lync_info())
    resp = make_response(req, 481, to_tag="other")
    assert resp.to.tag == "1fa3a090-e86b1dac-13c4-40030-647a3-edaf1a3-647a3"
    assert resp.headers.get_all("Via") == req.headers.get_all("Via")
    assert "Record-Route" not in resp.headers and resp.reason == "Call/Transaction Does Not Exist"
    assert make_response(req, 200, "Fine").reason == "Fine"


def test_make_response_for_a_partial_request():
    data = b"INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nTo: \"x <sip:a@b>\r\n\r\n"
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    resp = make_response(info.value.partial, 400, to_tag="t")
    assert resp.headers.items() == [("CSeq", "1 INVITE"), ("Via", "SIP/2.0/TCP h;branch=z9hG4bK1"), ("To", '"x <sip:a@b>')]


header_values = {
    "Via": s.vias.map(str),
    "From": s.name_addrs.map(str),
    "To": s.name_addrs.map(str),
    "Contact": st.lists(s.name_addrs.map(str), min_size=1, max_size=3).map(", ".join),
    "Route": st.lists(s.name_addrs.map(str), min_size=1, max_size=3).map(", ".join),
    "Subject": st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20)
    .map(lambda t: t.strip(" \t")),
    "X-Custom": s.tokens,
}


@st.composite
def requests(draw):
    method = draw(s.tokens)
    uri = str(draw(s.sip_uris.filter(lambda u: not u.headers)))
    headers = Headers([("Call-ID", draw(s.tokens)), ("CSeq", f"{draw(st.integers(0, 2**32 - 1))} {method}")])
    for name in draw(st.lists(st.sampled_from(sorted(header_values)), min_size=3, max_size=10)):
        headers.add(name, draw(header_values[name]))
    for name in ("Via", "From", "To"):
        if name not in headers:
            headers.add(name, draw(header_values[name]))
    return Request(method, uri, headers, draw(st.binary(max_size=50)))


@settings(max_examples=100, deadline=None)
@given(requests())
def test_generated_requests_round_trip(request):
    # From/To/Call-ID/CSeq may have been added twice with different values: that must be refused.
    duplicated = any(len(request.headers.get_all(n) if n != "Contact" else []) > 1 for n in ("From", "To"))
    try:
        parsed = parse_message(request.to_bytes())
    except SipParseError as exc:
        assert duplicated and "multiple" in exc.reason
        return
    assert parsed == request
    assert parsed.from_ == request.from_ and parsed.vias == request.vias


@settings(deadline=None)
@given(st.integers(100, 699), st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20))
def test_status_line_round_trip(status, reason):
    response = Response(status, reason, [("Via", "SIP/2.0/TCP h"), ("From", "<sip:a@b>;tag=1"), ("To", "<sip:a@b>"),
                                         ("Call-ID", "c"), ("CSeq", "1 INVITE")])
    parsed = parse_message(response.to_bytes())
    assert (parsed.status, parsed.reason) == (status, reason)


def _field_by_field(message) -> bytes:
    """The serializer's rule spelt out: Content-Length as len(body) in place of the first one
    (or last), other copies dropped, every other field as 'Name: value'."""
    lines = [message._start_line()]
    written = False
    for name, value in message.headers.items():
        if name != "Content-Length":
            lines.append(f"{name}: {value}")
        elif not written:
            lines.append(f"Content-Length: {len(message.body)}")
            written = True
    if not written:
        lines.append(f"Content-Length: {len(message.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + message.body


_field_names = st.sampled_from(["Via", "Content-Length", "To", "X-Note", "Call-ID", "Subject"])
_field_values = st.one_of(st.sampled_from(["0", "Content-Length: 5", "a, Content-Length: 1", ""]),
                          st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_field_names, _field_values), max_size=6), st.binary(max_size=20),
       st.booleans())
def test_to_bytes_writes_what_the_field_by_field_serializer_writes(fields, body, request):
    message = Request("INFO", "sip:a@b", fields, body) if request else Response(200, None, fields, body)
    assert message.to_bytes() == _field_by_field(message)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_field_names.filter(lambda name: name != "To"), _field_values), max_size=6), st.booleans(),
       st.sampled_from([None, "t1"]))
def test_make_response_copies_and_extends_like_add(fields, record_route, to_tag):
    request = Request("INFO", "sip:a@b", [*fields, ("Record-Route", "<sip:p;lr>"), ("To", "<sip:a@b>")])
    extra = [("content-type", "application/csta+xml"), ("Server", "x")]
    response = make_response(request, 200, to_tag=to_tag, headers=extra, copy_record_route=record_route)
    copied = {"Via", "From", "To", "Call-ID", "CSeq"} | ({"Record-Route"} if record_route else set())
    expected = Headers()
    for name, value in request.headers.items():
        if name in copied:
            if name == "To" and to_tag is not None:
                value = f"{value};tag={to_tag}"
            expected.add(name, value)
    for name, value in extra:
        expected.add(name, value)
    assert response.headers == expected
