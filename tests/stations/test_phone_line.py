"""The phone line end to end as bytes: phones register, dial, answer, hold, transfer and hang up."""
from __future__ import annotations

import pytest

from rccserver.sip.digest import DigestClient, parse_challenge
from rccserver.sip.transaction_tables import InvalidTransition
from rccserver.stations.legs import AutoAnswer, LegRole, NotRegistered
from rccserver.stations.line_events import InviteAuthenticationFailed, LegFinished, LegStarted
from rccserver.stations.registrar_events import BindingAdded

from tests.stations.phone_line_harness import DOMAIN, Line, sdp


def registered(line: Line, user: str, **options):
    phone = line.phone(user, **options)
    response = phone.register()
    assert response.status == 200
    return phone


def dialled_leg(line: Line, phone, number: str = "1002", body: bytes | None = b""):
    call = phone.dial(number, body)
    assert line.listener.names()[-1] == "phone_dialled"
    return call, line.listener.legs[-1]


# --------------------------------------------------------------------------
# REGISTER, OPTIONS, routing


def test_register_through_the_endpoint_reports_the_binding_and_registers_the_station():
    line = Line()
    phone = line.phone("1001", port=5070)
    assert not line.endpoint.is_registered("1001")
    response = phone.register()
    assert response.status == 200
    assert "sip:1001@192.0.2.10:5070" in response.headers.get("Contact")
    assert line.endpoint.is_registered("1001")
    added = [event for event in line.events if isinstance(event, BindingAdded)]
    assert [(e.sip_user, e.source, e.transport) for e in added] == [("1001", ("192.0.2.10", 5070), "udp")]


def test_options_outside_a_dialog_lists_what_we_take():
    line = Line()
    phone = line.phone("1001")
    request = phone.request(
        __import__("tests.stations.phone_line_harness", fromlist=["PhoneCall"]).PhoneCall(
            "opt-1", "<sip:1001@example.com>;tag=o1", f"<sip:{DOMAIN}>", f"sip:{DOMAIN}"), "OPTIONS")
    phone.send(request)
    response = phone.last_response("OPTIONS")
    assert response.status == 200
    allow = {m.strip() for m in response.headers.get("Allow").split(",")}
    assert {"INVITE", "ACK", "CANCEL", "BYE", "REFER", "NOTIFY", "INFO", "OPTIONS", "REGISTER"} <= allow
    assert response.headers.get("Accept") == "application/sdp"
    assert response.headers.get("Supported") is not None


@pytest.mark.parametrize("method, status", [("BYE", 481), ("INFO", 481), ("SUBSCRIBE", 405), ("PUBLISH", 405),
                                            ("FROBNICATE", 501)])
def test_requests_outside_a_dialog_that_we_do_not_take(method, status):
    from tests.stations.phone_line_harness import PhoneCall

    line = Line()
    phone = line.phone("1001")
    phone.send(phone.request(PhoneCall("x-1", "<sip:1001@example.com>;tag=a", f"<sip:{DOMAIN}>", f"sip:{DOMAIN}"),
                             method))
    assert phone.last_response(method).status == status


def test_a_request_in_an_unknown_dialog_gets_481():
    from tests.stations.phone_line_harness import PhoneCall

    line = Line()
    phone = line.phone("1001")
    call = PhoneCall("gone-1", "<sip:1001@example.com>;tag=a", f"<sip:1002@{DOMAIN}>;tag=nope", f"sip:{DOMAIN}")
    phone.send(phone.request(call, "BYE"))
    assert phone.last_response("BYE").status == 481


# --------------------------------------------------------------------------
# A phone dials: 407, then an INCOMING leg


def test_an_invite_from_a_phone_is_challenged_then_becomes_an_incoming_leg():
    line = Line()
    phone = registered(line, "1001")
    invite, _ = phone.invite_request("1002", sdp(4000))
    phone.send(invite)
    challenge = phone.last_response("INVITE")
    assert challenge.status == 407
    algorithms = [parse_challenge(v).algorithm for v in challenge.headers.get_all("Proxy-Authenticate")]
    assert algorithms == ["SHA-256", "MD5"]
    assert line.listener.calls == []

    call = phone.dial("1002", sdp(4000))
    assert phone.last_response("INVITE").status == 100
    leg = line.listener.legs[-1]
    assert (leg.role, leg.station, leg.dialled, leg.remote_sdp) == (LegRole.INCOMING, "1001", "1002", sdp(4000))
    assert line.listener.names() == ["phone_dialled"]
    assert any(isinstance(e, LegStarted) and e.leg_id == leg.leg_id for e in line.events)

    line.call(leg.ringing)
    assert phone.last_response("INVITE").status == 180
    line.call(leg.answer, sdp(6000))
    ok = phone.last_response("INVITE")
    assert (ok.status, ok.body, ok.headers.get("Content-Type")) == (200, sdp(6000), "application/sdp")
    assert ok.headers.get("Contact").startswith(f"<sip:{DOMAIN}:5060")
    assert ok.to.tag
    phone.confirm(call, ok)
    assert line.listener.names() == ["phone_dialled", "leg_acknowledged"]
    assert line.listener.args("leg_acknowledged") == [(None,)]
    assert line.listener.violations == []


