"""Let UDP-only SIP scanners (SIPVicious OSS svmap/svwar) scan our TCP-only RCC line.

SIPVicious OSS refuses tcp:// targets ("Protocol scheme tcp is not supported")
and our server offers no UDP. The relay takes each datagram the scanner sends
to a loopback UDP port, forwards it over a TCP connection from a chosen source
address (so the access list sees that address), and returns every SIP message
the server sends back as one datagram. A connection the server closes is
reopened for the next datagram; every closure is counted.
"""
from __future__ import annotations

import socket
import threading

from rccserver.sip import FramedMessage, StreamFramer


class UdpToTcpRelay:
    def __init__(self, server_port: int, tcp_source: str) -> None:
        self.server_port = server_port
        self.tcp_source = tcp_source
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.port = self.udp.getsockname()[1]
        self.datagrams_in = 0
        self.messages_out: list[bytes] = []
        self.connections = 0
        self.closed_by_server = 0
        self._tcp: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "UdpToTcpRelay":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            if self._tcp is not None:
                self._tcp.close()
        self.udp.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, scanner = self.udp.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.datagrams_in += 1
            tcp = self._connection(scanner)
            try:
                tcp.sendall(data)
            except OSError:
                self._closed(tcp)

    def _connection(self, scanner) -> socket.socket:
        with self._lock:
            if self._tcp is None:
                self._tcp = socket.create_connection(("127.0.0.1", self.server_port), timeout=5,
                                                     source_address=(self.tcp_source, 0))
                self.connections += 1
                threading.Thread(target=self._read, args=(self._tcp, scanner), daemon=True).start()
            return self._tcp

    def _closed(self, tcp: socket.socket) -> None:
        with self._lock:
            if self._tcp is tcp:
                self._tcp = None
                self.closed_by_server += 1
        tcp.close()

    def _read(self, tcp: socket.socket, scanner) -> None:
        framer = StreamFramer()
        while not self._stop.is_set():
            try:
                tcp.settimeout(0.2)
                data = tcp.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                self._closed(tcp)
                return
            for item in framer.feed(data):
                if isinstance(item, FramedMessage):
                    self.messages_out.append(item.data)
                    try:
                        self.udp.sendto(item.data, scanner)
                    except OSError:
                        return
