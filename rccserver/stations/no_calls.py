"""A `LegListener` for a server without the call layer: phones register, calls are refused.

Every call a phone dials is answered `480 Temporarily Unavailable`; the phone
line never gets an outgoing leg from it, so the other callbacks have nothing
to do. It stands in until the call layer (`stations/terminal.py`) is wired.
"""
from __future__ import annotations

from rccserver.stations.legs import Leg, Replaces

REFUSAL = (480, "Calls Not Available")


class NoCalls:
    def phone_dialled(self, leg: Leg) -> None:
        leg.reject(*REFUSAL)

    def leg_ringing(self, leg: Leg) -> None:
        pass

    def leg_answered(self, leg: Leg, sdp: bytes | None) -> None:
        leg.hang_up()  # nothing to bridge it to

    def leg_acknowledged(self, leg: Leg, sdp: bytes | None) -> None:
        pass

    def leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        pass

    def leg_ended(self, leg: Leg, reason: str) -> None:
        pass

    def leg_reinvited(self, leg: Leg, sdp: bytes | None) -> None:
        leg.answer_reinvite(None, 488)

    def leg_reinvite_answered(self, leg: Leg, sdp: bytes | None) -> None:
        pass

    def leg_reinvite_failed(self, leg: Leg, status: int) -> None:
        pass

    def leg_referred(self, leg: Leg, target: str, replaces: Replaces | None) -> bool:
        return False