def test_a_phone_need_not_be_registered_to_dial_only_authenticated():
    line = Line()
    phone = line.phone("ben")
    dialled_leg(line, phone, "1001")
    assert line.listener.legs[-1].station == "1002"


def test_unknown_users_get_the_challenge_a_station_gets_and_never_a_leg():
    line = Line()
    stranger = line.phone("mallory", password="guess")
    invite, _ = stranger.invite_request("1002", sdp(4000))
    stranger.send(invite)
    challenge = stranger.last_response("INVITE")
    assert challenge.status == 407
    # The same shape as a REGISTER challenge for that name (no user enumeration).
    register = line.registrar.handle_register(
        __import__("tests.stations.registrar_harness", fromlist=["register_request"]).register_request("mallory"),
        source=("192.0.2.99", 5060), transport="udp", now=line.now).response
    assert ([parse_challenge(v).algorithm for v in challenge.headers.get_all("Proxy-Authenticate")]
            == [parse_challenge(v).algorithm for v in register.headers.get_all("WWW-Authenticate")])
    stranger.ack_response(invite, challenge)
    authorization = stranger.client.answer(challenge, method="INVITE", uri=invite.uri)
    again, _ = stranger.invite_request("1002", sdp(4000), authorization=authorization)
    stranger.send(again)
    assert stranger.last_response("INVITE").status == 407
    assert line.listener.calls == []
    assert [e.reason for e in line.events if isinstance(e, InviteAuthenticationFailed)] == ["unknown user"]


def test_credentials_of_another_station_than_the_from_user_are_refused():
    line = Line()
    phone = line.phone("ben")  # claims to be ben, but knows 1001's password
    phone.client = DigestClient("1001", "amy-pw", lambda n: b"\x01" * n)
    invite, call = phone.invite_request("1002", sdp(4000))
    phone.send(invite)
    challenge = phone.last_response("INVITE")
    phone.ack_response(invite, challenge)
    invite, _ = phone.invite_request("1002", sdp(4000), call, phone.client.answer(challenge, method="INVITE",
                                                                                  uri=invite.uri))
    phone.send(invite)
    assert phone.last_response("INVITE").status == 403
    assert line.listener.calls == []
    assert [e.user for e in line.events if isinstance(e, InviteAuthenticationFailed)] == ["1001"]


def test_a_leg_the_call_layer_rejects_gets_that_status_and_ends_once():
    line = Line()
    phone = registered(line, "1001")
    line.listener.on("phone_dialled", lambda leg: leg.reject(486, "Busy Here"))
    phone.dial("1002")
    assert phone.last_response("INVITE").status == 486
    assert line.listener.names() == ["phone_dialled", "leg_ended"]
    line.advance(40)
    assert line.endpoint.idle


def test_the_phone_cancels_its_call_before_the_answer():
    line = Line()
    phone = registered(line, "1001")
    call, leg = dialled_leg(line, phone)
    line.call(leg.ringing)
    cancel = phone.request(call, "CANCEL")
    cancel.headers.set("Via", call.invite.headers.get("Via"))
    cancel.headers.set("CSeq", f"{call.invite.cseq[0]} CANCEL")
    cancel.uri = call.invite.uri
    phone.send(cancel)
    statuses = [(r.status, r.cseq[1]) for r in phone.responses()]
    assert (200, "CANCEL") in statuses and (487, "INVITE") in statuses
    assert line.listener.names() == ["phone_dialled", "leg_ended"]
    assert line.listener.args("leg_ended") == [("the phone cancelled its call",)]
    line.call(leg.answer, sdp(6000))  # too late: ignored
    assert line.listener.violations == []


# --------------------------------------------------------------------------
# UDP loss


def test_a_lost_200_is_sent_again_until_the_ack_and_a_repeated_invite_reaches_the_call_layer_once():
    line = Line()
    phone = registered(line, "1001")
    call, leg = dialled_leg(line, phone)
    phone.send(call.invite)  # a retransmission of the authenticated INVITE
    assert line.listener.names() == ["phone_dialled"]

    line.drop = lambda to, data: data.startswith(b"SIP/2.0 200")
    line.call(leg.answer, sdp(6000))
    assert len(line.dropped) == 1
    line.drop = None
    phone.take()
    line.advance(0.5)  # T1
    assert [r.status for r in phone.responses()] == [200]
    line.advance(1.0)  # 2*T1
    assert [r.status for r in phone.responses()] == [200, 200]
    ok = phone.responses()[-1]
    phone.confirm(call, ok)
    phone.take()
    line.advance(10)
    assert phone.responses() == []
    assert line.listener.names() == ["phone_dialled", "leg_acknowledged"]


def test_no_ack_at_all_ends_the_leg_with_a_bye():
    line = Line()
    phone = registered(line, "1001")
    call, leg = dialled_leg(line, phone)
    line.call(leg.answer, sdp(6000))
    line.advance(32)
    assert line.listener.names() == ["phone_dialled", "leg_ended"]
    bye = phone.last_request("BYE")
    phone.respond(bye, 200)
    line.advance(40)
    assert line.endpoint.idle and line.listener.violations == []


