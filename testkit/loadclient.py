"""The Lync front end under load: thousands of dialogs on a few connections, one selector.

It does what SIPp cannot express conveniently: pipelined logons of thousands of
users over a few connections (the front end multiplexes all its users on a few
connections), open-loop INFO at a fixed rate with a latency sample per
transaction, and answering the server's keep-alive INFOs in tens of thousands of
dialogs while recording when each arrived.

Requests are written by `testkit.dialog`, as `LyncClient` writes them; responses
are read with a minimal header scan (start line, Call-ID, CSeq, Content-Length):
the client must stay cheap because it shares the machine's cores with the
server. Every loop is bounded by a count and a deadline.
"""
from __future__ import annotations

import collections
import re
import secrets
import selectors
import socket
import time
from typing import Callable, Iterable

from testkit.deployment import BenchUser
from testkit.dialog import ClientDialog
from testkit.messages import clear_connection, make_call, monitor_start, request_system_status, snapshot_device

_HEADER = re.compile(rb"^(call-id|i|cseq|content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$", re.I | re.M)
_CALL_ID_RE = re.compile(rb"<callID>([^<]+)</callID>")


class Message:
    """A received SIP message, scanned just enough to route it."""

    __slots__ = ("head", "body", "start", "call_id", "cseq_number", "cseq_method")

    def __init__(self, head: bytes, body: bytes) -> None:
        self.head = head
        self.body = body
        first, _, _ = head.partition(b"\r\n")
        self.start = first
        self.call_id = b""
        self.cseq_number = 0
        self.cseq_method = b""
        for match in _HEADER.finditer(head):
            name = match.group(1).lower()
            if name in (b"call-id", b"i"):
                self.call_id = match.group(2)
            elif name == b"cseq":
                number, _, method = match.group(2).partition(b" ")
                self.cseq_number = int(number)
                self.cseq_method = method.strip()

    @property
    def is_response(self) -> bool:
        return self.start.startswith(b"SIP/2.0 ")

    @property
    def status(self) -> int:
        return int(self.start[8:11])

    def header_lines(self, *names: bytes) -> list[bytes]:
        wanted = tuple(n.lower() + b":" for n in names)
        return [line for line in self.head.split(b"\r\n")[1:]
                if line.lower().replace(b" ", b"").startswith(wanted)]


def frame(buffer: bytearray) -> list[tuple[bytes, bytes]]:
    """Cut complete messages (head, body) off the front of buffer; CRLF pings are dropped."""
    out = []
    while True:
        while buffer[:2] == b"\r\n":
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return out
        head = bytes(buffer[:end])
        length = 0
        for match in _HEADER.finditer(head):
            if match.group(1).lower() in (b"content-length", b"l"):
                length = int(match.group(2))
        total = end + 4 + length
        if len(buffer) < total:
            return out
        out.append((head, bytes(buffer[end + 4:total])))
        del buffer[:total]


class Dialog(ClientDialog):
    """One Lync user's RCC dialog, as the front end relays it, on one of the client's connections."""

    def __init__(self, user: BenchUser, conn: "Connection") -> None:
        super().__init__(user.uri, conn.local, call_id=f"{secrets.token_hex(8)}-{user.index}@fe.bench")
        self.bench_user = user
        self.conn = conn
        self.state = "new"
        self.pending_call: str | None = None  # a call made by MakeCall, to clear next
        self.keepalives: list[float] = []  # arrival times of the server's keep-alive INFOs

    def next_request(self, method: str, body: bytes = b"") -> bytes:
        return self.request(method, body)[1]


Handler = Callable[["Dialog", Message], None]


class Connection:
    def __init__(self, client: "LoadClient", host: str, port: int) -> None:
        self.client = client
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.local = self.sock.getsockname()[:2]
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.closed = False
        self.registered_write = False

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.outbuf:
            try:
                sent = self.sock.send(data)
            except BlockingIOError:
                sent = 0
            data = data[sent:]
            if not data:
                return
        self.outbuf += data
        if not self.registered_write:
            self.client.selector.modify(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self)
            self.registered_write = True

    def writable(self) -> None:
        try:
            sent = self.sock.send(self.outbuf)
        except BlockingIOError:
            return
        del self.outbuf[:sent]
        if not self.outbuf:
            self.client.selector.modify(self.sock, selectors.EVENT_READ, self)
            self.registered_write = False

    def readable(self) -> list[tuple[bytes, bytes]]:
        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return []
        if not data:
            self.closed = True
            self.client.selector.unregister(self.sock)
            raise ConnectionError(f"server closed connection from {self.local}")
        self.inbuf += data
        return frame(self.inbuf)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.client.selector.unregister(self.sock)
            self.sock.close()


