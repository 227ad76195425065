"""SIP stations benchmark (issue "SIP stations"): SIPp phones over UDP on loopback against
rccserver's stations line, with Kamailio doing the same registrations in the same run.

    python -m bench stations                  # about a minute: 2 x 15 s of REGISTER, 15 s of calls
    BENCH_SCALE=smoke python -m bench stations   # tiny counts, the harness only
    BENCH_PROFILE=DIR python -m bench stations   # also run rccserver under cProfile and print its top functions

1. Registrations with digest: SIPp plays many phones (1,000 distinct SIP stations, one
   CSV line each): REGISTER -> 401 -> REGISTER with `[authentication]` (user and password
   from the CSV through `-au [field0] -ap [field1]`) -> 200, with up to
   `reg_limit` registrations in flight for `reg_seconds`, against rccserver (stations
   with a plain `password`, `digest_algorithms = ["MD5"]`: SIPp 3.6 knows no SHA-256)
   and against Kamailio (auth_db on a db_text table of the same users and passwords,
   usrloc in memory). Registrations/s, failures, the server's CPU, and the ratio.
2. Bridged calls: one SIPp in server mode is every callee phone (its stations registered
   from its port), one SIPp in client mode every caller phone (stations registered from
   its port): INVITE with SDP -> 407 -> ACK -> INVITE with Proxy-Authorization -> 180/200
   -> ACK -> hold -> BYE. rccserver is the B2BUA: each call is two dialogs, the switch's
   call model and the CSTA state of both stations. Kamailio has no like-for-like job here
   (a proxy relays one dialog and keeps no call state), so only rccserver's figure is shown.

SIPp 3.6's `[authentication]` always takes `sip:REMOTE_IP:PORT` as the digest uri; a
REGISTER's Request-URI is exactly that, but an INVITE's names the dialled number, and the
server insists the two are equal (RFC 2617 3.2.2.5). So for the calls the bench takes one
nonce per caller from a 407 before the run and writes the Proxy-Authorization of each call
(MD5, qop=auth, nc growing per caller) into the CSV; every call still gets its own 407
first, which it ACKs, and the server verifies every response in full.

Figures are printed, never asserted: SIPp, the server and Kamailio share the machine's
cores (docs/performance.md says what else was running).
"""
from __future__ import annotations

import csv
import hashlib
import os
import pstats
import re
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import attrs

from bench.kamailio import kamailio_binary, tree_cpu
from bench.sippload import sipp_binary
from testkit.deployment import ldif_text
from testkit.serverconfig import config_text
from testkit.serverproc import ServerProcess, free_port, free_udp_and_tcp_port

REALM = "rcc.example.com"
KAMAILIO_CONFIG = Path(__file__).with_name("kamailio-registrar.cfg")


@attrs.frozen(slots=True)
class Scale:
    registrants: int  # distinct stations in the REGISTER run
    reg_seconds: int
    reg_limit: int  # registrations in flight
    pairs: int  # caller/callee station pairs
    call_seconds: int
    call_limit: int  # calls in flight
    hold_ms: int
    rounds: int  # precomputed credentials per caller (more than it can use in call_seconds)
    kamailio_children: int
    kamailio_shm_mb: int  # transactions live ~5 s after their answer: ~1 GB at 10,000 REGISTERs/s

    @classmethod
    def current(cls) -> "Scale":
        if os.environ.get("BENCH_SCALE") == "smoke":
            return cls(registrants=20, reg_seconds=2, reg_limit=5, pairs=4, call_seconds=3, call_limit=2,
                       hold_ms=50, rounds=40, kamailio_children=1, kamailio_shm_mb=256)
        return cls(registrants=1000, reg_seconds=15, reg_limit=100, pairs=400, call_seconds=15, call_limit=80,
                   hold_ms=100, rounds=60, kamailio_children=2, kamailio_shm_mb=1536)


@attrs.define
class Row:
    measure: str
    value: str
    note: str = ""


# -- stations and their passwords -------------------------------------------------------

def extension(index: int) -> str:
    return f"3{index:05d}"


