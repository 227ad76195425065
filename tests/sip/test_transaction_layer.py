"""The transaction layer driven by a hand-moved clock, over UDP and over TCP.

Expected times are written out from RFC 3261 17.1.1.2, 17.1.2.2, 17.2.1,
17.2.2 and 13.3.1.4 with the default T1 = 0.5 s, T2 = 4 s, T4 = 5 s.
"""
from __future__ import annotations

import pytest

from rccserver.sip.message import Request, Response
from rccserver.sip.parser import parse_message
from rccserver.sip.transaction_layer import (
    Ended,
    TimedOut,
    ToTU,
    TransactionLayer,
    Transmit,
    TransportFailed,
)
from rccserver.sip.transaction_matching import ClientKey, server_key_of
from rccserver.sip.transaction_tables import (
    ClientInviteState,
    InvalidTransition,
    ServerInviteState,
    ServerNonInviteState,
)
from rccserver.sip.uas_2xx_retransmission import AckTimedOut, Resend2xx, Uas2xxRetransmission

from transaction_helpers import PEER, Clock, answer, gaps, our_request, peer_request, transmit_times


def of_type(outputs, kind):
    return [o for o in outputs if isinstance(o, kind)]


def sent(outputs) -> list[Request | Response]:
    return [parse_message(o.data) for o in of_type(outputs, Transmit)]


# --------------------------------------------------------------------------
# Client transactions: our requests


def test_an_unanswered_invite_over_udp_is_sent_seven_times_and_times_out_at_32_s() -> None:
    # 17.1.1.2: Timer A starts at T1 and doubles after each transmission (no T2
    # cap for INVITE), Timer B gives up at 64*T1.
    layer = TransactionLayer()
    clock = Clock(layer)
    key, out = layer.send_request(our_request("INVITE"), 0.0, destination=PEER, reliable=False)
    assert [o.destination for o in of_type(out, Transmit)] == [PEER]
    fired = clock.advance_to(60)
    times = [0.0, *transmit_times(fired)]
    assert times == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert gaps(times) == [0.5, 1, 2, 4, 8, 16]
    assert [(when, type(o)) for when, o in fired if not isinstance(o, Transmit)] == [(32.0, TimedOut), (32.0, Ended)]
    assert layer.client_count == 0 and layer.timer_count == 0


def test_an_unanswered_non_invite_over_udp_retransmits_at_t1_doubling_to_t2_and_times_out_at_32_s() -> None:
    # 17.1.2.2: Timer E at T1, doubling, capped at T2; Timer F at 64*T1.
    layer = TransactionLayer()
    clock = Clock(layer)
    layer.send_request(our_request("NOTIFY"), 0.0, destination=PEER, reliable=False)
    fired = clock.advance_to(60)
    times = [0.0, *transmit_times(fired)]
    assert gaps(times) == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]
    assert times[-1] == 31.5
    assert [(when, type(o)) for when, o in fired if not isinstance(o, Transmit)] == [(32.0, TimedOut), (32.0, Ended)]


def test_after_a_provisional_timer_e_runs_at_t2_and_the_final_response_ends_it_after_timer_k() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    request = our_request("NOTIFY")
    key, _ = layer.send_request(request, 0.0, destination=PEER, reliable=False)
    assert transmit_times(clock.advance_to(0.7)) == [0.5]
    out = layer.receive_response(answer(request, 100, to_tag=None), 0.7)
    assert [type(o) for o in out] == [ToTU] and out[0].message.status == 100
    # The pending Timer E (due at 1.5) still fires; from then on it runs at T2.
    assert transmit_times(clock.advance_to(10.0)) == [1.5, 5.5, 9.5]
    final = answer(request, 200)
    out = layer.receive_response(final, 10.0)
    assert out == [ToTU(key, final)]
    assert layer.receive_response(final, 11.0) == []  # a copy is absorbed in Completed
    fired = clock.advance_to(20.0)
    assert fired == [(15.0, Ended(key))]  # Timer K = T4


def test_over_tcp_our_requests_are_sent_once() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = our_request("INVITE", transport="TCP")
    notify = our_request("NOTIFY", branch="z9hG4bKours2", transport="TCP")
    _, first = layer.send_request(invite, 0.0, destination=PEER, reliable=True)
    notify_key, second = layer.send_request(notify, 0.0, destination=PEER, reliable=True)
    assert len(of_type(first + second, Transmit)) == 2
    fired = clock.advance_to(31.9)
    assert fired == []
    # Timer K is zero on TCP: the final response ends the NOTIFY's transaction at once.
    out = layer.receive_response(answer(notify, 200), 31.9)
    assert [type(o) for o in out] == [ToTU, Ended]
    fired = clock.advance_to(60)
    assert [type(o) for _, o in fired] == [TimedOut, Ended]  # Timer B still runs on TCP
    assert layer.timer_count == 0


