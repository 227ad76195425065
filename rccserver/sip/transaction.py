"""RFC 3261 section 17 transaction state machines, for reliable transports only.

Everything that decides a transaction's next state lives in the three tables
below; the endpoint only feeds inputs and carries out the returned actions.
A reader (or a test) can enumerate every legal move.  An input a table does not
list for the current state raises `InvalidTransition`.

Reliable transports (TCP/TLS) change the RFC machines as follows:
no retransmission timers (A, E, G); Timer H and Timer F stay at 64*T1 = 32 s;
Timers I, J and K are zero, so the endpoint fires them at once.  The server
INVITE machine includes the RFC 6026 "Accepted" state so that a retransmitted
INVITE after our 2xx gets the 2xx again instead of reaching the application twice.

This module also holds transaction matching (RFC 3261 section 17.2.3, with the
RFC 2543 fallback for requests whose Via has no magic-cookie branch).
"""
from __future__ import annotations

import enum
from typing import Any, Callable, Mapping

import attrs

T1 = 0.5
TIMER_B_F_H = 64 * T1  # 32 s: INVITE/non-INVITE client timeout and the wait for ACK
TIMER_L = 64 * T1  # RFC 6026: how long the accepted INVITE absorbs retransmissions
MAGIC_COOKIE = "z9hG4bK"


class InvalidTransition(Exception):
    """An input arrived that the state machine does not allow in its state."""

    def __init__(self, machine: str, state: enum.Enum, input_: enum.Enum) -> None:
        super().__init__(f"{machine}: input {input_.name} not allowed in state {state.name}")
        self.machine = machine
        self.state = state
        self.input = input_


class Action(enum.Enum):
    """What the endpoint must do after a transition."""

    PASS_TO_TU = "pass the request or response up"
    SEND_RESPONSE = "send the response given with the input"
    RESEND_LAST_RESPONSE = "send the last response again"
    ABSORB = "drop the message silently"
    START_TIMER_H = "arm Timer H (wait for ACK)"
    START_TIMER_L = "arm Timer L (absorb INVITE retransmissions after 2xx)"
    START_TIMER_F = "arm Timer F (client timeout)"
    START_TIMER_J = "arm Timer J (0 on reliable transports)"
    START_TIMER_K = "arm Timer K (0 on reliable transports)"
    REPORT_TIMEOUT = "tell the TU the transaction timed out"
    REPORT_TRANSPORT_FAILURE = "tell the TU the request could not be delivered"
    DESTROY = "forget the transaction"


# --------------------------------------------------------------------------
# Server INVITE transaction (RFC 3261 17.2.1 + RFC 6026 Accepted)


class ServerInviteState(enum.Enum):
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"  # a 3xx-6xx was sent, waiting for its ACK
    CONFIRMED = "Confirmed"  # ACK came (Timer I = 0 on reliable: at once Terminated)
    ACCEPTED = "Accepted"  # a 2xx was sent (RFC 6026)
    TERMINATED = "Terminated"


class ServerInviteInput(enum.Enum):
    REQUEST_RETRANSMISSION = "INVITE retransmission"
    TU_1XX = "TU sends 1xx"
    TU_2XX = "TU sends 2xx"
    TU_3XX_6XX = "TU sends 3xx-6xx"
    ACK = "ACK"
    TIMER_H = "Timer H fired"
    TIMER_L = "Timer L fired"
    TRANSPORT_ERROR = "response could not be sent"


_SI = ServerInviteState
_SII = ServerInviteInput

