"""The four RFC 3261 section 17 transaction machines, one table each, for every transport.

Everything that decides a transaction's next state lives in the tables below;
a driver (`transaction_layer.TransactionLayer`, or the TCP endpoint through the
records in `transaction.py`) feeds inputs and carries out the returned actions.
A reader, or a test, can enumerate every legal move.

Transports differ only in how long timers run (`transaction_timers`): a row
says "start Timer G", and on TCP/TLS Timer G does not run; a row says "start
Timer I", and on TCP/TLS Timer I is zero.  So there is one table per machine.

Conventions the tables keep:
* An input the peer or the network causes (a request or response copy, an ACK,
  a transport error) has a row in every live state, absorbing it where the RFC
  has nothing to say, so that no peer can provoke `InvalidTransition`.  Inputs
  from our own side (the TU's responses, our timers) that a table does not list
  raise `InvalidTransition`: they are bugs.
* A timer runs only while its transaction is in a state with a row for it: a
  driver cancels, on every transition, the timers the new state has no row for.
* `Action.DESTROY` appears exactly on the transitions into Terminated.

Where the tables differ from RFC 3261 figures 5-8 and RFC 6026 figures 5 and 7,
a comment on the row says so and why (the table tests list the same rows).
"""
from __future__ import annotations

import enum
from typing import Mapping

import attrs

from rccserver.sip.transaction_timers import Arm, Timer


class InvalidTransition(Exception):
    """An input arrived that the state machine does not allow in its state."""

    def __init__(self, machine: str, state: enum.Enum, input_: enum.Enum) -> None:
        super().__init__(f"{machine}: input {input_.name} not allowed in state {state.name}")
        self.machine = machine
        self.state = state
        self.input = input_


class _IdentityHashedEnum(enum.Enum):
    """A plain Enum hashed by identity. `Enum.__hash__` is a Python-level
    `hash(self._name_)`, paid twice on every table lookup (state, input); members of a
    plain Enum are only ever equal to themselves, so the identity hash (in C) agrees
    with equality. Not for StrEnum/IntEnum, whose members equal their values."""

    __hash__ = object.__hash__


class Action(_IdentityHashedEnum):
    """What a driver must do after a transition, in the order listed."""

    PASS_TO_TU = "pass the request, ACK or response up"
    PASS_PROVISIONAL_TO_TU = "pass the 1xx response up (progress, not the outcome)"
    SEND_REQUEST = "send the request"
    RESEND_REQUEST = "send the request again"
    SEND_ACK = "build the ACK for the non-2xx response given with the input and send it"
    RESEND_ACK = "send that ACK again"
    SEND_RESPONSE = "send the response given with the input"
    RESEND_LAST_RESPONSE = "send the last response again"
    ABSORB = "drop the message silently"
    START_TIMER_A = "arm Timer A at T1 (INVITE retransmission; not on reliable transports)"
    DOUBLE_TIMER_A = "arm Timer A at twice its last interval"
    START_TIMER_B = "arm Timer B (INVITE client timeout, 64*T1)"
    START_TIMER_D = "arm Timer D (absorb final response copies; 0 on reliable transports)"
    START_TIMER_E = "arm Timer E at T1 (non-INVITE retransmission; not on reliable transports)"
    DOUBLE_TIMER_E = "arm Timer E at twice its last interval, at most T2"
    START_TIMER_E_AT_T2 = "arm Timer E at T2 (a provisional came)"
    START_TIMER_F = "arm Timer F (non-INVITE client timeout, 64*T1)"
    START_TIMER_G = "arm Timer G at T1 (final response retransmission; not on reliable transports)"
    DOUBLE_TIMER_G = "arm Timer G at twice its last interval, at most T2"
    START_TIMER_H = "arm Timer H (wait for ACK, 64*T1)"
    START_TIMER_I = "arm Timer I (absorb ACK copies; 0 on reliable transports)"
    START_TIMER_J = "arm Timer J (absorb request copies; 0 on reliable transports)"
    START_TIMER_K = "arm Timer K (absorb response copies; 0 on reliable transports)"
    START_TIMER_L = "arm Timer L (absorb INVITE copies after 2xx, 64*T1)"
    START_TIMER_M = "arm Timer M (pass 2xx copies up, 64*T1)"
    START_TIMER_CANCEL = "arm the wait for a final response after our CANCEL (64*T1)"
    REPORT_TIMEOUT = "tell the TU the transaction timed out"
    REPORT_TRANSPORT_FAILURE = "tell the TU the transport failed"
    DESTROY = "forget the transaction"


