"""Bad input gets a precise answer or is dropped, never disturbs other dialogs, and the
endpoint's tables stay as small as the work in flight."""
from __future__ import annotations

from rccserver.common.clock import Scheduler
from rccserver.sip.application import TransactionTimeout
from rccserver.sip.endpoint import Send

from test_endpoint_harness import RSS, Harness, Peer, RecordingApp, establish, finals, only_final, parsed, sip
from rccserver.sip.endpoint import Endpoint


def test_malformed_request_gets_400_naming_the_problem_and_the_dialog_carries_on() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    bad = peer.info().replace(b"Max-Forwards: 70", b"Max-Forwards: lots")
    answer = only_final(h.feed(bad))
    assert answer.status == 400 and "Max-Forwards" in answer.reason
    assert answer.call_id == peer.call_id and answer.cseq[1] == "INFO"
    assert dialog.is_live
    assert only_final(h.feed(peer.info())).status == 200


def test_method_and_cseq_mismatch_is_400_not_501() -> None:
    h = Harness()
    data = Peer().request("FOOBAR", to_tag=False).replace(b"FOOBAR\r\n", b"OPTIONS\r\n")
    answer = only_final(h.feed(data))
    assert answer.status == 400 and "CSeq" in answer.reason


def test_wrong_sip_version_is_505() -> None:
    h = Harness()
    data = Peer().request("OPTIONS", to_tag=False).replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1)
    assert only_final(h.feed(data)).status == 505


def test_malformed_ack_and_malformed_response_are_dropped() -> None:
    h = Harness()
    peer, _, _ = establish(h)
    assert h.feed(peer.request("ACK").replace(b"Max-Forwards: 70", b"Max-Forwards: x")) == []
    garbage_response = b"SIP/2.0 200 OK\r\nVia: nonsense\r\nContent-Length: 0\r\n\r\n"
    assert h.feed(garbage_response) == []
    assert h.feed(b"\x00\x01 not sip at all\r\n\r\n") == []


def test_framing_error_is_answered_from_the_head_when_it_is_readable() -> None:
    h = Harness()
    head = Peer().request("INFO", to_tag=False).split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    h.ep.framing_error(1, 400, "message larger than 65536 bytes", head)
    (answer,) = finals(h.drain())
    assert answer.status == 400 and answer.reason == "message larger than 65536 bytes"
    h.ep.framing_error(1, 400, "bad Content-Length", b"garbage without structure")
    assert h.drain() == []


def test_reason_phrases_from_framing_are_sanitised() -> None:
    h = Harness()
    head = Peer().request("OPTIONS", to_tag=False)
    h.ep.framing_error(1, 400, "two\r\nlines", head)
    (answer,) = finals(h.drain())
    assert answer.reason == "two lines"


def test_rejected_invite_retransmission_and_timer_h() -> None:
    h = Harness()
    peer = Peer()
    invite = peer.invite(content_type="text/plain", body=b"hi")
    answer = only_final(h.feed(invite))
    assert answer.status == 415
    again = h.feed(invite)
    assert [m.status for m in parsed(again)] == [415] and len(h.app.invites) == 1
    assert h.ep.server_transaction_count == 1  # waits for the ACK...
    h.advance(32)
    assert h.ep.server_transaction_count == 0  # ...but not forever (Timer H)


def test_tables_do_not_grow_with_traffic() -> None:
    h = Harness()
    peer, dialog, _ = establish(h)
    baseline_timers = len(h.scheduler)
    for _ in range(2000):
        out = h.feed(peer.info())
        assert len(out) == 1 and isinstance(out[0], Send)
    assert h.ep.server_transaction_count == 0
    seen: list = []
    for _ in range(2000):
        h.ep.send_request(dialog, "INFO", body=b"<e/>", on_outcome=seen.append)
        (req,) = parsed(h.drain())
        h.feed(sip(f"""SIP/2.0 200 OK
            Via: {req.headers.get('Via')}
            From: {req.headers.get('From')}
            To: {req.headers.get('To')}
            Call-ID: {req.call_id}
            CSeq: {req.cseq[0]} INFO"""))
    assert len(seen) == 2000
    assert h.ep.client_transaction_count == 0
    assert len(h.scheduler) == baseline_timers
    assert len(h.scheduler._queue._heap) < 600  # cancelled Timer F entries are compacted
    assert len(h.ep._pending_sends) == 0


