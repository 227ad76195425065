"""UAS dialog state (RFC 3261 section 12), with the leniency Lync clients need.

A dialog is created by our 2xx to an initial INVITE and ends by BYE (either
way), a lapsed session timer, an ACK that never came, or shutdown.  It outlives
the connection it was created on: `conn_id` is the connection it last received
on, and requests we send go there while it is up, else towards the route set.

Remote CSeq is recorded but never enforced: sipe resets its CSeq after every
2xx to an (re-)INVITE, so lower numbers are normal and must not earn a 500.
"""
from __future__ import annotations

import enum
import secrets
from typing import Any, Mapping

import attrs

from rccserver.sip.session_timer import Refresher


@attrs.frozen(slots=True)
class DialogId:
    """Call-ID plus both tags, from our (the UAS's) point of view."""

    call_id: str
    local_tag: str
    remote_tag: str | None


def new_tag() -> str:
    """A random To tag (RFC 3261 19.3: at least 32 bits of randomness)."""
    return secrets.token_hex(8)


class DialogState(enum.Enum):
    CONFIRMED = "Confirmed"  # our 2xx went out; the dialog is usable at once
    TERMINATED = "Terminated"


class DialogEvent(enum.Enum):
    BYE_RECEIVED = "bye-received"
    BYE_SENT = "bye-sent"
    SESSION_EXPIRED = "session-timer-expired"
    ACK_TIMEOUT = "ack-timeout"
    SHUTDOWN = "shutdown"


DIALOG_TABLE: Mapping[tuple[DialogState, DialogEvent], DialogState] = {
    (DialogState.CONFIRMED, event): DialogState.TERMINATED for event in DialogEvent
}


@attrs.define(slots=True, eq=False)
class Dialog:
    """One RCC dialog.  `app_data` is the application's slot."""

    call_id: str
    local_tag: str
    remote_tag: str | None
    local_uri: str  # the To of the INVITE (name-addr text without tag)
    remote_uri: str  # the From of the INVITE (name-addr text without tag)
    route_set: tuple[str, ...]  # Record-Route values in the order to use as Route; () when none: no list per dialog
    remote_target: str  # the peer's Contact URI
    transport: str  # "tcp" or "tls": the transport the dialog was created on
    conn_id: int | None
    peer: tuple[str, int]
    created_at: float
    local_cseq: int = 0
    remote_cseq: int | None = None
    session_expires: int | None = None
    refresher: Refresher | None = None
    expires_at: float | None = None
    state: DialogState = DialogState.CONFIRMED
    end_reason: str | None = None
    app_data: Any = None
    local_port: int | None = None  # our listening port, for the sent-by of our Via
    # endpoint bookkeeping: the INVITE transaction waiting for its ACK, if any
    pending_invite: Any = None
    timer: Any = None
    refresh_timer: Any = None

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    @property
    def is_live(self) -> bool:
        return self.state is DialogState.CONFIRMED

    def next_local_cseq(self) -> int:
        self.local_cseq += 1
        return self.local_cseq

    def record_remote_cseq(self, cseq: int) -> None:
        # Lenient on purpose (see module docstring): remember, never reject.
        self.remote_cseq = cseq

    def terminate(self, event: DialogEvent, reason: str | None = None) -> bool:
        """Move to Terminated; False if it already was (so `on_dialog_ended` runs once)."""
        next_state = DIALOG_TABLE.get((self.state, event))
        if next_state is None:
            return False
        self.state = next_state
        self.end_reason = reason or event.value
        return True

    def local_party(self) -> str:
        """Our From header value in requests we send."""
        return f"{self.local_uri};tag={self.local_tag}"

    def remote_party(self) -> str:
        """Our To header value in requests we send."""
        if self.remote_tag is None:
            return self.remote_uri
        return f"{self.remote_uri};tag={self.remote_tag}"

    def __repr__(self) -> str:
        return f"<Dialog {self.call_id} local={self.local_tag} remote={self.remote_tag} {self.state.name}>"


def strip_tag(name_addr_text: str) -> str:
    """The From/To header text without its tag parameter (other params kept).

    Works on the raw text so that unusual URIs are kept byte for byte; a `;tag=`
    inside <...> belongs to the URI and is left alone.
    """
    close = name_addr_text.rfind(">")
    head, tail = (name_addr_text[: close + 1], name_addr_text[close + 1 :]) if close >= 0 else ("", name_addr_text)
    if close < 0:
        # addr-spec form: everything after the first ';' is a header parameter
        uri, sep, params = tail.partition(";")
        head, tail = uri, (sep + params)
    kept = [p for p in tail.split(";") if p.strip() and p.strip().split("=", 1)[0].strip().lower() != "tag"]
    return head.strip() + "".join(";" + p.strip() for p in kept)
