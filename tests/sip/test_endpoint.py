"""The endpoint as the Lync front end sees it: dialogs, in-dialog requests, our requests."""
from __future__ import annotations

import pytest

from rccserver.common.clock import Scheduler
from rccserver.sip.application import ResponseAlreadySent, TransactionTimeout, TransportFailure
from rccserver.sip.endpoint import DialogEndedError, Endpoint, Send, SendTo, Target
from rccserver.sip.message import Response

from test_endpoint_harness import (
    CSTA,
    FE_ROUTES,
    RSS_RESPONSE,
    Harness,
    Peer,
    establish,
    finals,
    only_final,
    parsed,
    requests,
    sip,
)


# ---------------------------------------------------------------------------
# Dialog creation


def test_invite_answered_at_once_gets_only_the_apps_200_with_dialog_headers() -> None:
    h = Harness()
    peer = Peer()
    out = h.feed(peer.invite())
    messages = parsed(out)
    assert [m.status for m in messages] == [200]  # SPEC 7: no 100 when the answer is immediate
    (ok,) = messages
    assert all(isinstance(o, Send) and o.conn_id == 1 for o in out)
    assert ok.reason == "OK"
    assert ok.call_id == peer.call_id and ok.cseq == (1, "INVITE")
    assert ok.to.tag and len(ok.to.tag) >= 16
    assert ok.from_.tag == peer.from_tag
    assert len(ok.vias) == 1 and ok.vias[0].host == "fe1.example.com" and ok.vias[0].branch.startswith("z9hG4bK")
    assert ok.headers.get_all("Record-Route") == FE_ROUTES
    assert ok.headers.get("Contact") == "<sip:rcc.example.com:11001;transport=tcp>"
    assert ok.headers.get("Session-Expires") == "1800;refresher=uac"
    assert "timer" in ok.headers.get_all("Require")
    assert "timer" in ok.headers.get_all("Supported")
    allow = {m.strip() for v in ok.headers.get_all("Allow") for m in v.split(",")}
    assert allow == {"INVITE", "ACK", "BYE", "CANCEL", "INFO", "UPDATE", "OPTIONS"}
    assert ok.body == RSS_RESPONSE and ok.content_type.startswith(CSTA)

    (dialog,) = list(h.ep.dialogs)
    assert dialog.call_id == peer.call_id
    assert dialog.local_tag == ok.to.tag and dialog.remote_tag == peer.from_tag
    assert dialog.route_set == tuple(FE_ROUTES)
    assert dialog.remote_target == "sip:alice@10.0.0.5:51063;transport=tcp"
    assert dialog.remote_cseq == 1 and dialog.local_cseq == 0
    assert dialog.conn_id == 1 and dialog.peer == ("10.1.1.1", 40001)
    assert dialog.created_at == 1000.0
    assert h.ep.connection_peer(1) == ("10.1.1.1", 40001) and h.ep.connection_peer(99) is None
    assert dialog.session_expires == 1800 and dialog.refresher == "uac"
    assert dialog.expires_at == 1000.0 + 1800 - 32
    assert h.app.invites[0].dialog is dialog


def test_local_contact_overrides_and_tls_contact() -> None:
    h = Harness(local_contact="<sip:gw.example.com;transport=tls>")
    _, _, ok = establish(h)
    assert ok.headers.get("Contact") == "<sip:gw.example.com;transport=tls>"
    h2 = Harness()
    h2.connect(7, transport="tls", port=5061)
    peer = Peer(transport="TLS")
    ok = only_final(h2.feed(peer.invite(), conn_id=7))
    assert ok.headers.get("Contact") == "<sip:rcc.example.com:5061;transport=tls>"


