"""Resource limits of SIP stream connections, and the per-source connection count."""
from __future__ import annotations

from collections import Counter

import attrs


def _positive_or_none(instance, attribute, value) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0 or None (disabled), not {value!r}")


def _at_least_one(instance, attribute, value) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, not {value!r}")


@attrs.frozen(slots=True)
class TransportLimits:
    # Largest SIP message (header section + body), SPEC section 7.
    max_message_size: int = attrs.field(default=65536, validator=_at_least_one)
    max_header_count: int = attrs.field(default=256, validator=_at_least_one)
    # A Lync pool opens a few connections per front end; far more from one address is abuse.
    max_connections_per_source: int = attrs.field(default=64, validator=_at_least_one)
    # Seconds without a byte in either direction before the connection is closed.
    # Front ends keep their connections alive with CRLF pings or traffic; our own
    # keep-alive INFOs (every session_timeout s) count as traffic too.
    idle_timeout: float | None = attrs.field(default=600.0, validator=_positive_or_none)
    # Seconds allowed to complete a message once its first byte arrived, and to
    # complete a TLS handshake: defeats slow senders holding connections open.
    header_timeout: float | None = attrs.field(default=30.0, validator=_positive_or_none)
    # After we decided to close (e.g. a 400 for a framing error), how long the peer
    # has to read what we still send before the connection is aborted.
    close_grace: float = attrs.field(default=5.0, validator=_positive_or_none)
    # Outbound connections: seconds to connect (and finish TLS) before giving up.
    connect_timeout: float = attrs.field(default=10.0, validator=_positive_or_none)


class SourceCounter:
    """Open connections per source address."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def count(self, source: str) -> int:
        return self._counts[source]

    def add(self, source: str) -> None:
        self._counts[source] += 1

    def remove(self, source: str) -> None:
        remaining = self._counts[source] - 1
        if remaining < 0:
            raise ValueError(f"no open connection from {source} to remove")
        if remaining:
            self._counts[source] = remaining
        else:
            del self._counts[source]

    def __len__(self) -> int:
        return sum(self._counts.values())
