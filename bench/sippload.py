"""Closed-loop INFO throughput with SIPp (Debian `sipp`), against rccserver or Kamailio.

Each SIPp call is one Lync user's RCC dialog: INVITE (RequestSystemStatus) -> 200
-> ACK, then `infos` INFO requests one after the other (each waits for its 200),
then BYE. `-t t1` puts every call on one TCP connection (the front end
multiplexes its users), `-t tn` gives each call a connection of its own. The
same scenario runs against both servers, so the load generator's cost is the
same on both sides of the ratio.
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


def info_loop_scenario(infos: int) -> str:
    """The scenario XML; the CSTA request in each INFO is SnapshotDevice on the user's line."""
    rss = (f'<?xml version="1.0"?><RequestSystemStatus xmlns="{CSTA_NS}"><extensions><privateData><private>'
           f'<lcs:line xmlns:lcs="{RCC_NS}">[field1]</lcs:line></private></privateData></extensions>'
           f"</RequestSystemStatus>")
    snapshot = (f'<?xml version="1.0"?><SnapshotDevice xmlns="{CSTA_NS}">'
                f"<snapshotObject>[field1]</snapshotObject></SnapshotDevice>")
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="rcc info loop">\n'
        + _request("INVITE", "[cseq] INVITE", "To: <sip:rcc@rcc.example.com>", rss)
        + '<recv response="100" optional="true"/>\n<recv response="200"/>\n'
        + _request("ACK", "1 ACK", "[last_To:]")
        + '<nop><action><assign assign_to="cs" value="1"/></action></nop>\n'
        + '<label id="1"/>\n'
        + f'<nop><action><add assign_to="cs" value="1"/>'
          f'<test assign_to="more" variable="cs" compare="less_than" value="{infos + 1}"/></action></nop>\n'
        + _request("INFO", "[cseq] INFO", "[last_To:]", snapshot, branch_suffix="-[$cs]")
        + '<recv response="200"/>\n'
        + '<nop next="1" test="more"/>\n'
        + '<nop><action><add assign_to="cs" value="1"/></action></nop>\n'
        + _request("BYE", "[cseq] BYE", "[last_To:]", branch_suffix="-bye")
        + '<recv response="200"/>\n</scenario>\n'
    )


def injection_file(path: Path, users: list[BenchUser]) -> Path:
    path.write_text("SEQUENTIAL\n" + "".join(f"{u.sam};{u.line};\n" for u in users))
    return path


@attrs.frozen(slots=True)
class SippResult:
    calls: int
    infos_per_call: int
    seconds: float
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def info_rate(self) -> float:
        """INFO transactions per second over the whole run (logons and BYEs included in the
        time, so this slightly understates the INFO rate)."""
        return self.calls * self.infos_per_call / self.seconds if self.seconds > 0 else 0.0


def run_info_loop(workdir: Path, port: int, users: list[BenchUser], *, infos: int, one_connection: bool,
                  timeout: float) -> SippResult:
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "info_loop.xml"
    scenario.write_text(info_loop_scenario(infos))
    inf = injection_file(workdir / "users.csv", users)
    calls = len(users)
    command = [
        sipp_binary(), f"127.0.0.1:{port}", "-sf", str(scenario), "-inf", str(inf),
        "-t", "t1" if one_connection else "tn", "-i", "127.0.0.1", "-p", str(free_port()),
        "-m", str(calls), "-l", str(calls), "-r", str(calls), "-rp", "1",
        "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err",
        "-max_socket", str(max(calls + 10, 50)), "-recv_timeout", "10000",
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout + 30)
    elapsed = time.monotonic() - started
    errors = "".join(p.read_text(errors="replace")[-2000:] for p in workdir.glob("*errors.log"))
    return SippResult(calls, infos, elapsed, result.returncode,
                      (result.stdout[-1500:] + result.stderr[-1500:] + errors))
