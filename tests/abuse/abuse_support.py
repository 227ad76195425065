"""Helpers for the abuse tests: sockets from chosen loopback addresses, closure checks, fd limits."""
from __future__ import annotations

import resource
import selectors
import socket
import time

from testkit.lyncclient import LyncClient
from testkit.messages import ED3


def connect_from(source: str, port: int, timeout: float = 5.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:port from `source` (any 127.0.0.0/8 address works on Linux)."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))


def connect_many(source: str, port: int, count: int, timeout: float = 15.0) -> list[socket.socket]:
    """`count` connections from `source`, with a short pause every 256 so that the
    server's accept queue (LISTEN_BACKLOG, 1024) never overflows into 1 s SYN retries."""
    socks = []
    for index in range(count):
        socks.append(connect_from(source, port, timeout))
        if index % 256 == 255:
            time.sleep(0.03)
    return socks


def lync_client_from(source: str, port: int, user: str, line: str, **kwargs) -> LyncClient:
    """A LyncClient whose connection comes from `source`."""
    return LyncClient("127.0.0.1", port, user=user, line=line, source_address=source, **kwargs)


def monitored_session(source: str, port: int, user: str, line: str) -> LyncClient:
    client = lync_client_from(source, port, user, line)
    response = client.sign_in()
    assert response.status == 200, response.headers.get("Warning")
    client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}</deviceObject>'
                f"</monitorObject></MonitorStart>")
    return client


def session_still_served(server, client: LyncClient, station: str) -> None:
    """The session answers an INFO and gets the DeliveredEvent of a call placed to its station."""
    answer = client.info(f'<GetCSTAFeatures xmlns="{ED3}"/>'.encode())
    assert answer.status == 200
    status, body = server.admin("POST", "/api/calls", {"from": "tel:+13175550123", "to": station})
    assert status == 200, body
    deadline = time.monotonic() + 10
    while True:
        event = client.wait_event("DeliveredEvent", timeout=max(0.1, deadline - time.monotonic()))
        if event.connection.call_id == body["call_id"]:
            break
    assert server.admin("POST", f"/api/calls/{body['call_id']}/hangup")[0] == 200
    client.wait_event("ConnectionClearedEvent")


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True if the peer closes (EOF or reset) within timeout without sending anything else first."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not data:
            return True


def closed_among(socks: list[socket.socket], wait: float) -> set[socket.socket]:
    """Which of many sockets the peer closes within `wait` seconds (epoll: no FD_SETSIZE limit)."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + wait
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(remaining):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed.add(sock)
                    selector.unregister(sock)
    finally:
        selector.close()
    return closed


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit (inherited by servers started later); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target