# --------------------------------------------------------------------------
# OUTGOING legs: forking, auto-answer, CANCEL


def two_bindings(line: Line):
    desk = line.phone("1001", port=5061)
    soft = line.phone("1001", port=5062)
    assert desk.register().status == 200 and soft.register().status == 200
    return desk, soft


def test_an_outgoing_invite_forks_to_every_binding_and_the_first_2xx_wins():
    line = Line()
    desk, soft = two_bindings(line)
    leg = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller="+44207")
    invites = [desk.last_request("INVITE"), soft.last_request("INVITE")]
    assert {i.uri for i in invites} == {"sip:1001@192.0.2.10:5061;transport=udp",
                                       "sip:1001@192.0.2.10:5062;transport=udp"}
    assert invites[0].call_id == invites[1].call_id
    assert invites[0].headers.get("From").startswith(f'"+44207" <sip:+44207@{DOMAIN}>;tag=')
    assert invites[0].headers.get("Contact").startswith(f"<sip:{DOMAIN}:5060")
    for phone, invite in ((desk, invites[0]), (soft, invites[1])):
        phone.respond(invite, 180, tag=f"t{phone.port}", headers=[("Allow-Events", "talk")])
    assert line.listener.names() == ["leg_ringing"]
    assert leg.talk_event

    soft.respond(invites[1], 200, tag="t5062", body=sdp(7000))
    ack = soft.last_request("ACK")
    assert ack.cseq == (1, "ACK") and ack.to.tag == "t5062"
    assert line.listener.names() == ["leg_ringing", "leg_answered"]
    assert line.listener.args("leg_answered") == [(sdp(7000),)]
    cancel = desk.last_request("CANCEL")
    desk.respond(cancel, 200, tag="t5061")
    desk.respond(invites[0], 487, tag="t5061")

    # The desk phone's 2xx had crossed the CANCEL: ACKed and ended with BYE, the call layer hears nothing.
    desk.respond(invites[0], 200, tag="t5061", body=sdp(7100))
    line.call(leg.hang_up)
    assert line.listener.names() == ["leg_ringing", "leg_answered", "leg_ended"]
    soft.respond(soft.last_request("BYE"), 200, tag="t5062")
    line.advance(64)
    assert line.endpoint.idle and line.listener.violations == []


def test_a_second_2xx_from_a_losing_fork_is_acked_and_ended():
    line = Line()
    desk, soft = two_bindings(line)
    leg = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    first, second = desk.last_request("INVITE"), soft.last_request("INVITE")
    soft.respond(second, 200, tag="s", body=sdp(7000))
    desk.respond(first, 200, tag="d", body=sdp(7100))  # before our CANCEL reached it
    assert desk.last_request("ACK").to.tag == "d"
    bye = desk.last_request("BYE")
    assert bye.to.tag == "d"
    desk.respond(bye, 200, tag="d")
    assert line.listener.names() == ["leg_answered"]
    assert leg.remote_sdp == sdp(7000)


def test_every_fork_failing_fails_the_leg_with_the_best_status():
    line = Line()
    desk, soft = two_bindings(line)
    leg = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    desk.respond(desk.last_request("INVITE"), 486, tag="d")
    assert line.listener.names() == []
    soft.respond(soft.last_request("INVITE"), 603, tag="s")
    assert line.listener.args("leg_failed") == [(603, "Decline")]
    assert leg.role is LegRole.OUTGOING
    assert any(isinstance(e, LegFinished) for e in line.events)


def test_a_phone_that_never_answers_fails_the_leg_with_408():
    line = Line()
    registered(line, "1001")
    line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    line.advance(40)
    assert line.listener.args("leg_failed")[0][0] == 408
    assert line.endpoint.idle


def test_invite_to_a_station_without_binding_raises_not_registered():
    line = Line()
    with pytest.raises(NotRegistered):
        line.endpoint.invite("1001", None, auto_answer=AutoAnswer.NONE, caller=None)
    with pytest.raises(NotRegistered):
        line.endpoint.invite("1000", None, auto_answer=AutoAnswer.NONE, caller=None)  # not a SIP station


@pytest.mark.parametrize("mode, header, value", [
    (AutoAnswer.CALL_INFO, "Call-Info", f"<sip:{DOMAIN}>;answer-after=0"),
    (AutoAnswer.ALERT_INFO, "Alert-Info", "<http://127.0.0.1>;info=alert-autoanswer"),
    (AutoAnswer.NONE, None, None),
])
def test_auto_answer_hints(mode, header, value):
    line = Line()
    phone = registered(line, "1001")
    line.call(line.endpoint.invite, "1001", None, auto_answer=mode, caller="1002")
    invite = phone.last_request("INVITE")
    if header is None:
        assert invite.headers.get("Call-Info") is None and invite.headers.get("Alert-Info") is None
    else:
        assert invite.headers.get(header) == value
    assert invite.body == b""


