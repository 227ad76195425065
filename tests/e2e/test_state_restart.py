"""Nothing lost across restarts (SPEC section 11), with the real server process: forwarding
and do-not-disturb set from "Lync" survive a clean stop and a SIGKILL sent the moment the
CSTA response arrives; an older state file is migrated at start; a state file the server
cannot use stops it with exit 2 naming the file and the key."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

import pytest

from rccserver import csta
from rccserver.server.state_sqlite import SCHEMA_VERSION
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.serverproc import repo_env
from testkit.testbed import write_testbed

LINE = "tel:+1001"


def signed_in(server) -> LyncClient:
    client = LyncClient("127.0.0.1", server.sip_port, user="sip:alice@example.com", line=LINE)
    assert client.sign_in().status == 200
    return client


def set_forwarding(client, forwarding_type: str, destination: str | None, ring_count: int | None = None):
    active = destination is not None
    body = (f'<SetForwarding xmlns="{ED3}"><device>{LINE}</device><forwardingType>{forwarding_type}</forwardingType>'
            f"<activateForward>{str(active).lower()}</activateForward>"
            + (f"<forwardDN>{destination}</forwardDN>" if active else "")
            + (f"<ringCount>{ring_count}</ringCount>" if ring_count is not None else "")
            + "</SetForwarding>")
    assert client.csta(body) == csta.SetForwardingResponse()


def set_dnd(client, on: bool) -> None:
    body = (f'<SetDoNotDisturb xmlns="{ED3}"><device>{LINE}</device>'
            f"<doNotDisturbOn>{str(on).lower()}</doNotDisturbOn></SetDoNotDisturb>")
    assert client.csta(body) == csta.SetDoNotDisturbResponse()


def settings_of(server) -> tuple[dict, bool]:
    """({forwarding type: (status, destination, ring count)}, dnd) as Lync reads them after a sign-in."""
    client = signed_in(server)
    try:
        forwarding = client.csta(f'<GetForwarding xmlns="{ED3}"><device>{LINE}</device></GetForwarding>')
        dnd = client.csta(f'<GetDoNotDisturb xmlns="{ED3}"><device>{LINE}</device></GetDoNotDisturb>')
    finally:
        client.sign_out()
        client.close()
    return ({item.forwarding_type: (item.forward_status, item.forward_dn, item.ring_count)
             for item in forwarding.forwarding_list}, dnd.do_not_disturb_on)


@pytest.fixture
def server(tmp_path):
    process = write_testbed(tmp_path / "server")
    yield process
    process.stop()


def test_forwarding_and_dnd_survive_a_clean_stop(server):
    server.start()
    client = signed_in(server)
    set_forwarding(client, "forwardImmediate", "tel:+13175553030")
    set_forwarding(client, "forwardNoAns", "tel:+1002", ring_count=3)
    set_dnd(client, True)
    assert server.stop(signal.SIGTERM) == 0
    assert (server.workdir / "rccserver.db").is_file()  # beside the configuration, by default

    server.start()
    forwarding, dnd = settings_of(server)
    assert forwarding["forwardImmediate"] == (True, "tel:+13175553030", None)
    assert forwarding["forwardNoAns"] == (True, "tel:+1002", 3)
    assert forwarding["forwardBusy"][0] is False
    assert dnd is True
    assert "state-restored" in server.log_text and "forwarding=2 dnd=1" in server.log_text


@pytest.mark.parametrize("step", range(3))
def test_a_setting_confirmed_to_lync_survives_a_sigkill_right_after_the_response(server, step):
    """Each step changes both settings, kills the server as soon as the last response is in,
    and finds the new values after the restart."""
    destinations = ["tel:+13175550001", None, "tel:+13175550003"]
    server.start()
    for index in range(step + 1):
        client = signed_in(server)
        set_dnd(client, index % 2 == 0)
        set_forwarding(client, "forwardImmediate", destinations[index])
        server.stop(signal.SIGKILL)  # the response is in: the kernel takes the process now
        client.close()
        server.start()
        forwarding, dnd = settings_of(server)
        assert dnd is (index % 2 == 0)
        expected = destinations[index]
        assert forwarding["forwardImmediate"][:2] == ((expected is not None), expected)


def test_without_a_state_file_the_settings_live_as_long_as_the_process(server):
    with open(server.config_path, "a") as config:
        config.write('\n[state]\nfile = ""\n')
    server.start()
    client = signed_in(server)
    set_dnd(client, True)
    server.stop(signal.SIGTERM)
    server.start()
    assert settings_of(server)[1] is False
    assert not (server.workdir / "rccserver.db").exists()


def test_a_write_that_fails_answers_a_csta_error_changes_nothing_and_is_logged(server):
    """Another program holds the file's write lock longer than the server waits (5 s):
    the SetDoNotDisturb is refused, DND stays off, and meanwhile other requests are answered."""
    server.start()
    client = signed_in(server)
    locker = sqlite3.connect(server.workdir / "rccserver.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        cseq = client.request("INFO", (f'<SetDoNotDisturb xmlns="{ED3}"><device>{LINE}</device>'
                                       f"<doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>").encode())
        # The reactor is not blocked by the waiting write.
        got = client.csta(f'<GetDoNotDisturb xmlns="{ED3}"><device>{LINE}</device></GetDoNotDisturb>')
        assert got.do_not_disturb_on is False
        refused = csta.decode(client.wait_response(cseq, "INFO", timeout=30).body)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert refused == csta.ErrorCode("systemResourceAvailability", "resourceOutOfService")
    assert "state-write-failed" in server.log_text and "database is locked" in server.log_text
    set_dnd(client, False)  # the lock is gone: writes work again
    client.close()
    assert settings_of(server)[1] is False


def test_a_reload_leaves_the_settings_alone(server):
    server.start()
    client = signed_in(server)
    set_dnd(client, True)
    status, outcome = server.admin("POST", "/api/reload")
    assert status == 200 and outcome["ok"], outcome
    assert settings_of(server)[1] is True
    client.close()


# An older file: version 1 of the schema (no registrations yet), written out here as rccserver wrote it.
VERSION_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE forwarding (station TEXT NOT NULL, forwarding_type TEXT NOT NULL, active INTEGER NOT NULL,
                         destination TEXT, ring_count INTEGER, PRIMARY KEY (station, forwarding_type));
CREATE TABLE dnd (station TEXT PRIMARY KEY, dnd_on INTEGER NOT NULL);
INSERT INTO forwarding VALUES ('1001', 'forwardBusy', 1, '+13175554040', NULL);
INSERT INTO forwarding VALUES ('4711', 'forwardBusy', 1, '+13175554040', NULL);
INSERT INTO dnd VALUES ('1001', 1);
"""


