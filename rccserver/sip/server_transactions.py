"""The endpoint's server side: RFC 3261 server transactions for the requests it receives.

Creating a transaction per request, answering it (from the endpoint itself or
from the application), feeding the transaction table's inputs and carrying out
its actions: send, re-send the last response on a retransmission, arm Timers
H/L/J, report the ACK or the timeout, forget the transaction.  A response whose
connection is gone goes by Via (`routing.response_target`).

A part of `Endpoint` (see endpoint.py), kept apart so each concern reads alone.
"""
from __future__ import annotations

from typing import Iterable

from rccserver.sip.application import IncomingRequest
from rccserver.sip.dialog import DialogEvent, new_tag
from rccserver.sip.grammar import field_tag
from rccserver.sip.message import REASON_PHRASES, Request, make_response, reason_phrase, with_to_tag
from rccserver.sip.outputs import Send, SendTo
from rccserver.sip.routing import response_target
from rccserver.sip.transaction import (
    TIMER_B_F_H,
    TIMER_L,
    Action,
    ServerInviteInput,
    ServerInviteState,
    ServerNonInviteInput,
    ServerNonInviteState,
    ServerTransaction,
)
from rccserver.sip.transaction_tables import tu_response_input


# What a response repeats from its request (RFC 3261 8.2.6.2), as make_response copies it.
_COPIED = frozenset({"Via", "From", "To", "Call-ID", "CSeq"})
_COPIED_WITH_RECORD_ROUTE = _COPIED | {"Record-Route"}

_SEND_RESPONSE = Action.SEND_RESPONSE
_RESEND_LAST_RESPONSE = Action.RESEND_LAST_RESPONSE
_DESTROY = Action.DESTROY
_START_TIMER_H = Action.START_TIMER_H
_START_TIMER_J = Action.START_TIMER_J
_START_TIMER_L = Action.START_TIMER_L
_PASS_TO_TU = Action.PASS_TO_TU
_REPORT_TIMEOUT = Action.REPORT_TIMEOUT
_TIMER_J = ServerNonInviteInput.TIMER_J
_SERVER_TERMINATED = frozenset({ServerInviteState.TERMINATED, ServerNonInviteState.TERMINATED})
_TU_FINAL = ServerNonInviteInput.TU_FINAL
_TU_1XX = ServerNonInviteInput.TU_1XX