# Which timer each timer action arms, and how its interval is computed.
TIMER_ACTIONS: Mapping[Action, tuple[Timer, Arm]] = {
    Action.START_TIMER_A: (Timer.A, Arm.FIRST),
    Action.DOUBLE_TIMER_A: (Timer.A, Arm.DOUBLED),
    Action.START_TIMER_B: (Timer.B, Arm.FIRST),
    Action.START_TIMER_D: (Timer.D, Arm.FIRST),
    Action.START_TIMER_E: (Timer.E, Arm.FIRST),
    Action.DOUBLE_TIMER_E: (Timer.E, Arm.DOUBLED),
    Action.START_TIMER_E_AT_T2: (Timer.E, Arm.AT_T2),
    Action.START_TIMER_F: (Timer.F, Arm.FIRST),
    Action.START_TIMER_G: (Timer.G, Arm.FIRST),
    Action.DOUBLE_TIMER_G: (Timer.G, Arm.DOUBLED),
    Action.START_TIMER_H: (Timer.H, Arm.FIRST),
    Action.START_TIMER_I: (Timer.I, Arm.FIRST),
    Action.START_TIMER_J: (Timer.J, Arm.FIRST),
    Action.START_TIMER_K: (Timer.K, Arm.FIRST),
    Action.START_TIMER_L: (Timer.L, Arm.FIRST),
    Action.START_TIMER_M: (Timer.M, Arm.FIRST),
    Action.START_TIMER_CANCEL: (Timer.CANCEL, Arm.FIRST),
}

Row = tuple[enum.Enum, tuple[Action, ...]]
A = Action


# --------------------------------------------------------------------------
# Server INVITE transaction (RFC 3261 17.2.1, figure 7 as updated by RFC 6026)


class ServerInviteState(_IdentityHashedEnum):
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"  # a 3xx-6xx was sent, waiting for its ACK
    CONFIRMED = "Confirmed"  # the ACK came; copies are absorbed while Timer I runs
    ACCEPTED = "Accepted"  # a 2xx was sent, its ACK has not come (RFC 6026)
    TERMINATED = "Terminated"


class ServerInviteInput(_IdentityHashedEnum):
    REQUEST_RETRANSMISSION = "INVITE retransmission"
    TU_1XX = "TU sends 1xx"
    TU_2XX = "TU sends 2xx"
    TU_3XX_6XX = "TU sends 3xx-6xx"
    ACK = "ACK"
    TIMER_G = "Timer G fired"
    TIMER_H = "Timer H fired"
    TIMER_I = "Timer I fired"
    TIMER_L = "Timer L fired"
    TRANSPORT_ERROR = "a response could not be sent"


_SI = ServerInviteState
_SII = ServerInviteInput

