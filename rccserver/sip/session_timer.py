"""RFC 4028 session timers, UAS side: negotiation and deadlines.

Pure functions over header values.  We prefer the client to refresh
(refresher=uac, which is what Lync/OC/sipe do).  If a request names
`refresher=uas` we copy it as RFC 4028 section 9 requires and the endpoint
refreshes with UPDATE half-way through the interval.
"""
from __future__ import annotations

from typing import Iterable, Literal

import attrs

DEFAULT_INTERVAL = 1800
MIN_SE_FLOOR = 90  # RFC 4028: no Min-SE may be below 90 s
OPTION_TAG = "timer"

Refresher = Literal["uac", "uas"]


class SessionTimerSyntaxError(ValueError):
    """A Session-Expires or Min-SE value we cannot read (answer 400 with this text)."""


@attrs.frozen(slots=True)
class SessionTimer:
    """The negotiated timer of a dialog."""

    interval: int
    refresher: Refresher
    uac_supports_timer: bool

    def response_headers(self) -> list[tuple[str, str]]:
        """Headers for the 2xx that accepts this timer."""
        headers = [("Session-Expires", f"{self.interval};refresher={self.refresher}")]
        if self.refresher == "uac":
            # RFC 4028 section 9: the UAC must know it has to refresh.
            headers.append(("Require", OPTION_TAG))
        return headers


@attrs.frozen(slots=True)
class IntervalTooSmall:
    """Answer 422 with `Min-SE: min_se`."""

    requested: int
    min_se: int

    def response_headers(self) -> list[tuple[str, str]]:
        return [("Min-SE", str(self.min_se))]

    @property
    def reason(self) -> str:
        return f"Session Interval Too Small (minimum {self.min_se} s)"


def parse_delta_seconds(value: str, header: str) -> tuple[int, dict[str, str]]:
    """Read `delta-seconds *(;param)` as used by Session-Expires and Min-SE."""
    head, *params = value.split(";")
    head = head.strip()
    if not head.isdigit() or len(head) > 10:
        raise SessionTimerSyntaxError(f"Bad {header}: {value.strip()!r} is not delta-seconds")
    parsed: dict[str, str] = {}
    for param in params:
        name, _, pvalue = param.partition("=")
        parsed[name.strip().lower()] = pvalue.strip().lower()
    return int(head), parsed


def option_tags(values: Iterable[str]) -> set[str]:
    """Option tags from Supported/Require values (comma lists, any case)."""
    tags: set[str] = set()
    for value in values:
        for tag in value.split(","):
            tag = tag.strip().lower()
            if tag:
                tags.add(tag)
    return tags


def negotiate(
    *,
    session_expires: str | None,
    min_se: str | None,
    supported: Iterable[str],
    default_interval: int = DEFAULT_INTERVAL,
    local_min_se: int = MIN_SE_FLOOR,
) -> SessionTimer | IntervalTooSmall | None:
    """Decide the session timer for an INVITE, re-INVITE or UPDATE we are about to accept.

    Returns None when the client neither supports timers nor asked for one.
    Raises SessionTimerSyntaxError for unreadable values.
    """
    uac_supports = OPTION_TAG in option_tags(supported)
    request_min_se = MIN_SE_FLOOR
    if min_se is not None:
        request_min_se, _ = parse_delta_seconds(min_se, "Min-SE")
    if session_expires is None:
        if not uac_supports:
            return None
        interval = max(default_interval, request_min_se, local_min_se)
        return SessionTimer(interval, "uac", True)
    interval, params = parse_delta_seconds(session_expires, "Session-Expires")
    if interval < local_min_se:
        if uac_supports:
            return IntervalTooSmall(interval, max(local_min_se, request_min_se))
        # A proxy added the header for a UAC that cannot understand 422: raise it instead.
        interval = local_min_se
    requested = params.get("refresher")
    refresher: Refresher
    if requested in ("uac", "uas"):
        # RFC 4028 section 9: copy it.  A UAC that names itself refresher knows
        # timers even if this refresh forgot `Supported: timer`.
        refresher = requested  # type: ignore[assignment]
    else:
        # Ours to choose: the client refreshes if it can, else we must.
        refresher = "uac" if uac_supports else "uas"
    return SessionTimer(interval, refresher, uac_supports)


def expiry_deadline(now: float, interval: int) -> float:
    """When the non-refreshing side gives up (RFC 4028 section 10): BYE before expiry."""
    return now + interval - min(32.0, interval / 3)


def refresh_deadline(now: float, interval: int) -> float:
    """When we, as refresher, send the refresh: half-way (RFC 4028 section 10)."""
    return now + interval / 2
