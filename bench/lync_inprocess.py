"""CPU per Lync-shaped call in one process: the whole server core (Runtime: endpoint, RCC
application, switch, RCCServer log, metrics) behind a SipStreamProtocol on a memory
transport, fed the messages of `bench compare`'s scenario a (logon INVITE, ACK,
5 x MakeCall + ClearConnection, BYE), 50 calls open at once and one message of each
in every chunk, as SIPp sends them over its one connection.

No sockets, no reactor turns and no load generator: the figure is the server's own
CPU per call, steady enough on a shared machine to judge a change to the hot path
by (docs/performance.md). `--profile FILE` writes cProfile stats of the same loop.

    python -m bench.lync_inprocess [--calls N] [--users N] [--makecalls N] [--profile FILE]
"""
from __future__ import annotations

import argparse
import cProfile
import re
import tempfile
import time
from pathlib import Path

from twisted.internet.task import Clock
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from rccserver.server import rcclog
from rccserver.server.config import load_config
from rccserver.server.runtime import Runtime
from rccserver.transport.connection import SipStreamProtocol
from rccserver.transport.limits import TransportLimits
from testkit.deployment import BenchUser, write_deployment
from testkit.messages import ED3, request_system_status

OPEN_CALLS = 50
MAKECALLS = 5
# Time between two chunks: 50 calls' messages at about 600 calls/s, the real server's rate.
ROUND_SECONDS = OPEN_CALLS / (600 * (2 * MAKECALLS + 3))
_TO_TAG = re.compile(rb"\r\nTo: [^\r]*;tag=([^;\r]+)")
_CALL_ID = re.compile(rb"<callID>([^<]+)</callID>")
_CALL_OF = re.compile(rb"\r\nCall-ID: ([^\r]+)\r\n")


def _request(user: BenchUser, method: str, cseq: int, to_tag: bytes | None, branch: str,
             body: bytes = b"") -> bytes:
    """A request as SIPp's scenario writes it (bench/sippload.py)."""
    to = b"<sip:rcc@rcc.example.com>" + (b";tag=" + to_tag if to_tag else b"")
    typed = (b"Content-Type: application/csta+xml\r\nContent-Disposition: signal;handling=required\r\n"
             if body else b"")
    contact = b"Contact: <sip:fe@127.0.0.1:5070;transport=tcp>\r\n" if method == "INVITE" else b""
    return (f"{method} sip:rcc@rcc.example.com SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-{user.index}-{branch}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:{user.sam}@example.com>;tag={user.index}B1\r\n").encode() \
        + b"To: " + to + (f"\r\nCall-ID: call-{user.index}\r\nCSeq: {cseq} {method}\r\n").encode() \
        + contact + typed + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


class _Call:
    """One SIPp call's script, one message per step; it reads our answers as SIPp does."""

    def __init__(self, user: BenchUser, makecalls: int = MAKECALLS) -> None:
        self.user = user
        self.makecalls = makecalls
        self.step = 0
        self.to_tag: bytes | None = None
        self.call_id = b"none"

    def next_message(self) -> bytes | None:
        user, step = self.user, self.step
        self.step += 1
        if step == 0:
            return _request(user, "INVITE", 1, None, "invite", request_system_status(user.line))
        if step == 1:
            return _request(user, "ACK", 1, self.to_tag, "ack")
        pair, second = divmod(step - 2, 2)
        cseq = step
        if pair < self.makecalls:
            if not second:
                body = (f'<?xml version="1.0"?><MakeCall xmlns="{ED3}"><callingDevice>{user.line}'
                        f"</callingDevice><calledDirectoryNumber>tel:+1555{user.extension}"
                        f"</calledDirectoryNumber></MakeCall>").encode()
            else:
                body = (f'<?xml version="1.0"?><ClearConnection xmlns="{ED3}"><connectionToBeCleared>'
                        f"<callID>{self.call_id.decode()}</callID><deviceID>{user.line}</deviceID>"
                        f"</connectionToBeCleared></ClearConnection>").encode()
            return _request(user, "INFO", cseq, self.to_tag, f"{step}", body)
        if pair == self.makecalls and not second:
            return _request(user, "BYE", cseq, self.to_tag, "bye")
        return None

    def answered(self, response: bytes) -> None:
        if self.to_tag is None:
            match = _TO_TAG.search(response)
            self.to_tag = match.group(1) if match else None
        match = _CALL_ID.search(response)
        if match:
            self.call_id = match.group(1)