def password(index: int) -> str:
    return f"pw-{index}-{hashlib.sha256(str(index).encode()).hexdigest()[:8]}"


def cic_text(count: int) -> str:
    """One licensed Lync user per station (as testkit/deployment.py does) and `count` SIP
    stations with plain passwords."""
    parts = ['[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n']
    parts += [f"[[users]]\nid = \"U{i}\"\nnt_domain_user = 'EXAMPLE\\u{i}'\nextension = \"8{i:06d}\"\n"
              f"client_license = true\nallow_remote_number = false\n" for i in range(count)]
    parts += [f'[[stations]]\nname = "Phone{i}"\nextension = "{extension(i)}"\n'
              f'identification_address = "tel:+{extension(i)}"\ntype = "sip"\npassword = "{password(i)}"\n'
              for i in range(count)]
    return "\n".join(parts)


def write_server(directory: Path, count: int) -> ServerProcess:
    directory.mkdir(parents=True, exist_ok=True)
    sip_port, admin_port, stations_port = free_port(), free_port(), free_udp_and_tcp_port()
    (directory / "directory.ldif").write_text(ldif_text(count))
    (directory / "cic.toml").write_text(cic_text(count))
    (directory / "rccserver.toml").write_text(
        config_text(sip_port=sip_port, admin_port=admin_port)
        + f'\n[stations_line]\naddress = "127.0.0.1"\nport = {stations_port}\ntransports = ["udp"]\n'
          f'realm = "{REALM}"\nmin_expires = 60\ndigest_algorithms = ["MD5"]\n')
    server = ServerProcess(directory / "rccserver.toml", sip_port, admin_port, count)
    server.stations_port = stations_port
    return server


# -- Kamailio as a registrar --------------------------------------------------------------