SERVER_INVITE_TABLE: Mapping[tuple[ServerInviteState, ServerInviteInput], tuple[ServerInviteState, tuple[Action, ...]]] = {
    (_SI.PROCEEDING, _SII.REQUEST_RETRANSMISSION): (_SI.PROCEEDING, (Action.RESEND_LAST_RESPONSE,)),
    (_SI.PROCEEDING, _SII.TU_1XX): (_SI.PROCEEDING, (Action.SEND_RESPONSE,)),
    (_SI.PROCEEDING, _SII.TU_2XX): (_SI.ACCEPTED, (Action.SEND_RESPONSE, Action.START_TIMER_L)),
    (_SI.PROCEEDING, _SII.TU_3XX_6XX): (_SI.COMPLETED, (Action.SEND_RESPONSE, Action.START_TIMER_H)),
    # An ACK before any final response is nonsense from the peer: ignore it.
    (_SI.PROCEEDING, _SII.ACK): (_SI.PROCEEDING, (Action.ABSORB,)),
    (_SI.PROCEEDING, _SII.TRANSPORT_ERROR): (_SI.TERMINATED, (Action.REPORT_TRANSPORT_FAILURE, Action.DESTROY)),
    (_SI.COMPLETED, _SII.REQUEST_RETRANSMISSION): (_SI.COMPLETED, (Action.RESEND_LAST_RESPONSE,)),
    (_SI.COMPLETED, _SII.ACK): (_SI.TERMINATED, (Action.ABSORB, Action.DESTROY)),
    (_SI.COMPLETED, _SII.TIMER_H): (_SI.TERMINATED, (Action.REPORT_TIMEOUT, Action.DESTROY)),
    (_SI.COMPLETED, _SII.TRANSPORT_ERROR): (_SI.TERMINATED, (Action.REPORT_TRANSPORT_FAILURE, Action.DESTROY)),
    (_SI.ACCEPTED, _SII.REQUEST_RETRANSMISSION): (_SI.ACCEPTED, (Action.RESEND_LAST_RESPONSE,)),
    # The ACK for a 2xx belongs to the dialog; it also ends our wait for it.
    (_SI.ACCEPTED, _SII.ACK): (_SI.TERMINATED, (Action.PASS_TO_TU, Action.DESTROY)),
    (_SI.ACCEPTED, _SII.TU_2XX): (_SI.ACCEPTED, (Action.SEND_RESPONSE,)),
    (_SI.ACCEPTED, _SII.TIMER_L): (_SI.TERMINATED, (Action.REPORT_TIMEOUT, Action.DESTROY)),
    (_SI.ACCEPTED, _SII.TRANSPORT_ERROR): (_SI.ACCEPTED, (Action.REPORT_TRANSPORT_FAILURE,)),
}


# --------------------------------------------------------------------------
# Server non-INVITE transaction (RFC 3261 17.2.2)