def test_cancel_of_a_ringing_outgoing_leg():
    line = Line()
    phone = registered(line, "1001")
    leg = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    invite = phone.last_request("INVITE")
    phone.respond(invite, 180, tag="r")
    line.call(leg.hang_up)
    assert line.listener.names() == ["leg_ringing", "leg_ended"]
    cancel = phone.last_request("CANCEL")
    assert cancel.cseq == (1, "CANCEL") and cancel.headers.get("Via") == invite.headers.get("Via")
    phone.respond(cancel, 200, tag="r")
    phone.respond(invite, 487, tag="r")
    line.call(leg.hang_up)  # idempotent
    line.advance(40)
    assert line.endpoint.idle and line.listener.names() == ["leg_ringing", "leg_ended"]
    assert line.listener.violations == []


def test_an_offerless_invite_gets_the_phones_offer_and_our_answer_goes_in_the_ack():
    line = Line()
    phone = registered(line, "1001")
    leg = line.call(line.endpoint.invite, "1001", None, auto_answer=AutoAnswer.CALL_INFO, caller="1002")
    invite = phone.last_request("INVITE")
    phone.respond(invite, 200, tag="p", body=sdp(7000))
    assert line.listener.args("leg_answered") == [(sdp(7000),)]
    assert phone.requests("ACK") == []  # waits for our answer
    phone.respond(invite, 200, tag="p", body=sdp(7000))  # the phone re-sends its 2xx meanwhile
    assert phone.requests("ACK") == []
    line.call(leg.acknowledge, sdp(6000))
    ack = phone.last_request("ACK")
    assert (ack.body, ack.headers.get("Content-Type")) == (sdp(6000), "application/sdp")
    phone.take()
    phone.respond(invite, 200, tag="p", body=sdp(7000))  # a late copy gets the same ACK again
    assert phone.last_request("ACK").body == sdp(6000)


def test_the_ack_for_a_2xx_that_answered_our_offer_carries_no_sdp():
    """RFC 3261 13.2.1: SDP in an ACK is only the answer to an offer in the 2xx."""
    line = Line()
    phone = registered(line, "1001")
    line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    invite = phone.last_request("INVITE")
    phone.respond(invite, 200, tag="p", body=sdp(7000))
    ack = phone.last_request("ACK")
    assert (ack.body, ack.headers.get("Content-Type")) == (b"", None)


# --------------------------------------------------------------------------
# In the call: re-INVITE, BYE, REFER, DTMF, talk


def answered_incoming(line: Line, user: str = "1001", **options):
    phone = registered(line, user, **options)
    call, leg = dialled_leg(line, phone)
    line.call(leg.answer, sdp(6000))
    phone.confirm(call, phone.last_response("INVITE"))
    phone.take()
    return phone, call, leg


def answered_outgoing(line: Line, user: str = "1001", **options):
    phone = registered(line, user, **options)
    leg = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    invite = phone.last_request("INVITE")
    phone.respond(invite, 200, tag="p", body=sdp(7000))
    phone.take()
    return phone, phone.answered_call(invite, "p"), leg


def test_hold_from_the_phone_is_a_reinvite_the_call_layer_answers():
    line = Line()
    phone, call, leg = answered_incoming(line)
    reinvite = phone.request(call, "INVITE", body=sdp(4000, "sendonly"))
    phone.send(reinvite)
    assert phone.last_response("INVITE").status == 100
    assert line.listener.args("leg_reinvited") == [(sdp(4000, "sendonly"),)]
    assert leg.remote_sdp == sdp(4000, "sendonly")
    line.call(leg.answer_reinvite, sdp(6000, "recvonly"))
    ok = phone.last_response("INVITE")
    assert (ok.status, ok.body) == (200, sdp(6000, "recvonly"))
    phone.confirm(call, ok)
    assert line.listener.names()[-1] == "leg_reinvited"  # the phone made the offer: no acknowledged
    phone.take()
    line.advance(5)
    assert phone.responses() == []  # no 2xx re-sent after the ACK


def test_an_offerless_reinvite_from_the_phone_gets_our_offer_and_its_answer_comes_with_the_ack():
    line = Line()
    phone, call, leg = answered_outgoing(line)
    phone.send(phone.request(call, "INVITE"))
    assert line.listener.args("leg_reinvited") == [(None,)]
    with pytest.raises(ValueError):
        leg.answer_reinvite(None)  # a 2xx must carry our offer
    line.call(leg.answer_reinvite, sdp(6000))
    ok = phone.last_response("INVITE")
    assert ok.body == sdp(6000)
    phone.confirm(call, ok, body=sdp(7000, "sendonly"))
    assert line.listener.args("leg_acknowledged") == [(sdp(7000, "sendonly"),)]
    assert leg.remote_sdp == sdp(7000, "sendonly")


def test_glare_a_phones_reinvite_while_ours_is_pending_gets_491():
    line = Line()
    phone, call, leg = answered_outgoing(line)
    line.call(leg.reinvite, sdp(6000, "inactive"))
    ours = phone.last_request("INVITE")
    phone.send(phone.request(call, "INVITE", body=sdp(7000, "sendonly")))
    assert phone.last_response("INVITE").status == 491
    phone.respond(ours, 200, tag="p", body=sdp(7000, "inactive"))
    assert phone.last_request("ACK").cseq[0] == ours.cseq[0]
    assert line.listener.args("leg_reinvite_answered") == [(sdp(7000, "inactive"),)]