def test_rejected_invite_makes_no_dialog_and_its_ack_is_absorbed() -> None:
    h = Harness()
    peer = Peer()
    answer = only_final(h.feed(peer.invite(content_type="application/sdp", body=b"v=0\r\n")))
    assert answer.status == 415
    assert answer.to.tag  # a tag even on a failure
    assert "Cs_BadRequest" in answer.headers.get("Warning")
    assert list(h.ep.dialogs) == []
    assert answer.headers.get("Record-Route") is None
    # ACK for the 415 (same branch) ends the transaction silently
    via = str(answer.top_via)
    assert h.feed(peer.request("ACK", cseq=1, via=via, to_tag=answer.to.tag)) == []
    assert h.ep.server_transaction_count == 0
    # an INFO using that To tag finds no dialog
    peer.to_tag = answer.to.tag
    assert only_final(h.feed(peer.info())).status == 481


def test_no_session_timer_when_the_client_does_not_offer_one() -> None:
    h = Harness()
    _, dialog, ok = establish(h, headers="")
    assert ok.headers.get("Session-Expires") is None
    assert "timer" not in [t.strip() for v in ok.headers.get_all("Require") for t in v.split(",")]
    assert dialog.session_expires is None and dialog.expires_at is None
    assert h.scheduler.next_deadline() is None  # nothing to wait for once the ACK came


def test_client_session_expires_is_honoured_and_too_small_gets_422() -> None:
    h = Harness(min_se=120)
    _, dialog, ok = establish(h, headers="Supported: timer\nSession-Expires: 600\nMin-SE: 90")
    assert ok.headers.get("Session-Expires") == "600;refresher=uac"
    assert dialog.session_expires == 600
    peer = Peer()
    answer = only_final(h.feed(peer.invite(headers="Supported: timer\nSession-Expires: 100")))
    assert answer.status == 422
    assert answer.headers.get("Min-SE") == "120"
    assert h.app.invites[-1].request.call_id != peer.call_id  # the app never saw it


def test_retransmitted_invite_while_2xx_pending_gets_the_2xx_again() -> None:
    h = Harness()
    peer = Peer()
    invite = peer.invite()
    first = only_final(h.feed(invite))
    again = h.feed(invite)
    assert len(h.app.invites) == 1
    (resent,) = parsed(again)
    assert resent.status == 200 and resent.to.tag == first.to.tag
    assert len(list(h.ep.dialogs)) == 1
    # after the ACK the wait is over; Timer L would have ended the dialog otherwise
    peer.to_tag = first.to.tag
    h.feed(peer.request("ACK", cseq=1))
    assert h.ep.server_transaction_count == 0


def test_missing_ack_for_the_initial_2xx_ends_the_dialog() -> None:
    h = Harness()
    peer = Peer()
    only_final(h.feed(peer.invite()))
    (dialog,) = h.ep.dialogs
    h.advance(31.9)
    assert dialog.is_live
    out = h.advance(0.1)
    assert [r.method for r in requests(out)] == ["BYE"]
    assert h.app.ended == [(dialog, "ack-timeout")]


def test_invite_the_application_answers_later_gets_100_at_once_then_the_answer() -> None:
    h = Harness(hold=True)
    peer = Peer()
    (trying,) = parsed(h.feed(peer.invite()))
    assert trying.status == 100 and trying.to.tag is None
    incoming = h.app.held.pop()
    incoming.respond(200, body=b"<ok/>")
    (ok,) = parsed(h.drain())
    assert ok.status == 200 and ok.to.tag
    assert [str(v) for v in ok.vias] == [str(v) for v in trying.vias]