def test_a_rejected_invite_is_acked_by_the_transaction_once_per_final_response_copy() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = our_request("INVITE")
    key, _ = layer.send_request(invite, 0.0, destination=PEER, reliable=False)
    ringing = answer(invite, 180)
    assert layer.receive_response(ringing, 0.2) == [ToTU(key, ringing)]
    assert layer.state_of(key) is ClientInviteState.PROCEEDING
    assert clock.advance_to(5.0) == []  # no more INVITE copies in Proceeding
    busy = answer(invite, 486)
    out = layer.receive_response(busy, 5.0)
    assert [type(o) for o in out] == [Transmit, ToTU] and out[1].message is busy
    (ack,) = sent(out)
    # 17.1.1.3, checked field by field against the INVITE and the response.
    assert ack.method == "ACK" and ack.uri == invite.uri
    assert ack.call_id == invite.call_id
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.headers.get("To") == "<sip:phone@example.com>;tag=phone1"
    assert ack.headers.get_all("Via") == ["SIP/2.0/UDP rcc.example.com:5060;branch=z9hG4bKours1"]
    assert ack.cseq == (7, "ACK")
    assert ack.headers.get_all("Route") == ["<sip:sbc.example.com;lr>", "<sip:edge.example.com;lr>"]
    assert "Contact" not in ack.headers and ack.body == b""
    # A copy of the 486 gets the same ACK again and does not reach the TU.
    again = layer.receive_response(busy, 6.0)
    assert [o.data for o in again] == [out[0].data]
    fired = clock.advance_to(40)
    assert fired == [(37.0, Ended(key))]  # Timer D = 32 s over UDP


def test_over_tcp_timer_d_is_zero() -> None:
    layer = TransactionLayer()
    invite = our_request("INVITE", transport="TCP")
    key, _ = layer.send_request(invite, 0.0, destination=PEER, reliable=True)
    out = layer.receive_response(answer(invite, 603), 1.0)
    assert [type(o) for o in out] == [Transmit, ToTU, Ended]
    assert layer.client_count == 0 and layer.timer_count == 0


def test_every_2xx_goes_to_the_tu_which_acks_it_and_timer_m_ends_the_transaction() -> None:
    # RFC 6026: the transaction never ACKs a 2xx; each copy goes up.
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = our_request("INVITE")
    key, _ = layer.send_request(invite, 0.0, destination=PEER, reliable=False)
    ok = answer(invite, 200)
    assert layer.receive_response(ok, 0.3) == [ToTU(key, ok)]
    assert layer.receive_response(ok, 0.8) == [ToTU(key, ok)]
    assert layer.state_of(key) is ClientInviteState.ACCEPTED
    fired = clock.advance_to(40)
    assert fired == [(32.3, Ended(key))]  # Timer M, no timeout reported


def test_responses_match_by_top_via_branch_and_cseq_method() -> None:
    layer = TransactionLayer()
    invite = our_request("INVITE")
    key, _ = layer.send_request(invite, 0.0, destination=PEER, reliable=False)
    other_branch = answer(our_request("INVITE", branch="z9hG4bKsomeoneelse"), 486)
    assert layer.receive_response(other_branch, 0.1) == []
    # Same branch, but the CSeq names CANCEL: that is another transaction (17.1.3).
    cancel_answer = answer(our_request("CANCEL"), 200)
    assert layer.receive_response(cancel_answer, 0.1) == []
    assert layer.state_of(key) is ClientInviteState.CALLING


def test_a_cancel_waits_for_a_provisional_and_then_goes_as_its_own_transaction() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = our_request("INVITE")
    key, _ = layer.send_request(invite, 0.0, destination=PEER, reliable=False)
    assert layer.cancel(key, 0.1) == []  # 9.1: not before a provisional
    ringing = answer(invite, 180)
    out = layer.receive_response(ringing, 0.3)
    assert [type(o) for o in out] == [ToTU, Transmit]
    (cancel,) = sent(out)
    cancel_key = ClientKey("z9hG4bKours1", "CANCEL")
    assert out[1].key == cancel_key and out[1].destination == PEER
    # 9.1, field by field: as the INVITE, To without the peer's tag, one Via, the Routes.
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    assert [cancel.headers.get(h) for h in ("From", "To", "Call-ID")] == [
        invite.headers.get(h) for h in ("From", "To", "Call-ID")]
    assert cancel.cseq == (7, "CANCEL")
    assert cancel.headers.get_all("Via") == invite.headers.get_all("Via")
    assert cancel.headers.get_all("Route") == invite.headers.get_all("Route")
    assert layer.cancel(key, 0.4) == []  # one CANCEL is enough
    # The CANCEL is a non-INVITE transaction: Timer E retransmits it over UDP.
    assert transmit_times(clock.advance_to(0.8)) == [0.8]
    cancelled = answer(cancel, 200)
    assert layer.receive_response(cancelled, 0.9) == [ToTU(cancel_key, cancelled)]
    terminated = answer(invite, 487)
    out = layer.receive_response(terminated, 1.0)
    assert [type(o) for o in out] == [Transmit, ToTU] and sent(out)[0].method == "ACK"
    assert layer.state_of(key) is ClientInviteState.COMPLETED