def test_our_reinvite_refused_leaves_the_call_as_it_was():
    line = Line()
    phone, call, leg = answered_outgoing(line)
    line.call(leg.reinvite, sdp(6000, "inactive"))
    phone.respond(phone.last_request("INVITE"), 488, tag="p")
    assert line.listener.args("leg_reinvite_failed") == [(488,)]
    line.call(leg.reinvite, sdp(6000, "inactive"))  # one at a time, and now there is none pending
    assert len(phone.requests("INVITE")) == 2


def test_bye_from_the_phone():
    line = Line()
    phone, call, leg = answered_outgoing(line)
    bye = phone.request(call, "BYE")
    phone.send(bye)
    assert phone.last_response("BYE").status == 200
    assert line.listener.args("leg_ended") == [("the phone hung up",)]
    phone.send(bye)  # a retransmission: answered from the transaction
    assert [r.status for r in phone.responses(200) if r.cseq[1] == "BYE"] == [200, 200]
    line.advance(40)
    assert line.endpoint.idle


def test_bye_from_us():
    line = Line()
    phone, call, leg = answered_incoming(line, transport="tcp")
    line.call(leg.hang_up)
    assert line.listener.names()[-1] == "leg_ended"
    bye = phone.last_request("BYE")
    assert bye.to.tag == call.local.split("tag=")[1]
    assert not line.endpoint.idle  # the BYE is still out
    phone.respond(bye, 200)
    line.advance(1)
    assert line.endpoint.idle and line.listener.violations == []


def test_refer_without_replaces_is_a_blind_transfer_with_progress_notifies():
    line = Line()
    phone, call, leg = answered_incoming(line)
    phone.send(phone.request(call, "REFER", headers=[("Refer-To", f"<sip:1003@{DOMAIN}>")]))
    assert line.listener.args("leg_referred") == [("1003", None)]
    assert phone.last_response("REFER").status == 202
    first = phone.last_request("NOTIFY")
    assert (first.headers.get("Event"), first.body) == (f"refer;id={call.cseq}", b"SIP/2.0 100 Trying\r\n")
    assert first.headers.get("Subscription-State").startswith("active")
    line.call(leg.refer_progress, 200)
    assert len(phone.requests("NOTIFY")) == 1  # one NOTIFY at a time
    phone.respond(first, 200)
    final = phone.last_request("NOTIFY")
    assert final.body == b"SIP/2.0 200 OK\r\n"
    assert final.headers.get("Subscription-State").startswith("terminated")
    assert final.headers.get("Content-Type") == "message/sipfrag;version=2.0"


def test_refer_with_replaces_names_the_dialog_to_take_over():
    line = Line()
    phone, call, leg = answered_incoming(line)
    refer_to = f"<sip:1003@{DOMAIN}?Replaces=abc%40host%3Bto-tag%3D111%3Bfrom-tag%3D222>"
    phone.send(phone.request(call, "REFER", headers=[("Refer-To", refer_to)]))
    target, replaces = line.listener.args("leg_referred")[0]
    assert target == "1003"
    assert (replaces.call_id, replaces.to_tag, replaces.from_tag) == ("abc@host", "111", "222")


def test_a_refused_refer_gets_403_and_no_notify():
    line = Line()
    phone, call, leg = answered_incoming(line)
    line.listener.refer_answer = False
    phone.send(phone.request(call, "REFER", headers=[("Refer-To", f"<sip:1003@{DOMAIN}>")]))
    assert phone.last_response("REFER").status == 403
    assert phone.requests("NOTIFY") == []


def test_a_transfer_done_inside_leg_referred_sends_202_then_the_final_notify_then_bye():
    line = Line()
    phone, call, leg = answered_incoming(line)

    def transfer(leg, target, replaces):
        leg.refer_progress(200)
        leg.hang_up()

    line.listener.on("leg_referred", transfer)
    phone.send(phone.request(call, "REFER", headers=[("Refer-To", f"<sip:1003@{DOMAIN}>")]))
    wire = [(m.method if hasattr(m, "method") else m.status) for m in phone.inbox]
    assert wire == [202, "NOTIFY", "BYE"]
    assert phone.last_request("NOTIFY").body == b"SIP/2.0 200 OK\r\n"
    assert line.listener.names()[-2:] == ["leg_referred", "leg_ended"]


def test_dtmf_goes_as_one_info_per_digit_in_order():
    line = Line()
    phone, call, leg = answered_incoming(line)
    line.call(leg.send_dtmf, "1#")
    first = phone.last_request("INFO")
    assert (first.headers.get("Content-Type"), first.body) == ("application/dtmf-relay",
                                                               b"Signal=1\r\nDuration=160\r\n")
    assert len(phone.requests("INFO")) == 1
    phone.respond(first, 200)
    assert phone.last_request("INFO").body == b"Signal=#\r\nDuration=160\r\n"


