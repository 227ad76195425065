"""The dial plan seen from Lync (SPEC section 10), through the whole core: outside
parties appear as E.164 tel URIs whenever they have an E.164 form; what the user
dials goes through the dial rules; the client's own line is echoed as it sent it."""
from __future__ import annotations

import pytest

from rccserver import csta
from rccserver.dialplan import DialPlan, Rule
from tests.rcc.rcc_harness import Core, Lync, server_requests

ED3 = csta.ED3
PLAN = DialPlan(dial=[Rule(r"^9(\d{10})$", "+1$1"), Rule(r"^(\d{4})$", "$1")], country_code="1")


def signed_in(core: Core) -> Lync:
    alice = Lync(core)  # line tel:+1001, station 1001 (the demo data)
    assert alice.sign_in().status == 200
    alice.monitor()
    return alice


def events(core: Core, since: int | None = None) -> list:
    """The CSTA events sent since `since` (an index into core.sent), or now being flushed."""
    core.app.events.flush()
    core.drain()
    sent = core.sent[since:] if since is not None else core.sent
    return [message for message in (csta.decode(info.body) for info in server_requests(sent, "INFO"))
            if type(message).__name__.endswith("Event")]


@pytest.mark.parametrize("caller, shown", [
    ("+13175550199", "tel:+13175550199"),
    ("tel:+1 (317) 555-0199", "tel:+13175550199"),
    ("3175550199", "tel:+13175550199"),  # national: made E.164 with country_code 1
    ("+442079460018", "tel:+442079460018"),
    ("5550199", "tel:5550199"),  # no E.164 form: shown as it is
    ("+15555550199", "tel:+15555550199"),  # area code 555 does not exist: as it is
])
def test_an_outside_caller_shows_as_e164_in_delivered(caller, shown):
    core = Core(session_timeout=0, dial_plan=PLAN)
    signed_in(core)
    start = len(core.sent)
    core.switch.place_call(caller, "1001")
    (delivered,) = events(core, start)
    assert isinstance(delivered, csta.DeliveredEvent)
    assert delivered.calling_device == shown
    assert delivered.called_device == delivered.alerting_device == "tel:+1001"  # our line, as sent


def test_without_a_dial_plan_a_national_caller_is_shown_as_it_came():
    core = Core(session_timeout=0)
    signed_in(core)
    start = len(core.sent)
    core.switch.place_call("3175550199", "1001")
    (delivered,) = events(core, start)
    assert delivered.calling_device == "tel:3175550199"


def make_call(alice: Lync, number: str):
    return alice.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>{alice.line}</callingDevice>'
                      f"<calledDirectoryNumber>{number}</calledDirectoryNumber></MakeCall>")


def test_make_call_goes_through_the_dial_rules_and_events_show_the_e164_number():
    core = Core(session_timeout=0, dial_plan=PLAN)
    alice = signed_in(core)
    start = len(core.sent)
    answer = make_call(alice, "tel:9 (317) 555-0188;phone-context=dialstring")
    assert isinstance(answer, csta.MakeCallResponse)
    assert answer.calling_device.device_id == "tel:+1001"
    assert answer.called_device == "tel:9 (317) 555-0188;phone-context=dialstring"  # echoed as sent
    kinds = {type(event).__name__: event for event in events(core, start)}
    assert kinds["OriginatedEvent"].called_device == "tel:+13175550188"
    assert kinds["DeliveredEvent"].alerting_device == "tel:+13175550188"
    assert kinds["OriginatedEvent"].calling_device == "tel:+1001"


def test_make_call_to_a_station_by_extension_and_a_number_that_goes_nowhere():
    core = Core(session_timeout=0, dial_plan=PLAN)
    alice = signed_in(core)
    start = len(core.sent)
    assert isinstance(make_call(alice, "1002"), csta.MakeCallResponse)
    delivered = [e for e in events(core, start) if isinstance(e, csta.DeliveredEvent)]
    assert delivered[0].alerting_device == "tel:+1002"  # station 1002's identification address
    refused = make_call(alice, "317 555 0188")  # no rule makes it international
    assert refused == csta.ErrorCode("operation", "invalidCalledDevice")


def test_get_forwarding_shows_the_destination_as_e164():
    core = Core(session_timeout=0, dial_plan=PLAN)
    alice = signed_in(core)
    answer = alice.csta(f'<SetForwarding xmlns="{ED3}"><device>{alice.line}</device>'
                        f"<forwardingType>forwardImmediate</forwardingType><forwardDN>93175550188</forwardDN>"
                        f"<activateForward>true</activateForward></SetForwarding>")
    assert isinstance(answer, csta.SetForwardingResponse)
    forwarding = alice.csta(f'<GetForwarding xmlns="{ED3}"><device>{alice.line}</device></GetForwarding>')
    immediate = next(item for item in forwarding.forwarding_list if item.forwarding_type == "forwardImmediate")
    assert (immediate.forward_status, immediate.forward_dn) == (True, "tel:+13175550188")
