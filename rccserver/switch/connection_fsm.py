"""The connection state machine: one party's connection in one call.

Rules of this file:

* Everything that changes the state of a connection lives here, as data. The
  switch never assigns a connection state itself; it feeds an input to
  `transition()` and stores the answer.
* `TRANSITIONS` maps (state, input) to the next state and the event kinds the
  owning station is told, in order. A pair that is not in the table is illegal;
  `transition()` then raises SwitchError with the CSTA error in `REFUSALS` for
  that input (services check their connections this way before changing
  anything, so a refused service leaves no trace).
* `OBSERVED` names the event kind the *other* stations of the call are told when
  a party's connection takes an input (e.g. the caller sees Delivered when the
  called party starts ringing). ConnectionCleared is only observed while the call
  goes on with two or more parties; when it ends, the last party clears instead.
* Inputs that move a connection into a new call (TRANSFERRED, CONFERENCED) keep
  its state; the connection changes its call id, not its state.
* A connection in NULL does not exist in a call: the switch removes it. The
  NULL -> NULL DIVERT row is the station that was forwarded before it rang.
* QUEUED is here for PBX adapters with queues; the embedded switch never queues.
"""
from __future__ import annotations

import enum

import attrs

from rccserver.switch.errors import STATE_INCOMPATIBILITY, SwitchError
from rccserver.switch.events import EventKind as K
from rccserver.switch.model import ConnectionState as S


class ConnectionInput(str, enum.Enum):
    INITIATE = "initiate"  # MakeCall / desk phone off-hook
    ORIGINATE = "originate"  # the initiated connection has dialled
    CONSULT = "consult"  # consultation leg: straight to dialled, the other call held
    OFFER = "offer"  # the call reaches this party: it rings
    QUEUE = "queue"
    ANSWER = "answer"
    HOLD = "hold"
    RETRIEVE = "retrieve"
    DIVERT = "divert"  # deflect, or forwarding before / instead of ringing
    FAIL = "fail"  # the called side refused (busy, do-not-disturb)
    CLEAR = "clear"  # the party hangs up, or is released when the call ends
    GENERATE_DIGITS = "generate_digits"
    SINGLE_STEP_TRANSFER = "single_step_transfer"  # transferring station's only leg
    TRANSFER = "transfer"  # transferring station's held leg
    TRANSFER_CONSULTED = "transfer_consulted"  # transferring station's active leg
    TRANSFERRED = "transferred"  # another party, carried into the resulting call
    CONFERENCE = "conference"  # conferencing station's held leg becomes the conference
    CONFERENCE_CONSULTED = "conference_consulted"  # its active leg merges silently
    CONFERENCED = "conferenced"  # another party, carried into the conference


I = ConnectionInput


@attrs.frozen
class Transition:
    target: S
    emits: tuple[K, ...]


def _t(target: S, *emits: K) -> Transition:
    return Transition(target, emits)