class KamailioRegistrar:
    def __init__(self, workdir: Path, users: list[tuple[str, str]], *, children: int, shm_mb: int = 64) -> None:
        binary = kamailio_binary()
        if binary is None:
            raise RuntimeError("kamailio not found: apt-get install kamailio")
        self.binary, self.workdir, self.users, self.children = binary, workdir, users, children
        self.shm_mb = shm_mb
        self.port = free_udp_and_tcp_port()
        self.process: subprocess.Popen | None = None

    def _write(self) -> Path:
        db = self.workdir / "db"
        db.mkdir(parents=True, exist_ok=True)
        (db / "version").write_text("table_name(str) table_version(int)\nsubscriber:7\n")
        rows = "".join(f"{n + 1}:{user}:{REALM}:{secret}::\n" for n, (user, secret) in enumerate(self.users))
        (db / "subscriber").write_text(
            "id(int,auto) username(str) domain(str) password(str) ha1(str,null) ha1b(str,null)\n" + rows)
        modules = next((str(p) for p in (Path("/usr/lib/x86_64-linux-gnu/kamailio/modules"),
                                          Path("/usr/lib/kamailio/modules")) if p.is_dir()),
                       "/usr/lib/x86_64-linux-gnu/kamailio/modules")
        text = KAMAILIO_CONFIG.read_text()
        for key, value in (("PORT", str(self.port)), ("MODULES", modules), ("DBDIR", str(db)),
                           ("REALM", REALM), ("CHILDREN", str(self.children))):
            text = text.replace(f"@{key}@", value)
        config = self.workdir / "kamailio.cfg"
        config.write_text(text)
        return config

    def __enter__(self) -> "KamailioRegistrar":
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self._write()
        self._log = open(self.workdir / "kamailio.log", "wb")
        self.process = subprocess.Popen(
            [self.binary, "-f", str(config), "-DD", "-E", "-P", str(self.workdir / "kamailio.pid"),
             "-Y", str(self.workdir), "-m", str(self.shm_mb), "-M", "16"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=self._log)
        if not udp_answers(self.port, self.process, 20.0):
            self.__exit__()
            raise RuntimeError("kamailio did not answer on UDP:\n"
                               + (self.workdir / "kamailio.log").read_text(errors="replace")[-2000:])
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def udp_answers(port: int, process: subprocess.Popen | None, timeout: float) -> bool:
    """Until something on 127.0.0.1:port answers an OPTIONS over UDP (any response)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.3)
        local = sock.getsockname()[1]
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return False
            branch = uuid.uuid4().hex
            sock.sendto((f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
                         f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{branch};rport\r\n"
                         f"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag={branch[:8]}\r\n"
                         f"To: <sip:127.0.0.1:{port}>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\n"
                         f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
            try:
                data = sock.recv(65535)
            except (TimeoutError, socket.timeout, ConnectionRefusedError):
                time.sleep(0.1)
                continue
            if data.startswith(b"SIP/2.0 "):
                return True
    return False


# -- SIPp scenarios -----------------------------------------------------------------------

REGISTER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register with digest">
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
Max-Forwards: 70
From: <sip:[field0]@rcc.example.com>;tag=[pid]R[call_number]
To: <sip:[field0]@rcc.example.com>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
Expires: 3600
User-Agent: SIPp-bench
Content-Length: 0

  ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
Max-Forwards: 70
From: <sip:[field0]@rcc.example.com>;tag=[pid]R[call_number]
To: <sip:[field0]@rcc.example.com>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
Expires: 3600
User-Agent: SIPp-bench
[authentication]
Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
"""

_SDP = """v=0
o=phone-[field0] [pid][call_number] 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio 49170 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
"""


def _invite(cseq: int, branch: str, credentials: str) -> str:
    return f"""  <send retrans="500"><![CDATA[
INVITE sip:[field1]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-{branch};rport
Max-Forwards: 70
From: <sip:[field0]@rcc.example.com>;tag=[pid]C[call_number]
To: <sip:[field1]@rcc.example.com>
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
{credentials}Content-Type: application/sdp
Content-Length: [len]

{_SDP}
  ]]></send>
"""


def call_scenario(hold_ms: int) -> str:
    """The caller: fields caller;callee;Proxy-Authorization value."""
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="caller">\n'
        + _invite(1, "i1", "")
        + '  <recv response="100" optional="true"/>\n  <recv response="407"/>\n'
        + """  <send><![CDATA[
ACK sip:[field1]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-i1;rport
Max-Forwards: 70
From: <sip:[field0]@rcc.example.com>;tag=[pid]C[call_number]
To: <sip:[field1]@rcc.example.com>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Content-Length: 0

  ]]></send>
"""
        + _invite(2, "i2", "Proxy-Authorization: [field2]\n")
        + '  <recv response="100" optional="true"/>\n  <recv response="180" optional="true"/>\n'
          '  <recv response="183" optional="true"/>\n  <recv response="200" rrs="true"/>\n'
        + """  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-a2;rport
Max-Forwards: 70
From: <sip:[field0]@rcc.example.com>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 ACK
Content-Length: 0

  ]]></send>
"""
        + f'  <pause milliseconds="{hold_ms}"/>\n'
        + """  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-b3;rport
Max-Forwards: 70
From: <sip:[field0]@rcc.example.com>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 3 BYE
Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
"""
    )


ANSWER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callee">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]A[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

  ]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]A[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=callee [pid][call_number] 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio 49172 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv

  ]]></send>
  <!-- the server retransmits its INVITE when it reads our answers late (a loaded server
       or SIPp); the 200 is retransmitted by its own timer until the ACK, so such an INVITE
       is only absorbed (answering it again races with the ACK in SIPp) -->
  <label id="waitack"/>
  <recv request="INVITE" optional="true" next="waitack"/>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

  ]]></send>
