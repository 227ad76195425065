"""What the RCC layer needs from a telephone switch, and what drives the simulated world.

`Switch` is the contract a real PBX adapter would implement: CSTA-shaped
services that either succeed (returning a small result or None) or raise
SwitchError with the precise CSTA error; events collected for the caller to
drain; timers in sans-IO style. `OutsideWorld` is what the admin API uses to
play the far ends and the desk phones on the embedded switch.

Station arguments are extensions (as in the CIC data); destinations are dial
strings (an extension, a number, or a tel URI; see rccserver.common.numbers).
"""
from __future__ import annotations

from typing import Callable, Iterable, Protocol, runtime_checkable

import attrs

from rccserver.switch.events import SwitchEvent
from rccserver.switch.model import (
    CallView,
    ConnectionListItem,
    ForwardingSetting,
    ForwardingType,
    SnapshotItem,
)


@attrs.frozen
class CallResult:
    """The call a service created (MakeCall, ConsultationCall, the transfers)."""

    call_id: str


@attrs.frozen
class ConferenceResult:
    call_id: str
    connections: tuple[ConnectionListItem, ...]


@runtime_checkable
class Switch(Protocol):
    # -- stations
    def stations(self) -> tuple[str, ...]: ...
    def has_station(self, extension: str) -> bool: ...
    def add_station(self, extension: str) -> None: ...
    def remove_station(self, extension: str) -> None: ...

    # -- call control services
    def make_call(self, station: str, destination: str) -> CallResult: ...
    def answer_call(self, station: str, call_id: str) -> None: ...
    def clear_connection(self, station: str, call_id: str) -> None: ...
    def hold_call(self, station: str, call_id: str) -> None: ...
    def retrieve_call(self, station: str, call_id: str) -> None: ...
    def alternate_call(self, station: str, held_call_id: str, active_call_id: str) -> None: ...
    def deflect_call(self, station: str, call_id: str, destination: str) -> None: ...
    def single_step_transfer(self, station: str, call_id: str, destination: str) -> CallResult: ...
    def consultation_call(self, station: str, existing_call_id: str, destination: str) -> CallResult: ...
    def transfer_call(self, station: str, held_call_id: str, active_call_id: str) -> CallResult: ...
    def conference_call(self, station: str, held_call_id: str, active_call_id: str) -> ConferenceResult: ...
    def generate_digits(self, station: str, call_id: str, digits: str) -> None: ...

    # -- device features
    def set_forwarding(
        self,
        station: str,
        forwarding_type: ForwardingType | str,
        active: bool,
        destination: str | None = None,
        ring_count: int | None = None,
        *,
        dialled: bool = True,
    ) -> None: ...
    def forwarding_setting(
        self,
        station: str,
        forwarding_type: ForwardingType | str,
        active: bool,
        destination: str | None = None,
        ring_count: int | None = None,
        *,
        dialled: bool = True,
    ) -> ForwardingSetting:
        """What set_forwarding would set (or the SwitchError it would raise), changing nothing.
        `dialled=False`: the destination is a setting's own, not read through the dial plan again."""
        ...
    def get_forwarding(self, station: str) -> tuple[ForwardingSetting, ...]: ...
    def set_dnd(self, station: str, on: bool) -> None: ...
    def get_dnd(self, station: str) -> bool: ...
    def set_remote_number(self, station: str, number: str | None) -> None: ...
    def get_remote_number(self, station: str) -> str | None: ...

    # -- state
    def snapshot(self, station: str) -> tuple[SnapshotItem, ...]: ...
    def calls(self) -> tuple[CallView, ...]: ...
    def call(self, call_id: str) -> CallView: ...

    # -- events (a switch keeps its timers in the scheduler it was given; when a timer
    # leaves events it calls on_timer_events, so they are delivered without a request)
    on_timer_events: Callable[[], None] | None

    def take_events(self) -> list[SwitchEvent]: ...


class StationTerminal(Protocol):
    """A real phone that carries a station's calls (a SIP desk phone).

    The call model stays the switch's; a terminal only decides what the switch
    cannot do alone.  A MakeCall from its station is prompted (the phone is called
    first, `EmbeddedSwitch.originate` once it is off-hook), and these requests, which
    only the phone can carry out, are handed to it.  Each raises SwitchError when
    the phone cannot do it, and changes no state itself.
    """

    def can_ring(self, station: str) -> bool:
        """Whether a call offered to the station can ring its phone (it is registered)."""

    def make_call_requested(self, station: str) -> None:
        """MakeCall from this station: refuse when its phone cannot be called (not registered)."""

    def answer_requested(self, station: str, call_id: str) -> None:
        """AnswerCall: make the ringing phone go off-hook (Established follows when it does)."""

    def conference_requested(self, station: str, call_id: str) -> None:
        """ConferenceCall would join this connection to a conference."""

    def digits_requested(self, station: str, call_id: str, digits: str) -> None:
        """GenerateDigits on this connection: send the digits to the far end."""


class NumberPlan(Protocol):
    """How the switch reads numbers (the dial plan, SPEC 10; rccserver.dialplan.DialPlanRouter).

    Each answers the canonical number a text stands for after the plan's rules, a
    station's identification address already read as its extension, or None when
    nothing dialable comes out. With a plan, the switch routes a number that is no
    station and does not start with '+' nowhere; without one, to an outside party.
    """

    def dialled(self, text: str) -> str | None:
        """What a person dialled (MakeCall, deflect, transfers, forwarding, a phone's INVITE)."""

    def inbound(self, text: str) -> str | None:
        """The number a call from outside is for (its DID)."""


@runtime_checkable
class OutsideWorld(Protocol):
    def place_call(self, origin: str, destination: str) -> CallResult: ...
    def external_answer(self, call_id: str, device: str | None = None) -> None: ...
    def external_hangup(self, call_id: str, device: str | None = None) -> None: ...
    def station_answer(self, station: str, call_id: str) -> None: ...
    def station_hangup(self, station: str, call_id: str) -> None: ...
    def originate(self, station: str, call_id: str) -> None: ...


def station_list(extensions: Iterable[str]) -> tuple[str, ...]:
    """Extensions in first-seen order, duplicates dropped."""
    return tuple(dict.fromkeys(extensions))
