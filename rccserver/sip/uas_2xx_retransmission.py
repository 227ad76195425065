"""The UAS core's retransmission of its 2xx to an INVITE (RFC 3261 13.3.1.4).

The INVITE server transaction sends a 2xx once (RFC 6026); until the ACK
comes, the UAS core sends it again, at intervals that start at T1 and double
up to T2.  After 64*T1 without an ACK it gives up, and the session should end
(the TU sends BYE).

RFC 3261 asks for these retransmissions on every transport, in case a later
hop is UDP.  rccserver's peers reach it directly, so on TCP/TLS
(`reliable=True`) only the give-up runs.

Sans-IO, in the transaction layer's shape: `next_deadline()`, `tick(now)`
returning what to do, `acknowledged(now)` when the TU matched the ACK.
"""
from __future__ import annotations

import enum
from typing import Mapping

import attrs

from rccserver.common.clock import TimerQueue
from rccserver.sip.transaction_tables import InvalidTransition
from rccserver.sip.transaction_timers import TimerSettings


@attrs.frozen(slots=True)
class Resend2xx:
    """Send the 2xx again (to wherever the TU sends this dialog's responses)."""

    data: bytes


@attrs.frozen(slots=True)
class AckTimedOut:
    """64*T1 passed without an ACK: the TU should end the session."""


class Uas2xxState(enum.Enum):
    WAITING = "retransmitting, waiting for the ACK"
    ACKNOWLEDGED = "the ACK came"
    GAVE_UP = "no ACK within 64*T1"


class Uas2xxInput(enum.Enum):
    RETRANSMIT_DUE = "the retransmission interval ran out"
    GIVE_UP_DUE = "64*T1 since the 2xx was first sent"
    ACK = "the TU matched the ACK"


class Uas2xxStep(enum.Enum):
    RESEND = "send the 2xx again"
    REARM_DOUBLED = "arm the retransmission at twice the last interval, at most T2"
    STOP = "cancel both timers"
    REPORT_NO_ACK = "tell the TU no ACK came"


_W, _K, _G = Uas2xxState.WAITING, Uas2xxState.ACKNOWLEDGED, Uas2xxState.GAVE_UP
_I = Uas2xxInput
_S = Uas2xxStep

UAS_2XX_TABLE: Mapping[tuple[Uas2xxState, Uas2xxInput], tuple[Uas2xxState, tuple[Uas2xxStep, ...]]] = {
    (_W, _I.RETRANSMIT_DUE): (_W, (_S.RESEND, _S.REARM_DOUBLED)),
    (_W, _I.ACK): (_K, (_S.STOP,)),
    (_W, _I.GIVE_UP_DUE): (_G, (_S.STOP, _S.REPORT_NO_ACK)),
    (_K, _I.ACK): (_K, ()),  # copies of the ACK
    (_G, _I.ACK): (_G, ()),  # too late: the TU has been told already
}


class Uas2xxRetransmission:
    """One 2xx, re-sent until `acknowledged()` or given up after 64*T1."""

    def __init__(
        self, response: bytes, now: float, *, settings: TimerSettings | None = None, reliable: bool = False
    ) -> None:
        """`response` has just been sent (by the INVITE server transaction) at `now`."""
        self.settings = settings if settings is not None else TimerSettings()
        self.response = response
        self.state = Uas2xxState.WAITING
        self._timers: TimerQueue[Uas2xxInput] = TimerQueue()
        self._interval = self.settings.t1
        # The give-up is filed first, so that it wins a tie with a retransmission.
        self._timers.schedule(now + self.settings.timeout, Uas2xxInput.GIVE_UP_DUE)
        if not reliable:
            self._timers.schedule(now + self._interval, Uas2xxInput.RETRANSMIT_DUE)

    def next_deadline(self) -> float | None:
        return self._timers.next_deadline()

    def tick(self, now: float) -> list[Resend2xx | AckTimedOut]:
        out: list[Resend2xx | AckTimedOut] = []
        while (due := self._timers.pop_next_due(now)) is not None:
            deadline, input_ = due
            self._feed(input_, deadline, out)
        return out

    def acknowledged(self, now: float) -> None:
        """The TU matched the ACK for this 2xx: stop."""
        self._feed(Uas2xxInput.ACK, now, [])

    def _feed(self, input_: Uas2xxInput, now: float, out: list[Resend2xx | AckTimedOut]) -> None:
        try:
            self.state, steps = UAS_2XX_TABLE[(self.state, input_)]
        except KeyError:
            raise InvalidTransition("uas-2xx", self.state, input_) from None
        for step in steps:
            if step is Uas2xxStep.RESEND:
                out.append(Resend2xx(self.response))
            elif step is Uas2xxStep.REARM_DOUBLED:
                self._interval = min(2 * self._interval, self.settings.t2)
                self._timers.schedule(now + self._interval, Uas2xxInput.RETRANSMIT_DUE)
            elif step is Uas2xxStep.STOP:
                self._timers = TimerQueue()  # it holds only this 2xx's two timers
            elif step is Uas2xxStep.REPORT_NO_ACK:
                out.append(AckTimedOut())
