"""Fixtures for transport tests: a generated certificate set, a private reactor
running in a background thread (tests talk to it with real loopback sockets),
and a recording sink."""
from __future__ import annotations

import pytest
from transport_support import Rejections, ReactorThread, RecordingSink

from rccserver.commands import certs


@pytest.fixture(scope="session")
def cert_set(tmp_path_factory) -> certs.CertSet:
    return certs.generate(tmp_path_factory.mktemp("certs"), host="rcc.example.com")


@pytest.fixture(scope="session")
def reactor_thread() -> ReactorThread:
    runner = ReactorThread()
    yield runner
    runner.stop()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink(reply_to_framing_error=b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def rejections() -> Rejections:
    return Rejections()


@pytest.fixture
def start_listener(reactor_thread: ReactorThread):
    """start_listener(sink, **SipListener kwargs) -> started listener on 127.0.0.1, port 0."""
    from rccserver.transport.listener import SipListener

    started: list[SipListener] = []

    def start(sink, **kwargs) -> SipListener:
        kwargs.setdefault("address", "127.0.0.1")
        kwargs.setdefault("port", 0)
        listener = SipListener(reactor=reactor_thread.reactor, sink=sink, **kwargs)
        reactor_thread.call(listener.startService)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        if listener.running:
            reactor_thread.call(listener.stopService)
