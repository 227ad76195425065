"""Helpers for transport tests: a private reactor in a background thread, a
recording sink and a rejection recorder (thread-safe, for the test thread to wait on)."""
from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.selectreactor import SelectReactor
from twisted.python.failure import Failure

# Upper bound for anything we wait on; tests never assert on elapsed time.
WAIT = 10.0


class ReactorThread:
    """A reactor of our own (not the global one, which other tests may run)."""

    def __init__(self) -> None:
        self.reactor = SelectReactor()
        self.thread = threading.Thread(target=self.reactor.run, kwargs={"installSignalHandlers": False},
                                       name="transport-test-reactor", daemon=True)
        self.thread.start()

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `function` in the reactor thread; wait for its (Deferred) result."""
        results: queue.Queue = queue.Queue()

        def run() -> None:
            d = defer.maybeDeferred(function, *args, **kwargs)
            d.addBoth(results.put)

        self.reactor.callFromThread(run)
        try:
            result = results.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"{function!r} did not finish within {WAIT} s") from None
        if isinstance(result, Failure):
            result.raiseException()
        return result

    def stop(self) -> None:
        self.reactor.callFromThread(self.reactor.stop)
        self.thread.join(WAIT)


class RecordingSink:
    """Records sink calls (thread-safe) for the test thread to wait on.

    `reply_to_framing_error`: bytes sent on the connection when a framing error arrives.
    """

    def __init__(self, reply_to_framing_error: bytes | None = None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.reply_to_framing_error = reply_to_framing_error
        self.connections: list = []

    def connection_made(self, conn) -> None:
        self.connections.append(conn)
        self.events.put(("made", conn, None))

    def message_received(self, conn, data: bytes) -> None:
        self.events.put(("message", conn, data))

    def chunk_received(self, conn) -> None:
        pass  # the tests wait on messages, not on chunk ends

    def framing_error(self, conn, error) -> None:
        if self.reply_to_framing_error is not None:
            conn.send(self.reply_to_framing_error)
        self.events.put(("framing_error", conn, error))

    def connection_lost(self, conn, reason: str) -> None:
        self.events.put(("lost", conn, reason))

    def next(self, kind: str | None = None):
        """The next event (of `kind`, skipping others)."""
        while True:
            try:
                event = self.events.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {kind or 'sink'} event within {WAIT} s") from None
            if kind is None or event[0] == kind:
                return event

    def pending(self) -> list:
        items = []
        while True:
            try:
                items.append(self.events.get_nowait())
            except queue.Empty:
                return items


class Rejections:
    """Records on_rejected(peer, reason) calls."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()

    def __call__(self, peer, reason: str) -> None:
        self.calls.put((peer, reason))

    def next(self) -> tuple:
        try:
            return self.calls.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no rejection reported within {WAIT} s") from None

    def empty(self) -> bool:
        return self.calls.empty()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as closed)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