def test_without_a_final_response_the_cancelled_invite_is_given_up_after_64_t1() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = our_request("INVITE", transport="TCP")
    key, _ = layer.send_request(invite, 0.0, destination=PEER, reliable=True)
    layer.receive_response(answer(invite, 180), 1.0)
    assert clock.advance_to(100) == []  # Proceeding waits for the peer as long as it takes
    out = layer.cancel(key, 100.0)
    cancel_key = ClientKey("z9hG4bKours1", "CANCEL")
    layer.receive_response(answer(parse_message(out[0].data), 200), 100.1)  # the CANCEL is answered...
    fired = clock.advance_to(200)
    assert fired == [(132.0, TimedOut(key)), (132.0, Ended(key))]  # ...but the 487 never comes
    assert layer.state_of(cancel_key) is None and layer.timer_count == 0


def test_a_cancel_after_the_final_response_does_nothing() -> None:
    layer = TransactionLayer()
    invite = our_request("INVITE")
    key, _ = layer.send_request(invite, 0.0, destination=PEER, reliable=False)
    layer.receive_response(answer(invite, 200), 0.1)
    assert layer.cancel(key, 0.2) == []
    with pytest.raises(ValueError):
        layer.cancel(ClientKey("z9hG4bKours1", "NOTIFY"), 0.2)


def test_transport_errors_reach_the_tu_once() -> None:
    layer = TransactionLayer()
    key, _ = layer.send_request(our_request("NOTIFY"), 0.0, destination=PEER, reliable=False)
    assert layer.transport_error(key, 0.1) == [TransportFailed(key), Ended(key)]
    assert layer.transport_error(key, 0.2) == []  # late: the transaction has ended
    assert layer.timer_count == 0


def test_send_request_refuses_what_is_not_a_client_transaction() -> None:
    layer = TransactionLayer()
    with pytest.raises(ValueError, match="ACK"):
        layer.send_request(our_request("ACK"), 0.0, destination=PEER, reliable=False)
    with pytest.raises(ValueError, match="branch"):
        layer.send_request(our_request("BYE", branch="1234"), 0.0, destination=PEER, reliable=False)
    mismatched = our_request("BYE")
    mismatched.headers.set("CSeq", "7 INFO")
    with pytest.raises(ValueError, match="CSeq"):
        layer.send_request(mismatched, 0.0, destination=PEER, reliable=False)
    layer.send_request(our_request("BYE"), 0.0, destination=PEER, reliable=False)
    with pytest.raises(ValueError, match="already"):
        layer.send_request(our_request("BYE"), 0.0, destination=PEER, reliable=False)
    assert layer.client_count == 1


# --------------------------------------------------------------------------
# Server transactions: requests we receive


def test_a_retransmitted_request_is_answered_from_the_transaction_and_reaches_the_tu_once() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    notify = peer_request("NOTIFY")
    out = layer.receive_request(notify, 0.0, destination=PEER, reliable=False)
    key = server_key_of(notify)
    assert out == [ToTU(key, notify)]
    assert layer.receive_request(notify, 0.5, destination=PEER, reliable=False) == []  # Trying: no answer yet
    ok = answer(notify, 200, to_tag="rcc1")
    (first,) = layer.send_response(key, ok, 0.8)
    for when in (1.5, 3.5, 7.5):
        (again,) = layer.receive_request(notify, when, destination=PEER, reliable=False)
        assert again.data == first.data
    assert layer.state_of(key) is ServerNonInviteState.COMPLETED
    assert clock.advance_to(40) == [(32.8, Ended(key))]  # Timer J = 64*T1 over UDP
    # After Timer J a copy would be a new request: J outlives the peer's Timer F.
    assert of_type(layer.receive_request(notify, 40.0, destination=PEER, reliable=False), ToTU)


