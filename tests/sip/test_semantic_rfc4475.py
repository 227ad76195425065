"""RFC 4475 section 3.2-3.4 ("semantic") messages, answered by the whole endpoint.

Each file arrives on a TCP connection as one framed message; the endpoint's
answer must be what the RFC asks of a UAS.  Where the RFC leaves a choice to
the element, the comment says what we chose and why.
"""
from __future__ import annotations

import pathlib

import pytest

from rccserver.sip.endpoint import Send, SendTo
from rccserver.sip.message import Response
from rccserver.sip.parser import parse_message

from test_endpoint_harness import Harness

# file -> (expected final status, who decides, words the reason must contain)
EXPECTED: dict[str, tuple[int | None, str]] = {
    # 3.2.1 branch is just the magic cookie: RFC 2543 matching, answered normally
    "badbranch.dat": (200, "endpoint"),
    # 3.3.10 a response: never sent anywhere (least of all to 255.255.255.255)
    "bcast.dat": (None, "endpoint"),
    # 3.3.5 Require of unknown options: 420 listing them (Proxy-Require is not ours)
    "bext01.dat": (420, "endpoint"),
    # 3.3.12/13 REGISTER: we are no registrar -> 501, after parsing the odd Contacts
    "cparam01.dat": (501, "endpoint"),
    "cparam02.dat": (501, "endpoint"),
    # 3.3.1 Call-ID, From and To missing: 400
    "insuf.dat": (400, "endpoint"),
    # 3.4.1 RFC 2543 INVITE: accepted and given to the application, which refuses the
    # SDP body with 415 (our INVITE bodies are application/csta+xml)
    "inv2543.dat": (415, "application"),
    # 3.3.6 unknown Content-Type: the application answers 415
    "invut.dat": (415, "application"),
    # 3.3.9 two different Content-Length values: 400
    "mcl01.dat": (400, "endpoint"),
    # 3.3.8 several Call-ID/To/From/CSeq: 400
    "multi01.dat": (400, "endpoint"),
    # 3.3.3 and 3.3.2 Request-URI schemes we do not serve: 416
    "novelsc.dat": (416, "endpoint"),
    "unkscm.dat": (416, "endpoint"),
    # 3.3.7 Authorization with an unknown scheme: we do not authenticate (trust is the
    # transport's), so the request is handled as if it had none: REGISTER -> 501
    "regaut01.dat": (501, "endpoint"),
    # 3.3.14 escaped Route in a Contact URI: parsed, REGISTER -> 501
    "regescrt.dat": (501, "endpoint"),
    # 3.3.15 SDP body: the application refuses the body type (415) before Accept matters
    "sdp01.dat": (415, "application"),
    # 3.3.4 non-SIP URIs in To/From/Contact: parsed, REGISTER -> 501
    "unksm2.dat": (501, "endpoint"),
    # 3.3.11 Max-Forwards 0 on an OPTIONS for us: we are the UAS, answer it
    "zeromf.dat": (200, "endpoint"),
}


def _files(corpora: pathlib.Path) -> list[pathlib.Path]:
    return sorted((corpora / "rfc4475" / "semantic").glob("*.dat"))


def test_every_semantic_file_has_an_expectation(corpora: pathlib.Path) -> None:
    assert sorted(p.name for p in _files(corpora)) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_semantic_message(corpora: pathlib.Path, name: str) -> None:
    data = (corpora / "rfc4475" / "semantic" / name).read_bytes()
    expected, decider = EXPECTED[name]
    h = Harness()
    h.ep.receive(1, data)
    out = h.drain()
    assert not any(isinstance(o, SendTo) for o in out), "an answer must go back on the connection"
    if name == "insuf.dat":
        # The answer can only echo Via and CSeq (the rest is what is missing), so our
        # own strict parser would refuse it; read its status line instead.
        (only,) = out
        status_line, _, rest = only.data.partition(b"\r\n")
        assert status_line.startswith(b"SIP/2.0 400 ") and b"missing" in status_line
        assert b"Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf" in rest and b"CSeq: 193942 INVITE" in rest
        return
    messages = [parse_message(o.data) for o in out if isinstance(o, Send)]
    assert all(isinstance(m, Response) for m in messages)
    final = [m for m in messages if m.status >= 200]
    if expected is None:
        assert out == []
        return
    assert [m.status for m in final] == [expected], [(m.status, m.reason) for m in final]
    response = final[0]
    app_saw = len(h.app.invites) + len(h.app.infos)
    assert app_saw == (1 if decider == "application" else 0)
    if expected == 400:
        assert response.reason != "Bad Request", "the reason must say what is wrong"
    if expected == 420:
        unsupported = {t.strip() for v in response.headers.get_all("Unsupported") for t in v.split(",")}
        assert unsupported == {"nothingSupportsThis", "nothingSupportsThisEither"}
    if expected == 501:
        assert "INVITE" in response.headers.get("Allow")
    if expected == 415:
        assert response.headers.get("Accept") == "application/csta+xml"
    # Whatever the verdict, the endpoint keeps nothing for a message it has answered
    assert list(h.ep.dialogs) == []
    if response.headers.get("Call-ID") is not None and name != "inv2543.dat" and name != "invut.dat" and name != "sdp01.dat":
        assert h.ep.server_transaction_count == 0


def test_semantic_errors_do_not_disturb_a_dialog_on_the_same_connection(corpora: pathlib.Path) -> None:
    from test_endpoint_harness import establish, only_final

    h = Harness()
    peer, dialog, _ = establish(h)
    for path in _files(corpora):
        h.ep.receive(1, path.read_bytes())
        h.drain()
    assert dialog.is_live
    assert only_final(h.feed(peer.info())).status == 200