class ServerTransactions:
    """Mixed into Endpoint: uses its connections, timers, outputs and dialog methods."""

    def _incoming(self, tx: ServerTransaction) -> IncomingRequest:
        # One bound responder for every request (made in Endpoint.__init__); the
        # transaction rides on the IncomingRequest.
        return IncomingRequest(tx.request, tx.dialog, tx.conn_id, self._app_responder, tx)

    def _respond_from_app(
        self,
        incoming: IncomingRequest,
        status: int,
        reason: str | None,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> None:
        tx: ServerTransaction = incoming.transaction  # type: ignore[assignment]
        if tx.state in _SERVER_TERMINATED:  # tx.terminated, without the property's call
            return
        if tx.request.method == "INVITE" and 200 <= status < 300:
            if tx.creates_dialog:
                dialog = self._create_dialog(tx)
            else:
                dialog = tx.dialog
                if dialog is not None:
                    self._update_remote_target(dialog, tx.request)
            if dialog is not None and dialog.is_live:
                self._apply_session_timer(dialog, tx.session_timer)
                dialog.pending_invite = tx
            extra: list[tuple[str, str]] = list(headers)
            given = {name.lower() for name, _ in extra}
            extra += [(n, v) for n, v in self._dialog_response_headers(tx) if n.lower() not in given]
            headers = tuple(extra)
        self._respond(tx, status, reason, headers=headers, body=body)

    def _dialog_response_headers(self, tx: ServerTransaction) -> list[tuple[str, str]]:
        headers = [("Contact", self._contact_for(tx.conn_id))]
        headers += self._capability_headers()
        if tx.session_timer is not None:
            headers += tx.session_timer.response_headers()
        return headers

    def _respond(
        self,
        tx: ServerTransaction,
        status: int,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        request = tx.request
        if type(headers) is not tuple:
            headers = tuple(headers)  # read twice when the general path has to build it
        to_tag = None
        if status != 100:
            tagged = tx.request_tagged
            if tagged is None:
                tagged = tx.request_tagged = field_tag(request, "To") is not None
            if not tagged:
                if tx.to_tag is None:
                    tx.to_tag = new_tag()
                to_tag = tx.to_tag
        creates = tx.creates_dialog and 100 < status < 300
        data = self._response_bytes(request, status, reason, headers, body, to_tag, creates)
        if data is None:
            data = make_response(
                request,
                status,
                reason,
                to_tag=to_tag,
                headers=[*headers, ("Server", self.user_agent)],
                body=body,
                copy_record_route=creates,
            ).to_bytes()
        if tx.machine == "server-invite":
            self._feed_server(tx, tu_response_input(True, status), data)
        else:  # tu_response_input(False, status), without the call
            self._feed_server(tx, _TU_FINAL if status >= 200 else _TU_1XX, data)

    def _response_bytes(
        self,
        request: Request,
        status: int,
        reason: str | None,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        to_tag: str | None,
        copy_record_route: bool,
    ) -> bytes | None:
        """`make_response(...).to_bytes()` written straight out: the copied fields were
        checked by the parser (the To gets `to_tag` as make_response adds it); the
        application's fields (+ Server) are checked and rendered once (`RenderedFields`).
        None when the general path must build it (and say what is wrong)."""
        if type(body) is not bytes or type(status) is not int or not 100 <= status <= 699:
            return None
        if reason is None:
            reason = REASON_PHRASES.get(status) or reason_phrase(status)  # the table first: no call
        elif "\r" in reason or "\n" in reason:
            return None
        trailer = self._response_fields.lines_then(headers, "Server", self.user_agent)
        if trailer is None:
            return None
        names = _COPIED_WITH_RECORD_ROUTE if copy_record_route else _COPIED
        if to_tag is None:
            copied = "".join([f"{name}: {value}\r\n" for name, value in request.headers.fields() if name in names])
        else:
            copied = "".join([
                f"To: {with_to_tag(value, to_tag)}\r\n" if name == "To" else f"{name}: {value}\r\n"
                for name, value in request.headers.fields()
                if name in names
            ])
        return (
            f"SIP/2.0 {status} {reason}\r\n{copied}{trailer}Content-Length: {len(body)}\r\n\r\n"
        ).encode("utf-8", "surrogateescape") + body

    def _feed_server(self, tx: ServerTransaction, input_, data: bytes | None = None) -> None:
        actions = tx.feed(input_)
        if _START_TIMER_J in actions and self.timer_j <= 0:
            # TCP/TLS: Timer J is zero, so Completed ends at once; its input is fed now
            # (as ServerTransaction.feed does for Timer I), not through a second call.
            actions += tx.feed(_TIMER_J)
        # The commonest actions first; module names, not Action.X lookups, in the chain.
        for action in actions:
            if action is _SEND_RESPONSE:
                tx.last_response = data
                conn_id = tx.conn_id
                if conn_id in self._connections:  # the common case of _send_response_bytes
                    self._outputs.append(Send(conn_id, data))  # type: ignore[arg-type]
                else:
                    self._send_response_bytes(conn_id, tx.request, data, tx=tx)  # type: ignore[arg-type]
            elif action is _DESTROY:
                self._destroy_server_tx(tx)
            elif action is _START_TIMER_J:
                if self.timer_j > 0:  # else fed above
                    tx.timer = self._schedule(self.timer_j, lambda: self._feed_server(tx, ServerNonInviteInput.TIMER_J))
            elif action is _START_TIMER_L:
                tx.timer = self._schedule(TIMER_L, lambda: self._feed_server(tx, ServerInviteInput.TIMER_L))
            elif action is _PASS_TO_TU:
                # only the ACK for our 2xx comes here: the dialog is confirmed by it
                if tx.dialog is not None and tx.dialog.pending_invite is tx:
                    tx.dialog.pending_invite = None
            elif action is _RESEND_LAST_RESPONSE:
                if tx.last_response is not None:
                    self._send_response_bytes(tx.conn_id, tx.request, tx.last_response)
            elif action is _START_TIMER_H:
                tx.timer = self._schedule(TIMER_B_F_H, lambda: self._feed_server(tx, ServerInviteInput.TIMER_H))
            elif action is _REPORT_TIMEOUT:
                self._server_timeout(tx)
            # ABSORB and REPORT_TRANSPORT_FAILURE need nothing more here: a server
            # transaction's lost response has nobody to tell.

    def _server_timeout(self, tx: ServerTransaction) -> None:
        dialog = tx.dialog
        if tx.state is ServerInviteState.TERMINATED and dialog is not None and dialog.pending_invite is tx:
            dialog.pending_invite = None
            if tx.creates_dialog and dialog.is_live:
                # RFC 3261 13.3.1.4: no ACK for our 2xx, so the session is not up.
                self._end_dialog(dialog, DialogEvent.ACK_TIMEOUT, "ack-timeout")

    def _destroy_server_tx(self, tx: ServerTransaction) -> None:
        if tx.timer is not None:
            tx.timer.cancel()
            tx.timer = None
        table = self._server_tx
        other = table.pop(tx.key, None)  # one hash of the key; put back what is not ours
        if other is not None and other is not tx:
            table[tx.key] = other
        if tx.send_key is not None:
            self._pending_sends.pop(tx.send_key, None)
        # The request's record points back at its transaction (IncomingRequest.transaction):
        # cut the loop, or every request would leave a cycle for the collector to find.
        tx.incoming = None
        if tx.dialog is not None and tx.dialog.pending_invite is tx and tx.state is ServerInviteState.TERMINATED:
            tx.dialog.pending_invite = None

    def _send_response_bytes(self, conn_id: int, request: Request, data: bytes, tx: ServerTransaction | None = None) -> None:
        if conn_id in self._connections:
            self._outputs.append(Send(conn_id, data))
            return
        # RFC 3261 18.2.2: the connection is gone, so open one to the Via's address.
        target = response_target(request.top_via)
        key = ("response", next(self._send_seq))
        if tx is not None and not tx.terminated:
            if tx.send_key is not None:
                self._pending_sends.pop(tx.send_key, None)
            tx.send_key = key
            self._pending_sends[key] = lambda reason: self._server_send_failed(tx)
        self._outputs.append(SendTo(target, data, key))

    def _server_send_failed(self, tx: ServerTransaction) -> None:
        if not tx.terminated:
            input_ = ServerInviteInput.TRANSPORT_ERROR if tx.machine == "server-invite" else ServerNonInviteInput.TRANSPORT_ERROR
            self._feed_server(tx, input_)
