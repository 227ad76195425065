"""Loading and reloading the AD cache without blocking SIP handling (the Twisted edge).

The load runs in the reactor's thread pool; on success the new cache replaces
the old one in a single assignment (readers see the old or the new snapshot,
never a mix); on failure the old cache stays in force and the outcome says why.
"""
from __future__ import annotations

import time
from typing import Callable

import attrs
from twisted.internet import threads
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from rccserver.directory.cache import CacheDiff, DirectoryCache, DirectoryError
from rccserver.directory.source import load_directory


@attrs.frozen
class ReloadOutcome:
    ok: bool
    diff: CacheDiff | None  # None when the load failed
    error: str | None  # None when the load succeeded
    elapsed: float  # seconds, by the reloader's clock
    users: int = 0  # Lync users in the cache now in force


class DirectoryReloader:
    """Owns the current DirectoryCache and replaces it on a successful reload."""

    def __init__(self, config, *, reactor, initial: DirectoryCache,
                 load: Callable[[object], DirectoryCache] = load_directory,
                 clock: Callable[[], float] = time.monotonic,
                 expected: tuple[type[BaseException], ...] = (DirectoryError, OSError)) -> None:
        """`load(config)` returns the new snapshot: a DirectoryCache, or anything with the
        same `diff(newer)` and `len()` (the runtime reloads the CIC data with it)."""
        self.config = config
        self.reactor = reactor
        self.current = initial
        self._load = load
        self._clock = clock
        self._expected = expected

    def _load_and_diff(self):
        # Runs in the worker thread: parsing and diffing 100,000 users must not stall SIP.
        cache = self._load(self.config)
        return cache, self.current.diff(cache)

    def reload(self) -> Deferred:
        """Deferred[ReloadOutcome]. Expected load errors (DirectoryError, OSError by default)
        give ok=False; anything else is a bug and fails the Deferred. One reload at a time."""
        started = self._clock()
        deferred = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._load_and_diff)

        def loaded(result) -> ReloadOutcome:
            cache, change = result
            self.current = cache
            return ReloadOutcome(True, change, None, self._clock() - started, len(cache))

        def failed(failure: Failure) -> ReloadOutcome:
            failure.trap(*self._expected)
            return ReloadOutcome(False, None, failure.getErrorMessage(), self._clock() - started, len(self.current))

        return deferred.addCallbacks(loaded, failed)