def check_config(server) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rccserver", "check-config", "--config", str(server.config_path)],
                          capture_output=True, text=True, env=repo_env(), timeout=60)


def test_an_older_state_file_is_migrated_at_start_and_keeps_its_settings(server):
    path = server.workdir / "rccserver.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(VERSION_1)
    connection.close()
    checked = check_config(server)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"schema version 1 is migrated to {SCHEMA_VERSION} at the next start" in checked.stdout + checked.stderr
    assert "station(s) 4711" in checked.stdout + checked.stderr  # saved for a station the CIC data has not

    server.start()
    forwarding, dnd = settings_of(server)
    assert forwarding["forwardBusy"] == (True, "tel:+13175554040", None) and dnd is True
    assert f"state-migrated file={path} schema_from=1 schema_to={SCHEMA_VERSION}" in server.log_text
    assert "state-stations-absent" in server.log_text and "stations=4711" in server.log_text
    assert server.stop() == 0
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    connection.close()
    checked = check_config(server)
    assert checked.returncode == 0 and "migrated" not in checked.stdout + checked.stderr


@pytest.mark.parametrize("state, words", [
    ('file = "no-such-directory/rccserver.db"', "does not exist"),
    ('file = "cic.toml"', "not a database"),
    ('backend = "redis"\nredis_url = "redis://127.0.0.1:1/0"', "Redis unreachable"),
])
def test_a_state_store_it_cannot_use_stops_the_server_with_exit_2(server, state, words):
    with open(server.config_path, "a") as config:
        config.write(f"\n[state]\n{state}\n")
    run = subprocess.run([sys.executable, "-m", "rccserver", "run", "--config", str(server.config_path)],
                         capture_output=True, text=True, env=repo_env(), timeout=60, cwd=server.workdir)
    assert run.returncode == 2
    key = "state.redis_url" if "redis" in state else "state.file"
    assert f"{server.config_path}: {key}:" in run.stderr and words in run.stderr
    checked = check_config(server)
    assert checked.returncode == 2 and key in checked.stdout + checked.stderr
