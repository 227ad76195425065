"""The parser's common-shape fast path against the general parser on the same input.

`parse_message` tries `_parse_common_shape` first; it must either give exactly what
`parse_message_general` gives (same start line, header fields in order, body) or
decline (None), and then the general parser's answer, refusal reason included,
is what the caller sees. The fast path remembers values that passed their checks,
so the properties run both with the memory warm (from earlier examples) and cold.
"""
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sip_strategies as s
from rccserver.sip import parser
from rccserver.sip.headers import FIRST_VALUE_NAMES
from rccserver.sip.message import Request
from rccserver.sip.parser import SipParseError, parse_message, parse_message_general
from rccserver.sip.via import VIA_LIST
from testkit.messages import CSTA_BODY, lync_info, sipe_invite

CORPORA = pathlib.Path(__file__).resolve().parents[1] / "data"
_VIA_RE = re.compile(VIA_LIST)



def _request(method: str, cseq: int, to_tag, branch: str, body: bytes = b"") -> bytes:
    """An in-dialog request as the RCC bench sends it (compact and odd spellings included)."""
    to = "<sip:rcc@rcc.example.com>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:rcc@rcc.example.com;transport=tcp SIP/2.0\r\n"
        f"v: SIP/2.0/TLS fe1.example.com:5061;branch={branch}\r\nMax-Forwards: 70\r\n"
        f'f: "Alice" <sip:alice@example.com>;tag=9708e2df90;epid=bd23d94254\r\nTO : {to}\r\n'
        f"Call-ID: a3f0077597a645ed91dfed3bf7e88d93\r\nCSeq: {cseq} {method}\r\n"
        f"Contact: <sip:alice@10.0.0.5:51063;transport=tls>\r\nContent-Type: application/csta+xml\r\n"
        f"Supported: timer\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


OK_200 = (
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 10.9.9.9:11001;branch=z9hG4bKev1\r\n"
    b"From: <sip:rcc@rcc.example.com>;tag=abc\r\nTo: <sip:alice@example.com>;tag=9708e2df90\r\n"
    b"Call-ID: a3f0077597a645ed91dfed3bf7e88d93\r\nCSeq: 7 INFO\r\nContent-Length: 0\r\n\r\n"
)


def _seeds() -> list[bytes]:
    files = [path for kind in ("valid", "semantic", "invalid") for path in sorted((CORPORA / "rfc4475" / kind).glob("*.dat"))]
    common = [lync_info(), lync_info(cseq=12), sipe_invite(), OK_200,
              _request("INFO", 3, "tag1", "z9hG4bKinfo1", CSTA_BODY), _request("INVITE", 1, None, "z9hG4bKinv", CSTA_BODY)]
    return common + [p.read_bytes() for p in files]


SEEDS = _seeds()


def outcome(parse, data: bytes):
    """What a parse gives, in comparable form."""
    try:
        message = parse(data)
    except SipParseError as exc:
        partial = exc.partial
        return ("refused", exc.status, exc.reason,
                None if partial is None else (partial.method, partial.uri, partial.headers.items()))
    start = (message.method, message.uri, message.version) if isinstance(message, Request) else (
        message.status, message.reason, message.version)
    return ("parsed", type(message).__name__, start, message.headers.items(), message.body)


def check_same(data: bytes) -> None:
    general = outcome(parse_message_general, data)
    fast = parser._parse_common_shape(data)
    if fast is not None:
        assert outcome(lambda _: fast, data) == general
        general_message = parse_message_general(data)
        assert fast.cseq == general_message.cseq  # the CSeq the fast path remembered
        # the first values the fast path collected answer `get` as a scan of the list does
        for name in FIRST_VALUE_NAMES | {"Content-Type", "Contact"}:
            assert fast.headers.get(name) == general_message.headers.get(name), name
            assert (name in fast.headers) == (name in general_message.headers), name
        # the top Via the fast path built from a remembered template (or shares) is the parse of the value
        assert _top_via_or_error(fast) == _top_via_or_error(general_message)
    assert outcome(parse_message, data) == general


