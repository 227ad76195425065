"""Drive mutated SIP at a real server (subprocess) and check it stays healthy.

Used by tests/fuzz/test_fuzz_wire.py (small profile) and bench/fuzz_wire.py
(the long profile); the inputs come from testkit.mutator. The invariants checked after every batch:

* the server process is alive;
* a reference session (bob, signed in and monitoring station 1002, on its own
  connection) gets answers to its INFOs and gets the DeliveredEvent of a call
  placed with the admin API;
* a fresh connection gets 200 to OPTIONS (nothing hangs the listener);
* no leak: once the fuzz connections are closed, GET /api/sessions lists only
  the reference session and GET /api/stations shows bob on 1002 and nobody
  else (waited for within a bound: sessions opened by mutated INVITEs end by
  our BYE, or by the keep-alive that cannot reach their closed connection);
* memory: the server's VmRSS is sampled before and after.
"""
from __future__ import annotations

import re
import secrets
import select
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from rccserver import csta
from rccserver.commands import certs
from rccserver.sip import FramedMessage, Request, Response, StreamFramer, make_response, parse_message
from rccserver.sip.errors import SipParseError
from testkit.lyncclient import LyncClient
from testkit.messages import monitor_start, snapshot_device
from testkit.mutator import DialogIds, FuzzInput, Mutator, seeds
from testkit.serverproc import ServerProcess, rss_bytes
from testkit.testbed import write_testbed

REFERENCE_USER, REFERENCE_LINE, REFERENCE_STATION = "sip:bob@example.com", "tel:+1002", "1002"
FUZZ_USER, FUZZ_LINE = "sip:alice@example.com", "tel:+1001"
# Keep-alives every few seconds end sessions whose connection is gone quickly.
SESSION_TIMEOUT = 3


ERROR_STATUS_LINE = re.compile(rb"SIP/2\.0 [4-6]\d\d [^\r\n]*\r\n")