TRANSITIONS: dict[tuple[S, ConnectionInput], Transition] = {
    (S.NULL, I.INITIATE): _t(S.INITIATED, K.SERVICE_INITIATED),
    (S.INITIATED, I.ORIGINATE): _t(S.CONNECTED, K.ORIGINATED),
    (S.NULL, I.CONSULT): _t(S.CONNECTED, K.ORIGINATED),
    (S.NULL, I.OFFER): _t(S.ALERTING, K.DELIVERED),
    (S.NULL, I.QUEUE): _t(S.QUEUED),
    (S.QUEUED, I.OFFER): _t(S.ALERTING, K.DELIVERED),
    (S.ALERTING, I.ANSWER): _t(S.CONNECTED, K.ESTABLISHED),
    (S.CONNECTED, I.HOLD): _t(S.HOLD, K.HELD),
    (S.HOLD, I.RETRIEVE): _t(S.CONNECTED, K.RETRIEVED),
    (S.NULL, I.DIVERT): _t(S.NULL, K.DIVERTED),
    (S.ALERTING, I.DIVERT): _t(S.NULL, K.DIVERTED),
    (S.QUEUED, I.DIVERT): _t(S.NULL, K.DIVERTED),
    (S.INITIATED, I.FAIL): _t(S.FAIL, K.FAILED),
    (S.CONNECTED, I.FAIL): _t(S.FAIL, K.FAILED),
    (S.HOLD, I.FAIL): _t(S.FAIL, K.FAILED),
    (S.INITIATED, I.CLEAR): _t(S.NULL, K.CONNECTION_CLEARED),
    (S.ALERTING, I.CLEAR): _t(S.NULL, K.CONNECTION_CLEARED),
    (S.CONNECTED, I.CLEAR): _t(S.NULL, K.CONNECTION_CLEARED),
    (S.HOLD, I.CLEAR): _t(S.NULL, K.CONNECTION_CLEARED),
    (S.QUEUED, I.CLEAR): _t(S.NULL, K.CONNECTION_CLEARED),
    (S.FAIL, I.CLEAR): _t(S.NULL, K.CONNECTION_CLEARED),
    (S.CONNECTED, I.GENERATE_DIGITS): _t(S.CONNECTED, K.DIGITS_GENERATED),
    (S.CONNECTED, I.SINGLE_STEP_TRANSFER): _t(S.NULL, K.TRANSFERRED, K.CONNECTION_CLEARED),
    (S.HOLD, I.TRANSFER): _t(S.NULL, K.TRANSFERRED, K.CONNECTION_CLEARED),
    (S.CONNECTED, I.TRANSFER_CONSULTED): _t(S.NULL, K.CONNECTION_CLEARED),
    (S.ALERTING, I.TRANSFERRED): _t(S.ALERTING, K.TRANSFERRED),
    (S.CONNECTED, I.TRANSFERRED): _t(S.CONNECTED, K.TRANSFERRED),
    (S.HOLD, I.TRANSFERRED): _t(S.HOLD, K.TRANSFERRED),
    (S.HOLD, I.CONFERENCE): _t(S.CONNECTED, K.CONFERENCED),
    (S.CONNECTED, I.CONFERENCE_CONSULTED): _t(S.NULL),
    (S.CONNECTED, I.CONFERENCED): _t(S.CONNECTED, K.CONFERENCED),
    (S.HOLD, I.CONFERENCED): _t(S.HOLD, K.CONFERENCED),
}

OBSERVED: dict[ConnectionInput, K] = {
    I.OFFER: K.DELIVERED,
    I.ANSWER: K.ESTABLISHED,
    I.DIVERT: K.DIVERTED,
    I.CLEAR: K.CONNECTION_CLEARED,
}

_INVALID_STATE = (STATE_INCOMPATIBILITY, "invalidObjectState")

REFUSALS: dict[ConnectionInput, tuple[str, str]] = {
    I.INITIATE: _INVALID_STATE,
    I.ORIGINATE: _INVALID_STATE,
    I.CONSULT: _INVALID_STATE,
    I.OFFER: _INVALID_STATE,
    I.QUEUE: _INVALID_STATE,
    I.ANSWER: (STATE_INCOMPATIBILITY, "noCallToAnswer"),
    I.HOLD: (STATE_INCOMPATIBILITY, "noActiveCall"),
    I.RETRIEVE: (STATE_INCOMPATIBILITY, "noHeldCall"),
    I.DIVERT: _INVALID_STATE,  # only a ringing call can be deflected
    I.FAIL: _INVALID_STATE,
    I.CLEAR: (STATE_INCOMPATIBILITY, "noConnectionToClear"),
    I.GENERATE_DIGITS: (STATE_INCOMPATIBILITY, "noActiveCall"),
    I.SINGLE_STEP_TRANSFER: (STATE_INCOMPATIBILITY, "noActiveCall"),
    I.TRANSFER: (STATE_INCOMPATIBILITY, "noHeldCall"),
    I.TRANSFER_CONSULTED: (STATE_INCOMPATIBILITY, "noActiveCall"),
    I.TRANSFERRED: _INVALID_STATE,
    I.CONFERENCE: (STATE_INCOMPATIBILITY, "noHeldCall"),
    I.CONFERENCE_CONSULTED: (STATE_INCOMPATIBILITY, "noActiveCall"),
    I.CONFERENCED: _INVALID_STATE,
}


def transition(state: S, event: ConnectionInput) -> Transition:
    """The legal move for `event` in `state`; SwitchError if there is none."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        category, value = REFUSALS[event]
        raise SwitchError(category, value, f"{event.value} is not possible on a connection in state {state.value}") from None


def check(state: S, event: ConnectionInput) -> None:
    """Raise as transition() would, without using the answer (validation before change)."""
    transition(state, event)