def _top_via_or_error(message):
    try:
        return message.top_via
    except SipParseError as exc:
        return ("error", exc.reason)


@st.composite
def mutated(draw) -> bytes:
    """A seed message with a few edits, most of them keeping the common shape."""
    data = bytearray(draw(st.sampled_from(SEEDS[:6]) | st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "dup", "branch"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] = draw(st.sampled_from(b" \t\r\n:;,<>\"\\@%=/?[]0\x00\xff9-aZ" + bytes([data[pos] ^ 0x20])))
        elif kind == "insert":
            data[pos:pos] = draw(st.sampled_from([b"\r\n", b" ", b";", b",", b"\"", b"<", b">", b":", b"\r\n ",
                                                  b"%", b"\x00", b"\xc3", b"99999999999", b"-", b"\r\n\r\n",
                                                  b"\r\nCSeq: 9 INFO", b"\r\nVia: SIP/2.0/TCP h;branch=x",
                                                  b"\r\nContent-Length: 5", b"\r\nv: x", b"\r"]))
        elif kind == "delete":
            del data[pos: pos + draw(st.integers(1, 8))]
        elif kind == "dup":
            end = min(len(data), pos + draw(st.integers(1, 40)))
            data[pos:pos] = data[pos:end]
        elif kind == "branch":
            at = data.find(b";branch=")
            if at >= 0:
                at += len(b";branch=")
                data[at:at] = draw(st.text(s.TOKEN_CHARS + ' ";,:[]\\=', max_size=6)).encode()
    return bytes(data)


@pytest.mark.parametrize("data", SEEDS[:6], ids=["lync-info", "lync-info-12", "sipe-invite", "200-ok", "info", "invite"])
def test_common_messages_take_the_fast_path(data):
    parser._parse_common_shape(data)  # learns the header spellings and values
    assert parser._parse_common_shape(data) is not None
    check_same(data)


@pytest.mark.parametrize("data", SEEDS)
def test_seed_corpus_same_either_way(data):
    check_same(data)
    check_same(data)  # second time with the values remembered


@settings(max_examples=600, deadline=None)
@given(mutated())
def test_fast_path_agrees_with_the_general_parser(data):
    check_same(data)


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_fast_path_agrees_with_nothing_remembered(data):
    parser._VALID_VALUES.clear()
    parser._VIA_SHAPES.clear()
    parser._START_LINES.clear()
    parser._KNOWN_LINES.clear()
    check_same(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS[:6]), st.text(s.TOKEN_CHARS + ' ";,:[]\\=\t@<>', max_size=8))
def test_a_remembered_via_does_not_admit_a_different_bad_branch(seed, branch):
    check_same(seed)  # the seed's Via is now remembered
    at = seed.find(b";branch=") + len(b";branch=")
    check_same(seed[:at] + branch.encode() + seed[at:])
    check_same(seed[:at] + branch.encode() + seed[at + 1:])


_via_texts = st.builds(str, s.vias)


@settings(max_examples=400, deadline=None)
@given(_via_texts, st.text(s.TOKEN_CHARS + ' ";,:[]\\=\t', max_size=10), st.integers(0, 200))
def test_masking_the_branch_keeps_a_via_valid_or_invalid(via, inserted, where):
    where = min(where, len(via))
    for text in (via, f"{via};branch={inserted}", via[:where] + ";branch=" + inserted + via[where:]):
        assert bool(_VIA_RE.fullmatch(text)) == bool(_VIA_RE.fullmatch(parser._via_key(text)))


