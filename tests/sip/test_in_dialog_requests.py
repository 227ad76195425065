"""The requests we send in a dialog (event INFOs, refreshing UPDATEs, BYE) are written
straight out on the common path; they must be byte for byte what the general,
header-by-header path builds, and anything the fast path does not vouch for goes
the general way (and fails the same way)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from rccserver.common.clock import Scheduler
from rccserver.sip.client_transactions import general_in_dialog_request
from rccserver.sip.dialog import Dialog
from rccserver.sip.endpoint import Endpoint, Send
from rccserver.sip.message import Request
from rccserver.sip.parser import parse_message
from rccserver.sip.routing import request_uri_and_routes

CSTA_HEADERS = (("Content-Type", "application/csta+xml"),)

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~", min_size=1, max_size=12)
host = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,2}", fullmatch=True)
route = st.builds(
    lambda h, port, lr, extra: f"<sip:{h}:{port};transport=tls{';lr' if lr else ''}{extra}>",
    host, st.integers(1, 65535), st.booleans(), st.sampled_from(["", ";ms-role-rs-to", ";ms-route-sig=ab_c"]),
)
header_value = st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                       max_size=30)
header_name = st.sampled_from(["Content-Type", "content-type", "c", "Supported", "X-Extra", "Session-Expires",
                               "Contact", "Require", "Event"])


def dialog_of(call_id, local_tag, remote_tag, local_user, remote_display, routes, target, transport, local_port):
    return Dialog(
        call_id=call_id,
        local_tag=local_tag,
        remote_tag=remote_tag,
        local_uri=f"<sip:{local_user}@rcc.example.com>",
        remote_uri=f'"{remote_display}" <sip:alice@example.com>' if remote_display else "<sip:alice@example.com>",
        route_set=routes,
        remote_target=target,
        transport=transport,
        conn_id=1,
        local_port=local_port,
        peer=("192.0.2.7", 5061),
        created_at=0.0,
        remote_cseq=1,
    )


dialogs = st.builds(
    dialog_of,
    call_id=token,
    local_tag=token,
    remote_tag=st.none() | token,
    local_user=token,
    remote_display=st.sampled_from(["", "Alice", "Alice B. \u00e9"]),
    routes=st.lists(route, max_size=3),
    target=st.builds(lambda user, h: f"sip:{user}@{h};transport=tls", token, host),
    transport=st.sampled_from(["tcp", "tls"]),
    local_port=st.none() | st.integers(1, 65535),
)


def a_dialog() -> Dialog:
    return dialog_of("a3f0077597a6", "8a1f", "9708e2df90", "rcc", "Alice",
                     ["<sip:fe1.example.com:5061;transport=tls;lr;ms-route-sig=ab>"],
                     "sip:alice@192.0.2.7:51063;transport=tls", "tls", 5061)


def endpoint() -> Endpoint:
    return Endpoint(object(), domain_name="rcc.example.com", scheduler=Scheduler(lambda: 0.0),  # type: ignore[arg-type]
                    user_agent="rccserver/1.0 (test)")


def general_bytes(ep: Endpoint, dialog, method, via, cseq, headers, body) -> bytes:
    request_uri, routes = request_uri_and_routes(dialog)
    return general_in_dialog_request(dialog, method, request_uri, routes, via, cseq, ep.user_agent,
                                     headers, body).to_bytes()


def fast_bytes(ep: Endpoint, dialog, method, via, cseq, headers, body) -> bytes:
    request_uri, routes = request_uri_and_routes(dialog)
    return ep._in_dialog_bytes(dialog, method, request_uri, routes, via, cseq, headers, body)


@settings(max_examples=300, deadline=None)
@given(
    dialog=dialogs,
    method=st.sampled_from(["INFO", "UPDATE", "BYE", "OPTIONS", "NOTIFY", "PUBLISH"]),
    cseq=st.integers(1, 2**31 - 1),
    headers=st.lists(st.tuples(header_name, header_value), max_size=4).map(tuple),
    body=st.binary(max_size=64),
)
def test_the_written_request_is_the_general_paths_byte_for_byte(dialog, method, cseq, headers, body):
    ep = endpoint()
    via = "SIP/2.0/TLS rcc.example.com:5061;branch=z9hG4bK0123456789abcdef"
    for _ in range(2):  # the second time from the remembered trailer
        assert fast_bytes(ep, dialog, method, via, cseq, headers, body) == \
            general_bytes(ep, dialog, method, via, cseq, headers, body)


@pytest.mark.parametrize("headers", [
    (("Content-Length", "999"), ("Content-Type", "application/csta+xml")),  # to_bytes puts it in place
    (("l", "3"),),
    (["Content-Type", "application/csta+xml"],),  # not a tuple: unhashable
])
def test_what_the_fast_path_does_not_take_goes_the_general_way(headers):
    ep = endpoint()
    dialog = a_dialog()
    via = "SIP/2.0/TCP rcc.example.com;branch=z9hG4bKx"
    assert fast_bytes(ep, dialog, "INFO", via, 7, headers, b"abc") == \
        general_bytes(ep, dialog, "INFO", via, 7, tuple(tuple(pair) for pair in headers), b"abc")


def test_bad_input_fails_as_the_general_path_does():
    ep = endpoint()
    dialog = a_dialog()
    via = "SIP/2.0/TCP rcc.example.com;branch=z9hG4bKx"
    with pytest.raises(ValueError, match="must not contain CR or LF"):
        fast_bytes(ep, dialog, "INFO", via, 1, (("X-Bad", "a\r\nb"),), b"")
    with pytest.raises(ValueError, match="invalid method"):
        fast_bytes(ep, dialog, "IN FO", via, 1, (), b"")
    dialog.remote_target, dialog.route_set = "", []
    with pytest.raises(ValueError, match="invalid Request-URI"):
        fast_bytes(ep, dialog, "INFO", via, 1, CSTA_HEADERS, b"")


def test_send_request_writes_a_request_that_parses_back_to_the_dialogs_fields():
    ep = endpoint()
    ep.connection_made(1, ("192.0.2.7", 5061), "tls", ("192.0.2.1", 5061))
    dialog = a_dialog()
    dialog.conn_id = 1
    ep._dialogs[(dialog.call_id, dialog.local_tag, dialog.remote_tag)] = dialog
    outcomes = []
    ep.send_request(dialog, "INFO", headers=CSTA_HEADERS, body=b"<event/>", on_outcome=outcomes.append)
    (out,) = ep.take_output()
    assert isinstance(out, Send)
    request = parse_message(out.data)
    assert isinstance(request, Request)
    assert request.call_id == dialog.call_id and request.cseq == (dialog.local_cseq, "INFO")
    assert request.headers.get("From") == dialog.local_party()
    assert request.headers.get("To") == dialog.remote_party()
    assert request.body == b"<event/>" and request.headers.get("Content-Type") == "application/csta+xml"
    via = request.headers.get("Via")
    assert out.data == general_bytes(ep, dialog, "INFO", via, dialog.local_cseq, CSTA_HEADERS, b"<event/>")
