"""The endpoint's client side: the requests it sends in a dialog (INFO, UPDATE, BYE).

Building the request (Via with our listening port, the dialog's route set, a
fresh branch), choosing the connection or a target to open
(`routing.dialog_target`), Timer F, matching responses to transactions by
branch and method (RFC 3261 17.1.3) and reporting each outcome to the caller
exactly once: the response, a timeout, or a transport failure.

A part of `Endpoint` (see endpoint.py), kept apart so each concern reads alone.
"""
from __future__ import annotations

import secrets
from typing import Callable

from rccserver.sip.application import ResponseOutcome, TransactionTimeout, TransportFailure
from rccserver.sip.dialog import Dialog
from rccserver.sip.headers import Headers
from rccserver.sip.message import Request, Response
from rccserver.sip.outputs import Send, SendTo, Target
from rccserver.sip.routing import dialog_target, request_uri_and_routes
from rccserver.sip.transaction import (
    MAGIC_COOKIE,
    TIMER_B_F_H,
    Action,
    ClientNonInviteInput,
    ClientTransaction,
)
from rccserver.sip.transaction_tables import response_input


FAST_METHODS = frozenset({"INFO", "UPDATE", "BYE", "OPTIONS", "NOTIFY", "MESSAGE"})


def _plain_uri(uri: str) -> bool:
    """A Request-URI `Request` would accept (non-empty, no whitespace)."""
    return bool(uri) and " " not in uri and "\t" not in uri and "\r" not in uri and "\n" not in uri


def general_in_dialog_request(
    dialog: Dialog,
    method: str,
    request_uri: str,
    routes: list[str],
    via: str,
    cseq: int,
    user_agent: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
) -> Request:
    """A request in `dialog` built header by header (RFC 3261 12.2.1.1): every field checked."""
    h = Headers()
    h.add("Via", via)
    h.add("Max-Forwards", "70")
    h.add("From", dialog.local_party())
    h.add("To", dialog.remote_party())
    h.add("Call-ID", dialog.call_id)
    h.add("CSeq", f"{cseq} {method}")
    for route in routes:
        h.add("Route", route)
    h.add("User-Agent", user_agent)
    for name, value in headers:
        h.add(name, value)
    return Request(method, request_uri, h, body)


class ClientTransactions:
    """Mixed into Endpoint: uses its connections, timers, outputs and dialog methods."""

    def _send_in_dialog(
        self,
        dialog: Dialog,
        method: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        on_outcome: Callable[[ResponseOutcome], None],
    ) -> None:
        conn = self._connections.get(dialog.conn_id) if dialog.conn_id is not None else None
        target: Target | None = None
        request_uri, routes = request_uri_and_routes(dialog)
        unroutable: str | None = None
        if conn is None:
            try:
                target = dialog_target(dialog)
                transport = target.transport
            except ValueError as error:  # includes SipParseError from a bad route URI
                unroutable = str(error)
                transport = dialog.transport
        else:
            transport = conn.transport
        branch = MAGIC_COOKIE + secrets.token_hex(8)
        cseq = dialog.next_local_cseq()
        # sent-by names our listening port: a peer that must answer by Via (its connection
        # gone) then finds us rather than port 5060.
        sent_by = f"{self.domain_name}:{dialog.local_port}" if dialog.local_port else self.domain_name
        via = f"SIP/2.0/{transport.upper()} {sent_by};branch={branch}"
        data = self._in_dialog_bytes(dialog, method, request_uri, routes, via, cseq, headers, body)
        tx = ClientTransaction(branch, method, dialog.call_id, on_outcome, dialog)
        self._client_tx[branch] = tx
        tx.timer = self._schedule(TIMER_B_F_H, lambda: self._feed_client(tx, ClientNonInviteInput.TIMER_F))
        if unroutable is not None:
            # Reported from the next tick, so that on_outcome never runs inside send_request.
            self._schedule(0.0, lambda: self._client_send_failed(tx, f"no route to the peer: {unroutable}"))
        elif conn is not None:
            self._outputs.append(Send(conn.conn_id, data))
        else:
            key = ("request", branch)
            self._pending_sends[key] = lambda reason: self._client_send_failed(tx, reason)
            self._outputs.append(SendTo(target, data, key))  # type: ignore[arg-type]

    def _in_dialog_bytes(
        self,
        dialog: Dialog,
        method: str,
        request_uri: str,
        routes: list[str],
        via: str,
        cseq: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> bytes:
        """The wire form of a request we send in `dialog`.

        Event INFOs are most of what the server sends, so the common case is written
        straight out: the dialog's fields were checked when the peer's messages were
        parsed, and the trailing headers (User-Agent and the caller's, the same few
        tuples every time) are checked and rendered once (`RenderedFields`). Anything
        else (a method or Request-URI the fast path does not vouch for, a caller's
        Content-Length) goes through `general_in_dialog_request`, byte for byte the
        same form (tests compare the two)."""
        trailer = self._request_fields.lines((("User-Agent", self.user_agent), *headers))
        if trailer is None or method not in FAST_METHODS or not _plain_uri(request_uri) or type(body) is not bytes:
            return general_in_dialog_request(
                dialog, method, request_uri, routes, via, cseq, self.user_agent, headers, body
            ).to_bytes()
        route_text = "".join([f"Route: {route}\r\n" for route in routes]) if routes else ""
        return (
            f"{method} {request_uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n"
            f"From: {dialog.local_party()}\r\nTo: {dialog.remote_party()}\r\nCall-ID: {dialog.call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n{route_text}{trailer}Content-Length: {len(body)}\r\n\r\n"
        ).encode("utf-8", "surrogateescape") + body

    def _client_send_failed(self, tx: ClientTransaction, reason: str) -> None:
        if not tx.terminated:
            self._feed_client(tx, ClientNonInviteInput.TRANSPORT_ERROR, reason=reason)

    def _feed_client(self, tx: ClientTransaction, input_: ClientNonInviteInput, response: Response | None = None, reason: str = "") -> None:
        for action in tx.feed(input_):
            if action is Action.PASS_TO_TU:
                tx.on_outcome(response)  # type: ignore[arg-type]
            elif action is Action.START_TIMER_K:
                self._feed_client(tx, ClientNonInviteInput.TIMER_K)  # Timer K = 0 on TCP/TLS
            elif action is Action.REPORT_TIMEOUT:
                tx.on_outcome(TransactionTimeout(tx.method, tx.call_id))
            elif action is Action.REPORT_TRANSPORT_FAILURE:
                tx.on_outcome(TransportFailure(tx.method, tx.call_id, reason))
            elif action is Action.DESTROY:
                if tx.timer is not None:
                    tx.timer.cancel()
                    tx.timer = None
                self._client_tx.pop(tx.branch, None)
                self._pending_sends.pop(("request", tx.branch), None)

    def _handle_response(self, conn_id: int, response: Response) -> None:
        via = response.top_via
        tx = self._client_tx.get(via.branch) if via is not None and via.branch else None
        if tx is None or response.cseq[1] != tx.method:
            return  # not ours (RFC 3261 17.1.3): drop
        if tx.dialog is not None and tx.dialog.is_live and tx.dialog.conn_id != conn_id:
            self._move_dialog(tx.dialog, conn_id)  # the connection that now reaches the peer
        input_ = response_input(False, response.status)
        self._feed_client(tx, input_, response)
