"""Closed-loop RCC load with SIPp (Debian `sipp`), against rccserver or Kamailio.

Each SIPp call is one Lync user's RCC dialog: INVITE (RequestSystemStatus) -> 200
-> ACK, then CSTA INFO requests one after the other (each waits for its 200), then
BYE. Two scenarios: `info_loop_scenario` (N x SnapshotDevice) and
`lync_calls_scenario` (N x MakeCall to an external number, then ClearConnection of
the call MakeCallResponse names). `-t t1` puts every call on one TCP connection (the
front end multiplexes its users), `-t tn` gives each call a connection of its own.
The same scenario runs against both servers, so the load generator's cost is the
same on both sides of the ratio; Kamailio answers 200 with no body, so nothing in a
scenario may require a CSTA answer, only reject a CSTA error.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import attrs

from testkit.deployment import BenchUser
from testkit.messages import ED3 as CSTA_NS, RCC_NS
from testkit.serverproc import free_port


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise RuntimeError("sipp not found: install Debian's sip-tester (scripts/install-system-deps)")
    return path


_HEAD = """Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]{branch_suffix}
Max-Forwards: 70
From: <sip:[field0]@example.com>;tag=[pid]B[call_number]
{to}
Call-ID: [call_id]
CSeq: {cseq}
"""


def _request(method: str, cseq: str, to: str, body: str = "", branch_suffix: str = "") -> str:
    typed = ("Content-Type: application/csta+xml\nContent-Disposition: signal;handling=required\n"
             if body else "")
    contact = "Contact: <sip:fe@[local_ip]:[local_port];transport=[transport]>\n" if method == "INVITE" else ""
    return (f"<send><![CDATA[\n\n{method} sip:rcc@rcc.example.com SIP/2.0\n"
            + _HEAD.format(branch_suffix=branch_suffix, to=to, cseq=cseq)
            + f"{contact}{typed}Content-Length: [len]\n\n{body}\n]]></send>\n")


# The logon body Lync sends (testkit.messages.request_system_status), on the injected line.
_RSS = (f'<?xml version="1.0"?><RequestSystemStatus xmlns="{CSTA_NS}"><extensions><privateData><private>'
        f'<lcs:line xmlns:lcs="{RCC_NS}">[field1]</lcs:line></private></privateData></extensions>'
        f"</RequestSystemStatus>")
# A 200 whose body is a CSTA error fails the call: SIPp alone would count it a success.
_NO_CSTA_ERROR = '<ereg regexp="CSTAErrorCode" search_in="body" check_it_inverse="true" assign_to="matched"/>'
# ClearConnection's call id when the answer names none (Kamailio's bodiless 200): the
# scenario still runs; rccserver would reject the id, which fails the call.
NO_CALL_ID = "none"


def _answer(actions: str = "") -> str:
    return f'<recv response="200"><action>{_NO_CSTA_ERROR}{actions}</action></recv>\n'


def _dialog_scenario(name: str, rounds: int, round_xml: str) -> str:
    """Logon, `rounds` x `round_xml` (its requests carry branch suffix -[$cs]), BYE."""
    return (
        f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n'
        + _request("INVITE", "[cseq] INVITE", "To: <sip:rcc@rcc.example.com>", _RSS)
        + '<recv response="100" optional="true"/>\n' + _answer()
        + _request("ACK", "1 ACK", "[last_To:]")
        + '<nop><action><assign assign_to="cs" value="1"/></action></nop>\n'
        + '<label id="1"/>\n'
        + f'<nop><action><add assign_to="cs" value="1"/>'
          f'<test assign_to="more" variable="cs" compare="less_than" value="{rounds + 1}"/></action></nop>\n'
        + round_xml
        + '<nop next="1" test="more"/>\n'
        + '<nop><action><add assign_to="cs" value="1"/></action></nop>\n'
        + _request("BYE", "[cseq] BYE", "[last_To:]", branch_suffix="-bye")
        + '<recv response="200"/>\n</scenario>\n'
    )


def info_loop_scenario(infos: int) -> str:
    """The scenario XML; the CSTA request in each INFO is SnapshotDevice on the user's line."""
    snapshot = (f'<?xml version="1.0"?><SnapshotDevice xmlns="{CSTA_NS}">'
                f"<snapshotObject>[field1]</snapshotObject></SnapshotDevice>")
    return _dialog_scenario("rcc info loop", infos,
                            _request("INFO", "[cseq] INFO", "[last_To:]", snapshot, branch_suffix="-[$cs]")
                            + _answer())