def test_bad_input_in_the_common_shape_gets_the_general_reason():
    good = lync_info()
    parse_message(good)
    bad = good.replace(b"CSeq: 3 INFO", b"CSeq: 3 INVITE")
    with pytest.raises(SipParseError) as caught:
        parse_message(bad)
    assert "does not match the request method" in caught.value.reason
    assert caught.value.partial is not None
    bad_via = good.replace(b";branch=z9hG4bK7a1c0f2e9d", b";branch=z9hG4bK7a1c0f2e9d\"")
    assert parser._parse_common_shape(bad_via) is None
    with pytest.raises(SipParseError, match="malformed Via"):
        parse_message(bad_via)


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(parser, "_VALID_VALUES_LIMIT", 8)
    base = _request("INFO", 3, "t", "z9hG4bKa", CSTA_BODY)
    for n in range(50):
        check_same(base.replace(b"Call-ID: a3f0", f"Call-ID: x{n}a3f0".encode()))
        assert len(parser._VALID_VALUES) <= 8



def _header_lines(data: bytes) -> list[bytes]:
    return data[: data.find(b"\r\n\r\n")].split(b"\r\n")[1:]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS[:6]), st.data())
def test_a_repeated_or_altered_copy_of_a_remembered_line(seed, data):
    """Single-valued fields (From, To, Call-ID, CSeq, Content-Length, Max-Forwards) may come
    twice only with equal values; a remembered line must not skip that rule, whichever copy
    is remembered and whether the memory is warm, cleared, or holds only the copy."""
    lines = _header_lines(seed)
    line = data.draw(st.sampled_from(lines))
    name, _, value = line.partition(b":")
    copy = data.draw(st.sampled_from([
        line,  # byte for byte
        name + b":  " + value.strip() + b" ",  # equal value, other blanks: another line
        name.lower() + b":" + value,  # another spelling of the name
        name + b":" + value + b"x",  # a different value
        name + b":" + value.replace(b"1", b"2"),
    ]))
    where = data.draw(st.integers(1, len(lines) + 1))
    at = 0
    for _ in range(where):  # after the start line and `where - 1` header lines
        at = seed.index(b"\r\n", at) + 2
    doubled = seed[:at] + copy + b"\r\n" + seed[at:]
    replaced = seed.replace(line, copy, 1)
    for known in (seed, None, replaced, doubled):  # the original line known, nothing, only the copy, both
        parser._KNOWN_LINES.clear()
        if known is not None:
            check_same(known)
        check_same(doubled)


def test_lines_are_remembered_but_not_a_via_with_its_branch():
    parser._KNOWN_LINES.clear()
    data = lync_info()
    assert parser._parse_common_shape(data) is not None
    lines = [line.decode() for line in _header_lines(data)]
    remembered = [line for line in lines if line in parser._KNOWN_LINES]
    assert [line for line in lines if line not in remembered] == [lines[0]]  # the top Via, with its branch
    assert lines[0].startswith("Via:") and ";branch=" in lines[0]
    again = parser._parse_common_shape(data)
    assert again is not None
    assert outcome(lambda _: again, data) == outcome(parse_message_general, data)
    assert again.cseq == (3, "INFO")


def test_remembered_lines_are_bounded(monkeypatch):
    monkeypatch.setattr(parser, "_KNOWN_LINES_LIMIT", 8)
    base = _request("INFO", 3, "t", "z9hG4bKa", CSTA_BODY)
    for n in range(50):
        check_same(base.replace(b"Call-ID: a3f0", f"Call-ID: x{n}a3f0".encode()))
        assert len(parser._KNOWN_LINES) <= 8
    long_value = b"X-Long: " + b"a" * 600
    check_same(base.replace(b"Supported: timer", long_value))
    assert long_value.decode() not in parser._KNOWN_LINES


@pytest.mark.parametrize("stray", [b"\r", b"\n", b"\n\r"])
def test_a_bare_cr_or_lf_anywhere_in_the_header_section(stray):
    """The fast path looks for bare CRs and LFs only in lines it has not remembered; a
    remembered line never holds one, so wherever one lands, the general parser decides."""
    data = lync_info()
    end = data.find(b"\r\n\r\n")
    check_same(data)  # every line but the top Via remembered
    for at in range(end + 1):
        check_same(data[:at] + stray + data[at:])