def test_cancel_of_a_pending_invite() -> None:
    h = Harness(hold=True)
    peer = Peer()
    via = peer.via()
    invite = peer.request("INVITE", via=via, to_tag=False, body=b"<x/>",
                          headers=f"Contact: <sip:alice@10.0.0.5>\nContent-Type: {CSTA}")
    assert [m.status for m in parsed(h.feed(invite))] == [100]
    cancel = peer.request("CANCEL", via=via, cseq=1, to_tag=False)
    out = parsed(h.feed(cancel))
    assert sorted((m.status, m.cseq[1]) for m in out) == [(200, "CANCEL"), (487, "INVITE")]
    incoming = h.app.held.pop()
    assert incoming.cancelled and incoming.responded
    incoming.respond(200, body=b"late")  # ignored
    assert h.drain() == []
    assert list(h.ep.dialogs) == []
    # the ACK for the 487 ends it
    h.feed(peer.request("ACK", via=via, cseq=1, to_tag=[m for m in out if m.status == 487][0].to.tag))
    assert h.ep.server_transaction_count == 0


def test_cancel_matching_nothing_is_481() -> None:
    h = Harness()
    assert only_final(h.feed(Peer().request("CANCEL", to_tag=False))).status == 481


def test_second_final_response_raises_but_provisionals_are_fine() -> None:
    h = Harness(hold=True)
    peer = Peer()
    h.feed(peer.invite())
    incoming = h.app.held.pop()
    incoming.respond(180)
    incoming.respond(200, headers=[("Content-Type", CSTA)], body=RSS_RESPONSE)
    with pytest.raises(ResponseAlreadySent):
        incoming.respond(486)
    assert [m.status for m in parsed(h.drain())] == [180, 200]
    with pytest.raises(ValueError):
        incoming.respond(99)


# ---------------------------------------------------------------------------
# In-dialog requests from the client


def test_sipe_ack_and_infos_without_branch_and_with_reset_cseq() -> None:
    h = Harness()
    peer = Peer(sipe=True)
    ok = only_final(h.feed(peer.invite(cseq=1)))
    peer.to_tag = ok.to.tag
    # sipe resets its CSeq after the 2xx: ACK is 1, then INFO 2 and 3
    assert h.feed(peer.request("ACK", cseq=1, ruri="sip:rcc.example.com:11001;transport=tcp")) == []
    (dialog,) = h.ep.dialogs
    assert dialog.pending_invite is None
    for cseq in (2, 3):
        answer = only_final(h.feed(peer.info(cseq=cseq)))
        assert answer.status == 200 and answer.cseq == (cseq, "INFO")
        assert str(answer.top_via).lower().startswith("sip/2.0/tcp 10.0.0.5")
    # re-INVITE (CSeq 4), then the counter resets again: ACK 1, INFO 2
    ok2 = only_final(h.feed(peer.invite(cseq=4)))
    assert ok2.status == 200 and ok2.to.tag == peer.to_tag
    assert h.feed(peer.request("ACK", cseq=1)) == []
    assert only_final(h.feed(peer.info(cseq=2))).status == 200
    assert dialog.remote_cseq == 2
    assert len(h.app.infos) == 3 and len(h.app.reinvites) == 1


def test_concurrent_infos_answered_out_of_order() -> None:
    h = Harness(hold=True)
    peer, dialog, _ = establish(h)
    h.feed(peer.info(b"<GetCSTAFeatures/>"))
    h.feed(peer.info(b"<MonitorStart/>"))
    first, second = h.app.held
    assert first.dialog is dialog and second.dialog is dialog
    second.respond(200, headers=[("Content-Type", CSTA)], body=b"<MonitorStartResponse/>")
    first.respond(200, headers=[("Content-Type", CSTA)], body=b"<GetCSTAFeaturesResponse/>")
    a, b = finals(h.drain())
    assert (a.cseq[0], a.body) == (3, b"<MonitorStartResponse/>")
    assert (b.cseq[0], b.body) == (2, b"<GetCSTAFeaturesResponse/>")
    assert a.top_via.branch != b.top_via.branch
    assert h.ep.server_transaction_count == 0


def test_unknown_dialog_is_481_and_unknown_ack_is_dropped() -> None:
    h = Harness()
    peer = Peer()
    peer.to_tag = "nosuchtag"
    for method in ("INFO", "BYE", "UPDATE", "INVITE"):
        answer = only_final(h.feed(peer.request(method)))
        assert answer.status == 481, method
    assert h.feed(peer.request("ACK")) == []


