"""The endpoint's dispatch shortcuts give what the general checks give.

In-dialog INFO is routed before the other methods, the Request-URI scheme is
tested by prefix before the general test, and one responder serves every
IncomingRequest (the transaction rides on it): these compare the shortcut with
the general path on the same input.
"""
from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hst

from rccserver.sip.endpoint import SIP_SCHEMES, Send, SendTo
from rccserver.sip.parser import parse_message

from test_endpoint_harness import Harness, Peer, establish, finals, only_final, parsed


def general_scheme_ok(uri: str) -> bool:
    scheme = uri.split(":", 1)[0]
    return scheme in SIP_SCHEMES or scheme.lower() in SIP_SCHEMES


@settings(max_examples=150, deadline=None)
@given(
    scheme=hst.sampled_from(["sip", "sips", "SIP", "Sips", "sipx", "tel", "si", "s", "im", "SIPS", "sIp"]),
    rest=hst.sampled_from(["rcc@rcc.example.com", "rcc.example.com;transport=tcp", "+123@example.com"]),
)
def test_the_uri_scheme_check_agrees_with_the_general_one(scheme: str, rest: str) -> None:
    uri = f"{scheme}:{rest}"
    answer = only_final(Harness().feed(Peer().request("OPTIONS", to_tag=False, ruri=uri)))
    assume(answer.status != 400)  # the parser refused it (a tel URI with a host...): no dispatch
    if general_scheme_ok(uri):
        assert answer.status == 200
    else:
        assert answer.status == 416 and repr(scheme) in answer.reason


def test_held_infos_answered_out_of_order_each_answer_their_own_request() -> None:
    h = Harness(hold=True)
    peer, dialog, _ = establish(h)
    h.feed(peer.info(b"<first/>"))
    h.feed(peer.info(b"<second/>"))
    first, second = h.app.held
    assert first.transaction is not second.transaction
    h.app.answer(second)
    h.app.answer(first)
    answers = finals(h.drain())
    assert [a.cseq for a in answers] == [(3, "INFO"), (2, "INFO")]
    assert [a.body for a in answers] == [b'<answer to="<second/>"/>', b'<answer to="<first/>"/>']
    assert h.ep.server_transaction_count == 0


def test_an_info_retransmitted_before_and_after_its_answer() -> None:
    h = Harness(hold=True)
    peer, _, _ = establish(h)
    info = peer.info()
    assert h.feed(info) == []
    assert h.feed(info) == []  # Trying: absorbed, the application is not told twice
    assert len(h.app.held) == 1 and h.ep.server_transaction_count == 1
    h.app.answer(h.app.held.pop())
    assert only_final(h.drain()).status == 200
    assert h.ep.server_transaction_count == 0  # TCP: Timer J is zero


def test_an_info_answered_later_after_its_connection_went_goes_by_via() -> None:
    h = Harness(hold=True)
    peer, _, _ = establish(h)
    h.feed(peer.info())
    h.ep.connection_lost(1)
    h.app.answer(h.app.held.pop())
    (out,) = h.drain()
    assert isinstance(out, SendTo) and parse_message(out.data).status == 200
    assert h.ep.server_transaction_count == 0  # Timer J is zero: gone at once
    h.ep.send_failed(out.key, "refused")  # nobody left to tell
    assert h.drain() == []


def test_timer_j_zero_and_timer_j_later_send_the_same_answer() -> None:
    seen = []
    for timer_j in (0.0, 5.0):
        h = Harness(timer_j=timer_j)
        peer, _, _ = establish(h)
        info = peer.info()
        (answer,) = parsed(h.feed(info))
        seen.append((answer.status, answer.cseq, answer.body, answer.headers.get("Content-Type")))
        assert h.ep.server_transaction_count == (1 if timer_j else 0)
        again = parsed(h.feed(info))
        if timer_j:  # a copy within Timer J: the same answer re-sent, the application not told
            assert [m.status for m in again] == [200] and len(h.app.infos) == 1
            assert h.advance(timer_j) == [] and h.ep.server_transaction_count == 0
        else:  # Timer J is zero: nothing remembers it, it is a new request
            assert len(h.app.infos) == 2
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    "build, status",
    [
        (lambda peer: peer.info(to_tag=False), 481),  # outside a dialog
        (lambda peer: peer.info(to_tag="nosuchtag"), 481),  # unknown dialog
        (lambda peer: peer.request("INFO", headers="Require: foo"), 420),  # checked before the dialog
        (lambda peer: peer.request("INFO", ruri="tel:+1"), 416),
    ],
)
def test_infos_the_dialog_path_does_not_take_get_the_general_answers(build, status) -> None:
    h = Harness()
    peer, _, _ = establish(h)
    assert only_final(h.feed(build(peer))).status == status
    assert h.app.infos == []
    assert h.ep.server_transaction_count == 0


def test_send_is_an_immutable_value() -> None:
    a, b = Send(1, b"x"), Send(1, b"x")
    assert a == b and hash(a) == hash(b) and a != Send(2, b"x")
    assert a.conn_id == 1 and a.data == b"x"
    with pytest.raises(AttributeError):
        a.data = b"y"  # type: ignore[misc]
    assert repr(a) == "Send(conn_id=1, data=b'x')"


def test_an_info_answer_is_a_send_on_its_connection() -> None:
    h = Harness()
    peer, _, _ = establish(h)
    out = h.feed(peer.info())
    assert all(isinstance(o, Send) and o.conn_id == 1 for o in out)
    assert [m.status for m in parsed(out)] == [200]