SERVER_INVITE_TABLE: Mapping[tuple[ServerInviteState, ServerInviteInput], Row] = {
    (_SI.PROCEEDING, _SII.REQUEST_RETRANSMISSION): (_SI.PROCEEDING, (A.RESEND_LAST_RESPONSE,)),
    (_SI.PROCEEDING, _SII.TU_1XX): (_SI.PROCEEDING, (A.SEND_RESPONSE,)),
    (_SI.PROCEEDING, _SII.TU_2XX): (_SI.ACCEPTED, (A.SEND_RESPONSE, A.START_TIMER_L)),
    (_SI.PROCEEDING, _SII.TU_3XX_6XX): (_SI.COMPLETED, (A.SEND_RESPONSE, A.START_TIMER_G, A.START_TIMER_H)),
    # Not in the figure: an ACK before any final response is the peer's mistake.
    (_SI.PROCEEDING, _SII.ACK): (_SI.PROCEEDING, (A.ABSORB,)),
    # RFC 6026 keeps the transaction, so a retransmitted INVITE is not a new one.
    (_SI.PROCEEDING, _SII.TRANSPORT_ERROR): (_SI.PROCEEDING, (A.REPORT_TRANSPORT_FAILURE,)),
    (_SI.COMPLETED, _SII.REQUEST_RETRANSMISSION): (_SI.COMPLETED, (A.RESEND_LAST_RESPONSE,)),
    (_SI.COMPLETED, _SII.TIMER_G): (_SI.COMPLETED, (A.RESEND_LAST_RESPONSE, A.DOUBLE_TIMER_G)),
    (_SI.COMPLETED, _SII.ACK): (_SI.CONFIRMED, (A.ABSORB, A.START_TIMER_I)),
    # RFC 6026's figure shows "-" here; RFC 3261 17.2.1's text (which RFC 6026
    # leaves alone) says the TU MUST be told, so it is.
    (_SI.COMPLETED, _SII.TIMER_H): (_SI.TERMINATED, (A.REPORT_TIMEOUT, A.DESTROY)),
    # RFC 6026 stays in Completed (RFC 3261 ended): Timer H still ends it.
    (_SI.COMPLETED, _SII.TRANSPORT_ERROR): (_SI.COMPLETED, (A.REPORT_TRANSPORT_FAILURE,)),
    (_SI.CONFIRMED, _SII.ACK): (_SI.CONFIRMED, (A.ABSORB,)),
    (_SI.CONFIRMED, _SII.TIMER_I): (_SI.TERMINATED, (A.DESTROY,)),
    # Not in the figure: late copies of the INVITE, late transport errors.
    (_SI.CONFIRMED, _SII.REQUEST_RETRANSMISSION): (_SI.CONFIRMED, (A.ABSORB,)),
    (_SI.CONFIRMED, _SII.TRANSPORT_ERROR): (_SI.CONFIRMED, (A.ABSORB,)),
    # RFC 6026 absorbs this silently.  We are a UAS, never a proxy, so "the
    # last 2xx" is unambiguous; sending it again is the quickest repair and, on
    # TCP/TLS where the UAS core does not retransmit its 2xx, the only one.
    # The TU still never sees the copy, which is RFC 6026's point.
    (_SI.ACCEPTED, _SII.REQUEST_RETRANSMISSION): (_SI.ACCEPTED, (A.RESEND_LAST_RESPONSE,)),
    (_SI.ACCEPTED, _SII.TU_2XX): (_SI.ACCEPTED, (A.SEND_RESPONSE,)),
    # RFC 6026 passes the ACK up and stays in Accepted until Timer L.  After the
    # ACK only stray copies can still arrive, and T4 bounds their life, so we wait
    # Timer I in Confirmed as after a non-2xx (zero on TCP/TLS: the table stays
    # as small as the work in flight).
    (_SI.ACCEPTED, _SII.ACK): (_SI.CONFIRMED, (A.PASS_TO_TU, A.START_TIMER_I)),
    # RFC 6026 ends silently.  Since the ACK moves us to Confirmed, Timer L in
    # Accepted means no ACK within 64*T1; RFC 3261 13.3.1.4 says the session
    # should then end, so the TU is told.
    (_SI.ACCEPTED, _SII.TIMER_L): (_SI.TERMINATED, (A.REPORT_TIMEOUT, A.DESTROY)),
    (_SI.ACCEPTED, _SII.TRANSPORT_ERROR): (_SI.ACCEPTED, (A.REPORT_TRANSPORT_FAILURE,)),
}


# --------------------------------------------------------------------------
# Server non-INVITE transaction (RFC 3261 17.2.2, figure 8)


