"""RFC 4475 torture messages: every valid/ one parses and round-trips, every invalid/
one is refused with a precise reason and status, semantic/ ones expose the facts the
endpoint needs (or are refused where the RFC says the message itself is unusable)."""
import pathlib

import pytest

from rccserver.sip.message import Request, Response, make_response
from rccserver.sip.parser import SipParseError, parse_message
from rccserver.sip.uri import AbsoluteUri, SipUri, parse_name_addr, uri_equal


def load(corpora: pathlib.Path, name: str) -> bytes:
    return (corpora / "rfc4475" / name).read_bytes()


VALID = [
    "dblreq", "esc01", "esc02", "escnull", "intmeth", "longreq", "lwsdisp", "mpart01",
    "noreason", "semiuri", "transports", "unreason", "wsinv",
]


def test_corpus_is_complete(corpora):
    names = {p.stem for p in (corpora / "rfc4475").glob("*/*.dat")}
    assert len(names) == 50  # 49 RFC messages + test.dat
    assert set(VALID) | set(INVALID) | set(SEMANTIC_OK) | set(SEMANTIC_REFUSED) | {"test"} == names


@pytest.mark.parametrize("name", VALID)
def test_valid_message_parses_and_round_trips(corpora, name):
    message = parse_message(load(corpora, f"valid/{name}.dat"))
    again = parse_message(message.to_bytes())
    assert again == message
    assert again.to_bytes() == message.to_bytes()
    # Every structured header of a valid message is readable.
    message.from_, message.to, message.vias, message.cseq, message.call_id
    if isinstance(message, Request):
        message.request_uri
    for contact in message.headers.get_all("Contact"):
        parse_name_addr(contact)


