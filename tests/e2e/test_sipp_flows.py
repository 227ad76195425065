"""Reference section 6 flows driven by SIPp against the real server over TCP, TLS and mutual TLS.

The scenarios (tests/e2e/sipp/*.xml, written by tests/e2e/sipp/generate.py)
check the CSTA bodies themselves; this file plays the outside world through the
admin API (places calls, answers for far ends) from a thread while SIPp runs.
TLS goes through a local stunnel client (Debian's SIPp has no TLS).
"""
from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from rccserver.commands import certs
from testkit.serverproc import ServerProcess
from tests.e2e.sipp import SCENARIOS, StunnelClient, run_scenario
from testkit.testbed import write_testbed

ALICE = "sip:alice@example.com"
ALICE_LINE = "tel:+1001;phone-context=dialstring"  # extra parameter: the echo must be verbatim
ALICE_STATION = "1001"
ADMIN_WAIT = 10.0


def load_generator():
    spec = importlib.util.spec_from_file_location("sipp_scenario_generator", SCENARIOS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()


# -- the outside world, played from a thread ------------------------------------------
class OutsideWorld(threading.Thread):
    """Runs admin-API steps in order while SIPp runs; each step polls with a deadline."""

    def __init__(self, server: ServerProcess, steps: list[Callable[[ServerProcess], None]]) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.steps = steps
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for step in self.steps:
                step(self.server)
        except (AssertionError, TimeoutError, OSError) as error:
            self.error = error


def poll(what: str, probe: Callable[[], object], timeout: float = ADMIN_WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise TimeoutError(f"gave up waiting for {what}")


def monitored_sessions(server: ServerProcess, lync_uri: str) -> set[str]:
    status, sessions = server.admin("GET", "/api/sessions")
    assert status == 200
    return {s["call_id"] for s in sessions if s["lync_uri"] == lync_uri and s["monitors"]}


def place_call_when_monitored(caller: str, known_sessions: set[str]):
    """Once a new session of alice holds a monitor, an outside caller rings her station."""

    def step(server: ServerProcess) -> None:
        poll("alice's new session to start monitoring",
             lambda: monitored_sessions(server, ALICE) - known_sessions)
        status, body = server.admin("POST", "/api/calls", {"from": caller, "to": ALICE_STATION})
        assert status == 200, body

    return step


def far_end_answers(server: ServerProcess) -> None:
    """The external party that is ringing (placed by alice) picks up."""

    def ringing_external():
        status, calls = server.admin("GET", "/api/calls")
        assert status == 200
        for call in calls:
            if any(not p["station"] and p["state"] == "alerting" for p in call["parties"]):
                return call["call_id"]
        return None

    call_id = poll("an external party to ring", ringing_external)
    status, body = server.admin("POST", f"/api/calls/{call_id}/answer")
    assert status == 200, body


def failure_report(result, workdir: Path) -> str:
    """SIPp's own error log first (it names the failed check), then the message trace's end."""
    errors = "\n".join(p.read_text(errors="replace")[:6000] for p in workdir.glob("*_errors.log"))
    trace = "\n".join(p.read_text(errors="replace")[-6000:] for p in workdir.glob("*_messages.log"))
    screen = "\n".join(line for line in result.stdout.splitlines() if "<--" in line or "-->" in line)
    return (f"sipp exit {result.returncode}\n--- errors\n{errors}\n--- screen\n{screen}\n{result.stderr[-2000:]}"
            f"\n--- end of trace\n{trace}")


def sipp_keys(line: str = ALICE_LINE, user: str = ALICE) -> dict[str, str]:
    return {"lync_user": user, "lync_line": line,
            "monitor_start_length": str(GENERATOR.monitor_start_length(line))}


def run_flow(server: ServerProcess, port: int, scenario: str, workdir: Path, steps=()) -> None:
    world = OutsideWorld(server, list(steps))
    world.start()
    result = run_scenario(scenario, port, workdir, variables=sipp_keys(), timeout=20)
    world.join(ADMIN_WAIT * 2)
    assert result.returncode == 0, failure_report(result, workdir)
    assert world.error is None, world.error
    # the scenario cleared or transferred away its calls and signed out
    status, stations = server.admin("GET", "/api/stations")
    desk = next(station for station in stations if station["extension"] == ALICE_STATION)
    assert status == 200 and desk["calls"] == [] and desk["user"] is None, desk
    assert not monitored_sessions(server, ALICE)
    hang_up_outside_calls(server)


def hang_up_outside_calls(server: ServerProcess) -> None:
    """A transferred call goes on between outside parties; end it so the next flow starts clean."""
    status, calls = server.admin("GET", "/api/calls")
    for call in calls:
        assert server.admin("POST", f"/api/calls/{call['call_id']}/hangup")[0] == 200


# -- servers: one per transport --------------------------------------------------------------
@pytest.fixture(scope="module")
def cert_set(tmp_path_factory) -> certs.CertSet:
    return certs.generate(tmp_path_factory.mktemp("sipp-certs"), host="rcc.example.com")


def tls_line(cert_set: certs.CertSet, mutual: bool) -> str:
    return (f'transport = "tls"\nmutual_tls = {str(mutual).lower()}\n'
            f'certificate = "{cert_set.server.certificate}"\nprivate_key = "{cert_set.server.private_key}"\n'
            f'authority_certificates = ["{cert_set.ca}"]')


class Target:
    """Where SIPp connects for one transport: straight to the server, or to stunnel."""

    def __init__(self, name: str, server: ServerProcess, port: int) -> None:
        self.name = name
        self.server = server
        self.port = port


@pytest.fixture(scope="module", params=["tcp", "tls", "mtls"])
def target(request, tmp_path_factory, cert_set):
    workdir = tmp_path_factory.mktemp(f"sipp-{request.param}")
    extra = "" if request.param == "tcp" else tls_line(cert_set, request.param == "mtls")
    server = write_testbed(workdir / "server", line_extra=extra).start()
    tunnel = None
    try:
        if request.param == "tcp":
            yield Target("tcp", server, server.sip_port)
        else:
            client = cert_set.client if request.param == "mtls" else None
            tunnel = StunnelClient(workdir, server.sip_port, ca=cert_set.ca,
                                   cert=client.certificate if client else None,
                                   key=client.private_key if client else None).__enter__()
            yield Target(request.param, server, tunnel.port)
    finally:
        if tunnel is not None:
            tunnel.__exit__(None, None, None)
        assert server.stop() == 0


# -- tests ---------------------------------------------------------------------------------------
def test_committed_scenarios_match_the_generator():
    for name, text in GENERATOR.generated().items():
        assert (SCENARIOS / name).read_text() == text, f"{name} is stale: run python tests/e2e/sipp/generate.py"


def test_options(target, tmp_path):
    result = run_scenario("options.xml", target.port, tmp_path)
    assert result.returncode == 0, failure_report(result, tmp_path)


def test_sign_in_and_out(target, tmp_path):
    run_flow(target.server, target.port, "sign_in_out.xml", tmp_path)
    assert "Cs_Success" in target.server.log_text


def test_inbound_call_answered_from_lync(target, tmp_path):
    known = monitored_sessions(target.server, ALICE)
    run_flow(target.server, target.port, "inbound_answer.xml", tmp_path,
             [place_call_when_monitored("tel:+13175550199", known)])


def test_make_call_hold_retrieve(target, tmp_path):
    run_flow(target.server, target.port, "make_call_hold.xml", tmp_path, [far_end_answers])


def test_blind_transfer(target, tmp_path):
    known = monitored_sessions(target.server, ALICE)
    run_flow(target.server, target.port, "transfer_blind.xml", tmp_path,
             [place_call_when_monitored("tel:+13175550111", known)])


def test_consultative_transfer(target, tmp_path):
    known = monitored_sessions(target.server, ALICE)
    run_flow(target.server, target.port, "transfer_consult.xml", tmp_path,
             [place_call_when_monitored("tel:+13175550112", known), far_end_answers])


def test_forwarding_on_and_off(target, tmp_path):
    run_flow(target.server, target.port, "forwarding.xml", tmp_path)


def test_refresh_by_update_and_reinvite(target, tmp_path):
    run_flow(target.server, target.port, "refresh.xml", tmp_path)


def test_mutual_tls_refuses_a_client_without_certificate(tmp_path, cert_set):
    server = write_testbed(tmp_path / "server", line_extra=tls_line(cert_set, mutual=True)).start()
    try:
        with StunnelClient(tmp_path, server.sip_port, ca=cert_set.ca) as tunnel:
            result = run_scenario("options.xml", tunnel.port, tmp_path, timeout=5)
        log = server.log_text
    finally:
        assert server.stop() == 0
    assert result.returncode != 0, "an OPTIONS without a client certificate was answered under mutual TLS"
    successful = [line for line in result.stdout.splitlines() if line.strip().startswith("Successful call")]
    assert successful and successful[-1].split("|")[-1].strip() == "0", successful
    assert "connection-rejected" in log and "certificate" in log, log


def test_a_wrong_body_value_fails_the_scenario(tmp_path):
    """The scenarios' value checks bite: expect the Line where the monitorCrossRefID stands."""
    server = write_testbed(tmp_path / "server").start()
    try:
        broken = (SCENARIOS / "forwarding.xml").read_text().replace('variable2="xref"', 'variable2="line"')
        assert broken != (SCENARIOS / "forwarding.xml").read_text()
        (tmp_path / "broken.xml").write_text(broken)
        result = run_scenario(str(tmp_path / "broken.xml"), server.sip_port, tmp_path, variables=sipp_keys())
    finally:
        assert server.stop() == 0
    assert result.returncode != 0
    errors = "".join(p.read_text() for p in tmp_path.glob("*_errors.log"))
    assert "ForwardingEvent monitorCrossRefID: got 1," in errors, errors