def test_notify_talk_goes_in_the_early_dialog_of_a_phone_that_listed_talk():
    line = Line()
    phone = registered(line, "1001")
    leg = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    invite = phone.last_request("INVITE")
    phone.respond(invite, 180, tag="r", headers=[("Allow-Events", "talk, hold")])
    line.call(leg.notify_talk)
    notify = phone.last_request("NOTIFY")
    assert notify.headers.get("Event") == "talk"
    assert notify.headers.get("Subscription-State").startswith("terminated")
    assert notify.to.tag == "r" and notify.call_id == invite.call_id and notify.cseq == (2, "NOTIFY")
    phone.respond(notify, 200, tag="r")
    phone.respond(invite, 200, tag="r", body=sdp(7000))
    line.call(leg.hang_up)
    assert phone.last_request("BYE").cseq == (3, "BYE")  # CSeq goes on from the early dialog's


# --------------------------------------------------------------------------
# A phone that vanishes


def test_a_phone_that_stops_answering_ends_its_leg():
    line = Line()
    phone, call, leg = answered_incoming(line)
    line.drop = lambda to, data: True  # the phone is gone
    line.call(leg.send_dtmf, "5")
    line.advance(33)
    assert line.listener.names()[-1] == "leg_ended"
    assert line.listener.args("leg_ended")[-1][0].startswith("phone vanished")
    line.advance(40)
    assert line.endpoint.idle and line.listener.violations == []


def test_a_tcp_phone_whose_connection_is_gone_and_cannot_be_reached_again():
    line = Line()
    phone, call, leg = answered_incoming(line, transport="tcp")
    phone.disconnect()
    line.call(leg.reinvite, sdp(6000, "inactive"))
    assert [o.target.port for o in line.send_to] == [5060]  # towards the phone's Contact
    line.fail_send_to()
    line.run()
    assert line.listener.names()[-1] == "leg_ended"
    line.fail_send_to()  # the BYE cannot go either
    line.advance(1)
    assert line.endpoint.idle and line.listener.violations == []


# --------------------------------------------------------------------------
# Crossings and the rarer ends


def test_the_phone_cancels_its_reinvite_before_the_call_layer_answers_it():
    line = Line()
    phone, call, leg = answered_incoming(line)
    reinvite = phone.request(call, "INVITE", body=sdp(4000, "sendonly"))
    phone.send(reinvite)
    cancel = phone.request(call, "CANCEL")
    for name in ("Via", "To"):
        cancel.headers.set(name, reinvite.headers.get(name))
    cancel.headers.set("CSeq", f"{reinvite.cseq[0]} CANCEL")
    phone.send(cancel)
    assert [(r.status, r.cseq[1]) for r in phone.responses() if r.status >= 200] == [(200, "CANCEL"),
                                                                                     (487, "INVITE")]
    line.call(leg.answer_reinvite, sdp(6000))  # too late: nothing happens
    assert [r.status for r in phone.responses() if r.cseq[1] == "INVITE"] == [100, 487]
    line.call(leg.reinvite, sdp(6000, "inactive"))  # and the dialog is free for ours
    assert phone.last_request("INVITE").body == sdp(6000, "inactive")


def test_bye_from_the_phone_while_its_reinvite_waits_answers_both():
    line = Line()
    phone, call, leg = answered_incoming(line)
    reinvite = phone.request(call, "INVITE", body=sdp(4000, "inactive"))
    phone.send(reinvite)
    phone.send(phone.request(call, "BYE"))
    assert {(r.status, r.cseq[1]) for r in phone.responses() if r.status >= 200} == {(487, "INVITE"),
                                                                                    (200, "BYE")}
    assert line.listener.names()[-2:] == ["leg_reinvited", "leg_ended"]


def test_a_2xx_that_crossed_our_cancel_is_acked_and_ended_with_bye():
    line = Line()
    phone = registered(line, "1001")
    leg = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    invite = phone.last_request("INVITE")
    phone.respond(invite, 180, tag="r")
    line.call(leg.hang_up)
    phone.respond(invite, 200, tag="r", body=sdp(7000))  # the phone answered before the CANCEL came
    assert phone.last_request("ACK").to.tag == "r"
    bye = phone.last_request("BYE")
    assert bye.to.tag == "r"
    phone.respond(phone.last_request("CANCEL"), 200, tag="r")
    phone.respond(bye, 200, tag="r")
    assert line.listener.names() == ["leg_ringing", "leg_ended"]
    line.advance(64)
    assert line.endpoint.idle


def test_a_2xx_to_our_reinvite_that_crossed_our_bye_still_gets_its_ack():
    line = Line()
    phone, call, leg = answered_outgoing(line)
    line.call(leg.reinvite, sdp(6000, "inactive"))
    reinvite = phone.last_request("INVITE")
    line.call(leg.hang_up)
    phone.respond(reinvite, 200, tag="p", body=sdp(7000, "inactive"))
    assert phone.last_request("ACK").cseq[0] == reinvite.cseq[0]
    phone.respond(phone.last_request("BYE"), 200, tag="p")
    assert line.listener.names() == ["leg_answered", "leg_ended"]
    line.advance(64)
    assert line.endpoint.idle


