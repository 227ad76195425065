"""Where a message goes when it has no live connection (RFC 3261 sections 12.2.1.1 and 18.2.2).

Pure functions over dialogs and Via headers; the endpoint decides *whether* a
message needs one of these targets (it prefers the connection the dialog or
request last used), these decide *where*.
"""
from __future__ import annotations

from rccserver.sip.dialog import Dialog
from rccserver.sip.grammar import uri_text
from rccserver.sip.outputs import Connection, Target
from rccserver.sip.uri import SipUri, parse_uri
from rccserver.sip.via import Via

STREAM_TRANSPORTS = ("tcp", "tls")


def default_port(transport: str) -> int:
    return 5061 if transport == "tls" else 5060


def response_target(via: Via) -> Target:
    """RFC 3261 18.2.2 (with RFC 3581 rport): the request's connection is gone, so answer
    towards its top Via's received address and rport, else its sent-by."""
    host = via.received or via.host
    transport = via.transport.lower()
    rport = via.rport
    port = int(rport) if rport and rport.isdigit() else via.port
    if port is None:
        port = default_port(transport)
    return Target(host, int(port), transport)


def request_uri_and_routes(dialog: Dialog) -> tuple[str, list[str]]:
    """The Request-URI and Route headers of a request in `dialog` (RFC 3261 12.2.1.1).

    With a strict router first in the route set, its URI becomes the Request-URI and
    the remote target goes to the end of the Route list."""
    routes = dialog.route_set
    if routes and ";lr" not in uri_text(routes[0]).lower():
        return uri_text(routes[0]), [*routes[1:], f"<{dialog.remote_target}>"]
    return dialog.remote_target, list(routes)


def dialog_target(dialog: Dialog) -> Target:
    """Where to connect for a request in `dialog`: its first Route, else its remote target.

    Raises ValueError (SipParseError included) when that URI cannot be reached over a
    stream transport we speak."""
    text = uri_text(dialog.route_set[0]) if dialog.route_set else dialog.remote_target
    uri = parse_uri(text)
    if not isinstance(uri, SipUri):
        raise ValueError(f"cannot open a connection to the non-SIP URI {text!r}")
    transport = (uri.param("transport") or ("tls" if uri.scheme == "sips" else dialog.transport)).lower()
    if transport not in STREAM_TRANSPORTS:
        raise ValueError(f"cannot reach {text!r}: we speak TCP and TLS only, not {transport!r}")
    host = uri.param("maddr") or uri.host
    port = uri.port or default_port(transport)
    return Target(host, int(port), transport)


def contact_uri(domain_name: str, conn: Connection | None) -> str:
    """Our Contact for a dialog on `conn`: the listening port and transport it arrived on."""
    transport = conn.transport if conn is not None else "tcp"
    port = conn.local[1] if conn is not None else default_port(transport)
    return f"<sip:{domain_name}:{port};transport={transport}>"
