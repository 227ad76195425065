"""Reading a phone's REFER, the NOTIFYs it earns, and which status a failed fork set reports."""
from __future__ import annotations

import pytest

from rccserver.sip.parser import parse_message
from rccserver.stations.forking import ForkOutcome, best_outcome
from rccserver.stations.legs import Replaces
from rccserver.stations.refer import ReferError, read_refer, sipfrag_notify


def refer(*headers: str):
    lines = ["REFER sip:pbx.example.com SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr1",
             "From: <sip:1001@example.com>;tag=a", "To: <sip:1002@example.com>;tag=b", "Call-ID: c1",
             "CSeq: 7 REFER", *headers]
    return parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())


def test_blind_transfer_names_the_user_part():
    request = read_refer(refer("Refer-To: <sip:%2B44123@example.com;user=phone>"))
    assert (request.target, request.replaces, request.subscription) == ("+44123", None, True)


def test_compact_form_and_tel_uri():
    assert read_refer(refer("r: <tel:+1-555-0100>")).target == "+1-555-0100"


def test_replaces_is_read_from_the_escaped_uri_header():
    request = read_refer(refer("Refer-To: <sip:1003@example.com?Replaces=x%40y%3Bfrom-tag%3Df%3Bto-tag%3Dt>"))
    assert request.replaces == Replaces(call_id="x@y", to_tag="t", from_tag="f")


def test_refer_sub_false_asks_for_no_notifies():
    assert read_refer(refer("Refer-To: <sip:1003@example.com>", "Refer-Sub: false")).subscription is False


@pytest.mark.parametrize("headers", [
    (),
    ("Refer-To: <sip:1003@example.com>", "Refer-To: <sip:1004@example.com>"),
    ("Refer-To: <sip:example.com>",),
    ("Refer-To: <http://example.com/>",),
    ("Refer-To: <sip:1003@example.com?Replaces=x%40y%3Bto-tag%3Dt>",),  # no from-tag
])
def test_refers_we_cannot_act_on(headers):
    with pytest.raises(ReferError):
        read_refer(refer(*headers))


def test_sipfrag_notify_keeps_the_subscription_until_a_final_status():
    headers, body = sipfrag_notify(7, 180)
    assert dict(headers)["Subscription-State"] == "active;expires=60"
    assert dict(headers)["Event"] == "refer;id=7" and body == b"SIP/2.0 180 Ringing\r\n"
    headers, body = sipfrag_notify(7, 503)
    assert dict(headers)["Subscription-State"] == "terminated;reason=noresource"
    assert body == b"SIP/2.0 503 Service Unavailable\r\n"


@pytest.mark.parametrize("outcomes, expected", [
    ([(486, False), (603, False)], 603),  # 6xx wins
    ([(408, True), (486, False)], 486),  # the phone's own answer beats our stand-in
    ([(503, False), (404, False)], 404),  # lower class first
    ([(486, False), (480, False)], 486),  # same class: the first that came
    ([(503, True), (408, True)], 408),  # among stand-ins too, the lower class
    ([(302, False), (486, False)], 302),
])
def test_the_status_a_failed_fork_set_reports(outcomes, expected):
    assert best_outcome(ForkOutcome(s, "x", synthetic) for s, synthetic in outcomes).status == expected