def test_hanging_up_before_the_phone_acked_our_2xx_waits_for_the_ack_to_send_bye():
    line = Line()
    phone = registered(line, "1001")
    call, leg = dialled_leg(line, phone)
    line.call(leg.answer, sdp(6000))
    line.call(leg.hang_up)
    assert line.listener.names() == ["phone_dialled", "leg_ended"]
    assert phone.requests("BYE") == []  # RFC 3261 15: not before the ACK
    phone.confirm(call, phone.last_response("INVITE"))
    bye = phone.last_request("BYE")
    phone.respond(bye, 200)
    line.advance(40)
    assert line.endpoint.idle and line.listener.names() == ["phone_dialled", "leg_ended"]


def test_our_reinvite_answered_481_ends_the_leg():
    line = Line()
    phone, call, leg = answered_outgoing(line)
    line.call(leg.reinvite, None)
    phone.respond(phone.last_request("INVITE"), 481, tag="p")
    assert line.listener.names()[-1] == "leg_ended"
    assert phone.requests("BYE") == []  # the phone says there is no dialog left to end
    line.advance(40)
    assert line.endpoint.idle


def test_a_reinvite_asked_for_while_the_phones_is_pending_fails_with_491():
    line = Line()
    phone, call, leg = answered_incoming(line)
    phone.send(phone.request(call, "INVITE", body=sdp(4000, "sendonly")))
    line.call(leg.reinvite, sdp(6000))
    assert line.listener.args("leg_reinvite_failed") == [(491,)]
    assert phone.requests("INVITE") == []


def test_misuse_by_the_call_layer_raises_and_changes_nothing():
    line = Line()
    phone, call, leg = answered_incoming(line)
    with pytest.raises(InvalidTransition):
        leg.answer(sdp(1))
    with pytest.raises(ValueError):
        leg.reject(200)
    with pytest.raises(ValueError):
        leg.send_dtmf("12x")
    line.run()
    assert phone.take() == [] and leg.state.name == "CONFIRMED"


def test_garbage_from_a_phone_is_answered_400_when_it_can_be_and_dropped_otherwise():
    line = Line()
    phone = line.phone("1001")
    phone.send(b"INVITE sip:1002@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx\r\n"
               b"From: <sip:1001@example.com>;tag=a\r\nTo: <sip:1002@example.com>\r\nCall-ID: g1\r\n"
               b"CSeq: 1 INVITE\r\nMax-Forwards: banana\r\nContent-Length: 0\r\n\r\n")
    assert phone.last_response().status == 400
    phone.take()
    phone.send(b"\x00\x01 not sip at all\r\n\r\n")
    assert phone.take() == []
    assert line.endpoint.idle


def test_shutdown_hangs_up_every_leg():
    line = Line()
    phone, call, leg = answered_incoming(line)
    other = line.call(line.endpoint.invite, "1001", sdp(6000), auto_answer=AutoAnswer.NONE, caller=None)
    line.call(line.endpoint.shutdown)
    assert {name for name in line.listener.names() if name == "leg_ended"} == {"leg_ended"}
    assert len(line.listener.args("leg_ended")) == 2
    assert leg.state.name == "ENDING" and other.state.name == "CANCELLING"


# --------------------------------------------------------------------------
# NAT: everything goes back the way the phone's messages came


def test_a_phone_behind_nat_is_invited_at_the_address_its_register_came_from():
    line = Line()
    phone = line.phone("1001", host="203.0.113.7", port=40123)
    phone.contact_host = "10.0.0.5"  # its private address, in its Contact
    assert phone.register().status == 200
    line.call(line.endpoint.invite, "1001", None, auto_answer=AutoAnswer.NONE, caller=None)
    invite = phone.last_request("INVITE")  # it arrived: the datagram went to 203.0.113.7:40123
    assert invite.uri == "sip:1001@10.0.0.5:40123;transport=udp"  # the Contact stays the Request-URI
    assert ";rport" in invite.headers.get("Via")


def test_responses_note_the_real_source_in_the_via():
    line = Line()
    phone = line.phone("1001", host="203.0.113.7", port=40123)
    invite, _ = phone.invite_request("1002", sdp(4000))
    invite.headers.set("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat1;rport")
    phone.send(invite)
    via = phone.last_response("INVITE").headers.get("Via")
    assert via == "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat1;rport=40123;received=203.0.113.7"


def test_a_tcp_phone_is_invited_over_the_connection_it_registered_on():
    line = Line()
    phone = line.phone("1001", transport="tcp", host="203.0.113.8", port=50000)
    phone.contact_host = "10.0.0.6"
    assert phone.register().status == 200
    line.call(line.endpoint.invite, "1001", None, auto_answer=AutoAnswer.NONE, caller=None)
    assert phone.last_request("INVITE").uri == "sip:1001@10.0.0.6:50000;transport=tcp"
    assert line.send_to == []  # no new connection was needed


