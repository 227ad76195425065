"""parse_message: Lync/sipe quirks, start lines, header checks, partial requests, robustness."""
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testkit.messages import CSTA_BODY, lync_info, sipe_invite
from rccserver.sip.message import Request, Response
from rccserver.sip.parser import SipParseError, parse_message
from rccserver.sip.uri import SipUri, TelUri, parse_name_addr

CORPORA = pathlib.Path(__file__).resolve().parents[1] / "data"


def request(*header_lines: str, start: str = "OPTIONS sip:rcc@example.com SIP/2.0", body: bytes = b"") -> bytes:
    base = {
        "Via": "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK1",
        "From": "<sip:a@example.com>;tag=1",
        "To": "<sip:rcc@example.com>",
        "Call-ID": "c1",
        "CSeq": "1 OPTIONS",
    }
    overridden = {line.split(":", 1)[0] for line in header_lines}
    lines = [start] + [f"{k}: {v}" for k, v in base.items() if k not in overridden]
    lines += [line for line in header_lines if not line.endswith(": <omit>")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def refused(data: bytes) -> SipParseError:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    return info.value


def test_lync_info():
    m = parse_message(lync_info())
    assert isinstance(m, Request) and m.method == "INFO"
    assert m.body == CSTA_BODY
    assert m.content_type == "application/csta+xml"
    assert m.cseq == (3, "INFO")
    assert m.from_.param("epid") == "bd23d94254" and m.from_.tag == "9708e2df90"
    assert m.to.tag == "1fa3a090-e86b1dac-13c4-40030-647a3-edaf1a3-647a3"
    assert [v.sent_by for v in m.vias] == ["10.0.0.5:5061", "172.24.32.119:51063"]
    assert m.vias[1].branch is None
    assert m.request_uri == SipUri(user="rcc", host="rcc.example.com", port=11001, params=(("transport", "tcp"),))
    assert m.headers.get("Content-Disposition") == "signal;handling=required"


def test_sipe_invite_quirks():
    m = parse_message(sipe_invite())
    assert m.top_via.transport == "tcp" and m.top_via.branch is None
    route = parse_name_addr(m.headers.get("Record-Route"))
    assert route.uri.param("ms-role-rs-from") == "" and route.uri.param("lr") == ""
    assert route.uri.param("ms-route-sig") == "fsw3ylQ4X4vWNp2izAEQzWGw7NpJnQ1WDx_Z8P0wAA"
    contact = parse_name_addr(m.headers.get("Contact"))
    assert contact.uri.param("maddr") == "127.0.0.1" and contact.param("proxy") == "replace"
    assert b"tel:73124;phone-context=dialstring;partition=BE_BRS_INT" in m.body
    assert m.headers.get_all("Supported") == ["timer"]


def test_tel_uri_with_spaces_survives_in_body_and_unknown_headers():
    body = b"<line>tel:+1 (317) 555-1010</line>"
    m = parse_message(request("X-Line: tel:+1 (317) 555-1010", "Content-Type: application/csta+xml",
                              f"Content-Length: {len(body)}", body=body))
    assert m.headers.get("X-Line") == "tel:+1 (317) 555-1010"
    assert m.body == body
    error = refused(request("To: <tel:+1 (317) 555-1010>"))
    assert "To" in error.reason and "whitespace" in error.reason


def test_tel_uri_in_to():
    m = parse_message(request("To: <tel:73124;phone-context=dialstring;partition=BE_BRS_INT>;tag=x"))
    assert m.to.uri == TelUri(number="73124", params=(("phone-context", "dialstring"), ("partition", "BE_BRS_INT")))


def test_compact_and_case_insensitive_names():
    data = (b"INFO sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK2\r\nf: <sip:x@y>;tag=1\r\n"
            b"t: <sip:a@b>\r\ni: cid\r\ncseq: 2 INFO\r\nc: Application/CSTA+XML; charset=utf-8\r\n"
            b"L: 2\r\n\r\nhi")
    m = parse_message(data)
    assert [name for name, _ in m.headers] == ["Via", "From", "To", "Call-ID", "CSeq", "Content-Type", "Content-Length"]
    assert m.content_type == "application/csta+xml"
    assert m.call_id == "cid" and m.body == b"hi"


def test_leading_crlf_ignored_and_missing_content_length_takes_the_rest():
    m = parse_message(b"\r\n\r\n" + request(body=b"rest"))
    assert m.method == "OPTIONS" and m.body == b"rest"


def test_response():
    data = (b"SIP/2.0 481 Call/Transaction Does Not Exist\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK3\r\n"
            b"From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 7 INFO\r\n"
            b"Content-Length: 0\r\n\r\n")
    m = parse_message(data)
    assert isinstance(m, Response) and (m.status, m.reason) == (481, "Call/Transaction Does Not Exist")
    assert m.cseq == (7, "INFO") and m.to.tag == "2"


def test_duplicate_single_valued_header_with_same_value_is_accepted():
    m = parse_message(request("Content-Length: 0", "l: 0", "Max-Forwards: 70", "Max-Forwards: 70"))
    assert m.max_forwards == 70


@pytest.mark.parametrize("lines, words", [
    (["Call-ID: <omit>"], ["missing mandatory", "Call-ID"]),
    (["Via: <omit>", "CSeq: <omit>"], ["missing mandatory", "Via", "CSeq"]),
    (["i: other"], ["multiple Call-ID"]),
    (["Max-Forwards: 256"], ["Max-Forwards", "out of range", "255"]),
    (["Max-Forwards: seventy"], ["Max-Forwards", "decimal"]),
    (["Max-Forwards: " + "9" * 5000], ["Max-Forwards", "out of range"]),
    (["CSeq: 4294967296 OPTIONS"], ["CSeq", "out of range"]),
    (["CSeq: 1"], ["CSeq", "malformed"]),
    (["CSeq: 1 INVITE"], ["CSeq method", "INVITE", "OPTIONS"]),
    (["Expires: 4294967296"], ["Expires", "out of range"]),
    (["Content-Length: 5"], ["Content-Length 5", "0 body bytes"]),
    (["Content-Length: abc"], ["Content-Length", "decimal"]),
    (["Call-ID: a b"], ["Call-ID"]),
    (["Content-Type: csta"], ["Content-Type"]),
    (["Date: Sat, 13 Nov 2010 23:29:00 PST"], ["Date", "GMT"]),
    (["Retry-After: 99999999999"], ["Retry-After"]),
    (["Warning: 30 agent \"x\""], ["Warning", "3-digit"]),
    (["Route: sip:p1;lr"], ["Route", "'<' '>'"]),
    (["Record-Route: <sip:p1;lr>,,<sip:p2>"], ["Record-Route", "empty element"]),
    (["Contact: <sip:a@b>;;"], ["Contact", "empty parameter"]),
    (["Via: SIP/2.0/TCP"], ["Via", "sent-by"]),
    (["From: <sip:a@b>;tag=1;tag"], []),
], ids=lambda v: v[0] if isinstance(v, list) and v else None)
def test_header_errors(lines, words):
    data = request(*lines)
    if not words:
        assert parse_message(data).from_.params == (("tag", "1"), ("tag", None))
        return
    error = refused(data)
    assert error.status == 400
    for word in words:
        assert word in error.reason, error.reason
    assert isinstance(error.partial, Request) and error.partial.method == "OPTIONS"


@pytest.mark.parametrize("start, status, words", [
    ("OPTIONS sip:a@b SIP/2.1", 505, ["version"]),
    ("OPTIONS sip:a@b sip/2.0", 200, []),
    ("OPTIONS sip:a@b HTTP/1.1", 400, ["SIP-Version"]),
    ("OPTIONS sip:a@b", 400, ["Request-Line"]),
    ("OPT(IONS sip:a@b SIP/2.0", 400, ["method"]),
    (" OPTIONS sip:a@b SIP/2.0", 400, ["one SP"]),
    ("OPTIONS\tsip:a@b SIP/2.0", 400, ["one SP"]),
    ("OPTIONS sip:a@b SIP/2.0 ", 400, ["trailing whitespace"]),
    ("OPTIONS sip:a@b extra SIP/2.0", 400, ["whitespace inside the Request-URI"]),
    ("OPTIONS <sip:a@b> SIP/2.0", 400, ["Request-URI", "'<'"]),
    ("OPTIONS sip:a@b?Subject=x SIP/2.0", 400, ["Request-URI", "headers"]),
    ("OPTIONS sip:a@2001:db8::1 SIP/2.0", 400, ["Request-URI", "IPv6"]),
    ("OPTIONS nocolon SIP/2.0", 400, ["Request-URI", "scheme"]),
])
def test_request_line(start, status, words):
    data = request(start=start)
    if status == 200:
        assert parse_message(data).version == "SIP/2.0"
        return
    error = refused(data)
    assert error.status == status
    for word in words:
        assert word in error.reason, error.reason
    # Answerable unless there is no method token to put in the response's CSeq.
    assert (error.partial is not None) == ("method" not in error.reason)


@pytest.mark.parametrize("start, words", [
    ("SIP/2.0 2000 OK", ["three digits"]),
    ("SIP/2.0 099 Weird", ["100..699"]),
    ("SIP/2.0 OK", ["Status-Line"]),
    ("SIP/3.0 200 OK", ["version"]),
])
def test_status_line(start, words):
    data = request(start=start)
    error = refused(data)
    for word in words:
        assert word in error.reason
    assert error.partial is None


def test_status_line_without_reason_phrase_is_tolerated():
    assert parse_message(request(start="SIP/2.0 200")).reason == ""


@pytest.mark.parametrize("data, words", [
    (b"", ["no line end"]),
    (b"OPTIONS sip:a@b SIP/2.0", ["no line end"]),
    (b"OPTIONS sip:a@b SIP/2.0\r\nVia: x", ["not terminated"]),
    (b"OPTIONS sip:a@b SIP/2.0\r\n Via: x\r\n\r\n", ["continuation"]),
    (b"OPTIONS sip:a@b SIP/2.0\r\nVia x\r\n\r\n", ["without ':'"]),
    (b"OPTIONS sip:a@b SIP/2.0\r\nV(ia: x\r\n\r\n", ["header name"]),
    (b"OPTIONS sip:a@b SIP/2.0\r\nVia: a\rb\r\n\r\n", ["bare CR"]),
    (b"OPTIONS sip:a@b SIP/2.0\r\nVia: a\nb: c\r\n\r\n", ["bare CR or LF"]),
    (b"OPTIONS sip:a@b SIP/2.0\nVia: a\rb\n\n", ["bare CR"]),
])
def test_unreadable_header_sections_have_no_partial(data, words):
    error = refused(data)
    for word in words:
        assert word in error.reason, error.reason
    assert error.partial is None


def test_header_values_decode_any_bytes_and_round_trip():
    data = request("Subject: caf\xe9".encode("latin-1").decode("latin-1"))
    raw = data.replace("caf\xe9".encode(), b"caf\xe9\xff")
    m = parse_message(raw)
    assert m.headers.get("Subject") == "caf\udce9\udcff"
    assert b"Subject: caf\xe9\xff\r\n" in m.to_bytes()
    utf8 = parse_message(request("Subject: \u0416\u0443\u043a"))
    assert utf8.headers.get("Subject") == "\u0416\u0443\u043a"


def test_bare_lf_message_tolerated():
    m = parse_message(request().replace(b"\r\n", b"\n"))
    assert m.cseq == (1, "OPTIONS") and m.body == b""


def test_partial_request_answerable_and_carries_fields():
    error = refused(request("CSeq: 99999999999 OPTIONS"))
    partial = error.partial
    assert partial.method == "OPTIONS" and partial.uri == "sip:rcc@example.com"
    assert partial.headers.get("Call-ID") == "c1" and partial.headers.get("CSeq") == "99999999999 OPTIONS"


def _valid_corpus() -> list[bytes]:
    files = sorted((CORPORA / "rfc4475" / "valid").glob("*.dat")) + sorted((CORPORA / "rfc4475" / "semantic").glob("*.dat"))
    return [p.read_bytes() for p in files] + [lync_info(), sipe_invite()]


SEEDS = _valid_corpus()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] = draw(st.sampled_from(b" \t\r\n:;,<>\"\\@%=/?[]0\x00\xff9-" + bytes([data[pos] ^ 0x20])))
        elif kind == "insert":
            data[pos:pos] = draw(st.sampled_from([b"\r\n", b" ", b";", b",", b"\"", b"<", b">", b":", b"\r\n ",
                                                  b"%", b"\x00", b"\xc3", b"99999999999", b"-", b"\r\n\r\n"]))
        elif kind == "delete":
            del data[pos: pos + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del data[pos:]
        elif kind == "dup":
            end = min(len(data), pos + draw(st.integers(1, 40)))
            data[pos:pos] = data[pos:end]
    return bytes(data)


def _exercise(message) -> None:
    """Everything the endpoint reads from a message must work once it parsed."""
    message.call_id, message.cseq, message.from_, message.to, message.vias, message.content_type
    message.max_forwards
    for name in ("Contact", "Route", "Record-Route"):
        for value in message.headers.get_all(name):
            if value != "*":
                parse_name_addr(value)
    if isinstance(message, Request):
        message.request_uri
    again = parse_message(message.to_bytes())
    assert again == message


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_mutated_messages_parse_cleanly_or_raise_sip_parse_error(data):
    try:
        message = parse_message(data)
    except SipParseError as exc:
        assert exc.reason and exc.status in (400, 505)
        if exc.partial is not None:
            exc.partial.to_bytes()
        return
    _exercise(message)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_sip_parse_error(data):
    try:
        _exercise(parse_message(data))
    except SipParseError:
        pass