def test_the_fast_path_collects_the_first_value_of_every_indexed_name():
    assert FIRST_VALUE_NAMES == parser._SINGLE_VALUED | {"Via", "Require"}
    message = parser._parse_common_shape(SEEDS[0])
    assert message is not None and message.headers._first is not None


_plain_vias = st.builds(
    lambda transport, host, port, before, branch, after: (
        f"SIP/2.0/{transport} {host}{port}{before};branch={branch}{after}"),
    st.sampled_from(["TCP", "tls", "UDP"]),
    st.sampled_from(["127.0.0.1", "fe1.example.com", "h"]),
    st.sampled_from(["", ":5061", ":99999"]),
    st.sampled_from(["", ";rport", ";received=10.0.0.1;x"]),
    st.text(s.TOKEN_CHARS + ":;=", min_size=0, max_size=12),
    st.sampled_from(["", ";rport", ";branch=second", ";ms-x=a:b", ";q=\"a;branch=b\"", ", SIP/2.0/TCP h2"]),
)


@settings(max_examples=400, deadline=None)
@given(_plain_vias, _plain_vias)
def test_the_top_via_built_from_a_template_is_the_parse_of_the_value(learnt, via):
    """The first Via teaches a template for its masked shape; a second one with the same
    mask (or another) must give the Via that parsing its value gives, or the same error."""
    for text in (learnt, via):
        data = SEEDS[0].replace(b"Via: ", b"Via: " + text.encode() + b"\r\nVia: ", 1)
        check_same(data)
        check_same(data)


def test_a_branchless_via_is_parsed_once_and_shared():
    data = SEEDS[0]
    at = data.find(b";branch=")
    end = data.find(b"\r\n", at)
    plain = data[:at] + data[end:]  # the top Via without its branch
    first = parse_message(plain)
    second = parse_message(plain)
    assert first.top_via == parse_message_general(plain).top_via
    assert second.top_via is first.top_via  # immutable, so shared


@pytest.mark.parametrize("branches", [("z9hG4bK1", "z9hG4bKother"), ("z9hG4bKa:1", "z9hG4bKb:1"), ("x", "z9hG4bK-7-3")])
def test_vias_sharing_a_mask_get_their_own_branch(branches):
    parser._VIA_SHAPES.clear()
    messages = [OK_200.replace(b"branch=z9hG4bKev1", b"branch=" + b.encode() + b";rport") for b in branches]
    for data in messages:
        message = parse_message(data)
        assert "top_via" in message._cache or data is messages[0]  # the second one is built from the template
        assert message.top_via == parse_message_general(data).top_via
        assert message.top_via.params[0] == ("branch", message.top_via.branch)


@pytest.mark.parametrize("require_lines", [
    "",
    "Require: timer\r\n",
    "require : 100rel\r\n",
    "Require: timer\r\nRequire: 100rel, foo\r\n",  # a list header: copies may differ
    "Require: timer\r\nRequire: timer\r\n",
])
def test_require_is_noted_like_a_scan_finds_it(require_lines):
    base = _request("INFO", 5, "tag1", "z9hG4bKreq1", CSTA_BODY)
    data = base.replace(b"Supported: timer\r\n", b"Supported: timer\r\n" + require_lines.encode())
    for _ in range(2):  # the second time its lines are remembered
        fast = parser._parse_common_shape(data)
        assert fast is not None and fast.headers._first is not None
        general_message = parse_message_general(data)
        assert ("Require" in fast.headers) == ("Require" in general_message.headers) == bool(require_lines)
        assert ("require" in fast.headers) == bool(require_lines)
        assert fast.headers.get("Require") == general_message.headers.get("Require")
        assert fast.headers.get_all("Require") == general_message.headers.get_all("Require")
        check_same(data)
    fast.headers.remove("Require")  # a change drops the noted values
    assert "Require" not in fast.headers
