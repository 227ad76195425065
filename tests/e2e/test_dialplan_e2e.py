"""The dial plan in a running server (SPEC section 10), over real TCP: what Lync dials
goes through [dialplan]'s rules, an outside caller shows in Lync as E.164, a DID rings
its station, and a number that goes nowhere is refused naming the called device."""
from __future__ import annotations

import pytest

from rccserver import csta
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.testbed import write_testbed

ALICE_LINE = "tel:+1001"
DIAL_PLAN = r"""
[dialplan]
country_code = "1"

[[dialplan.dial]]
pattern = '^9(\d{10})$'
translation = '+1$1'

[[dialplan.inbound]]
pattern = '^\+1317555(1\d{3})$'
translation = '$1'
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_testbed(tmp_path_factory.mktemp("dialplan"))
    with open(process.config_path, "a", encoding="utf-8") as config:
        config.write(DIAL_PLAN)
    process.start()
    yield process
    assert process.stop() == 0


@pytest.fixture
def alice(server):
    client = LyncClient("127.0.0.1", server.sip_port, user="sip:alice@example.com", line=ALICE_LINE)
    assert client.sign_in().status == 200
    started = client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{ALICE_LINE}'
                          f"</deviceObject></monitorObject></MonitorStart>")
    assert isinstance(started, csta.MonitorStartResponse)
    yield client
    client.sign_out()
    client.close()


def make_call(client, number: str):
    return client.csta(f'<MakeCall xmlns="{ED3}"><callingDevice>{ALICE_LINE}</callingDevice>'
                       f"<calledDirectoryNumber>{number}</calledDirectoryNumber></MakeCall>")


def test_make_call_through_the_dial_rules(server, alice):
    answer = make_call(alice, "tel:9 (317) 555-0188;phone-context=dialstring")
    assert isinstance(answer, csta.MakeCallResponse)
    delivered = alice.wait_event("DeliveredEvent")
    assert delivered.alerting_device == "tel:+13175550188"
    alice.csta(f'<ClearConnection xmlns="{ED3}"><connectionToBeCleared><callID>{answer.calling_device.call_id}'
               f"</callID><deviceID>{ALICE_LINE}</deviceID></connectionToBeCleared></ClearConnection>")
    alice.wait_event("ConnectionClearedEvent")


def test_a_number_that_goes_nowhere_is_refused(server, alice):
    assert make_call(alice, "317 555 0188") == csta.ErrorCode("operation", "invalidCalledDevice")


def test_a_national_caller_shows_as_e164_and_a_did_rings_its_station(server, alice):
    status, body = server.admin("POST", "/api/calls", {"from": "3175550199", "to": "+1 317 555 1001"})
    assert status == 200, body
    delivered = alice.wait_event("DeliveredEvent")
    assert delivered.calling_device == "tel:+13175550199"
    assert delivered.alerting_device == ALICE_LINE
    assert server.admin("POST", f"/api/calls/{body['call_id']}/hangup")[0] == 200
    alice.wait_event("ConnectionClearedEvent")