def test_wsinv_whitespace_and_folding(corpora):
    m = parse_message(load(corpora, "valid/wsinv.dat"))
    assert m.method == "INVITE"
    assert m.max_forwards == 68
    assert m.cseq == (9, "INVITE")
    assert m.to.tag == "1918181833n"
    assert m.from_.display_name == 'J Rosenberg \\"'
    assert m.from_.tag == "98asjd8"
    assert m.headers.get("Subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert [(v.transport, v.host, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    contact = parse_name_addr(m.headers.get_all("Contact")[0])
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
    route = parse_name_addr(m.headers.get("Route"))
    assert route.uri.params == (("lr", None), ("unknownwith", "value"), ("unknown-no-value", None))
    assert len(m.body) == 150


def test_intmeth_extension_method_and_binary_display_name(corpora):
    m = parse_message(load(corpora, "valid/intmeth.dat"))
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.cseq == (139122385, m.method)
    uri = m.request_uri
    assert isinstance(uri, SipUri)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    # The UTF-8 parameter value survives as text.
    assert "\u0431" in m.from_.param("fromParam''~+*_!.-%")


def test_esc01_escapes_kept_and_compare_unescaped(corpora):
    m = parse_message(load(corpora, "valid/esc01.dat"))
    assert m.uri == "sip:sips%3Auser%40example.com@example.net"
    assert m.request_uri.user == "sips%3Auser%40example.com"
    assert uri_equal(m.to.uri, "sip:user@example.com")
    assert uri_equal(m.from_.uri, "sip:I%20have%20spaces@example.net")
    contact = parse_name_addr(m.headers.get("Contact"))
    assert uri_equal(contact.uri, "sip:caller@host5.example.net;lr;name=value%41")


def test_escnull_nul_escapes_are_not_terminators(corpora):
    m = parse_message(load(corpora, "valid/escnull.dat"))
    assert m.to.uri.user == "null-%00-null"
    users = [parse_name_addr(c).uri.user for c in m.headers.get_all("Contact")]
    assert users == ["%00", "%00%00"]
    assert not uri_equal("sip:%00@host5.example.com", "sip:%00%00@host5.example.com")


def test_esc02_percent_that_is_not_an_escape(corpora):
    m = parse_message(load(corpora, "valid/esc02.dat"))
    assert m.method == "RE%47IST%45R"
    assert m.to.display_name == "%Z%45"
    assert m.headers.get_all("Contact") == ["<sip:alias1@host1.example.com>", "<sip:alias3@host3.example.com>"]
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_longreq_many_vias_and_long_values(corpora):
    m = parse_message(load(corpora, "valid/longreq.dat"))
    assert len(m.vias) == 34
    assert m.vias[0].host == "sip33.example.com"
    assert m.vias[-1].received == "192.0.2.5"
    assert m.to.uri.port == 6000
    assert m.from_.tag.startswith("1298298298")


def test_dblreq_trailing_bytes_ignored(corpora):
    m = parse_message(load(corpora, "valid/dblreq.dat"))
    assert m.method == "REGISTER" and m.body == b""
    assert m.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


def test_semiuri_and_folded_accept(corpora):
    m = parse_message(load(corpora, "valid/semiuri.dat"))
    assert m.request_uri.user == "user;par=u%40example.net"
    assert m.request_uri.host == "example.com"
    assert m.headers.get_all("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed",
        "message/sip", "message/sipfrag",
    ]


def test_transports(corpora):
    m = parse_message(load(corpora, "valid/transports.dat"))
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert m.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def test_mpart01_binary_body(corpora):
    m = parse_message(load(corpora, "valid/mpart01.dat"))
    assert len(m.body) == 553 and b"\x00" in m.body
    assert m.content_type == "multipart/mixed"
    assert m.top_via.rport == ""


def test_unreason_utf8_reason_phrase(corpora):
    m = parse_message(load(corpora, "valid/unreason.dat"))
    assert isinstance(m, Response) and m.status == 200
    assert m.reason.startswith("= 2**3 * 5**2 \u043d\u043e")
    assert m.to_bytes().split(b"\r\n", 1)[0] == load(corpora, "valid/unreason.dat").split(b"\r\n", 1)[0]


def test_noreason_empty_reason_phrase(corpora):
    m = parse_message(load(corpora, "valid/noreason.dat"))
    assert isinstance(m, Response) and (m.status, m.reason) == (100, "")


def test_lwsdisp_token_display_name_without_space(corpora):
    m = parse_message(load(corpora, "valid/lwsdisp.dat"))
    assert m.from_.display_name == "caller"


# name -> (status, words the reason must contain, partial offered)
INVALID = {
    "badaspec": (400, ["To", "whitespace", "<"], True),
    "baddate": (400, ["Date", "GMT"], True),
    "baddn": (400, ["From", "display name"], True),
    "badinv01": (400, ["Via", "empty parameter"], True),
    "badvers": (505, ["version", "SIP/7.0"], True),
    "bigcode": (400, ["status code"], False),
    "clerr": (400, ["Content-Length", "9999"], True),
    "escruri": (400, ["Request-URI", "headers"], True),
    "ltgtruri": (400, ["Request-URI", "<"], True),
    "lwsruri": (400, ["whitespace", "Request-URI"], True),
    "lwsstart": (400, ["Request-Line", "one SP"], True),
    "mismatch01": (400, ["CSeq method", "OPTIONS"], True),
    "mismatch02": (400, ["CSeq method", "NEWMETHOD"], True),
    "ncl": (400, ["negative", "Content-Length"], True),
    "quotbal": (400, ["To", "unterminated quoted"], True),
    "regbadct": (400, ["Contact", "?", "<"], True),
    "scalar02": (400, ["CSeq", "out of range"], True),
    "scalarlg": (400, ["CSeq", "out of range"], False),
    "trws": (400, ["trailing whitespace", "Request-Line"], True),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_message_refused_precisely(corpora, name):
    status, words, answerable = INVALID[name]
    with pytest.raises(SipParseError) as info:
        parse_message(load(corpora, f"invalid/{name}.dat"))
    error = info.value
    assert error.status == status
    for word in words:
        assert word in error.reason, (word, error.reason)
    assert (error.partial is not None) == answerable
    if answerable:
        # The endpoint can answer it: the response echoes what the request carried
        # (even the faulty field, as written).
        response = make_response(error.partial, error.status)
        assert response.headers.get("Call-ID") == error.partial.headers.get("Call-ID")
        assert response.headers.get_all("Via") == error.partial.headers.get_all("Via")
        assert response.to_bytes().startswith(f"SIP/2.0 {status} ".encode())


@pytest.mark.parametrize("name, header, value, words", [
    ("scalar02", "CSeq", "36893488147419103232 REGISTER", ["Max-Forwards", "300", "255"]),
    ("scalar02", "Max-Forwards", "70", ["Expires", "out of range"]),
])
def test_scalar02_every_scalar_is_checked(corpora, name, header, value, words):
    data = load(corpora, f"invalid/{name}.dat")
    lines = data.split(b"\r\n")
    fixed = [f"{header}: {'1 REGISTER' if header == 'CSeq' else value}".encode()
             if line.startswith(header.encode() + b":") else line for line in lines]
    if header == "Max-Forwards":  # also fix CSeq so that Expires is the first problem
        fixed = [b"CSeq: 1 REGISTER" if line.startswith(b"CSeq:") else line for line in fixed]
    with pytest.raises(SipParseError) as info:
        parse_message(b"\r\n".join(fixed))
    for word in words:
        assert word in info.value.reason


def test_scalarlg_retry_after_and_warning_are_checked(corpora):
    data = load(corpora, "invalid/scalarlg.dat").replace(b"9292394834772304023312 OPTIONS", b"1 OPTIONS")
    with pytest.raises(SipParseError, match="Retry-After .* out of range"):
        parse_message(data)
    data = data.replace(b"949302838503028349304023988", b"60")
    with pytest.raises(SipParseError, match="Warning"):
        parse_message(data)
    assert parse_message(data.replace(b"1812 overture", b"399 overture")).status == 503


SEMANTIC_OK = [
    "badbranch", "bcast", "bext01", "cparam01", "cparam02", "inv2543", "invut", "novelsc",
    "regaut01", "regescrt", "sdp01", "unkscm", "unksm2", "zeromf",
]
SEMANTIC_REFUSED = {
    "insuf": ["missing mandatory", "From", "To", "Call-ID"],
    "multi01": ["multiple", "CSeq"],
    "mcl01": ["multiple", "Content-Length"],
}


@pytest.mark.parametrize("name", SEMANTIC_OK)
def test_semantic_message_parses_and_round_trips(corpora, name):
    message = parse_message(load(corpora, f"semantic/{name}.dat"))
    assert parse_message(message.to_bytes()) == message


@pytest.mark.parametrize("name", sorted(SEMANTIC_REFUSED))
def test_semantic_message_refused_with_answerable_partial(corpora, name):
    with pytest.raises(SipParseError) as info:
        parse_message(load(corpora, f"semantic/{name}.dat"))
    assert info.value.status == 400
    for word in SEMANTIC_REFUSED[name]:
        assert word in info.value.reason
    partial = info.value.partial
    assert partial is not None and partial.method in ("INVITE", "OPTIONS")
    assert make_response(partial, 400).headers.get("Via") == partial.headers.get("Via")


def test_semantic_facts_exposed(corpora):
    def msg(name):
        return parse_message(load(corpora, f"semantic/{name}.dat"))

    assert msg("badbranch").top_via.branch == "z9hG4bK"
    assert msg("bcast").vias[1].host == "255.255.255.255"
    assert msg("bext01").headers.get_all("Require") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert msg("bext01").headers.get_all("Proxy-Require") == ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    contact = parse_name_addr(msg("cparam01").headers.get("Contact"))
    assert contact.params == (("unknownparam", None),) and contact.uri.params == ()
    contact = parse_name_addr(msg("cparam02").headers.get("Contact"))
    assert contact.params == () and contact.uri.params == (("unknownparam", None),)
    inv = msg("inv2543")
    assert inv.max_forwards is None and inv.top_via.branch is None and inv.from_.tag is None
    assert inv.body.startswith(b"v=0") and inv.content_type == "application/sdp"
    assert msg("invut").content_type == "application/unknownformat"
    novel = msg("novelsc").request_uri
    assert isinstance(novel, AbsoluteUri) and novel.scheme == "soap.beep"
    assert msg("regaut01").headers.get("Authorization") == "NoOneKnowsThisScheme opaque-data=here"
    regescrt = parse_name_addr(msg("regescrt").headers.get("Contact"))
    assert regescrt.uri.headers == (("Route", "%3Csip:sip.example.com%3E"),)
    assert msg("sdp01").headers.get_all("Accept") == ["text/nobodyKnowsThis"]
    unk = msg("unkscm").request_uri
    assert isinstance(unk, AbsoluteUri) and unk.scheme == "nobodyknowsthisscheme"
    unksm2 = msg("unksm2")
    assert isinstance(unksm2.to.uri, AbsoluteUri) and unksm2.to.uri.scheme == "isbn"
    assert str(unksm2.from_.uri) == "http://www.example.com"
    assert msg("zeromf").max_forwards == 0


def test_extra_test_dat_refused(corpora):
    with pytest.raises(SipParseError) as info:
        parse_message(load(corpora, "extra/test.dat"))
    assert "without ':'" in info.value.reason and info.value.partial is None


def _verdict(data: bytes) -> str:
    try:
        parse_message(data)
    except SipParseError as exc:
        answerable = ", answerable" if exc.partial is not None else ""
        return f"refused {exc.status}{answerable}: {exc.reason}"
    return "accepted"


def test_docs_table_matches_the_parser(corpora):
    """docs/rfc4475.md states each message's verdict; keep it true."""
    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "rfc4475.md").read_text()
    folders = {p.stem: p for p in (corpora / "rfc4475").glob("*/*.dat")}
    checked = set()
    for line in doc.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in line.strip().strip("|").split(" | ")]
        if len(cells) >= 4 and cells[0] in folders and cells[0] not in checked:
            assert cells[3] == _verdict(folders[cells[0]].read_bytes()), cells[0]
            checked.add(cells[0])
    assert checked == set(folders)