class ServerNonInviteState(enum.Enum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class ServerNonInviteInput(enum.Enum):
    REQUEST_RETRANSMISSION = "request retransmission"
    TU_1XX = "TU sends 1xx"
    TU_FINAL = "TU sends 200-699"
    TIMER_J = "Timer J fired"
    TRANSPORT_ERROR = "response could not be sent"


_SN = ServerNonInviteState
_SNI = ServerNonInviteInput

SERVER_NON_INVITE_TABLE: Mapping[
    tuple[ServerNonInviteState, ServerNonInviteInput], tuple[ServerNonInviteState, tuple[Action, ...]]
] = {
    # No response yet: nothing to resend, the TU is still working on it.
    (_SN.TRYING, _SNI.REQUEST_RETRANSMISSION): (_SN.TRYING, (Action.ABSORB,)),
    (_SN.TRYING, _SNI.TU_1XX): (_SN.PROCEEDING, (Action.SEND_RESPONSE,)),
    (_SN.TRYING, _SNI.TU_FINAL): (_SN.COMPLETED, (Action.SEND_RESPONSE, Action.START_TIMER_J)),
    (_SN.PROCEEDING, _SNI.REQUEST_RETRANSMISSION): (_SN.PROCEEDING, (Action.RESEND_LAST_RESPONSE,)),
    (_SN.PROCEEDING, _SNI.TU_1XX): (_SN.PROCEEDING, (Action.SEND_RESPONSE,)),
    (_SN.PROCEEDING, _SNI.TU_FINAL): (_SN.COMPLETED, (Action.SEND_RESPONSE, Action.START_TIMER_J)),
    (_SN.PROCEEDING, _SNI.TRANSPORT_ERROR): (_SN.TERMINATED, (Action.REPORT_TRANSPORT_FAILURE, Action.DESTROY)),
    (_SN.COMPLETED, _SNI.REQUEST_RETRANSMISSION): (_SN.COMPLETED, (Action.RESEND_LAST_RESPONSE,)),
    (_SN.COMPLETED, _SNI.TIMER_J): (_SN.TERMINATED, (Action.DESTROY,)),
    (_SN.COMPLETED, _SNI.TRANSPORT_ERROR): (_SN.TERMINATED, (Action.REPORT_TRANSPORT_FAILURE, Action.DESTROY)),
}


# --------------------------------------------------------------------------
# Client non-INVITE transaction (RFC 3261 17.1.2): our INFO, BYE, UPDATE


class ClientNonInviteState(enum.Enum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class ClientNonInviteInput(enum.Enum):
    RESPONSE_1XX = "1xx received"
    RESPONSE_FINAL = "200-699 received"
    TIMER_F = "Timer F fired"
    TIMER_K = "Timer K fired"
    TRANSPORT_ERROR = "request could not be sent"


_CN = ClientNonInviteState
_CNI = ClientNonInviteInput

CLIENT_NON_INVITE_TABLE: Mapping[
    tuple[ClientNonInviteState, ClientNonInviteInput], tuple[ClientNonInviteState, tuple[Action, ...]]
] = {
    (_CN.TRYING, _CNI.RESPONSE_1XX): (_CN.PROCEEDING, (Action.ABSORB,)),
    (_CN.TRYING, _CNI.RESPONSE_FINAL): (_CN.COMPLETED, (Action.PASS_TO_TU, Action.START_TIMER_K)),
    (_CN.TRYING, _CNI.TIMER_F): (_CN.TERMINATED, (Action.REPORT_TIMEOUT, Action.DESTROY)),
    (_CN.TRYING, _CNI.TRANSPORT_ERROR): (_CN.TERMINATED, (Action.REPORT_TRANSPORT_FAILURE, Action.DESTROY)),
    (_CN.PROCEEDING, _CNI.RESPONSE_1XX): (_CN.PROCEEDING, (Action.ABSORB,)),
    (_CN.PROCEEDING, _CNI.RESPONSE_FINAL): (_CN.COMPLETED, (Action.PASS_TO_TU, Action.START_TIMER_K)),
    (_CN.PROCEEDING, _CNI.TIMER_F): (_CN.TERMINATED, (Action.REPORT_TIMEOUT, Action.DESTROY)),
    (_CN.PROCEEDING, _CNI.TRANSPORT_ERROR): (_CN.TERMINATED, (Action.REPORT_TRANSPORT_FAILURE, Action.DESTROY)),
    # Duplicate final responses are absorbed while Timer K (0 here) runs.
    (_CN.COMPLETED, _CNI.RESPONSE_1XX): (_CN.COMPLETED, (Action.ABSORB,)),
    (_CN.COMPLETED, _CNI.RESPONSE_FINAL): (_CN.COMPLETED, (Action.ABSORB,)),
    (_CN.COMPLETED, _CNI.TIMER_K): (_CN.TERMINATED, (Action.DESTROY,)),
}


MACHINES: Mapping[str, Mapping] = {
    "server-invite": SERVER_INVITE_TABLE,
    "server-non-invite": SERVER_NON_INVITE_TABLE,
    "client-non-invite": CLIENT_NON_INVITE_TABLE,
}


def step(machine: str, state: enum.Enum, input_: enum.Enum) -> tuple[enum.Enum, tuple[Action, ...]]:
    """Look up one transition; raise `InvalidTransition` if the table has none."""
    try:
        return MACHINES[machine][(state, input_)]
    except KeyError:
        raise InvalidTransition(machine, state, input_) from None


# --------------------------------------------------------------------------
# Matching (RFC 3261 17.2.3 and 17.1.3)


@attrs.frozen(slots=True)
class Rfc3261Key:
    """Server transaction identity when the top Via has a magic-cookie branch."""

    branch: str
    sent_by: str
    method: str  # ACK is stored as INVITE so that it finds its INVITE


@attrs.frozen(slots=True)
class Rfc2543Key:
    """Fallback identity for requests without a usable branch (sipe, RFC 2543 peers).

    The To tag is left out on purpose: the INVITE that created a transaction had
    none, while the ACK for our non-2xx carries ours.
    """

    request_uri: str
    from_tag: str | None
    call_id: str
    cseq: int
    top_via: str
    method: str


ServerKey = Rfc3261Key | Rfc2543Key


def has_rfc3261_branch(branch: str | None) -> bool:
    """True for a branch that starts with the magic cookie and has something after it."""
    return branch is not None and len(branch) > len(MAGIC_COOKIE) and branch.startswith(MAGIC_COOKIE)


def server_key(
    *,
    method: str,
    branch: str | None,
    sent_by: str,
    request_uri: str,
    from_tag: str | None,
    call_id: str,
    cseq: int,
    top_via: str,
) -> ServerKey:
    """The key under which a server transaction for this request is stored or found.

    ACK maps to the INVITE it acknowledges; CANCEL keeps its own method, so it
    gets its own transaction (the endpoint finds the INVITE separately).
    """
    keyed_method = "INVITE" if method == "ACK" else method
    if has_rfc3261_branch(branch):
        return Rfc3261Key(branch, sent_by.lower(), keyed_method)  # type: ignore[arg-type]
    return Rfc2543Key(request_uri, from_tag, call_id, cseq, top_via, keyed_method)


def cancel_target_key(key: ServerKey) -> ServerKey:
    """The key of the INVITE transaction that a CANCEL with this key refers to."""
    return attrs.evolve(key, method="INVITE")


# --------------------------------------------------------------------------
# Transaction records: current state plus what the endpoint needs to act


@attrs.define(slots=True, eq=False)
class ServerTransaction:
    """One server transaction; `machine` names its table."""

    machine: str
    key: ServerKey
    state: enum.Enum
    conn_id: int
    request: Any  # rccserver.sip.message.Request
    to_tag: str | None = None  # the tag our responses carry (fixed per transaction)
    last_response: bytes | None = None
    incoming: Any = None  # the IncomingRequest handed to the application
    dialog: Any = None
    timer: Any = None  # the endpoint's handle for the running timer
    session_timer: Any = None  # negotiated RFC 4028 timer to apply on our 2xx
    creates_dialog: bool = False  # an initial INVITE
    send_key: object = None  # key of an outstanding SendTo of our response

    def feed(self, input_: enum.Enum) -> tuple[Action, ...]:
        self.state, actions = step(self.machine, self.state, input_)
        return actions

    @property
    def terminated(self) -> bool:
        return self.state.name == "TERMINATED"


@attrs.define(slots=True, eq=False)
class ClientTransaction:
    """One client non-INVITE transaction (we never send INVITE)."""

    branch: str
    method: str
    request: Any  # rccserver.sip.message.Request
    on_outcome: Callable[[Any], None]
    dialog: Any = None
    state: ClientNonInviteState = ClientNonInviteState.TRYING
    timer: Any = None

    def feed(self, input_: ClientNonInviteInput) -> tuple[Action, ...]:
        self.state, actions = step("client-non-invite", self.state, input_)  # type: ignore[assignment]
        return actions

    @property
    def terminated(self) -> bool:
        return self.state is ClientNonInviteState.TERMINATED
