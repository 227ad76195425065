"""A TLS dialog outlives its connection: when the front end's connection is gone, the
server reaches the dialog's Contact over a new TLS connection, verifying the peer
against its authority certificates, and the event still arrives (SPEC section 7)."""
from __future__ import annotations

import socket
import ssl
import threading

from rccserver.commands import certs
from rccserver.sip import FramedMessage, StreamFramer, make_response, parse_message
from testkit.lyncclient import LyncClient
from testkit.messages import ED3
from testkit.testbed import write_testbed


class TlsFrontEnd(threading.Thread):
    """Accepts one TLS connection (the server coming back to us) and answers its INFOs."""

    def __init__(self, cert_set: certs.CertSet) -> None:
        super().__init__(daemon=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_set.server.certificate, cert_set.server.private_key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(20)
        self.context = context
        self.port = self.listener.getsockname()[1]
        self.requests = []
        self.received = threading.Event()

    def run(self) -> None:
        raw, _ = self.listener.accept()
        with self.context.wrap_socket(raw, server_side=True) as conn:
            conn.settimeout(20)
            framer = StreamFramer()
            while not self.received.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                for item in framer.feed(data):
                    if isinstance(item, FramedMessage):
                        request = parse_message(item.data)
                        self.requests.append(request)
                        conn.sendall(make_response(request, 200).to_bytes())
                        if b"DeliveredEvent" in request.body:
                            self.received.set()


def test_event_reaches_a_tls_dialog_over_a_new_verified_connection(tmp_path):
    cert_set = certs.generate(tmp_path / "certs", host="rcc.example.com")
    server = write_testbed(tmp_path / "srv", line_extra=(
        f'transport = "tls"\ncertificate = "{cert_set.server.certificate}"\n'
        f'private_key = "{cert_set.server.private_key}"\nauthority_certificates = ["{cert_set.ca}"]'
    )).start()
    front_end = TlsFrontEnd(cert_set)
    front_end.start()
    try:
        context = ssl.create_default_context(cafile=str(cert_set.ca))
        # our Contact: the front end's TLS listener
        client = LyncClient("127.0.0.1", server.sip_port, user="sip:alice@example.com", line="tel:+1001",
                            tls_context=context, contact=f"sip:127.0.0.1:{front_end.port};transport=tls")
        assert client.sign_in().status == 200
        client.csta(f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>tel:+1001</deviceObject>'
                    f"</monitorObject></MonitorStart>")
        client.close()  # the connection the dialog came on is gone
        status, _ = server.admin("POST", "/api/calls", {"from": "tel:+13175550100", "to": "1001"})
        assert status == 200
        assert front_end.received.wait(20), f"no event over a new TLS connection:\n{server.log_text[-2000:]}"
        assert len(server.admin("GET", "/api/sessions")[1]) == 1
    finally:
        assert server.stop() == 0
