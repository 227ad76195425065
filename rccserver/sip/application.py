"""The interface between the SIP endpoint and the application above it (the RCC layer).

The endpoint hands the application each request that needs an answer as an
`IncomingRequest`; the application answers it with `respond()`, now or later.
Outcomes of requests the application sends (`Endpoint.send_request`) come back
as a `Response`, a `TransactionTimeout` or a `TransportFailure`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Protocol, Union

import attrs

if TYPE_CHECKING:
    from rccserver.sip.dialog import Dialog
    from rccserver.sip.message import Request, Response

HeaderItems = Iterable[tuple[str, str]]


class Application(Protocol):
    """What the endpoint calls.  Every method must return promptly (no blocking I/O)."""

    def on_invite(self, incoming: IncomingRequest) -> None:
        """An initial INVITE (no To tag).  A 2xx creates the dialog; >= 300 makes none."""

    def on_reinvite(self, incoming: IncomingRequest) -> None:
        """An INVITE inside a dialog (session refresh); the endpoint adds the timer headers."""

    def on_info(self, incoming: IncomingRequest) -> None:
        """An INFO inside a dialog."""

    def on_update(self, incoming: IncomingRequest) -> None:
        """An UPDATE inside a dialog, for information only: the endpoint has already
        answered it (200 with Session-Expires, or 422), so `incoming.responded` is True."""

    def on_bye(self, dialog: Dialog, request: Request) -> None:
        """The peer sent BYE; the endpoint has answered 200.  `on_dialog_ended` follows."""

    def on_dialog_ended(self, dialog: Dialog, reason: str) -> None:
        """Called exactly once per dialog, whatever ended it.

        Reasons: "bye-received", "bye-sent" (or the reason given to `end_dialog`),
        "session-timer-expired", "ack-timeout", "shutdown".
        """


class ResponseAlreadySent(RuntimeError):
    """`IncomingRequest.respond()` was called again after a final response."""


@attrs.frozen(slots=True)
class TransactionTimeout:
    """No final response to our request within Timer F (32 s)."""

    method: str
    call_id: str


@attrs.frozen(slots=True)
class TransportFailure:
    """Our request could not be delivered (no connection to the dialog's route)."""

    method: str
    call_id: str
    reason: str


ResponseOutcome = Union["Response", TransactionTimeout, TransportFailure]

# respond(incoming, status, reason, headers, body) as the endpoint implements it
_Responder = Callable[["IncomingRequest", int, "str | None", tuple[tuple[str, str], ...], bytes], None]


class IncomingRequest:
    """A request waiting for the application's answer.

    `respond()` may be called at once or later, while other requests proceed.
    Provisional answers (1xx) may be sent any number of times; a second final
    answer raises `ResponseAlreadySent`.  If the request was cancelled (CANCEL
    for a pending INVITE, BYE overtaking a re-INVITE) the endpoint has already
    answered 487, `cancelled` is True and a later `respond()` is ignored.
    """

    __slots__ = ("request", "dialog", "conn_id", "cancelled", "transaction", "_final_sent", "_responder")

    def __init__(
        self, request: Request, dialog: Dialog | None, conn_id: int, responder: _Responder, transaction: object = None
    ) -> None:
        self.request = request
        self.dialog = dialog
        self.conn_id = conn_id
        self.cancelled = False
        # The responder's own record of the request (the endpoint's server transaction),
        # so that one responder serves every request: no closure made per request.
        self.transaction = transaction
        self._final_sent = False
        self._responder = responder

    @property
    def responded(self) -> bool:
        """True once a final response has been sent (by the application or the endpoint)."""
        return self._final_sent

    def respond(self, status: int, reason: str | None = None, *, headers: HeaderItems = (), body: bytes = b"") -> None:
        if not 100 <= status <= 699:
            raise ValueError(f"status {status} is not a SIP status code (100-699)")
        if self.cancelled:
            return  # the endpoint already answered 487; the app's late answer is moot
        if self._final_sent:
            raise ResponseAlreadySent(
                f"{self.request.method} {self.request.call_id}: a final response was already sent"
            )
        if status >= 200:
            self._final_sent = True
        self._responder(self, status, reason, tuple(headers), body)

    def _mark_answered_by_endpoint(self, cancelled: bool) -> None:
        self._final_sent = True
        self.cancelled = cancelled

    def __repr__(self) -> str:
        return f"<IncomingRequest {self.request.method} call-id={self.request.call_id!r} conn={self.conn_id}>"
