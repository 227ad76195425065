"""Where a number goes once the dial plan has read it (SPEC section 10).

A number after the rules that names a station (its extension, compared as
SPEC 5 compares lines, or the number of its `identification_address`) rings
that station; one starting with `+` is an outside party (the trunk's, once
there is one); anything else goes nowhere. A trunk call's DID, after the
`inbound` rules, must name a station.

`DialPlanRouter` is what the switch and the trunk ask: the switch keeps its
own station list (a remote-number logon adds devices the CIC data lacks), so
it asks only for the number, with identification addresses already read as
extensions, and then applies `destination_kind` itself.
"""
from __future__ import annotations

import enum
from typing import Callable, Iterable, Protocol, Sequence

import attrs

from rccserver.common.numbers import canonical_number, line_number
from rccserver.dialplan.plan import DialPlan
from rccserver.dialplan.rules import Translation


_CACHE_SIZE = 4096
_CACHED_LENGTH = 256
_UNREAD = object()


class StationLike(Protocol):
    extension: str
    identification_address: str | None


class Kind(enum.Enum):
    STATION = "station"
    EXTERNAL = "external"
    NOWHERE = "nowhere"  # a number, but neither a station nor international
    NOT_A_NUMBER = "not a number"  # the text, or what the rule made of it, is no number


def destination_kind(number: str, is_station: Callable[[str], bool]) -> Kind:
    """SPEC 10: a station's number rings it, `+...` is outside, the rest goes nowhere."""
    if is_station(number):
        return Kind.STATION
    if number.startswith("+"):
        return Kind.EXTERNAL
    return Kind.NOWHERE


class StationNumbers:
    """The numbers that name each station: identification address first (as SPEC 5
    matches lines), then the extension."""

    def __init__(self, stations: Iterable[StationLike]) -> None:
        self.by_address: dict[str, str] = {}
        self.by_extension: dict[str, str] = {}
        for station in stations:
            self.by_extension.setdefault(line_number(station.extension), station.extension)
            number = canonical_number(station.identification_address)
            if number is not None:
                self.by_address.setdefault(number, station.extension)

    def station(self, number: str) -> str | None:
        """The extension of the station `number` (canonical) names, or None."""
        return self.by_address.get(number) or self.by_extension.get(line_number(number))


@attrs.frozen
class Route:
    translation: Translation
    kind: Kind
    target: str | None  # the station's extension, or the outside number; None otherwise


class DialPlanRouter:
    """The dial plan plus the stations of the CIC data in force (read anew after a reload)."""

    def __init__(self, plan: DialPlan, stations: Callable[[], Sequence[StationLike]]) -> None:
        self.plan = plan
        self._stations = stations
        self._numbers: tuple[Sequence[StationLike], StationNumbers] | None = None
        # What `dialled` answered, by text, while these station numbers are in force (the
        # same numbers are dialled again and again). Bounded: emptied when full.
        self._dialled: dict[str, str | None] = {}

    def station_numbers(self) -> StationNumbers:
        stations = self._stations()
        # The CIC data is immutable and replaced whole on reload: identity says it changed.
        if self._numbers is None or self._numbers[0] is not stations:
            self._numbers = (stations, StationNumbers(stations))
            self._dialled = {}  # its answers read the old identification addresses
        return self._numbers[1]

    def _read_as_extension(self, number: str | None) -> str | None:
        if number is None:
            return None
        return self.station_numbers().by_address.get(number, number)

    # -- what the switch asks ------------------------------------------------------
    def dialled(self, text: str) -> str | None:
        """The number a person dialled, after the `dial` rules; a station's identification
        address is read as its extension. None: nothing dialable."""
        numbers = self._numbers
        cacheable = type(text) is str and len(text) <= _CACHED_LENGTH
        if cacheable and numbers is not None and numbers[0] is self._stations():
            number = self._dialled.get(text, _UNREAD)
            if number is not _UNREAD:
                return number
        number = self._read_as_extension(self.plan.dial(text).number)
        if cacheable:
            # Read against the numbers now in force (station_numbers() emptied the cache if
            # they changed), so the answer is theirs.
            if len(self._dialled) >= _CACHE_SIZE:
                self._dialled.clear()
            self._dialled[text] = number
        return number

    def inbound(self, text: str) -> str | None:
        """The number a call from outside is for, after the `inbound` rules (read as `dialled`)."""
        return self._read_as_extension(self.plan.inbound(text).number)

    # -- whole routes: the `dialplan test` command and the trunk --------------------
    def _route(self, translation: Translation) -> Route:
        if translation.number is None:
            return Route(translation, Kind.NOT_A_NUMBER, None)
        numbers = self.station_numbers()
        extension = numbers.station(translation.number)
        kind = destination_kind(translation.number, lambda _: extension is not None)
        target = extension if kind is Kind.STATION else translation.number if kind is Kind.EXTERNAL else None
        return Route(translation, kind, target)

    def route_dialled(self, text: str) -> Route:
        return self._route(self.plan.dial(text))

    def route_inbound(self, text: str) -> Route:
        return self._route(self.plan.inbound(text))

    def station_for_did(self, did: str) -> str | None:
        """The extension a trunk call for `did` rings, or None (the trunk answers 404)."""
        route = self.route_inbound(did)
        return route.target if route.kind is Kind.STATION else None