class ServerNonInviteState(_IdentityHashedEnum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class ServerNonInviteInput(_IdentityHashedEnum):
    REQUEST_RETRANSMISSION = "request retransmission"
    TU_1XX = "TU sends 1xx"
    TU_FINAL = "TU sends 200-699"
    TIMER_J = "Timer J fired"
    TRANSPORT_ERROR = "a response could not be sent"


_SN = ServerNonInviteState
_SNI = ServerNonInviteInput

SERVER_NON_INVITE_TABLE: Mapping[tuple[ServerNonInviteState, ServerNonInviteInput], Row] = {
    # No response yet: nothing to resend, the TU is still working on it.
    (_SN.TRYING, _SNI.REQUEST_RETRANSMISSION): (_SN.TRYING, (A.ABSORB,)),
    (_SN.TRYING, _SNI.TU_1XX): (_SN.PROCEEDING, (A.SEND_RESPONSE,)),
    (_SN.TRYING, _SNI.TU_FINAL): (_SN.COMPLETED, (A.SEND_RESPONSE, A.START_TIMER_J)),
    # Not in the figure: nothing of ours was sent yet, so the error is not ours.
    (_SN.TRYING, _SNI.TRANSPORT_ERROR): (_SN.TRYING, (A.ABSORB,)),
    (_SN.PROCEEDING, _SNI.REQUEST_RETRANSMISSION): (_SN.PROCEEDING, (A.RESEND_LAST_RESPONSE,)),
    (_SN.PROCEEDING, _SNI.TU_1XX): (_SN.PROCEEDING, (A.SEND_RESPONSE,)),
    (_SN.PROCEEDING, _SNI.TU_FINAL): (_SN.COMPLETED, (A.SEND_RESPONSE, A.START_TIMER_J)),
    (_SN.PROCEEDING, _SNI.TRANSPORT_ERROR): (_SN.TERMINATED, (A.REPORT_TRANSPORT_FAILURE, A.DESTROY)),
    (_SN.COMPLETED, _SNI.REQUEST_RETRANSMISSION): (_SN.COMPLETED, (A.RESEND_LAST_RESPONSE,)),
    (_SN.COMPLETED, _SNI.TIMER_J): (_SN.TERMINATED, (A.DESTROY,)),
    (_SN.COMPLETED, _SNI.TRANSPORT_ERROR): (_SN.TERMINATED, (A.REPORT_TRANSPORT_FAILURE, A.DESTROY)),
    # RFC 3261 discards a second final response from the TU in Completed (a
    # proxy may forward several); for our UAS it is a bug, so it raises.
}


# --------------------------------------------------------------------------
# Client INVITE transaction (RFC 3261 17.1.1, figure 5 as updated by RFC 6026)


class ClientInviteState(_IdentityHashedEnum):
    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"  # a 3xx-6xx came and was ACKed
    ACCEPTED = "Accepted"  # a 2xx came; its ACK is the TU's (RFC 6026)
    TERMINATED = "Terminated"


class ClientInviteInput(_IdentityHashedEnum):
    RESPONSE_1XX = "1xx received"
    RESPONSE_2XX = "2xx received"
    RESPONSE_3XX_6XX = "3xx-6xx received"
    CANCEL_SENT = "the TU's CANCEL for this INVITE went out"
    TIMER_A = "Timer A fired"
    TIMER_B = "Timer B fired"
    TIMER_D = "Timer D fired"
    TIMER_M = "Timer M fired"
    TIMER_CANCEL = "no final response 64*T1 after our CANCEL"
    TRANSPORT_ERROR = "the request or ACK could not be sent"


_CI = ClientInviteState
_CII = ClientInviteInput

CLIENT_INVITE_TABLE: Mapping[tuple[ClientInviteState, ClientInviteInput], Row] = {
    (_CI.CALLING, _CII.TIMER_A): (_CI.CALLING, (A.RESEND_REQUEST, A.DOUBLE_TIMER_A)),
    (_CI.CALLING, _CII.TIMER_B): (_CI.TERMINATED, (A.REPORT_TIMEOUT, A.DESTROY)),
    (_CI.CALLING, _CII.RESPONSE_1XX): (_CI.PROCEEDING, (A.PASS_PROVISIONAL_TO_TU,)),
    (_CI.CALLING, _CII.RESPONSE_2XX): (_CI.ACCEPTED, (A.PASS_TO_TU, A.START_TIMER_M)),
    (_CI.CALLING, _CII.RESPONSE_3XX_6XX): (_CI.COMPLETED, (A.SEND_ACK, A.PASS_TO_TU, A.START_TIMER_D)),
    (_CI.CALLING, _CII.TRANSPORT_ERROR): (_CI.TERMINATED, (A.REPORT_TRANSPORT_FAILURE, A.DESTROY)),
    (_CI.PROCEEDING, _CII.RESPONSE_1XX): (_CI.PROCEEDING, (A.PASS_PROVISIONAL_TO_TU,)),
    (_CI.PROCEEDING, _CII.RESPONSE_2XX): (_CI.ACCEPTED, (A.PASS_TO_TU, A.START_TIMER_M)),
    (_CI.PROCEEDING, _CII.RESPONSE_3XX_6XX): (_CI.COMPLETED, (A.SEND_ACK, A.PASS_TO_TU, A.START_TIMER_D)),
    # Not in the figure, RFC 3261 9.1: once our CANCEL is out, give the INVITE
    # 64*T1 to end; otherwise Proceeding would wait for the peer forever.
    (_CI.PROCEEDING, _CII.CANCEL_SENT): (_CI.PROCEEDING, (A.START_TIMER_CANCEL,)),
    (_CI.PROCEEDING, _CII.TIMER_CANCEL): (_CI.TERMINATED, (A.REPORT_TIMEOUT, A.DESTROY)),
    # Not in the figure: the peer has answered, a late error is about an old copy.
    (_CI.PROCEEDING, _CII.TRANSPORT_ERROR): (_CI.PROCEEDING, (A.ABSORB,)),
    (_CI.COMPLETED, _CII.RESPONSE_3XX_6XX): (_CI.COMPLETED, (A.RESEND_ACK,)),
    (_CI.COMPLETED, _CII.TIMER_D): (_CI.TERMINATED, (A.DESTROY,)),
    (_CI.COMPLETED, _CII.TRANSPORT_ERROR): (_CI.TERMINATED, (A.REPORT_TRANSPORT_FAILURE, A.DESTROY)),
    # Not in the figure: stray provisionals, and a 2xx after a non-2xx.
    (_CI.COMPLETED, _CII.RESPONSE_1XX): (_CI.COMPLETED, (A.ABSORB,)),
    (_CI.COMPLETED, _CII.RESPONSE_2XX): (_CI.COMPLETED, (A.ABSORB,)),
    # Every 2xx copy goes up: the TU ACKs each one end to end (RFC 6026).
    (_CI.ACCEPTED, _CII.RESPONSE_2XX): (_CI.ACCEPTED, (A.PASS_TO_TU,)),
    (_CI.ACCEPTED, _CII.TIMER_M): (_CI.TERMINATED, (A.DESTROY,)),
    # Not in the figure: stray responses, and errors the transaction cannot own
    # (the ACK for a 2xx is the TU's).
    (_CI.ACCEPTED, _CII.RESPONSE_1XX): (_CI.ACCEPTED, (A.ABSORB,)),
    (_CI.ACCEPTED, _CII.RESPONSE_3XX_6XX): (_CI.ACCEPTED, (A.ABSORB,)),
    (_CI.ACCEPTED, _CII.TRANSPORT_ERROR): (_CI.ACCEPTED, (A.ABSORB,)),
}


# --------------------------------------------------------------------------
# Client non-INVITE transaction (RFC 3261 17.1.2, figure 6): INFO, BYE, NOTIFY...


class ClientNonInviteState(_IdentityHashedEnum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class ClientNonInviteInput(_IdentityHashedEnum):
    RESPONSE_1XX = "1xx received"
    RESPONSE_FINAL = "200-699 received"
    TIMER_E = "Timer E fired"
    TIMER_F = "Timer F fired"
    TIMER_K = "Timer K fired"
    TRANSPORT_ERROR = "the request could not be sent"


_CN = ClientNonInviteState
_CNI = ClientNonInviteInput

CLIENT_NON_INVITE_TABLE: Mapping[tuple[ClientNonInviteState, ClientNonInviteInput], Row] = {
    (_CN.TRYING, _CNI.TIMER_E): (_CN.TRYING, (A.RESEND_REQUEST, A.DOUBLE_TIMER_E)),
    (_CN.TRYING, _CNI.RESPONSE_1XX): (_CN.PROCEEDING, (A.PASS_PROVISIONAL_TO_TU,)),
    (_CN.TRYING, _CNI.RESPONSE_FINAL): (_CN.COMPLETED, (A.PASS_TO_TU, A.START_TIMER_K)),
    (_CN.TRYING, _CNI.TIMER_F): (_CN.TERMINATED, (A.REPORT_TIMEOUT, A.DESTROY)),
    (_CN.TRYING, _CNI.TRANSPORT_ERROR): (_CN.TERMINATED, (A.REPORT_TRANSPORT_FAILURE, A.DESTROY)),
    (_CN.PROCEEDING, _CNI.TIMER_E): (_CN.PROCEEDING, (A.RESEND_REQUEST, A.START_TIMER_E_AT_T2)),
    (_CN.PROCEEDING, _CNI.RESPONSE_1XX): (_CN.PROCEEDING, (A.PASS_PROVISIONAL_TO_TU,)),
    (_CN.PROCEEDING, _CNI.RESPONSE_FINAL): (_CN.COMPLETED, (A.PASS_TO_TU, A.START_TIMER_K)),
    (_CN.PROCEEDING, _CNI.TIMER_F): (_CN.TERMINATED, (A.REPORT_TIMEOUT, A.DESTROY)),
    (_CN.PROCEEDING, _CNI.TRANSPORT_ERROR): (_CN.TERMINATED, (A.REPORT_TRANSPORT_FAILURE, A.DESTROY)),
    # Completed buffers response copies while Timer K (0 on TCP/TLS) runs.
    (_CN.COMPLETED, _CNI.RESPONSE_1XX): (_CN.COMPLETED, (A.ABSORB,)),
    (_CN.COMPLETED, _CNI.RESPONSE_FINAL): (_CN.COMPLETED, (A.ABSORB,)),
    (_CN.COMPLETED, _CNI.TIMER_K): (_CN.TERMINATED, (A.DESTROY,)),
    # Not in the figure: the outcome is known, a late error changes nothing.
    (_CN.COMPLETED, _CNI.TRANSPORT_ERROR): (_CN.COMPLETED, (A.ABSORB,)),
}


# --------------------------------------------------------------------------
# The machines as data


@attrs.frozen
class Machine:
    """One machine: its states and inputs, its table, and how a transaction starts.

    `start` is the figure's entry arrow ("Request received / pass to TU",
    "INVITE from TU / INVITE sent"): the first state and the actions on creation.
    """

    name: str
    states: type[enum.Enum]
    inputs: type[enum.Enum]
    table: Mapping[tuple[enum.Enum, enum.Enum], Row]
    start: Row
    # For each state, the timers that may run in it (the ones it has a row for).
    live_timers: Mapping[enum.Enum, frozenset[Timer]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        live: dict[enum.Enum, set[Timer]] = {state: set() for state in self.states}
        for state, input_ in self.table:
            if input_.name.startswith("TIMER_"):
                live[state].add(Timer[input_.name.removeprefix("TIMER_")])
        object.__setattr__(self, "live_timers", {state: frozenset(timers) for state, timers in live.items()})

    def timer_input(self, timer: Timer) -> enum.Enum:
        """The input this machine receives when `timer` fires."""
        return self.inputs[f"TIMER_{timer.name}"]

    def step(self, state: enum.Enum, input_: enum.Enum) -> Row:
        """Look up one transition; raise `InvalidTransition` if the table has none."""
        try:
            return self.table[(state, input_)]
        except KeyError:
            raise InvalidTransition(self.name, state, input_) from None


SERVER_INVITE = Machine(
    "server-invite", ServerInviteState, ServerInviteInput, SERVER_INVITE_TABLE,
    start=(ServerInviteState.PROCEEDING, (A.PASS_TO_TU,)),
)
SERVER_NON_INVITE = Machine(
    "server-non-invite", ServerNonInviteState, ServerNonInviteInput, SERVER_NON_INVITE_TABLE,
    start=(ServerNonInviteState.TRYING, (A.PASS_TO_TU,)),
)
CLIENT_INVITE = Machine(
    "client-invite", ClientInviteState, ClientInviteInput, CLIENT_INVITE_TABLE,
    start=(ClientInviteState.CALLING, (A.SEND_REQUEST, A.START_TIMER_A, A.START_TIMER_B)),
)
CLIENT_NON_INVITE = Machine(
    "client-non-invite", ClientNonInviteState, ClientNonInviteInput, CLIENT_NON_INVITE_TABLE,
    start=(ClientNonInviteState.TRYING, (A.SEND_REQUEST, A.START_TIMER_E, A.START_TIMER_F)),
)

MACHINE_DEFINITIONS: Mapping[str, Machine] = {
    m.name: m for m in (SERVER_INVITE, SERVER_NON_INVITE, CLIENT_INVITE, CLIENT_NON_INVITE)
}
MACHINES: Mapping[str, Mapping[tuple[enum.Enum, enum.Enum], Row]] = {
    name: m.table for name, m in MACHINE_DEFINITIONS.items()
}


def tu_response_input(invite: bool, status: int) -> enum.Enum:
    """The server machine's input for a response its TU sends (1xx, 2xx, 3xx-6xx)."""
    if invite:
        if status < 200:
            return ServerInviteInput.TU_1XX
        return ServerInviteInput.TU_2XX if status < 300 else ServerInviteInput.TU_3XX_6XX
    return ServerNonInviteInput.TU_1XX if status < 200 else ServerNonInviteInput.TU_FINAL


def response_input(invite: bool, status: int) -> enum.Enum:
    """The client machine's input for a response that matched it."""
    if invite:
        if status < 200:
            return ClientInviteInput.RESPONSE_1XX
        return ClientInviteInput.RESPONSE_2XX if status < 300 else ClientInviteInput.RESPONSE_3XX_6XX
    return ClientNonInviteInput.RESPONSE_1XX if status < 200 else ClientNonInviteInput.RESPONSE_FINAL


def step(machine: str, state: enum.Enum, input_: enum.Enum) -> Row:
    """Look up one transition of the named machine; raise `InvalidTransition` if it has none."""
    return MACHINE_DEFINITIONS[machine].step(state, input_)