class InvariantBroken(AssertionError):
    """The server failed one of the checks after a batch."""


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB."""
    return rss_bytes(pid) // 1024


# -- server ------------------------------------------------------------------------
@attrs.define
class FuzzServer:
    server: ServerProcess
    transport: str  # "tcp" or "tls"
    client_tls: ssl.SSLContext | None

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def alive(self) -> bool:
        return self.server.process is not None and self.server.process.poll() is None

    def connect(self, timeout: float = 10.0) -> socket.socket:
        raw = socket.create_connection(("127.0.0.1", self.server.sip_port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.client_tls is None:
            return raw
        return self.client_tls.wrap_socket(raw, server_hostname="rcc.example.com")

    def lync_client(self, user: str, line: str) -> LyncClient:
        return LyncClient("127.0.0.1", self.server.sip_port, user=user, line=line, tls_context=self.client_tls)


def start_fuzz_server(workdir: Path, transport: str = "tcp") -> FuzzServer:
    """The e2e testbed with short keep-alives; for TLS, certificates from rccserver.commands.certs (no client certs)."""
    extra = ""
    client_tls = None
    if transport == "tls":
        cert_set = certs.generate(workdir / "certs", host="rcc.example.com", variants=False)
        extra = (f'transport = "tls"\ncertificate = "{cert_set.server.certificate}"\n'
                 f'private_key = "{cert_set.server.private_key}"\n'
                 f'authority_certificates = ["{cert_set.ca}"]\n')
        client_tls = ssl.create_default_context(cafile=str(cert_set.ca))
    server = write_testbed(workdir, line_extra=extra, session_timeout=SESSION_TIMEOUT).start()
    return FuzzServer(server, transport, client_tls)


# -- reference session -------------------------------------------------------------------
class ReferenceSession:
    """bob, signed in and monitoring; check() proves the server still serves him."""

    def __init__(self, fs: FuzzServer) -> None:
        self.fs = fs
        self.client = fs.lync_client(REFERENCE_USER, REFERENCE_LINE)
        response = self.client.sign_in()
        if response.status != 200:
            raise InvariantBroken(f"reference sign-in answered {response.status} {response.headers.get('Warning')}")
        started = self.client.csta(monitor_start(REFERENCE_LINE))
        if not isinstance(started, csta.MonitorStartResponse):
            raise InvariantBroken(f"reference MonitorStart answered {started!r}")
        self.checks = 0

    def check(self, timeout: float = 10.0) -> None:
        # Refresh the session as Lync does (UPDATE): a run longer than the 1800 s session
        # interval otherwise ends the reference session by RFC 4028 expiry, correctly.
        refreshed = self.client.refresh(timeout=timeout)
        if refreshed.status != 200:
            raise InvariantBroken(f"reference UPDATE refresh answered {refreshed.status} {refreshed.reason}")
        answer = self.client.csta(snapshot_device(REFERENCE_LINE))
        if not isinstance(answer, csta.SnapshotDeviceResponse):
            raise InvariantBroken(f"reference SnapshotDevice answered {answer!r}")
        status, body = self.fs.server.admin("POST", "/api/calls", {"from": "tel:+13175550100", "to": REFERENCE_STATION})
        if status != 200:
            raise InvariantBroken(f"admin POST /api/calls answered {status} {body}")
        call_id = body["call_id"]
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InvariantBroken(f"no DeliveredEvent for call {call_id} within {timeout} s")
            event = self.client.wait_event("DeliveredEvent", timeout=remaining)
            if event.connection.call_id == call_id:
                break
        status, body = self.fs.server.admin("POST", f"/api/calls/{call_id}/hangup")
        if status != 200:
            raise InvariantBroken(f"hangup of {call_id} answered {status} {body}")
        cleared = self.client.wait_event("ConnectionClearedEvent", timeout=timeout)
        if cleared.dropped_connection.call_id != call_id:
            raise InvariantBroken(f"ConnectionCleared for {cleared.dropped_connection} instead of {call_id}")
        self.checks += 1

    def close(self) -> None:
        try:
            self.client.sign_out()
        finally:
            self.client.close()


def options_answered(fs: FuzzServer, timeout: float = 5.0) -> bool:
    """A fresh connection gets 200 to OPTIONS within timeout."""
    sock = fs.connect(timeout)
    try:
        host, port = sock.getsockname()[:2]
        ids = DialogIds(user=FUZZ_USER, line=FUZZ_LINE, call_id=secrets.token_hex(6), from_tag="o", to_tag="",
                        host=host, port=port, transport=fs.transport.upper())
        sock.sendall(seeds(ids)["OPTIONS"])
        framer = StreamFramer()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data:
                return False
            for item in framer.feed(data):
                if isinstance(item, FramedMessage):
                    message = parse_message(item.data)
                    if isinstance(message, Response) and message.cseq[1] == "OPTIONS":
                        return message.status == 200
        return False
    except (socket.timeout, OSError):
        return False
    finally:
        sock.close()


# -- the fuzz connection ----------------------------------------------------------------------
@attrs.define
class FuzzStats:
    inputs: int = 0
    connections: int = 0
    closed_by_server: int = 0
    responses: dict[int, int] = attrs.field(factory=dict)
    byes_sent: int = 0
    unparseable_answers: int = 0
    unparseable_samples: list[bytes] = attrs.field(factory=list)

    def count_response(self, status: int) -> None:
        self.responses[status] = self.responses.get(status, 0) + 1


class FuzzConnection:
    """Sends inputs on a connection, reconnecting whenever the server closes it.

    It reads everything the server sends: answers server requests with 200,
    and ends with ACK + BYE any dialog that a mutated INVITE managed to open.
    """

    def __init__(self, fs: FuzzServer, stats: FuzzStats, keep_call_id: str) -> None:
        self.fs = fs
        self.stats = stats
        self.keep_call_id = keep_call_id
        self.dialog_ended = False
        self.sock: socket.socket | None = None
        self.framer = StreamFramer()
        self.local = ("127.0.0.1", 0)

    def open(self) -> None:
        self.sock = self.fs.connect()
        self.sock.settimeout(10.0)
        self.framer = StreamFramer()
        self.local = self.sock.getsockname()[:2]
        self.stats.connections += 1

    def _lost(self) -> None:
        self.stats.closed_by_server += 1
        self._drop()

    def _drop(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def send(self, data: bytes) -> None:
        for _ in range(2):  # once more on a fresh connection if the old one had just been closed
            if self.sock is None:
                self.open()
            try:
                self.sock.sendall(data)
                return
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self._lost()
            except socket.timeout:
                raise InvariantBroken("the server stopped reading for 10 s (send blocked)") from None

    def pump(self, wait: float = 0.0) -> None:
        """Read what has arrived (waiting up to `wait` s for the first bytes)."""
        deadline = time.monotonic() + wait
        while self.sock is not None:
            pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
            if not pending:
                ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    return
            try:
                data = self._recv_now()
            except (ssl.SSLWantReadError, BlockingIOError):
                if time.monotonic() >= deadline:
                    return
                continue
            except (ConnectionResetError, ssl.SSLError, OSError):
                self._lost()
                return
            if not data:
                self._lost()
                return
            for item in self.framer.feed(data):
                if isinstance(item, FramedMessage):
                    self._handle(item.data)

    def _recv_now(self) -> bytes:
        # Non-blocking: readable raw bytes may be a TLS record without application
        # data (a session ticket), on which a blocking recv would wait.
        assert self.sock is not None
        self.sock.settimeout(0.0)
        try:
            return self.sock.recv(65536)
        finally:
            self.sock.settimeout(10.0)

    def _handle(self, data: bytes) -> None:
        try:
            message = parse_message(data)
        except SipParseError:
            # An error answer echoes the broken From/To/Via it answers (RFC 3261
            # 8.2.6.2), so our strict parser may refuse it; it must still be a
            # well-framed SIP error response.
            if not ERROR_STATUS_LINE.match(data):
                raise InvariantBroken(f"the server sent an unparseable message: {data[:300]!r}") from None
            self.stats.unparseable_answers += 1
            if len(self.stats.unparseable_samples) < 5:
                self.stats.unparseable_samples.append(data[:400])
            return
        if isinstance(message, Request):
            if message.method != "ACK":
                self._reply(make_response(message, 200).to_bytes())
            return
        self.stats.count_response(message.status)
        number, method = message.cseq
        if method == "BYE" and message.status == 200 and message.call_id == self.keep_call_id:
            self.dialog_ended = True
        if method == "INVITE" and 200 <= message.status < 300:
            self._reply(self._in_dialog(message, "ACK", number))
            if message.call_id != self.keep_call_id:
                self._reply(self._in_dialog(message, "BYE", number + 1))
                self.stats.byes_sent += 1

    def _reply(self, data: bytes) -> None:
        try:
            if self.sock is not None:
                self.sock.sendall(data)
        except (OSError, ssl.SSLError):
            self._lost()

    def _in_dialog(self, response: Response, method: str, cseq: int) -> bytes:
        host, port = self.local
        lines = [
            f"{method} sip:rcc@rcc.example.com SIP/2.0",
            f"Via: SIP/2.0/{self.fs.transport.upper()} {host}:{port};branch=z9hG4bK{secrets.token_hex(6)}",
            "Max-Forwards: 70",
            f"From: {response.headers.get('From')}",
            f"To: {response.headers.get('To')}",
            f"Call-ID: {response.call_id}",
            f"CSeq: {cseq} {method}",
            "Content-Length: 0",
        ]
        # The server may have accepted (and echoes) non-UTF-8 bytes in From/To.
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")

    def rotate(self, quiet: float = 0.02) -> None:
        """Read answers until the server has been quiet for `quiet` s (at most 2 s), then close."""
        deadline = time.monotonic() + 2.0
        while self.sock is not None and time.monotonic() < deadline:
            before = self.framer.buffered, sum(self.stats.responses.values()), self.stats.unparseable_answers
            self.pump(wait=quiet)
            if (self.framer.buffered, sum(self.stats.responses.values()), self.stats.unparseable_answers) == before:
                break
        self._drop()

    def close(self) -> None:
        """Read until the server has answered what it will (bounded), then close."""
        if self.sock is not None:
            self.pump(wait=0.3)
        self._drop()


# -- one batch ---------------------------------------------------------------------------------
@attrs.define
class BatchResult:
    start: int
    count: int
    stats: FuzzStats
    rss_before_kib: int
    rss_after_kib: int
    converge_seconds: float


def expected_state(fs: FuzzServer) -> str | None:
    """None when only the reference session is left and only its station is taken; else what differs."""
    _, sessions = fs.server.admin("GET", "/api/sessions")
    _, stations = fs.server.admin("GET", "/api/stations")
    uris = sorted(s["lync_uri"] for s in sessions)
    taken = {s["extension"]: (s["user"], s["how"]) for s in stations if s["user"] is not None}
    if uris == [REFERENCE_USER] and taken == {REFERENCE_STATION: ("Bob", ["rcc"])}:
        return None
    return f"sessions {uris}, occupied stations {taken}"


def wait_converged(fs: FuzzServer, timeout: float) -> float:
    """Seconds until only the reference session is left; InvariantBroken after timeout."""
    started = time.monotonic()
    while True:
        difference = expected_state(fs)
        if difference is None:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise InvariantBroken(f"leak: {timeout} s after the fuzz connections closed: {difference}")
        time.sleep(0.2)


def _open_fuzz_dialog(fs: FuzzServer, conn: FuzzConnection, seed: int) -> tuple[LyncClient, Mutator]:
    """alice signs in on her own connection; the mutator's seeds speak in that dialog."""
    client = fs.lync_client(FUZZ_USER, FUZZ_LINE)
    response = client.sign_in()
    if response.status != 200:
        raise InvariantBroken(f"fuzz dialog sign-in answered {response.status} {response.headers.get('Warning')}")
    conn.keep_call_id = client.call_id
    conn.dialog_ended = False
    if conn.sock is None:
        conn.open()
    ids = DialogIds(user=FUZZ_USER, line=FUZZ_LINE, call_id=client.call_id, from_tag=client.from_tag,
                    to_tag=client.to_tag or "", host=conn.local[0], port=conn.local[1],
                    transport=fs.transport.upper())
    return client, Mutator(seeds(ids), seed=seed)


