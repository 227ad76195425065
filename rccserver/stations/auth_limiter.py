"""Cool-down for source hosts that keep failing digest authentication (password guessing).

After `limit` failures from one host within `window` seconds, every REGISTER
from that host is refused for `cooldown` seconds, whatever it carries: a
guesser learns nothing during the cool-down, not even whether a guess was
right. Hosts are counted by address only (a guesser can change its port at
will). A REGISTER without credentials, or with a stale nonce, is no failure.

The table is bounded: beyond `max_hosts` the host touched longest ago is
forgotten (the price of a flood from more addresses than that is that some
of them start counting again from zero).
"""
from __future__ import annotations

from collections import OrderedDict, deque

import attrs


@attrs.define
class _HostRecord:
    failures: deque[float] = attrs.Factory(deque)  # times of recent failures, oldest first
    blocked_until: float | None = None


class AuthFailureLimiter:
    def __init__(self, *, limit: int, window: float, cooldown: float, max_hosts: int = 10_000) -> None:
        """`limit` 0 turns the limiter off."""
        if limit < 0 or window <= 0 or cooldown <= 0 or max_hosts < 1:
            raise ValueError("limit >= 0, window > 0, cooldown > 0 and max_hosts >= 1 are required")
        self.limit = limit
        self.window = window
        self.cooldown = cooldown
        self.max_hosts = max_hosts
        self._hosts: OrderedDict[str, _HostRecord] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hosts)

    def blocked_until(self, host: str, now: float) -> float | None:
        """The end of `host`'s cool-down, or None if it may be served."""
        record = self._hosts.get(host)
        if record is None or record.blocked_until is None:
            return None
        if now < record.blocked_until:
            return record.blocked_until
        del self._hosts[host]  # the cool-down is over: the host starts again with a clean slate
        return None

    def record_failure(self, host: str, now: float) -> float | None:
        """Count one failure; returns the end of the cool-down when this failure starts one."""
        if self.limit == 0:
            return None
        record = self._hosts.pop(host, None)
        if record is None or (record.blocked_until is not None and now >= record.blocked_until):
            record = _HostRecord()
        self._hosts[host] = record  # most recently touched last
        if record.blocked_until is not None:
            return None  # already cooling down
        while record.failures and record.failures[0] <= now - self.window:
            record.failures.popleft()
        record.failures.append(now)
        started = None
        if len(record.failures) >= self.limit:
            record.blocked_until = started = now + self.cooldown
            record.failures.clear()
        while len(self._hosts) > self.max_hosts:
            self._hosts.popitem(last=False)
        return started