def test_over_tcp_the_server_non_invite_transaction_ends_with_its_final_response() -> None:
    layer = TransactionLayer()
    notify = peer_request("NOTIFY", transport="TCP")
    layer.receive_request(notify, 0.0, destination=PEER, reliable=True)
    out = layer.send_response(server_key_of(notify), answer(notify, 200, to_tag="rcc1"), 0.1)
    assert [type(o) for o in out] == [Transmit, Ended]  # Timer J = 0


def test_a_second_final_response_from_the_tu_raises_and_changes_nothing() -> None:
    layer = TransactionLayer()
    notify = peer_request("NOTIFY")
    key = server_key_of(notify)
    layer.receive_request(notify, 0.0, destination=PEER, reliable=False)
    (first,) = layer.send_response(key, answer(notify, 200, to_tag="rcc1"), 0.1)
    with pytest.raises(InvalidTransition):
        layer.send_response(key, answer(notify, 500, to_tag="rcc1"), 0.2)
    (again,) = layer.receive_request(notify, 0.3, destination=PEER, reliable=False)
    assert again.data == first.data


def test_a_rejection_is_retransmitted_by_timer_g_until_the_ack_then_absorbs_for_t4() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = peer_request("INVITE")
    key = server_key_of(invite)
    layer.receive_request(invite, 0.0, destination=PEER, reliable=False)
    busy = answer(invite, 486, to_tag="rcc1")
    (first,) = layer.send_response(key, busy, 1.0)
    fired = clock.advance_to(10.0)
    times = [1.0, *transmit_times(fired)]
    assert gaps(times) == [0.5, 1, 2, 4]  # 17.2.1: T1 doubling up to T2
    assert all(o.data == first.data for _, o in fired)
    ack = peer_request("ACK", to_tag="rcc1")  # the non-2xx ACK keeps the INVITE's branch
    assert layer.receive_request(ack, 10.0, destination=PEER, reliable=False) == []
    assert layer.state_of(key) is ServerInviteState.CONFIRMED
    assert layer.receive_request(ack, 11.0, destination=PEER, reliable=False) == []
    assert layer.receive_request(invite, 11.0, destination=PEER, reliable=False) == []
    assert clock.advance_to(40) == [(15.0, Ended(key))]  # Timer I = T4


def test_timer_h_gives_up_waiting_for_the_ack_after_64_t1() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = peer_request("INVITE")
    key = server_key_of(invite)
    layer.receive_request(invite, 0.0, destination=PEER, reliable=False)
    layer.send_response(key, answer(invite, 404, to_tag="rcc1"), 0.0)
    fired = clock.advance_to(40)
    times = [0.0, *transmit_times(fired)]
    assert gaps(times) == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]
    assert [(when, o) for when, o in fired if not isinstance(o, Transmit)] == [(32.0, TimedOut(key)), (32.0, Ended(key))]


def test_over_tcp_a_rejection_is_sent_once_and_the_ack_ends_the_transaction() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = peer_request("INVITE", transport="TCP")
    key = server_key_of(invite)
    layer.receive_request(invite, 0.0, destination=PEER, reliable=True)
    assert len(layer.send_response(key, answer(invite, 486, to_tag="rcc1"), 0.0)) == 1
    assert clock.advance_to(20) == []  # no Timer G
    out = layer.receive_request(peer_request("ACK", to_tag="rcc1", transport="TCP"), 20.0, destination=PEER, reliable=True)
    assert out == [Ended(key)]  # Timer I = 0


def test_a_lost_200_to_an_invite_over_udp_is_retransmitted_until_the_ack() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = peer_request("INVITE")
    key = server_key_of(invite)
    assert [type(o) for o in layer.receive_request(invite, 0.0, destination=PEER, reliable=False)] == [ToTU]
    ok = answer(invite, 200, to_tag="rcc1")
    (sent_ok,) = layer.send_response(key, ok, 0.0)
    uas = Uas2xxRetransmission(sent_ok.data, 0.0)
    # The 200 is lost; the phone retransmits its INVITE: the transaction answers
    # it with the 200, and the TU does not see the INVITE again.
    out = layer.receive_request(invite, 0.5, destination=PEER, reliable=False)
    assert [o.data for o in out] == [sent_ok.data]
    resent: list[float] = []
    while (deadline := uas.next_deadline()) is not None and deadline < 12.0:
        resent += [deadline for r in uas.tick(deadline) if isinstance(r, Resend2xx) and r.data == sent_ok.data]
    assert resent == [0.5, 1.5, 3.5, 7.5, 11.5]  # 13.3.1.4: T1 doubling up to T2
    # The ACK for a 2xx has a branch of its own; the layer still finds the INVITE by dialog.
    ack = peer_request("ACK", branch="z9hG4bKpeerack", to_tag="rcc1")
    out = layer.receive_request(ack, 12.0, destination=PEER, reliable=False)
    assert out == [ToTU(key, ack)]
    uas.acknowledged(12.0)
    assert uas.next_deadline() is None and uas.tick(100) == []
    assert layer.state_of(key) is ServerInviteState.CONFIRMED
    assert clock.advance_to(40) == [(17.0, Ended(key))]
    assert layer.timer_count == 0