class LoadClient:
    """Connections, dialogs, and the response routing shared by every workload."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.connections = []
        for _ in range(connections):
            conn = Connection(self, host, port)
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)
            self.connections.append(conn)
        self.dialogs: dict[bytes, Dialog] = {}
        # (call-id, cseq) -> callback for our outstanding requests
        self.waiting: dict[tuple[bytes, int], Callable[[Message], None]] = {}
        self.server_requests = 0
        self.keepalives = 0
        self.failures: collections.Counter[str] = collections.Counter()

    # -- plumbing ------------------------------------------------------------
    def send(self, dialog: Dialog, method: str, body: bytes, on_answer: Callable[[Message], None]) -> None:
        cseq, data = dialog.request(method, body)
        self.waiting[(dialog.call_id.encode(), cseq)] = on_answer
        dialog.conn.send(data)

    def poll(self, timeout: float) -> None:
        for key, events in self.selector.select(timeout):
            conn: Connection = key.data
            if events & selectors.EVENT_WRITE:
                conn.writable()
            if events & selectors.EVENT_READ:
                for head, body in conn.readable():
                    self._dispatch(conn, Message(head, body))

    def run_until(self, done: Callable[[], bool], deadline: float) -> bool:
        """Poll until done() or the deadline (monotonic); True when done."""
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.poll(min(remaining, 0.05))
        return True

    def _dispatch(self, conn: Connection, message: Message) -> None:
        if message.is_response:
            if message.status < 200:
                return
            callback = self.waiting.pop((message.call_id, message.cseq_number), None)
            if callback is not None:
                callback(message)
            return
        self.server_requests += 1
        if message.start.startswith(b"ACK "):
            return
        dialog = self.dialogs.get(message.call_id)
        if dialog is not None and message.start.startswith(b"INFO ") and b"SystemStatus" in message.body:
            dialog.keepalives.append(time.monotonic())
            self.keepalives += 1
        conn.send(self._ok(message))

    @staticmethod
    def _ok(request: Message) -> bytes:
        lines = request.header_lines(b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq")
        return b"SIP/2.0 200 OK\r\n" + b"\r\n".join(lines) + b"\r\nContent-Length: 0\r\n\r\n"

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.selector.close()

    # -- logons ---------------------------------------------------------------
    def logon(self, users: Iterable[BenchUser], *, window: int, deadline: float,
              monitor: bool = True) -> tuple[int, float]:
        """INVITE -> 200 -> ACK (-> INFO MonitorStart -> 200) for each user, spread over the
        connections round-robin, at most `window` logons in flight. Returns (ok, seconds)."""
        pending = collections.deque(users)
        in_flight = [0]
        ok = [0]
        conns = self.connections
        started = time.monotonic()

        def finished(dialog: Dialog, success: bool, why: str = "") -> None:
            in_flight[0] -= 1
            if success:
                ok[0] += 1
                dialog.state = "up"
            else:
                self.failures[why] += 1
                dialog.state = "failed"
            top_up()

        def on_monitor(dialog: Dialog, answer: Message) -> None:
            good = answer.status == 200 and b"MonitorStartResponse" in answer.body
            finished(dialog, good, "" if good else f"MonitorStart: {answer.start.decode(errors='replace')}")

        def on_invite(dialog: Dialog, answer: Message) -> None:
            if answer.status != 200:
                finished(dialog, False, f"INVITE: {answer.start.decode(errors='replace')}")
                return
            to_line = answer.header_lines(b"to", b"t")[0]
            dialog.to_tag = to_line.split(b";tag=", 1)[1].split(b";")[0].decode()
            dialog.conn.send(dialog.ack(dialog.cseq))
            if monitor:
                self.send(dialog, "INFO", monitor_start(dialog.bench_user.line), lambda m: on_monitor(dialog, m))
            else:
                finished(dialog, True)

        def top_up() -> None:
            while pending and in_flight[0] < window:
                user = pending.popleft()
                dialog = Dialog(user, conns[user.index % len(conns)])
                self.dialogs[dialog.call_id.encode()] = dialog
                in_flight[0] += 1
                self.send(dialog, "INVITE", request_system_status(user.line), lambda m, d=dialog: on_invite(d, m))

        top_up()
        self.run_until(lambda: not pending and in_flight[0] == 0, deadline)
        return ok[0], time.monotonic() - started

    def live_dialogs(self) -> list[Dialog]:
        return [d for d in self.dialogs.values() if d.state == "up"]

    # -- INFO workloads --------------------------------------------------------
    def next_info(self, dialog: Dialog, workload: str) -> bytes:
        """The next CSTA request of a workload: "snapshot", or "makecall" (MakeCall, then
        ClearConnection of the call it made, alternating)."""
        if workload == "snapshot":
            return snapshot_device(dialog.bench_user.line)
        if dialog.pending_call is not None:
            call, dialog.pending_call = dialog.pending_call, None
            return clear_connection(dialog.bench_user.line, call)
        return make_call(dialog.bench_user.line, f"tel:+1555{dialog.bench_user.index:07d}")

    def _check_answer(self, dialog: Dialog, answer: Message, workload: str) -> bool:
        if answer.status != 200:
            self.failures[f"INFO {answer.start.decode(errors='replace')}"] += 1
            return False
        if b"CSTAErrorCode" in answer.body:
            self.failures["CSTAErrorCode"] += 1
            return False
        if workload == "makecall" and b"MakeCallResponse" in answer.body:
            match = _CALL_ID_RE.search(answer.body)
            dialog.pending_call = match.group(1).decode() if match else None
        return True

    def closed_loop(self, dialogs: list[Dialog], *, workload: str, per_dialog: int, count: int,
                    deadline: float) -> tuple[int, float]:
        """Each dialog keeps `per_dialog` INFOs outstanding until `count` were answered
        (makecall keeps 1: ClearConnection needs MakeCall's answer). Returns (answered, seconds)."""
        answered = [0]
        sent = [0]
        depth = 1 if workload == "makecall" else per_dialog
        started = time.monotonic()

        def fire(dialog: Dialog) -> None:
            if sent[0] >= count:
                return
            sent[0] += 1
            self.send(dialog, "INFO", self.next_info(dialog, workload), lambda m: answer(dialog, m))

        def answer(dialog: Dialog, message: Message) -> None:
            answered[0] += 1
            self._check_answer(dialog, message, workload)
            fire(dialog)

        for dialog in dialogs:
            for _ in range(depth):
                fire(dialog)
        self.run_until(lambda: answered[0] >= sent[0] and (sent[0] >= count), deadline)
        return answered[0], time.monotonic() - started

    def open_loop(self, dialogs: list[Dialog], *, workload: str, rate: float, count: int,
                  deadline: float, tick: Callable[[], None] | None = None) -> list[float]:
        """Send `count` INFOs at `rate`/s on a fixed schedule (round-robin over the dialogs
        that are free); return each transaction's latency in seconds. Latency runs from
        the scheduled send time, so a stalled server shows up as latency, not as a lower
        rate (no coordinated omission)."""
        latencies: list[float] = []
        free = collections.deque(dialogs)
        interval = 1.0 / rate
        started = time.monotonic()
        sent = 0
        while (sent < count or self.waiting) and time.monotonic() < deadline:
            now = time.monotonic()
            due = min(count, int((now - started) / interval) + 1)
            while sent < due and free:
                dialog = free.popleft()
                scheduled = started + sent * interval
                sent += 1

                def answer(message: Message, dialog=dialog, scheduled=scheduled) -> None:
                    latencies.append(time.monotonic() - scheduled)
                    self._check_answer(dialog, message, workload)
                    free.append(dialog)

                self.send(dialog, "INFO", self.next_info(dialog, workload), answer)
            if tick is not None:
                tick()
            next_at = started + sent * interval
            self.poll(max(0.0, min(next_at - time.monotonic(), 0.01)) if sent < count else 0.01)
        return latencies
