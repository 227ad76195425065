"""Endpoint throughput: in-dialog INFO transactions (bytes in -> parse -> dispatch ->
application answer -> bytes out), and our own INFOs with their 200s.

The whole-server target is >= 10,000 INFO transactions per second on one core; the
endpoint's share must leave room for CSTA decoding and the RCC layer.
"""
from __future__ import annotations

from rccserver.common.clock import Scheduler
from rccserver.sip.endpoint import Endpoint
from rccserver.sip.message import Request

from bench.common import rate, scale

CSTA = "application/csta+xml"
BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<monitorObject><deviceObject>tel:+13175551010</deviceObject></monitorObject></MonitorStart>"
)
ANSWER = (
    b'<?xml version="1.0" encoding="UTF-8"?><MonitorStartResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<monitorCrossRefID>m1</monitorCrossRefID></MonitorStartResponse>"
)


class _AnsweringApp:
    def on_invite(self, incoming):
        incoming.respond(200, headers=[("Content-Type", CSTA)], body=ANSWER)

    on_reinvite = on_invite

    def on_info(self, incoming):
        incoming.respond(200, headers=[("Content-Type", CSTA)], body=ANSWER)

    def on_update(self, incoming):
        pass

    def on_bye(self, dialog, request):
        pass

    def on_dialog_ended(self, dialog, reason):
        pass


def ok_to_info(request) -> bytes:
    """The peer's 200 to an INFO we sent (`request` as parsed)."""
    return (
        f"SIP/2.0 200 OK\r\nVia: {request.headers.get('Via')}\r\nFrom: {request.headers.get('From')}\r\n"
        f"To: {request.headers.get('To')}\r\nCall-ID: {request.call_id}\r\nCSeq: {request.cseq[0]} INFO\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def _request(method: str, cseq: int, to_tag: str | None, branch: str, body: bytes = b"") -> bytes:
    to = "<sip:rcc@rcc.example.com>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} sip:rcc@rcc.example.com;transport=tcp SIP/2.0",
        f"Via: SIP/2.0/TLS fe1.example.com:5061;branch={branch}",
        "Record-Route: <sip:fe1.example.com:5061;transport=tls;ms-role-rs-from;lr;ms-route-sig=abc>" if method == "INVITE" else "",
        "Contact: <sip:alice@10.0.0.5:51063;transport=tls>" if method == "INVITE" else "",
        "Max-Forwards: 70",
        'From: "Alice" <sip:alice@example.com>;tag=9708e2df90;epid=bd23d94254',
        f"To: {to}",
        "Call-ID: a3f0077597a645ed91dfed3bf7e88d93",
        f"CSeq: {cseq} {method}",
        "User-Agent: UCCP/2.0.6362.0 OC/2.0.6362.0 (Microsoft Office Communicator)",
        "Content-Disposition: signal;handling=required",
        f"Content-Type: {CSTA}",
        "Supported: timer",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(line for line in lines if line) + "\r\n\r\n").encode() + body


def main() -> None:
    now = [0.0]
    endpoint = Endpoint(_AnsweringApp(), domain_name="rcc.example.com", scheduler=Scheduler(lambda: now[0]))
    endpoint.connection_made(1, ("10.1.1.1", 40000), "tls", ("10.9.9.9", 11001))
    endpoint.receive(1, _request("INVITE", 1, None, "z9hG4bKinvite", BODY))
    endpoint.take_output()
    dialog = next(iter(endpoint.dialogs))
    to_tag = dialog.local_tag
    endpoint.receive(1, _request("ACK", 1, to_tag, "z9hG4bKack"))

    count = scale(20000, smoke=20)
    infos = [_request("INFO", n + 2, to_tag, f"z9hG4bKinfo{n}", BODY) for n in range(count)]
    it = iter(infos)

    def one_info() -> None:
        endpoint.receive(1, next(it))
        endpoint.take_output()

    rate("endpoint: incoming INFO transactions", one_info, count)

    def one_event() -> None:
        endpoint.send_request(dialog, "INFO", headers=[("Content-Type", CSTA)], body=ANSWER, on_outcome=_ignore)
        (out,) = endpoint.take_output()
        endpoint.receive(1, ok_to_info(_parse(out.data)))

    rate("endpoint: outgoing INFO + 200 (incl. test-side parse)", one_event, scale(10000, smoke=20))
    print(f"{'endpoint: transactions left':<48} {endpoint.server_transaction_count + endpoint.client_transaction_count:>12}")


def _ignore(outcome: object) -> None:
    pass


def _parse(data: bytes) -> Request:
    from rccserver.sip.parser import parse_message

    message = parse_message(data)
    assert isinstance(message, Request)
    return message


if __name__ == "__main__":
    main()