</scenario>
"""


# -- running SIPp -------------------------------------------------------------------------

@attrs.frozen(slots=True)
class SippStats:
    successful: int
    failed: int
    seconds: float
    returncode: int
    output: str

    @property
    def rate(self) -> float:
        return self.successful / self.seconds if self.seconds > 0 else 0.0


def _last_stats(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def sipp_command(scenario: Path, inf: Path | None, *, port: int, remote: int | None,
                 extra: list[str]) -> list[str]:
    command = [sipp_binary()]
    if remote is not None:
        command.append(f"127.0.0.1:{remote}")
    command += ["-sf", str(scenario), "-t", "u1", "-i", "127.0.0.1", "-p", str(port), "-nostdin",
                "-trace_err", "-max_recv_loops", "10000", "-max_sched_loops", "10000"]
    if inf is not None:
        command += ["-inf", str(inf)]
    return command + extra


def run_sipp(workdir: Path, name: str, command: list[str], *, limit_seconds: float) -> SippStats:
    """Run a client SIPp until it ends (`-m` reached or `-timeout`); its cumulative counts."""
    stats = workdir / f"{name}_stats.csv"
    command = command + ["-trace_stat", "-stf", str(stats), "-fd", "1",
                         "-error_file", str(workdir / f"{name}_errors.log")]
    started = time.monotonic()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=limit_seconds + 60)
    seconds = time.monotonic() - started
    last = _last_stats(stats)
    errors = workdir / f"{name}_errors.log"
    output = (result.stdout[-1000:] + result.stderr[-1500:]
              + (errors.read_text(errors="replace")[-2500:] if errors.exists() else ""))
    return SippStats(int(last.get("SuccessfulCall(C)", 0) or 0), int(last.get("FailedCall(C)", 0) or 0),
                     seconds, result.returncode, output)


def register(workdir: Path, name: str, target: int, users: list[tuple[str, str]], *, seconds: float | None,
             limit: int, port: int | None = None, total: int | None = None) -> SippStats:
    """SIPp REGISTERs the users (CSV, in order, wrapping round) until `seconds` pass or `total` are done."""
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "register.xml"
    scenario.write_text(REGISTER_SCENARIO)
    inf = workdir / f"{name}_users.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{user};{secret};\n" for user, secret in users))
    # `[authentication username=[field0] ...]` does not parse in SIPp 3.6 (nested brackets);
    # -au/-ap are parsed as message text, so CSV fields work there
    extra = ["-au", "[field0]", "-ap", "[field1]", "-r", "100000", "-rp", "1000", "-l", str(limit),
             "-recv_timeout", "5000"]
    if seconds is not None:
        extra += ["-timeout", f"{int(seconds)}s"]
    if total is not None:
        extra += ["-m", str(total)]
    return run_sipp(workdir, name, sipp_command(scenario, inf, port=port or free_udp_and_tcp_port(), remote=target,
                                                extra=extra), limit_seconds=(seconds or 60))


# -- phase 1: registrations ----------------------------------------------------------------

def _cpu_text(used: float, seconds: float, done: int, unit: str) -> str:
    if seconds <= 0 or used <= 0:
        return "server CPU not measured"
    per = f", {1e6 * used / done:,.0f} us/{unit}" if done else ""
    return f"server CPU {100 * used / seconds:.0f} % of a core{per}"


def phase_registrations(scale: Scale, work: Path, server: ServerProcess) -> list[Row]:
    users = [(extension(i), password(i)) for i in range(scale.registrants)]
    rows = []
    before = server.cpu()
    ours = register(work / "reg-rcc", "reg_rcc", server.stations_port, users, seconds=scale.reg_seconds,
                    limit=scale.reg_limit)
    our_cpu = server.cpu() - before
    rows.append(Row("REGISTER with digest (MD5, qop=auth), rccserver", f"{ours.rate:,.0f} reg/s",
                    f"{ours.successful:,} ok, {ours.failed:,} failed in {ours.seconds:.1f} s; "
                    f"{scale.registrants:,} stations, {scale.reg_limit} in flight; "
                    + _cpu_text(our_cpu, ours.seconds, ours.successful, "reg")))
    if ours.successful == 0 or ours.failed:
        print(ours.output)
    if kamailio_binary() is None:
        rows.append(Row("REGISTER with digest, Kamailio", "n/a", "kamailio is not installed"))
        return rows
    with KamailioRegistrar(work / "kamailio", users, children=scale.kamailio_children,
                            shm_mb=scale.kamailio_shm_mb) as kamailio:
        before = tree_cpu(kamailio.pid)
        theirs = register(work / "reg-kam", "reg_kam", kamailio.port, users, seconds=scale.reg_seconds,
                          limit=scale.reg_limit)
        their_cpu = tree_cpu(kamailio.pid) - before
    rows.append(Row("REGISTER with digest (MD5, qop=auth), Kamailio", f"{theirs.rate:,.0f} reg/s",
                    f"{theirs.successful:,} ok, {theirs.failed:,} failed in {theirs.seconds:.1f} s; "
                    f"auth_db + db_text, usrloc in memory, {scale.kamailio_children} UDP workers; "
                    + _cpu_text(their_cpu, theirs.seconds, theirs.successful, "reg")))
    if theirs.successful == 0 or theirs.failed:
        print(theirs.output)
    if ours.rate > 0 and theirs.rate > 0:
        note = ""
        if our_cpu > 0 and their_cpu > 0:
            note = (f"per CPU second: rccserver {ours.successful / our_cpu:,.0f} reg, "
                    f"Kamailio {theirs.successful / their_cpu:,.0f} reg "
                    f"(ratio {(ours.successful / our_cpu) / (theirs.successful / their_cpu):.2f})")
        rows.append(Row("ratio rccserver / Kamailio, registrations/s", f"{ours.rate / theirs.rate:.2f}", note))
    return rows


# -- phase 2: bridged calls -----------------------------------------------------------------

def _challenge(port: int, caller: str, callee: str) -> tuple[str, str | None]:
    """INVITE without credentials from `caller` to `callee`; the 407's nonce (and opaque), ACKed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10.0)  # a loaded CI machine; the server answers in ms
        local = sock.getsockname()[1]
        branch, tag, call_id = f"z9hG4bK{uuid.uuid4().hex}", uuid.uuid4().hex[:10], uuid.uuid4().hex
        head = (f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch={branch};rport\r\nMax-Forwards: 70\r\n"
                f"From: <sip:{caller}@{REALM}>;tag={tag}\r\n")
        uri = f"sip:{callee}@127.0.0.1:{port}"
        sock.sendto((f"INVITE {uri} SIP/2.0\r\n{head}To: <sip:{callee}@{REALM}>\r\nCall-ID: {call_id}\r\n"
                     f"CSeq: 1 INVITE\r\nContact: <sip:{caller}@127.0.0.1:{local}>\r\n"
                     f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
        for _ in range(5):
            text = sock.recv(65535).decode(errors="replace")
            status = text.split(" ", 2)[1] if text.startswith("SIP/2.0 ") else ""
            if status == "407":
                break
        else:
            raise RuntimeError(f"no 407 for {caller}: {text[:300]!r}")
        to = re.search(r"^(?:To|t):(.*)$", text, re.M | re.I).group(1).strip()
        sock.sendto((f"ACK {uri} SIP/2.0\r\n{head}To: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n"
                     f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
        challenge = re.search(r"^Proxy-Authenticate:(.*)$", text, re.M | re.I).group(1)
        nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
        opaque = re.search(r'opaque="([^"]+)"', challenge)
        return nonce, opaque.group(1) if opaque else None


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def proxy_authorization(user: str, secret: str, uri: str, nonce: str, opaque: str | None, nc: int) -> str:
    """Digest MD5 with qop=auth (RFC 2617) for an INVITE to `uri`."""
    cnonce = f"{user}c{nc}"
    ha1 = _md5(f"{user}:{REALM}:{secret}")
    response = _md5(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{_md5('INVITE:' + uri)}")
    return (f'Digest username="{user}",realm="{REALM}",nonce="{nonce}",uri="{uri}",response="{response}",'
            f'algorithm=MD5,cnonce="{cnonce}",qop=auth,nc={nc:08x}'
            + (f',opaque="{opaque}"' if opaque else ""))


def phase_calls(scale: Scale, work: Path, server: ServerProcess) -> list[Row]:
    work.mkdir(parents=True, exist_ok=True)
    first = scale.registrants
    callers = [(extension(i), password(i)) for i in range(first, first + scale.pairs)]
    callees = [(extension(i), password(i)) for i in range(first + scale.pairs, first + 2 * scale.pairs)]
    caller_port, callee_port = free_udp_and_tcp_port(), free_udp_and_tcp_port()
    # each side's stations are registered from the port its SIPp then plays them on
    for name, users, port in (("callers", callers, caller_port), ("callees", callees, callee_port)):
        done = register(work, f"reg_{name}", server.stations_port, users, seconds=None, limit=10, port=port,
                        total=len(users))
        if done.successful != len(users):
            return [Row("bridged calls, rccserver", "FAILED",
                        f"{name}: {done.successful}/{len(users)} registered\n{done.output}")]
    # credentials: one nonce per caller, nc 1..rounds; caller i always calls callee i
    nonces = [_challenge(server.stations_port, caller, callee)
              for (caller, _), (callee, _) in zip(callers, callees)]
    lines = []
    for nc in range(1, scale.rounds + 1):
        for ((caller, secret), (callee, _)), (nonce, opaque) in zip(zip(callers, callees), nonces):
            uri = f"sip:{callee}@127.0.0.1:{server.stations_port}"
            lines.append(f"{caller};{callee};{proxy_authorization(caller, secret, uri, nonce, opaque, nc)};\n")
    inf = work / "calls.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(lines))
    (work / "caller.xml").write_text(call_scenario(scale.hold_ms))
    (work / "callee.xml").write_text(ANSWER_SCENARIO)
    callee = subprocess.Popen(
        sipp_command(work / "callee.xml", None, port=callee_port, remote=None,
                     extra=["-timeout", f"{scale.call_seconds + 30}s", "-error_file",
                            str(work / "callee_errors.log")]),
        cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # SIPp binds its port at once; this is only to let it settle
        before = server.cpu()
        calls = run_sipp(work, "caller", sipp_command(
            work / "caller.xml", inf, port=caller_port, remote=server.stations_port,
            extra=["-r", "100000", "-rp", "1000", "-l", str(scale.call_limit), "-m", str(len(lines)),
                   "-timeout", f"{scale.call_seconds}s", "-recv_timeout", "5000"]),
            limit_seconds=scale.call_seconds)
        used = server.cpu() - before
    finally:
        if callee.poll() is None:
            callee.terminate()
            try:
                callee.wait(10)
            except subprocess.TimeoutExpired:
                callee.kill()
                callee.wait()
    rows = [Row("bridged calls phone to phone, rccserver", f"{calls.rate:,.1f} calls/s",
                f"{calls.successful:,} completed, {calls.failed:,} failed in {calls.seconds:.1f} s; "
                f"{scale.pairs} caller/callee pairs, {scale.call_limit} calls in flight, hold {scale.hold_ms} ms; "
                f"INVITE-407-ACK-INVITE-180-200-ACK-BYE-200 on the caller's leg, "
                f"INVITE-180-200-ACK-BYE-200 on the callee's; "
                + _cpu_text(used, calls.seconds, calls.successful, "call"))]
    if calls.successful == 0 or calls.failed:
        print(calls.output)
    return rows


# -- the run ------------------------------------------------------------------------------

def print_table(rows: list[Row]) -> None:
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("measure", "value")]
    print(f"{'measure':<{widths[0]}}  {'value':<{widths[1]}}  note")
    for r in rows:
        print(f"{r.measure:<{widths[0]}}  {r.value:<{widths[1]}}  {r.note}")


def run(work: Path) -> list[Row]:
    scale = Scale.current()
    server = write_server(work / "server", scale.registrants + 2 * scale.pairs)
    profile_dir = os.environ.get("BENCH_PROFILE")
    profile = Path(profile_dir).resolve() / "stations.pstats" if profile_dir else None
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
    server.start(profile_to=profile)
    try:
        if not udp_answers(server.stations_port, server.process, 20.0):
            raise RuntimeError("the stations line does not answer on UDP")
        rows = phase_registrations(scale, work, server)
        rows += phase_calls(scale, work / "calls", server)
    finally:
        server.stop()
    if profile is not None and profile.exists():
        stats = pstats.Stats(str(profile))
        print(f"-- rccserver profile ({profile}), top 25 by own time --")
        stats.sort_stats("tottime").print_stats(25)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rcc-bench-stations-") as tmp:
        print_table(run(Path(tmp)))