def test_unanswered_requests_are_cleaned_up_by_timer_f() -> None:
    h = Harness(session_expires=7200)
    _, dialog, _ = establish(h)
    seen: list = []
    for _ in range(500):
        h.ep.send_request(dialog, "INFO", on_outcome=seen.append)
    h.drain()
    assert h.ep.client_transaction_count == 500
    h.advance(32)
    assert h.ep.client_transaction_count == 0
    assert len(seen) == 500 and all(isinstance(o, TransactionTimeout) for o in seen)


def test_dialogs_are_removed_when_they_end() -> None:
    h = Harness()
    peers = [establish(h)[0] for _ in range(200)]
    for peer in peers:
        h.feed(peer.request("BYE"))
    assert list(h.ep.dialogs) == [] and len(h.app.ended) == 200
    assert h.scheduler.next_deadline() is None


def test_dialog_whose_contact_names_an_unknown_transport_fails_its_sends_instead_of_raising():
    """Found by the wire fuzzer: `transport=thcp` in the Contact of a signed-in dialog."""
    from rccserver.sip.application import TransportFailure
    from rccserver.sip.endpoint import SendTo

    clock = [100.0]
    app = RecordingApp()
    scheduler = Scheduler(lambda: clock[0])
    endpoint = Endpoint(app, domain_name="rcc.example.com", scheduler=scheduler)
    endpoint.connection_made(1, ("127.0.0.1", 5060), "tcp", ("127.0.0.1", 11001))
    invite = (
        b"INVITE sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKthcp\r\n"
        b"From: <sip:alice@example.com>;tag=a\r\nTo: <sip:rcc@rcc.example.com>\r\nCall-ID: thcp@x\r\n"
        b"CSeq: 1 INVITE\r\nContact: <sip:lync@127.0.0.1:5060;transport=thcp>\r\nMax-Forwards: 70\r\n"
        b"Content-Type: application/csta+xml\r\nContent-Length: " + str(len(RSS)).encode() + b"\r\n\r\n" + RSS
    )
    endpoint.receive(1, invite)
    endpoint.take_output()
    endpoint.connection_lost(1)
    (dialog,) = list(endpoint.dialogs)
    outcomes = []
    endpoint.send_request(dialog, "INFO", body=b"x", on_outcome=outcomes.append)
    assert not [o for o in endpoint.take_output() if isinstance(o, SendTo)]
    scheduler.tick(clock[0])
    assert len(outcomes) == 1 and isinstance(outcomes[0], TransportFailure)
    assert "thcp" in outcomes[0].reason


def test_400_reason_phrase_is_bounded_whatever_the_input():
    """Reliability finding F4: the reason phrase named the rejected text in full."""
    app = RecordingApp()
    endpoint = Endpoint(app, domain_name="rcc.example.com", scheduler=Scheduler(lambda: 0.0))
    endpoint.connection_made(1, ("127.0.0.1", 5060), "tcp", ("127.0.0.1", 11001))
    junk = b"%" * 3000
    endpoint.receive(1, b"OPTIONS sip:rcc@rcc.example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\n"
                        b"From: <sip:a@b>;tag=1\r\nTo: <sip:rcc@rcc.example.com>\r\nCall-ID: c\r\n"
                        b"CSeq: 1 OPTIONS\r\nMax-Forwards: " + junk + b"\r\nContent-Length: 0\r\n\r\n")
    (output,) = endpoint.take_output()
    status_line = output.data.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"SIP/2.0 400 ")
    assert len(status_line) <= len(b"SIP/2.0 400 ") + 120
