"""The guide's troubleshooting table is true: every logon code of SPEC section 6
has a row with the right SIP answer, and for each code the probe shows that
code and that answer on its `logon (INVITE)` step, and the RCCServer log has
the `logon code=` line the guide tells administrators to look for."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rccserver.rcc import logon, pool
from testkit.testbed import write_testbed

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "admin-guide.md"
ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 486: "Busy Here"}


def troubleshooting() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    return re.search(r"^## Troubleshooting\n(.*?)(?=^## )", text, re.M | re.S).group(1)


def code_rows() -> dict[str, list[str]]:
    rows = {}
    for line in troubleshooting().splitlines():
        match = re.match(r"^\| `(Cs_\w+)` \|", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in line.strip("|").split("|")]
    return rows


def test_every_logon_code_has_a_row_with_its_sip_answer():
    rows = code_rows()
    # SPEC 6's codes, and the pool's own refusal when Redis cannot be asked (rcc/pool.py).
    codes = {**logon.STATUS, pool.POOL_UNAVAILABLE_CODE: pool.POOL_UNAVAILABLE_STATUS}
    assert set(rows) == set(codes)
    for code, status in codes.items():
        answer = rows[code][1]
        expected = "415 / 400" if code == logon.BAD_REQUEST else str(status)
        assert answer == expected, code
        if code != logon.SUCCESS:
            assert rows[code][2] and rows[code][3], f"{code}: cause and fix must be filled in"


@pytest.mark.parametrize("symptom", [
    "about 25 minutes after sign-in",  # UPDATE refresh
    "access denied by the access list",
    "connection refused",
    "TLS handshake fails",
    "keepalive-failure",
    "reload failed",
])
def test_the_line_and_session_symptoms_are_covered(symptom):
    assert symptom in troubleshooting()


# The testbed's users (testkit/testbed.py) each produce one code.
CASES = [
    ("sip:alice@example.com", "tel:+1001", "Cs_Success"),
    ("sip:alice@example.com", "tel:+1002", "Cs_LineNotAssigned"),
    ("sip:carol@example.com", "tel:+1003", "Cs_NoClientLicense"),
    ("sip:dave@example.com", "tel:+1099", "Cs_StationNotFound"),
    ("sip:erin@example.com", "tel:+1007", "Cs_UserNotInDirectory"),
    ("sip:frank@example.com", "tel:+1005", "Cs_UserNotFound"),
    ("sip:gina@example.com", "tel:+1006", "Cs_AmbiguousUser"),
    ("sip:hank@example.com", "tel:+1004", "Cs_StationInUseByAnotherUser"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = write_testbed(tmp_path_factory.mktemp("troubleshooting")).start()
    status, _ = process.admin("POST", "/api/stations/1004/login", {"user": "Bob"})
    assert status == 200
    yield process
    assert process.stop() == 0


def probe(server, user: str, line: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rccserver", "probe", "--as", user, "--line", line,
         "--target", f"127.0.0.1:{server.sip_port}", "--timeout", "10"],
        capture_output=True, text=True, env=ENV, timeout=60,
    )


def wait_for_log(server, needle: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_text.splitlines():
            if needle in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line with {needle!r}:\n{server.log_text[-2000:]}")


@pytest.mark.parametrize("user, line, code", CASES, ids=[c[2] for c in CASES])
def test_probe_and_log_show_what_the_table_says(server, user, line, code):
    done = probe(server, user, line)
    status = logon.STATUS[code]
    if code == logon.SUCCESS:
        assert done.returncode == 0, done.stdout
        assert f"INVITE answered 200 OK, systemStatus normal, {code}" in done.stdout
    else:
        assert done.returncode == 1, done.stdout
        assert f"INVITE answered {status} {REASONS[status]}: {code}:" in done.stdout, done.stdout
        assert f"verdict: FAILED: {user} on {line}: logon (INVITE): {code}" in done.stdout
    logged = wait_for_log(server, f"logon code={code} status={status} lync_uri={user}")
    assert f"line={line}" in logged


def test_no_feature_licence(tmp_path):
    server = write_testbed(tmp_path, features=()).start()
    try:
        done = probe(server, "sip:alice@example.com", "tel:+1001")
        assert done.returncode == 1 and "INVITE answered 403 Forbidden: Cs_NoFeatureLicense:" in done.stdout
        wait_for_log(server, "logon code=Cs_NoFeatureLicense status=403")
    finally:
        assert server.stop() == 0