def _responses(data: bytes) -> list[bytes]:
    return [b"SIP/2.0 " + part for part in data.split(b"SIP/2.0 ")[1:] if part]


def build(users: int, workdir: Path):
    """(clock, protocol, transport, runtime) on a generated deployment of `users`; stop its
    RCCServer log with `rcclog.stop_rcc_log(runtime.log_observer)` when done."""
    server = write_deployment(workdir, users=users)
    config = load_config(server.config_path)
    reactor = Clock()  # the core's timers fire as the harness moves time on
    runtime = Runtime(config, reactor)
    runtime.start()
    protocol = SipStreamProtocol(sink=runtime.driver, limits=TransportLimits(), clock=reactor,
                                 transport_name="tcp")
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5070),
                                hostAddress=IPv4Address("TCP", "127.0.0.1", 11001))
    protocol.makeConnection(transport)
    return reactor, protocol, transport, runtime


def run_calls(clock: Clock, protocol, transport, users: list[BenchUser],
              makecalls: int = MAKECALLS) -> tuple[int, float]:
    """Every user's call, OPEN_CALLS at once, one message of each open call per chunk: the
    number of calls whose every request was answered 200 without a CSTA error, and the
    CPU seconds spent in the server's code (the harness's own work left out)."""
    waiting = list(reversed(users))
    open_calls: dict[bytes, _Call] = {}
    failed: set[bytes] = set()
    done = 0
    cpu = 0.0
    while waiting or open_calls:
        while waiting and len(open_calls) < OPEN_CALLS:
            call = _Call(waiting.pop(), makecalls)
            open_calls[f"call-{call.user.index}".encode()] = call
        chunk = []
        for key, call in list(open_calls.items()):
            message = call.next_message()
            if message is None:
                del open_calls[key]
                done += 1
            else:
                chunk.append(message)
        if not chunk:
            continue
        started = time.process_time()
        protocol.dataReceived(b"".join(chunk))
        clock.advance(ROUND_SECONDS)
        cpu += time.process_time() - started
        written = transport.value()
        transport.clear()
        for response in _responses(written):
            match = _CALL_OF.search(response)
            call = open_calls.get(match.group(1)) if match else None
            if call is None:
                continue
            if not response.startswith(b"SIP/2.0 200 ") or b"CSTAErrorCode" in response:
                failed.add(match.group(1))
            call.answered(response)
    return done - len(failed), cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--makecalls", type=int, default=MAKECALLS,
                        help="MakeCall + ClearConnection pairs per call (0: logon, ACK, BYE only)")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rcc-lync-") as tmp:
        clock, protocol, transport, runtime = build(args.users, Path(tmp))
        first = 0
        best = None
        for _ in range(args.rounds):
            users = [BenchUser(i) for i in range(first, first + args.calls)]
            first += args.calls
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            done, seconds = run_calls(clock, protocol, transport, users, args.makecalls)
            if profiler:
                profiler.disable()
                profiler.dump_stats(str(args.profile))
            if done != len(users):
                raise SystemExit(f"{len(users) - done} of {len(users)} calls failed")
            per_call = seconds / done * 1e6
            best = per_call if best is None else min(best, per_call)
            print(f"{done} calls: {per_call:.0f} us of server CPU per call, "
                  f"{per_call / (2 * args.makecalls + 1):.0f} us per CSTA request")
        print(f"best: {best:.0f} us per call")
        rcclog.stop_rcc_log(runtime.log_observer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