def test_info_outside_a_dialog_is_481() -> None:
    h = Harness()
    answer = only_final(h.feed(Peer().info(to_tag=False)))
    assert answer.status == 481 and "Outside" in answer.reason


def test_options_in_and_out_of_dialog() -> None:
    h = Harness()
    peer, _, _ = establish(h)
    for data in (peer.request("OPTIONS"), Peer().request("OPTIONS", to_tag=False)):
        answer = only_final(h.feed(data))
        assert answer.status == 200
        assert "INFO" in answer.headers.get("Allow")
        assert answer.headers.get("Accept") == CSTA
        assert answer.headers.get("Supported") == "timer"


def test_unknown_method_is_501_with_allow_and_require_unknown_is_420() -> None:
    h = Harness()
    answer = only_final(h.feed(Peer().request("SUBSCRIBE", to_tag=False)))
    assert answer.status == 501 and "UPDATE" in answer.headers.get("Allow")
    answer = only_final(h.feed(Peer().request("OPTIONS", to_tag=False, headers="Require: timer, foo,bar")))
    assert answer.status == 420
    assert answer.headers.get_all("Unsupported") in (["foo, bar"], ["foo", "bar"])
    assert only_final(h.feed(Peer().request("OPTIONS", to_tag=False, headers="Require: timer"))).status == 200


def test_non_sip_request_uri_is_416() -> None:
    h = Harness()
    answer = only_final(h.feed(Peer().request("OPTIONS", to_tag=False, ruri="tel:+123")))
    assert answer.status == 416 and "tel" in answer.reason


def test_bye_ends_the_dialog_once_and_later_infos_get_481() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    answer = only_final(h.feed(peer.request("BYE")))
    assert answer.status == 200 and answer.cseq[1] == "BYE"
    assert h.app.byes == [(dialog, h.app.byes[0][1])]
    assert h.app.ended == [(dialog, "bye-received")]
    assert not dialog.is_live and list(h.ep.dialogs) == []
    assert only_final(h.feed(peer.info())).status == 481
    assert only_final(h.feed(peer.request("BYE"))).status == 481
    assert len(h.app.ended) == 1
    assert h.scheduler.next_deadline() is None  # session timer cancelled


def test_bye_racing_a_pending_info() -> None:
    """sipe sends MonitorStop then BYE without waiting: the INFO is still answered."""
    h = Harness(hold=True)
    peer, dialog, _ = establish(h)
    h.feed(peer.info(b"<MonitorStop/>"))
    assert only_final(h.feed(peer.request("BYE"))).status == 200
    assert h.app.ended == [(dialog, "bye-received")]
    (pending,) = h.app.held
    pending.respond(200, body=b"<MonitorStopResponse/>")
    answer = only_final(h.drain())
    assert answer.cseq[1] == "INFO" and answer.body == b"<MonitorStopResponse/>"
    assert h.ep.server_transaction_count == 0


def test_bye_overtaking_a_reinvite_gets_it_487() -> None:
    h = Harness(hold=True)
    peer, dialog, _ = establish(h)
    h.feed(peer.invite())
    reinvite = h.app.held.pop()
    out = parsed(h.feed(peer.request("BYE")))
    assert sorted((m.status, m.cseq[1]) for m in out if m.status >= 200) == [(200, "BYE"), (487, "INVITE")]
    assert reinvite.cancelled
    reinvite.respond(200)
    assert h.drain() == []


def test_second_reinvite_while_one_is_pending_is_500() -> None:
    h = Harness(hold=True)
    peer, _, _ = establish(h)
    h.feed(peer.invite())
    answer = only_final(h.feed(peer.invite()))
    assert answer.status == 500 and answer.headers.get("Retry-After")


