"""RFC 3261 transaction timers (its Table 4, plus RFC 6026's L and M): how long each runs.

A transaction table names a timer action ("start Timer E", "double Timer E");
the number of seconds comes from here and depends on the transport:

* the retransmission timers A, E and G do not run at all on a reliable
  transport (TCP, TLS): the transport retransmits for us;
* the timers that only absorb stray copies from the network (D, I, J, K) are
  zero there, because a stream delivers no late duplicates;
* the give-up timers (B, F, H) and RFC 6026's L and M are 64*T1 everywhere.

Nothing here reads a clock: these are durations, the caller adds `now`.
"""
from __future__ import annotations

import enum

import attrs


class Timer(enum.Enum):
    A = "INVITE request retransmission (client)"
    B = "INVITE transaction timeout (client)"
    D = "wait for response retransmissions after a non-2xx (client INVITE)"
    E = "non-INVITE request retransmission (client)"
    F = "non-INVITE transaction timeout (client)"
    G = "final response retransmission (server INVITE)"
    H = "wait for the ACK (server INVITE)"
    I = "wait for ACK retransmissions (server INVITE)"  # noqa: E741 - the RFC's name
    J = "wait for request retransmissions (server non-INVITE)"
    K = "wait for response retransmissions (client non-INVITE)"
    L = "wait for accepted INVITE retransmissions (server, RFC 6026)"
    M = "wait for 2xx retransmissions (client, RFC 6026)"
    # RFC 3261 section 9.1 gives this wait no letter: 64*T1 after our CANCEL
    # without a final response, the INVITE transaction is given up.
    CANCEL = "wait for the INVITE's final response after our CANCEL (client)"


class Arm(enum.Enum):
    """How a timer action computes its interval."""

    FIRST = "the timer's first interval"
    DOUBLED = "twice the timer's previous interval (capped at T2 for E and G)"
    AT_T2 = "T2"


RETRANSMISSION_TIMERS = frozenset({Timer.A, Timer.E, Timer.G})
_CAPPED_AT_T2 = frozenset({Timer.E, Timer.G})  # Timer A doubles without a cap (17.1.1.2)


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, not {value!r}")


@attrs.frozen
class TimerSettings:
    """T1, T2, T4 and Timer D, with the RFC 3261 defaults."""

    t1: float = attrs.field(default=0.5, validator=_positive)  # round-trip estimate
    t2: float = attrs.field(default=4.0, validator=_positive)  # longest retransmit interval
    t4: float = attrs.field(default=5.0, validator=_positive)  # longest a message stays in the network
    timer_d: float = attrs.field(default=32.0, validator=_positive)  # RFC: at least 32 s over UDP

    def __attrs_post_init__(self) -> None:
        if self.t2 < self.t1:
            raise ValueError(f"t2 ({self.t2}) must not be shorter than t1 ({self.t1})")

    @property
    def timeout(self) -> float:
        """64*T1: Timers B, F, H, J (unreliable), L, M and the wait after a CANCEL."""
        return 64 * self.t1

    def interval(self, timer: Timer, arm: Arm, *, reliable: bool, previous: float | None = None) -> float | None:
        """Seconds until `timer` fires, or None when it does not run on this transport."""
        if timer in RETRANSMISSION_TIMERS:
            if reliable:
                return None
            if arm is Arm.FIRST:
                return self.t1
            if arm is Arm.AT_T2:
                return self.t2
            if previous is None:
                raise ValueError(f"Timer {timer.name} cannot be doubled before it was started")
            doubled = 2 * previous
            return min(doubled, self.t2) if timer in _CAPPED_AT_T2 else doubled
        if arm is not Arm.FIRST:
            raise ValueError(f"Timer {timer.name} is not a retransmission timer: it only has one interval")
        if timer is Timer.D:
            return 0.0 if reliable else self.timer_d
        if timer in (Timer.I, Timer.K):
            return 0.0 if reliable else self.t4
        if timer is Timer.J:
            return 0.0 if reliable else self.timeout
        return self.timeout  # B, F, H, L, M, CANCEL: the same on every transport
