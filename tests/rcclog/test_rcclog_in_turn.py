"""The RCCServer log's lines of an input are in the file when the server's answer to
that input is written, with no further reactor turn: the runtime flushes the log in
every flush of its core, before the answers are carried out (they may leave at once),
not only by a `callLater(0)` (which runs only after the answers have been sent)."""
from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from rccserver.server import rcclog
from rccserver.server.config import load_config
from rccserver.server.runtime import Runtime
from rccserver.transport.connection import SipStreamProtocol
from rccserver.transport.limits import TransportLimits
from testkit.deployment import BenchUser, write_deployment
from testkit.messages import request_system_status


def _invite(user: BenchUser) -> bytes:
    body = request_system_status(user.line)
    return (f"INVITE sip:rcc@rcc.example.com SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-{user.index}\r\n"
            f"Max-Forwards: 70\r\nFrom: <{user.uri}>;tag=t{user.index}\r\nTo: <sip:rcc@rcc.example.com>\r\n"
            f"Call-ID: in-turn-{user.index}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:fe@127.0.0.1:5070;transport=tcp>\r\nContent-Type: application/csta+xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_a_logons_line_is_in_the_file_when_its_answer_is_written(tmp_path):
    server = write_deployment(tmp_path, users=3)
    reactor = Clock()  # never advanced: no callLater(0) runs in this test
    runtime = Runtime(load_config(server.config_path), reactor)
    runtime.start()
    try:
        protocol = SipStreamProtocol(sink=runtime.driver, limits=TransportLimits(), clock=reactor,
                                     transport_name="tcp")
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5070),
                                    hostAddress=IPv4Address("TCP", "127.0.0.1", 11001))
        protocol.makeConnection(transport)
        protocol.dataReceived(_invite(BenchUser(1)))
        assert transport.value().startswith(b"SIP/2.0 200 OK\r\n")
        log = (tmp_path / "rccserver.log").read_text()
        assert "logon code=Cs_Success" in log and "lync_uri=sip:u1@example.com" in log
    finally:
        rcclog.stop_rcc_log(runtime.log_observer)


def test_stopping_the_log_writes_what_waits_for_a_turn(tmp_path):
    reactor = Clock()
    observer = rcclog.RccLogObserver(str(tmp_path / "r.log"), max_bytes=10**6, backups=1, reactor=reactor)
    filtered = rcclog.OursOrSerious(observer, rcclog.LEVELS["info"])
    publisher = rcclog.LogPublisher()
    publisher.addObserver(filtered)
    rcclog.Logger(namespace=rcclog.NAMESPACE, observer=publisher).info("last words")
    assert (tmp_path / "r.log").read_text() == ""  # waiting for the turn's end
    rcclog.stop_rcc_log(filtered, publisher)
    assert "last words" in (tmp_path / "r.log").read_text()


def test_the_log_is_written_before_any_line_carries_out_its_answers(tmp_path):
    # Answers carried out outside a received chunk (a Redis reply, a timer) leave at
    # once (transport/write_now.py): the turn's lines must be in the file by then.
    server = write_deployment(tmp_path, users=1)
    runtime = Runtime(load_config(server.config_path), Clock())
    runtime.start()
    try:
        flushes = list(runtime.timer._flushes)
        log_flush = flushes.index(runtime.log_observer.rcc_observer.flush)
        assert log_flush < flushes.index(runtime.driver._carry_out)
        assert flushes.index(runtime.app.events.flush) < log_flush  # events may log too
    finally:
        rcclog.stop_rcc_log(runtime.log_observer)