def test_reinvite_updates_remote_target() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    data = peer.invite().replace(b"sip:alice@10.0.0.5:51063;transport=tcp", b"sip:alice@10.0.0.6:5070;transport=tcp")
    assert only_final(h.feed(data)).status == 200
    assert dialog.remote_target == "sip:alice@10.0.0.6:5070;transport=tcp"


def test_info_retransmission_within_timer_j_gets_the_same_response() -> None:
    h = Harness(timer_j=5.0)
    peer, _, _ = establish(h)
    via = peer.via()
    info = peer.info(via=via)
    first = h.feed(info)
    again = h.feed(info)
    assert [o.data for o in again] == [o.data for o in first]
    assert len(h.app.infos) == 1
    h.advance(5.0)
    assert h.ep.server_transaction_count == 0


# ---------------------------------------------------------------------------
# Our requests


def _outcomes():
    seen: list = []
    return seen, seen.append


def test_send_request_builds_an_in_dialog_request_and_matches_its_response() -> None:
    h = Harness()
    peer, dialog, ok = establish(h)
    seen, record = _outcomes()
    for n in (1, 2):
        h.ep.send_request(dialog, "INFO", headers=[("Content-Type", CSTA)], body=b"<SystemStatus/>", on_outcome=record)
    out = h.drain()
    assert all(isinstance(o, Send) and o.conn_id == 1 for o in out)
    first, second = requests(out)
    assert first.method == "INFO" and first.uri == "sip:alice@10.0.0.5:51063;transport=tcp"
    assert first.headers.get_all("Route") == FE_ROUTES
    assert first.from_.tag == ok.to.tag and first.to.tag == peer.from_tag
    assert first.headers.get("From").startswith("<sip:rcc@rcc.example.com>")
    assert first.call_id == peer.call_id
    assert (first.cseq, second.cseq) == ((1, "INFO"), (2, "INFO"))
    assert first.max_forwards == 70
    assert first.top_via.host == "rcc.example.com" and first.top_via.transport.upper() == "TCP"
    assert first.top_via.branch.startswith("z9hG4bK") and first.top_via.branch != second.top_via.branch
    assert first.body == b"<SystemStatus/>" and first.content_type == CSTA
    assert dialog.local_cseq == 2
    # answer the second first; a stray response is dropped
    for req in (second, first):
        reply = sip(
            f"""SIP/2.0 200 OK
            Via: {req.headers.get('Via')}
            From: {req.headers.get('From')}
            To: {req.headers.get('To')}
            Call-ID: {req.call_id}
            CSeq: {req.cseq[0]} INFO"""
        )
        assert h.feed(reply) == []
    assert [r.cseq[0] for r in seen] == [2, 1] and all(isinstance(r, Response) for r in seen)
    stray = sip(
        f"""SIP/2.0 200 OK
        Via: SIP/2.0/TCP rcc.example.com;branch=z9hG4bKunknown
        From: <sip:a@b>;tag=1
        To: <sip:c@d>;tag=2
        Call-ID: {peer.call_id}
        CSeq: 9 INFO"""
    )
    assert h.feed(stray) == [] and len(seen) == 2
    assert h.ep.client_transaction_count == 0


def test_timer_f_reports_a_timeout_after_32_seconds() -> None:
    h = Harness(session_expires=3600)
    _, dialog, _ = establish(h)
    seen, record = _outcomes()
    h.ep.send_request(dialog, "INFO", on_outcome=record)
    h.drain()
    assert h.scheduler.next_deadline() == pytest.approx(h.now + 32)
    h.advance(31.9)
    assert seen == []
    h.advance(0.1)
    assert seen == [TransactionTimeout("INFO", dialog.call_id)]
    assert h.ep.client_transaction_count == 0
    assert dialog.is_live  # a timed-out INFO is not the endpoint's reason to end a dialog