def lync_calls_scenario(calls: int) -> str:
    """A Lync user's session: logon, `calls` x (MakeCall from the user's line to an external
    number, ClearConnection of the call MakeCallResponse names), BYE. The external number
    is the user's own extension behind +1555, so no two users dial the same number."""
    make_call = (f'<?xml version="1.0"?><MakeCall xmlns="{CSTA_NS}"><callingDevice>[field1]</callingDevice>'
                 f"<calledDirectoryNumber>tel:+1555[field2]</calledDirectoryNumber></MakeCall>")
    clear = (f'<?xml version="1.0"?><ClearConnection xmlns="{CSTA_NS}"><connectionToBeCleared>'
             f"<callID>[$call]</callID><deviceID>[field1]</deviceID></connectionToBeCleared>"
             f"</ClearConnection>")
    # "<" may not appear in an XML attribute: the regexp spells it &lt;, which SIPp unescapes
    call_id = ('<ereg regexp="&lt;callID&gt;([^&lt;]+)&lt;/callID&gt;" search_in="body" check_it="false" '
               'assign_to="matched,call"/>')
    return _dialog_scenario(
        "lync calls", calls,
        f'<nop><action><assignstr assign_to="call" value="{NO_CALL_ID}"/></action></nop>\n'
        + _request("INFO", "[cseq] INFO", "[last_To:]", make_call, branch_suffix="-[$cs]")
        + _answer(call_id)
        + _request("INFO", "[cseq] INFO", "[last_To:]", clear, branch_suffix="-[$cs]-clear")
        + _answer())


def injection_file(path: Path, users: list[BenchUser]) -> Path:
    """field0 the user's sAMAccountName, field1 its line, field2 its extension."""
    path.write_text("SEQUENTIAL\n" + "".join(f"{u.sam};{u.line};{u.extension};\n" for u in users))
    return path


@attrs.frozen(slots=True)
class SippResult:
    calls: int  # started
    infos_per_call: int  # CSTA INFO requests in one call (its logon INVITE is one more)
    seconds: float
    returncode: int
    output: str
    successful: int = 0  # SIPp's own counts (its statistics file), so a failed call is never hidden
    failed: int = 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and self.successful == self.calls

    def _per_second(self, per_call: int) -> float:
        return self.successful * per_call / self.seconds if self.seconds > 0 else 0.0

    @property
    def call_rate(self) -> float:
        return self._per_second(1)

    @property
    def info_rate(self) -> float:
        """INFO transactions per second over the whole run (logons and BYEs included in the
        time, so this slightly understates the INFO rate)."""
        return self._per_second(self.infos_per_call)

    @property
    def csta_rate(self) -> float:
        """CSTA requests per second: each successful call's INFOs and its logon INVITE."""
        return self._per_second(self.infos_per_call + 1)


def call_counts(stat_csv: Path) -> tuple[int, int]:
    """(successful, failed) calls from the last line of SIPp's -trace_stat file; (0, 0) if none."""
    try:
        lines = [line for line in stat_csv.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return 0, 0
    if len(lines) < 2:
        return 0, 0
    columns = dict(zip(lines[0].split(";"), lines[-1].split(";")))
    try:
        return int(columns["SuccessfulCall(C)"]), int(columns["FailedCall(C)"])
    except (KeyError, ValueError):
        return 0, 0


def run_scenario(workdir: Path, port: int, users: list[BenchUser], *, scenario: str, infos_per_call: int,
                 one_connection: bool, timeout: float, concurrency: int | None = None) -> SippResult:
    """One SIPp call per user (injection file, in order), at most `concurrency` open at once
    (all of them by default): a closed loop, each call starts when one ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    scenario_file = workdir / "scenario.xml"
    scenario_file.write_text(scenario)
    inf = injection_file(workdir / "users.csv", users)
    stat_csv = workdir / "stat.csv"
    calls = len(users)
    limit = min(calls, concurrency or calls)
    command = [
        sipp_binary(), f"127.0.0.1:{port}", "-sf", str(scenario_file), "-inf", str(inf),
        "-t", "t1" if one_connection else "tn", "-i", "127.0.0.1", "-p", str(free_port()),
        "-m", str(calls), "-l", str(limit), "-r", str(calls), "-rp", "1",
        "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err",
        "-trace_stat", "-stf", str(stat_csv), "-fd", "3600",
        "-max_socket", str(max(limit + 10, 50)), "-recv_timeout", "10000",
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout + 30)
    elapsed = time.monotonic() - started
    successful, failed = call_counts(stat_csv)
    errors = "".join(p.read_text(errors="replace")[-2000:] for p in workdir.glob("*errors.log"))
    return SippResult(calls, infos_per_call, elapsed, result.returncode,
                      (result.stdout[-1500:] + result.stderr[-1500:] + errors), successful, failed)


def run_info_loop(workdir: Path, port: int, users: list[BenchUser], *, infos: int, one_connection: bool,
                  timeout: float) -> SippResult:
    """Every user's call at once, each `infos` x SnapshotDevice."""
    return run_scenario(workdir, port, users, scenario=info_loop_scenario(infos), infos_per_call=infos,
                        one_connection=one_connection, timeout=timeout)


def run_lync_calls(workdir: Path, port: int, users: list[BenchUser], *, calls: int, one_connection: bool,
                   concurrency: int, timeout: float) -> SippResult:
    """Every user's Lync session (`calls` x MakeCall + ClearConnection), `concurrency` at once."""
    return run_scenario(workdir, port, users, scenario=lync_calls_scenario(calls), infos_per_call=2 * calls,
                        one_connection=one_connection, timeout=timeout, concurrency=concurrency)
