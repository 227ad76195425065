"""RFC 4028 through the endpoint: refresh by UPDATE and re-INVITE, expiry ends the dialog."""
from __future__ import annotations

from rccserver.sip.message import Response

from test_endpoint_harness import Harness, establish, only_final, parsed, requests, sip


def test_lapsed_refresh_sends_bye_at_expiry_minus_32_seconds() -> None:
    h = Harness()
    peer, dialog, _ = establish(h, headers="Supported: timer\nSession-Expires: 1800")
    assert h.scheduler.next_deadline() == 1000.0 + 1800 - 32
    assert h.advance(1800 - 32 - 1) == []
    assert dialog.is_live
    out = h.advance(1)
    (bye,) = requests(out)
    assert bye.method == "BYE" and bye.headers.get_all("Route")
    assert h.app.ended == [(dialog, "session-timer-expired")]
    assert list(h.ep.dialogs) == []
    assert only_final(h.feed(peer.info())).status == 481


def test_short_interval_uses_a_third_before_expiry() -> None:
    h = Harness()
    _, dialog, _ = establish(h, headers="Supported: timer\nSession-Expires: 90")
    assert dialog.expires_at == 1000.0 + 60


def test_update_refresh_is_answered_by_the_endpoint_and_postpones_expiry() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    h.advance(1500)
    answer = only_final(h.feed(peer.request("UPDATE", headers="Supported: timer\nSession-Expires: 1800;refresher=uac")))
    assert answer.status == 200 and answer.body == b""
    assert answer.headers.get("Session-Expires") == "1800;refresher=uac"
    assert "timer" in answer.headers.get_all("Require")
    assert dialog.expires_at == 2500.0 + 1800 - 32
    (update,) = h.app.updates
    assert update.responded and update.dialog is dialog
    # the old deadline passes without effect
    assert h.advance(1000) == [] and dialog.is_live


def test_update_without_session_expires_from_a_timer_client_keeps_our_default() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    answer = only_final(h.feed(peer.request("UPDATE", headers="Supported: timer")))
    assert answer.status == 200 and answer.headers.get("Session-Expires") == "1800;refresher=uac"


def test_update_with_too_small_interval_is_422_and_keeps_the_old_timer() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    before = dialog.expires_at
    answer = only_final(h.feed(peer.request("UPDATE", headers="Supported: timer\nSession-Expires: 30")))
    assert answer.status == 422 and answer.headers.get("Min-SE") == "90"
    assert dialog.expires_at == before


def test_update_with_bad_session_expires_is_400_naming_the_header() -> None:
    h = Harness()
    peer, _, _ = establish(h)
    answer = only_final(h.feed(peer.request("UPDATE", headers="Session-Expires: soon")))
    assert answer.status == 400 and "Session-Expires" in answer.reason


def test_reinvite_refresh_is_answered_by_the_app_with_timer_headers_added() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    h.advance(1700)
    answer = only_final(h.feed(peer.invite(headers="Supported: timer\nSession-Expires: 1200")))
    assert answer.status == 200 and b"systemStatus" in answer.body
    assert answer.headers.get("Session-Expires") == "1200;refresher=uac"
    assert dialog.session_expires == 1200 and dialog.expires_at == 2700.0 + 1200 - 32
    h.feed(peer.request("ACK", cseq=1))
    assert h.advance(200) == [] and dialog.is_live


def test_rejected_reinvite_does_not_refresh() -> None:
    h = Harness(hold=True)
    peer, dialog, _ = establish(h)
    before = dialog.expires_at
    h.feed(peer.invite())
    h.app.held.pop().respond(488)
    assert only_final(h.drain()).status == 488
    assert dialog.expires_at == before and dialog.is_live


def test_refresher_uas_requested_makes_us_refresh_with_update() -> None:
    h = Harness()
    peer, dialog, ok = establish(h, headers="Supported: timer\nSession-Expires: 600;refresher=uas")
    assert ok.headers.get("Session-Expires") == "600;refresher=uas"
    assert "timer" not in [t.strip() for v in ok.headers.get_all("Require") for t in v.split(",")]
    (update,) = requests(h.advance(300))
    assert update.method == "UPDATE" and update.headers.get("Session-Expires") == "600;refresher=uas"
    h.feed(sip(f"""SIP/2.0 200 OK
        Via: {update.headers.get('Via')}
        From: {update.headers.get('From')}
        To: {update.headers.get('To')}
        Call-ID: {update.call_id}
        CSeq: {update.cseq[0]} UPDATE"""))
    assert dialog.expires_at == 1300.0 + 600 - 32
    # no answer to the next refresh: the dialog ends at expiry
    (update2,) = requests(h.advance(300))
    assert update2.cseq[0] == update.cseq[0] + 1
    out = h.advance(600)
    assert "BYE" in [r.method for r in requests(out)]
    assert h.app.ended == [(dialog, "session-timer-expired")]


def test_update_with_a_body_is_refused_with_415() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    before = dialog.expires_at
    h.advance(10)
    answer = only_final(h.feed(peer.request("UPDATE", body=b"v=0", headers="Content-Type: application/sdp")))
    assert answer.status == 415 and answer.headers.get("Accept") == ""
    assert dialog.expires_at == before
    assert h.app.updates[0].responded


def test_update_refresh_without_timer_support_turns_the_timer_off() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    answer = only_final(h.feed(peer.request("UPDATE")))
    assert answer.status == 200 and answer.headers.get("Session-Expires") is None
    assert dialog.expires_at is None and h.scheduler.next_deadline() is None