def test_provisional_then_final_response_to_our_request() -> None:
    h = Harness()
    _, dialog, _ = establish(h)
    seen, record = _outcomes()
    h.ep.send_request(dialog, "INFO", on_outcome=record)
    (req,) = requests(h.drain())
    for status in ("100 Trying", "481 Call Leg/Transaction Does Not Exist", "481 Again"):
        h.feed(sip(f"""SIP/2.0 {status}
            Via: {req.headers.get('Via')}
            From: {req.headers.get('From')}
            To: {req.headers.get('To')}
            Call-ID: {req.call_id}
            CSeq: {req.cseq[0]} INFO"""))
    assert [r.status for r in seen] == [481]


def test_dialog_survives_connection_loss_and_next_request_goes_to_the_route() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    h.ep.connection_lost(1)
    assert dialog.is_live
    seen, record = _outcomes()
    h.ep.send_request(dialog, "INFO", on_outcome=record)
    (out,) = h.drain()
    assert isinstance(out, SendTo)
    assert out.target == Target("fe1.example.com", 5061, "tls")
    req = parsed([out])[0]
    assert req.top_via.transport.upper() == "TLS"
    assert req.headers.get_all("Route") == FE_ROUTES
    # the front end reconnects and answers on the new connection
    h.connect(2)
    h.feed(sip(f"""SIP/2.0 200 OK
        Via: {req.headers.get('Via')}
        From: {req.headers.get('From')}
        To: {req.headers.get('To')}
        Call-ID: {req.call_id}
        CSeq: {req.cseq[0]} INFO"""), conn_id=2)
    assert seen[0].status == 200
    assert dialog.conn_id == 2
    h.ep.send_request(dialog, "INFO", on_outcome=record)
    (out,) = h.drain()
    assert isinstance(out, Send) and out.conn_id == 2


def test_delivery_failure_is_reported_as_transport_failure() -> None:
    h = Harness()
    _, dialog, _ = establish(h)
    h.ep.connection_lost(1)
    seen, record = _outcomes()
    h.ep.send_request(dialog, "INFO", on_outcome=record)
    (out,) = h.drain()
    h.ep.send_failed(out.key, "connection refused")
    assert seen == [TransportFailure("INFO", dialog.call_id, "connection refused")]
    assert h.ep.client_transaction_count == 0
    h.ep.send_failed(out.key, "again")  # a late duplicate changes nothing
    assert len(seen) == 1


def test_response_after_the_request_connection_closed_goes_to_the_via() -> None:
    h = Harness(hold=True)
    peer, _, _ = establish(h)
    h.feed(peer.info())
    h.ep.connection_lost(1)
    h.app.held.pop().respond(200)
    (out,) = h.drain()
    assert isinstance(out, SendTo) and out.target == Target("fe1.example.com", 5061, "tcp")


def test_end_dialog_sends_bye_along_the_route_and_reports_once() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    h.ep.end_dialog(dialog, "admin")
    (bye,) = requests(h.drain())
    assert bye.method == "BYE" and bye.cseq == (1, "BYE")
    assert bye.headers.get_all("Route") == FE_ROUTES
    assert h.app.ended == [(dialog, "admin")]
    h.ep.end_dialog(dialog, "again")
    assert h.drain() == [] and len(h.app.ended) == 1
    with pytest.raises(DialogEndedError):
        h.ep.send_request(dialog, "INFO", on_outcome=lambda o: None)
    assert only_final(h.feed(peer.info())).status == 481


def test_shutdown_ends_every_dialog() -> None:
    h = Harness()
    dialogs = [establish(h)[1] for _ in range(3)]
    h.ep.shutdown()
    assert sorted(r.method for r in requests(h.drain())) == ["BYE"] * 3
    assert {(id(d), reason) for d, reason in h.app.ended} == {(id(d), "shutdown") for d in dialogs}
    assert list(h.ep.dialogs) == []


