"""One registration binding (a station's AOR -> one contact) and its life cycle.

Everything that changes a binding's state lives in `BINDING_TABLE`: the
registrar feeds inputs and carries out the returned actions, in order. An
input the table does not list for the current state raises `InvalidTransition`.

    absent --REGISTER--> bound --REGISTER--> refreshed --REGISTER--> refreshed
    bound / refreshed --UNREGISTER or STATION_GONE--> removed
    bound / refreshed --LAPSE--> expired

Removed and expired are final: the registrar forgets the binding, and a later
REGISTER of the same contact starts a new one from absent. A REGISTER that
removes a contact nobody registered touches no binding at all.
"""
from __future__ import annotations

import enum
import math
from typing import Mapping

import attrs

from rccserver.sip.transaction import InvalidTransition
from rccserver.sip.uri import Params, SipUri
from rccserver.stations.registrar_events import Address


class BindingState(enum.Enum):
    ABSENT = "absent"
    BOUND = "bound"
    REFRESHED = "refreshed"
    REMOVED = "removed"
    EXPIRED = "expired"


class BindingInput(enum.Enum):
    REGISTER = "REGISTER naming this contact with an expiry above zero"
    UNREGISTER = "REGISTER naming this contact (or *) with expiry zero"
    LAPSE = "the expiry time passed"
    STATION_GONE = "the station is no longer a SIP station (reload)"


class BindingAction(enum.Enum):
    ARM_TIMER = "schedule the expiry"
    REARM_TIMER = "cancel the expiry and schedule the new one"
    CANCEL_TIMER = "cancel the expiry"
    REPORT_ADDED = "report BindingAdded"
    REPORT_REFRESHED = "report BindingRefreshed"
    REPORT_REMOVED = "report BindingRemoved"
    REPORT_EXPIRED = "report BindingExpired"
    FORGET = "drop the binding"


_S = BindingState
_I = BindingInput
_A = BindingAction

BINDING_TABLE: Mapping[tuple[BindingState, BindingInput], tuple[BindingState, tuple[BindingAction, ...]]] = {
    (_S.ABSENT, _I.REGISTER): (_S.BOUND, (_A.ARM_TIMER, _A.REPORT_ADDED)),
    (_S.BOUND, _I.REGISTER): (_S.REFRESHED, (_A.REARM_TIMER, _A.REPORT_REFRESHED)),
    (_S.REFRESHED, _I.REGISTER): (_S.REFRESHED, (_A.REARM_TIMER, _A.REPORT_REFRESHED)),
    (_S.BOUND, _I.UNREGISTER): (_S.REMOVED, (_A.CANCEL_TIMER, _A.REPORT_REMOVED, _A.FORGET)),
    (_S.REFRESHED, _I.UNREGISTER): (_S.REMOVED, (_A.CANCEL_TIMER, _A.REPORT_REMOVED, _A.FORGET)),
    (_S.BOUND, _I.STATION_GONE): (_S.REMOVED, (_A.CANCEL_TIMER, _A.REPORT_REMOVED, _A.FORGET)),
    (_S.REFRESHED, _I.STATION_GONE): (_S.REMOVED, (_A.CANCEL_TIMER, _A.REPORT_REMOVED, _A.FORGET)),
    # The timer fired, so there is nothing left to cancel.
    (_S.BOUND, _I.LAPSE): (_S.EXPIRED, (_A.REPORT_EXPIRED, _A.FORGET)),
    (_S.REFRESHED, _I.LAPSE): (_S.EXPIRED, (_A.REPORT_EXPIRED, _A.FORGET)),
}


def step(state: BindingState, input_: BindingInput) -> tuple[BindingState, tuple[BindingAction, ...]]:
    """Look up one transition; raise `InvalidTransition` if the table has none."""
    try:
        return BINDING_TABLE[(state, input_)]
    except KeyError:
        raise InvalidTransition("registration-binding", state, input_) from None


def seconds_left(expires_at: float, now: float) -> int:
    """Whole seconds until `expires_at`, rounded up (float noise below a microsecond ignored), >= 0.

    Rounded up so that a live binding never reads as 0 s, which would tell a phone it is gone.
    """
    return max(0, math.ceil(expires_at - now - 1e-6))


@attrs.frozen(kw_only=True)
class Binding:
    """What is known of one registered contact (immutable: a refresh makes a new one)."""

    sip_user: str
    contact: SipUri  # the contact URI, as the phone wrote it
    contact_params: Params  # its header parameters other than expires (echoed in our 200)
    call_id: str
    cseq: int
    transport: str  # "udp", "tcp" or "tls": how the REGISTER reached us
    source: Address  # the (host, port) it came from: where a phone behind NAT is reachable (RFC 3581)
    user_agent: str | None
    registered_at: float  # when this contact was first bound
    updated_at: float  # when the last REGISTER for it was accepted
    expires_at: float

    def expires_in(self, now: float) -> int:
        return seconds_left(self.expires_at, now)


@attrs.define(eq=False)
class BindingSlot:
    """A binding's place in the registrar: its current data, state and timer handle."""

    binding: Binding
    state: BindingState = BindingState.ABSENT
    timer: int | None = None

    def feed(self, input_: BindingInput) -> tuple[BindingAction, ...]:
        self.state, actions = step(self.state, input_)
        return actions
