"""Sending a chunk's answers at once on a plain TCP connection.

Twisted's `transport.write` only queues: it starts watching the socket for
writability (an `epoll_ctl`), the bytes leave on the reactor's next pass (a
second `epoll_wait`, `doWrite`, `send`), and the watch is dropped again (another
`epoll_ctl`). For a server that answers every received chunk with one small
write, that is most of a chunk's fixed cost under open load.

`write` sends the bytes with one `send` when nothing is queued ahead of them and
gives Twisted only what the kernel did not take, so the order on the wire and
Twisted's flow control are unchanged. TLS transports, a transport with a
producer, one that is closing, or a Twisted without the queue attributes read
here take Twisted's path unchanged.
"""
from __future__ import annotations

from twisted.internet import tcp

def write(transport, data: bytes) -> None:
    """Write `data` to `transport`, sending at once what the socket takes now."""
    if not isinstance(transport, tcp.Connection) or not _may_send_now(transport):
        transport.write(data)
        return
    try:
        sent = transport.socket.send(data)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        # Reset or broken: Twisted meets the same error on its own send and closes
        # the connection the usual way.
        sent = 0
    if sent < len(data):
        transport.write(data[sent:] if sent else data)


def _may_send_now(transport) -> bool:
    """Nothing queued ahead and the transport open for writing, as Twisted itself would see it."""
    try:
        return (
            transport.connected
            and not transport.disconnecting
            and not transport._writeDisconnected
            and transport.producer is None
            and not transport._tempDataBuffer
            and transport.offset == len(transport.dataBuffer)
            and not getattr(transport, "TLS", False)
        )
    except AttributeError:  # a Twisted that keeps its queue elsewhere
        return False