def test_strict_route_puts_the_first_route_in_the_request_uri() -> None:
    h = Harness()
    peer = Peer()
    data = peer.invite().replace(b";lr;ms-route-sig", b";ms-route-sig").replace(b"<sip:fe2.example.com;lr>", b"<sip:fe2.example.com>")
    ok = only_final(h.feed(data))
    peer.to_tag = ok.to.tag
    (dialog,) = h.ep.dialogs
    h.ep.send_request(dialog, "INFO", on_outcome=lambda o: None)
    (req,) = requests(h.drain())
    assert req.uri.startswith("sip:fe1.example.com:5061")
    assert req.headers.get_all("Route") == ["<sip:fe2.example.com>", "<sip:alice@10.0.0.5:51063;transport=tcp>"]


def test_send_request_refuses_invite() -> None:
    h = Harness()
    _, dialog, _ = establish(h)
    with pytest.raises(ValueError):
        h.ep.send_request(dialog, "INVITE", on_outcome=lambda o: None)


def test_constructor_checks_timer_settings() -> None:
    with pytest.raises(ValueError):
        Endpoint(None, domain_name="x", scheduler=Scheduler(lambda: 0.0), min_se=30)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Endpoint(None, domain_name="x", scheduler=Scheduler(lambda: 0.0), session_expires=100, min_se=120)  # type: ignore[arg-type]


def test_app_supplied_contact_replaces_ours() -> None:
    h = Harness(hold=True)
    h.feed(Peer().invite())
    h.app.held.pop().respond(200, headers=[("Contact", "<sip:other.example.com;transport=tcp>")], body=RSS_RESPONSE)
    ok = only_final(h.drain())
    assert ok.headers.get_all("Contact") == ["<sip:other.example.com;transport=tcp>"]
    assert ok.headers.get("Session-Expires") == "1800;refresher=uac"


def test_unroutable_remote_target_is_a_transport_failure_on_the_next_tick() -> None:
    h = Harness()
    peer = Peer()
    data = peer.invite().replace(b"<sip:alice@10.0.0.5:51063;transport=tcp>", b"<tel:+13175551010>")
    data = b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"Record-Route"))
    ok = only_final(h.feed(data))
    (dialog,) = h.ep.dialogs
    assert dialog.route_set == () and dialog.remote_target == "tel:+13175551010"
    h.ep.connection_lost(1)
    seen, record = _outcomes()
    h.ep.send_request(dialog, "INFO", on_outcome=record)
    assert seen == [] and h.drain() == []
    assert h.scheduler.next_deadline() == h.now
    h.advance(0)
    (failure,) = seen
    assert isinstance(failure, TransportFailure) and "tel:+13175551010" in failure.reason
    assert h.ep.client_transaction_count == 0
    del ok


def test_server_and_user_agent_name_the_product_without_its_version_by_default() -> None:
    """SPEC 2: the version is only advertised when [server] advertise_version = true."""
    from rccserver import __version__

    h = Harness()
    peer = Peer()
    (ok,) = parsed(h.feed(peer.invite()))
    assert ok.headers.get("Server") == "rccserver"
    dialog = next(iter(h.ep.dialogs))
    h.ep.send_request(dialog, "INFO", body=b"<x/>", on_outcome=lambda outcome: None)
    (info,) = requests(h.drain())
    assert info.headers.get("User-Agent") == "rccserver"
    assert __version__ not in ok.to_bytes().decode() + info.to_bytes().decode()


def test_an_advertised_version_is_what_the_server_was_given() -> None:
    from rccserver import __version__
    from rccserver.common.product import product_token

    assert product_token(False) == "rccserver"
    assert product_token(True) == f"rccserver/{__version__}"
    h = Harness(user_agent=product_token(True))
    (ok,) = parsed(h.feed(Peer().invite()))
    assert ok.headers.get("Server") == f"rccserver/{__version__}"