def _end_fuzz_dialog(client: LyncClient) -> None:
    """BYE the fuzz dialog (481 if a fuzzed BYE already ended it)."""
    try:
        client.drain(0.05)
        bye = client.sign_out()
        if bye.status not in (200, 481):
            raise InvariantBroken(f"BYE of the fuzz dialog answered {bye.status}")
    finally:
        client.close()


def run_batch(fs: FuzzServer, reference: ReferenceSession, *, seed: int, start: int, count: int,
              per_connection: int = 10, converge_timeout: float = 45.0,
              on_input: Callable[[FuzzInput], None] | None = None) -> BatchResult:
    """Sign alice in for the batch, send `count` mutated inputs in her dialog's name, end it, check invariants.

    A fresh connection is used every `per_connection` inputs (and whenever the
    server closes one): a mutation that never completes a message (LF-only line
    ends, a too-large Content-Length) would otherwise swallow the rest of the
    stream until the 64 KiB limit, hiding every later input from the server.
    """
    rss_before = rss_kib(fs.pid)
    stats = FuzzStats()
    conn = FuzzConnection(fs, stats, "")
    dialog_client, mutator = _open_fuzz_dialog(fs, conn, seed)
    for item in (mutator.input(index) for index in range(start, start + count)):
        if conn.dialog_ended:  # a fuzzed BYE (or re-INVITE gone wrong) ended it: open another
            _end_fuzz_dialog(dialog_client)
            dialog_client, mutator = _open_fuzz_dialog(fs, conn, seed)
            item = mutator.input(item.index)
        if on_input is not None:
            on_input(item)
        conn.send(item.data)
        stats.inputs += 1
        conn.pump()
        if stats.inputs % per_connection == 0:
            conn.rotate()
        if not fs.alive():
            raise InvariantBroken(f"server died after input seed={seed} index={item.index} "
                                  f"({item.seed_name} {'+'.join(item.mutations)}): {item.data[:300]!r}")
    conn.close()
    _end_fuzz_dialog(dialog_client)
    if not fs.alive():
        raise InvariantBroken("server died at the end of the batch")
    converge = wait_converged(fs, converge_timeout)
    if not options_answered(fs):
        raise InvariantBroken("a fresh connection got no 200 to OPTIONS")
    reference.client.drain(0.05)
    reference.check()
    return BatchResult(start, count, stats, rss_before, rss_kib(fs.pid), converge)


def split_stream_answers(fs: FuzzServer, stream_of: Callable[[tuple[str, int]], bytes], *,
                         expect: int, pause: float = 0.002) -> list[int]:
    """Send `stream_of(local address)` split in two at every offset, one connection per offset.

    Returns the offsets at which the server did not answer with exactly `expect`
    final responses (empty = framing is independent of segmentation).
    """
    bad = []
    probe = fs.connect()
    total = len(stream_of(probe.getsockname()[:2]))
    probe.close()
    for offset in range(1, total):
        sock = fs.connect()
        try:
            stream = stream_of(sock.getsockname()[:2])
            sock.sendall(stream[:offset])
            time.sleep(pause)  # separate TCP segments (TLS records) for the two halves
            sock.sendall(stream[offset:])
            finals = 0
            framer = StreamFramer()
            deadline = time.monotonic() + 5.0
            while finals < expect and time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    break
                for item in framer.feed(data):
                    if isinstance(item, FramedMessage):
                        message = parse_message(item.data)
                        if isinstance(message, Response) and message.status >= 200:
                            finals += 1
            if finals != expect:
                bad.append(offset)
        finally:
            sock.close()
    return bad