def test_a_reload_puts_new_credentials_in_force_and_drops_phones_of_stations_no_longer_sip():
    from rccserver.cic.data import CicData, Station
    from rccserver.stations.registrar_events import BindingRemoved

    from tests.stations.phone_line_harness import AMY, BEN

    line = Line()
    amy = registered(line, "1001")
    registered(line, "ben", port=5098)
    changed = Station("BenDesk", "1002", None, type="sip", sip_user="ben", password="new-pw")
    gone = Station("AmyDesk", "1001", None)  # now a simulated station
    line.endpoint.replace_stations(CicData([], [gone, changed], []))
    assert [e.sip_user for e in line.events if isinstance(e, BindingRemoved)] == ["1001"]
    assert not line.endpoint.is_registered("1001") and line.endpoint.is_registered("1002")
    invite, call = amy.invite_request("1002", sdp(4000))
    amy.send(invite)
    challenge = amy.last_response("INVITE")
    amy.ack_response(invite, challenge)
    again, _ = amy.invite_request("1002", sdp(4000), call, amy.client.answer(challenge, method="INVITE",
                                                                             uri=invite.uri))
    amy.send(again)
    assert amy.last_response("INVITE").status == 407  # its credentials no longer open anything
    ben = line.phone("ben", port=5099, password="new-pw")
    dialled_leg(line, ben, "1001")
    assert AMY.password != changed.password and BEN.sip_user == changed.sip_user


def test_a_host_that_keeps_failing_invite_authentication_is_refused_without_a_challenge():
    from rccserver.stations.line_events import InviteRefusedDuringCooldown, InviteSourceBlocked

    line = Line()
    guesser = line.phone("1001", password="wrong")
    statuses = []
    for attempt in range(11):
        invite, call = guesser.invite_request("1002", sdp(4000))
        guesser.send(invite)
        challenge = guesser.last_response("INVITE")
        guesser.ack_response(invite, challenge)
        if challenge.status != 407:
            statuses.append(challenge.status)
            break
        again, _ = guesser.invite_request("1002", sdp(4000), call,
                                          guesser.client.answer(challenge, method="INVITE", uri=invite.uri))
        guesser.send(again)
        statuses.append(guesser.last_response("INVITE").status)
    assert statuses == [407] * 9 + [403, 403]
    assert any(isinstance(e, InviteSourceBlocked) for e in line.events)
    assert any(isinstance(e, InviteRefusedDuringCooldown) for e in line.events)
    assert line.listener.calls == []


def test_a_right_answer_on_an_expired_nonce_is_challenged_again_as_stale():
    line = Line()
    phone = line.phone("1001")
    invite, call = phone.invite_request("1002", sdp(4000))
    phone.send(invite)
    challenge = phone.last_response("INVITE")
    phone.ack_response(invite, challenge)
    line.advance(301)  # the nonce's lifetime
    again, _ = phone.invite_request("1002", sdp(4000), call, phone.client.answer(challenge, method="INVITE",
                                                                                 uri=invite.uri))
    phone.send(again)
    stale = phone.last_response("INVITE")
    assert stale.status == 407
    assert all(parse_challenge(v).stale for v in stale.headers.get_all("Proxy-Authenticate"))


def test_a_require_we_do_not_support_gets_420():
    line = Line()
    phone = line.phone("1001")
    invite, _ = phone.invite_request("1002", sdp(4000), extra=[("Require", "100rel")])
    phone.send(invite)
    response = phone.last_response("INVITE")
    assert (response.status, response.headers.get("Unsupported")) == (420, "100rel")


def test_a_reinvite_of_ours_left_ringing_is_cancelled_when_the_call_ends():
    line = Line()
    phone, call, leg = answered_outgoing(line)
    line.call(leg.reinvite, sdp(6000, "inactive"))
    reinvite = phone.last_request("INVITE")
    phone.respond(reinvite, 180, tag="p")  # and never a final answer
    line.call(leg.hang_up)
    cancel = phone.last_request("CANCEL")
    assert cancel.cseq == (reinvite.cseq[0], "CANCEL") and cancel.to.tag == "p"
    phone.respond(phone.last_request("BYE"), 200, tag="p")
    line.advance(64)
    assert line.endpoint.idle and len(line.scheduler) == 1  # only the registration's expiry is left


def test_a_binding_restored_from_outside_lapses_on_time_even_before_any_input():
    import attrs

    from rccserver.stations.registrar_events import BindingExpired

    line = Line()
    registered(line, "1001")
    [binding] = line.registrar.bindings("1001")
    fresh = Line()
    fresh.registrar.restore_binding(attrs.evolve(binding, expires_at=fresh.now + 100), fresh.now)
    fresh.endpoint.refresh_timers()
    fresh.advance(101)
    assert [e.sip_user for e in fresh.events if isinstance(e, BindingExpired)] == ["1001"]
    later = Line()
    later.registrar.restore_binding(attrs.evolve(binding, expires_at=later.now + 100), later.now)
    later.now += 101  # no timer was armed: the phone line still does not call a lapsed binding
    with pytest.raises(NotRegistered):
        later.endpoint.invite("1001", None, auto_answer=AutoAnswer.NONE, caller=None)