def test_without_an_ack_the_2xx_retransmission_and_timer_l_both_give_up_at_64_t1() -> None:
    layer = TransactionLayer()
    clock = Clock(layer)
    invite = peer_request("INVITE")
    key = server_key_of(invite)
    layer.receive_request(invite, 0.0, destination=PEER, reliable=False)
    (sent_ok,) = layer.send_response(key, answer(invite, 200, to_tag="rcc1"), 0.0)
    uas = Uas2xxRetransmission(sent_ok.data, 0.0)
    events: list[tuple[float, object]] = []
    while (deadline := uas.next_deadline()) is not None:
        events += [(deadline, r) for r in uas.tick(deadline)]
    resends = [when for when, r in events if isinstance(r, Resend2xx)]
    assert gaps([0.0, *resends]) == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]
    assert events[-1] == (32.0, AckTimedOut())
    assert clock.advance_to(40) == [(32.0, TimedOut(key)), (32.0, Ended(key))]


def test_over_tcp_the_uas_core_only_waits_for_the_ack() -> None:
    uas = Uas2xxRetransmission(b"SIP/2.0 200 OK\r\n\r\n", 10.0, reliable=True)
    assert uas.next_deadline() == 42.0
    assert uas.tick(41.9) == []
    assert uas.tick(42.0) == [AckTimedOut()]
    uas.acknowledged(43.0)  # too late, and harmless
    assert uas.next_deadline() is None


def test_a_stray_ack_goes_to_the_tu_and_a_stray_response_is_dropped() -> None:
    layer = TransactionLayer()
    ack = peer_request("ACK", to_tag="unknown")
    assert layer.receive_request(ack, 0.0, destination=PEER, reliable=False) == [ToTU(server_key_of(ack), ack)]
    assert layer.receive_response(answer(our_request("BYE"), 200), 0.0) == []
    assert layer.server_count == 0 and layer.client_count == 0


def test_a_response_for_an_ended_transaction_is_dropped() -> None:
    layer = TransactionLayer()
    bye = peer_request("BYE", to_tag="rcc1", transport="TCP")
    key = server_key_of(bye)
    layer.receive_request(bye, 0.0, destination=PEER, reliable=True)
    layer.send_response(key, answer(bye, 100), 0.0)
    assert layer.transport_error(key, 0.1) == [TransportFailed(key), Ended(key)]
    assert layer.send_response(key, answer(bye, 200), 0.2) == []


def test_a_transport_error_in_proceeding_keeps_the_invite_transaction() -> None:
    # RFC 6026: the TU is told, and a retransmitted INVITE is still no new one.
    layer = TransactionLayer()
    invite = peer_request("INVITE")
    key = server_key_of(invite)
    layer.receive_request(invite, 0.0, destination=PEER, reliable=False)
    layer.send_response(key, answer(invite, 180, to_tag="rcc1"), 0.0)
    assert layer.transport_error(key, 0.1) == [TransportFailed(key)]
    (resent,) = layer.receive_request(invite, 0.5, destination=PEER, reliable=False)
    assert parse_message(resent.data).status == 180


def test_the_latest_copy_of_a_request_says_where_answers_go() -> None:
    layer = TransactionLayer()
    invite = peer_request("INVITE")
    key = server_key_of(invite)
    layer.receive_request(invite, 0.0, destination=("192.0.2.10", 5060), reliable=False)
    layer.send_response(key, answer(invite, 100), 0.0)
    (resent,) = layer.receive_request(invite, 0.5, destination=("192.0.2.10", 5062), reliable=False)
    assert resent.destination == ("192.0.2.10", 5062)


def test_a_late_tick_keeps_retransmission_intervals_exact() -> None:
    layer = TransactionLayer()
    layer.send_request(our_request("NOTIFY"), 0.0, destination=PEER, reliable=False)
    late = layer.tick(3.0)  # 0.5 and 1.5 were due; the next is 3.5 whatever the lateness
    assert [type(o) for o in late] == [Transmit, Transmit]
    assert layer.next_deadline() == 3.5
