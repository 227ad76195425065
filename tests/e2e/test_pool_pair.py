"""A pair of real rccserver processes sharing one real redis-server ([state] backend =
"redis", SPEC section 11): a station held through one server is refused to another
user at the other (Cs_StationInUseByAnotherUser) and shared with the same user; a
setting made at A is read at B; a SIGKILLed server's station is free again within
lease_seconds; Redis stopped and started while sessions run loses nothing confirmed,
refuses the logons that need a new lease meanwhile (Cs_StationPoolUnavailable, 503),
confirms a change asked for meanwhile once it is back, and shows in GET /api/health."""
from __future__ import annotations

import signal
import time

import pytest

from rccserver import csta
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.redisproc import RedisProcess, redis_server_path
from testkit.testbed import write_testbed

REDIS_MISSING = "redis-server is missing: run scripts/install-system-deps"

LEASE_SECONDS = 3
ALICE = ("sip:alice@example.com", "tel:+1001")
# The pair's directory gives dave alice's line too: a desk two people use, station 1001.
DAVE = ("sip:dave@example.com", "tel:+1001")
WAIT = 30.0  # upper bound on waiting for something the pool does in the background


def sign_in(server, who) -> tuple[LyncClient, object]:
    client = LyncClient("127.0.0.1", server.sip_port, user=who[0], line=who[1])
    return client, client.sign_in()


def signed_in(server, who) -> LyncClient:
    client, response = sign_in(server, who)
    assert response.status == 200, (response.status, warning(response))
    return client


def refused(server, who) -> object:
    client, response = sign_in(server, who)
    client.close()
    return response


def sign_out(client: LyncClient) -> None:
    client.sign_out()
    client.close()


def eventually_signed_in(server, who, timeout: float) -> LyncClient:
    deadline = time.monotonic() + timeout
    while True:
        client, response = sign_in(server, who)
        if response.status == 200:
            return client
        client.close()
        assert time.monotonic() < deadline, f"still refused: {response.status} {warning(response)}"
        time.sleep(0.2)


def wait_health(server, status: str) -> dict:
    deadline = time.monotonic() + WAIT
    while True:
        code, body = server.admin("GET", "/api/health")
        if code == 200 and body.get("status") == status:
            return body
        assert time.monotonic() < deadline, f"health still {body}"
        time.sleep(0.2)


@pytest.fixture
def redis_server(tmp_path):
    assert redis_server_path() is not None, REDIS_MISSING  # a missing peer fails, never skips
    server = RedisProcess(tmp_path / "redis", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def pair(tmp_path, redis_server):
    servers = []
    for name in ("a", "b"):
        server = write_testbed(tmp_path / name)
        ldif = server.workdir / "directory.ldif"
        ldif.write_text(ldif.read_text().replace("msRTCSIP-Line: tel:+1099", "msRTCSIP-Line: tel:+1001"))
        with open(server.config_path, "a") as config:
            config.write(f'\n[state]\nbackend = "redis"\nredis_url = "{redis_server.url}"\n'
                         f"lease_seconds = {LEASE_SECONDS}\n")
        servers.append(server.start())
    yield servers
    for server in servers:
        server.stop()


def warning(response) -> str:
    return response.headers.get("Warning") or ""


def test_a_station_held_through_a_is_refused_to_another_user_at_b_and_shared_with_the_same_user(pair):
    a, b = pair
    alice_a = signed_in(a, ALICE)
    response = refused(b, DAVE)
    assert response.status == 486
    assert "Cs_StationInUseByAnotherUser" in warning(response) and "Alice" in warning(response)
    alice_b = signed_in(b, ALICE)  # the same user through the other server
    assert "Cs_StationInUseByAnotherUser" in b.log_text and "Cs_Success" in b.log_text
    sign_out(alice_b)
    assert refused(b, DAVE).status == 486  # A still holds it for alice
    sign_out(alice_a)
    dave_b = eventually_signed_in(b, DAVE, WAIT)  # A gave the lease back at once, not after expiry
    assert refused(a, ALICE).status == 486
    sign_out(dave_b)


def _forwarding(client) -> dict:
    answer = client.csta(f'<GetForwarding xmlns="{ED3}"><device>tel:+1001</device></GetForwarding>')
    return {item.forwarding_type: (item.forward_status, item.forward_dn) for item in answer.forwarding_list}


def test_a_setting_made_at_a_is_read_at_b(pair):
    a, b = pair
    alice_b = signed_in(b, ALICE)  # monitoring her station through B
    started = alice_b.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>tel:+1001</deviceObject>'
                           f"</monitorObject></MonitorStart>")
    assert isinstance(started, csta.MonitorStartResponse)
    alice_a = signed_in(a, ALICE)
    body = (f'<SetForwarding xmlns="{ED3}"><device>tel:+1001</device><forwardingType>forwardImmediate'
            f"</forwardingType><activateForward>true</activateForward><forwardDN>tel:+13175553030</forwardDN>"
            f"</SetForwarding>")
    assert alice_a.csta(body) == csta.SetForwardingResponse()
    dnd = f'<SetDoNotDisturb xmlns="{ED3}"><device>tel:+1001</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>'
    assert alice_a.csta(dnd) == csta.SetDoNotDisturbResponse()
    # B applied A's change to its switch: its monitor gets the event.
    assert alice_b.wait_event("DoNotDisturbEvent", timeout=WAIT).do_not_disturb_on is True
    deadline = time.monotonic() + WAIT
    while _forwarding(alice_b).get("forwardImmediate") != (True, "tel:+13175553030"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    get_dnd = f'<GetDoNotDisturb xmlns="{ED3}"><device>tel:+1001</device></GetDoNotDisturb>'
    while not alice_b.csta(get_dnd).do_not_disturb_on:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    sign_out(alice_a)
    sign_out(alice_b)


def test_a_sigkilled_servers_station_is_free_again_within_lease_seconds(pair):
    a, b = pair
    alice_a = signed_in(a, ALICE)
    assert refused(b, DAVE).status == 486
    a.stop(signal.SIGKILL)
    killed = time.monotonic()
    alice_a.close()
    # The user's new INVITE logs on at B at once (her own lease), and signs out again.
    sign_out(signed_in(b, ALICE))
    # A's lease is not renewed any more: dave gets the station once it lapsed.
    dave_b = eventually_signed_in(b, DAVE, LEASE_SECONDS + 5)
    assert time.monotonic() - killed <= LEASE_SECONDS + 5
    sign_out(dave_b)


def test_redis_stopped_and_started_during_a_session_loses_nothing_confirmed(pair, redis_server):
    a, b = pair
    alice_a = signed_in(a, ALICE)
    dnd = f'<SetDoNotDisturb xmlns="{ED3}"><device>tel:+1001</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>'
    assert alice_a.csta(dnd) == csta.SetDoNotDisturbResponse()
    assert wait_health(a, "ok") == {"status": "ok"}

    redis_server.stop()
    body = wait_health(a, "degraded")
    assert redis_server.url in body["state"]
    # A logon that needs a new lease is refused, with its cause logged.
    response = refused(b, DAVE)
    assert response.status == 503 and "Cs_StationPoolUnavailable" in warning(response)
    assert "state-redis-unreachable" in b.log_text
    # The session in progress keeps working.
    get_dnd = f'<GetDoNotDisturb xmlns="{ED3}"><device>tel:+1001</device></GetDoNotDisturb>'
    assert alice_a.csta(get_dnd).do_not_disturb_on is True

    # A change asked for now waits for Redis (up to 10 s), and is confirmed once it is back.
    set_forwarding = (f'<SetForwarding xmlns="{ED3}"><device>tel:+1001</device><forwardingType>forwardBusy'
                      f"</forwardingType><activateForward>true</activateForward><forwardDN>tel:+1002</forwardDN>"
                      f"</SetForwarding>")
    cseq = alice_a.request("INFO", set_forwarding.encode())
    redis_server.start()  # the same port and AOF
    answer = alice_a.wait_response(cseq, "INFO", timeout=WAIT)
    assert answer.status == 200 and csta.decode(answer.body) == csta.SetForwardingResponse()
    wait_health(a, "ok")
    wait_health(b, "ok")
    # A renewed alice's lease: dave is still refused at B; alice at B reads what was confirmed.
    assert refused(b, DAVE).status == 486
    alice_b = signed_in(b, ALICE)
    assert alice_b.csta(get_dnd).do_not_disturb_on is True
    assert _forwarding(alice_b)["forwardBusy"] == (True, "tel:+1002")
    sign_out(alice_b)
    sign_out(alice_a)
    # A server started now reads it from Redis too.
    b.stop()
    b.start()
    alice_b = signed_in(b, ALICE)
    assert alice_b.csta(get_dnd).do_not_disturb_on is True
    assert _forwarding(alice_b)["forwardBusy"] == (True, "tel:+1002")
    sign_out(alice_b)


def test_a_cic_client_logon_through_a_holds_the_station_in_the_pool(pair):
    a, b = pair
    assert a.admin("POST", "/api/stations/1001/login", {"user": "Bob"}) == (200, {"ok": True})
    response = refused(b, ALICE)
    assert response.status == 486 and "Bob" in warning(response)
    status, body = b.admin("POST", "/api/stations/1001/login", {"user": "Carol"})
    assert status == 409 and "Bob" in body["error"]
    assert a.admin("POST", "/api/stations/1001/logout")[0] == 200
    sign_out(eventually_signed_in(b, ALICE, WAIT))
