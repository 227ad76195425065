"""Loading and reloading the AD cache without blocking SIP handling (the Twisted edge).

The load runs in a thread; on success the new cache replaces the old one in a
single assignment; on failure the old cache stays in force and the outcome
says why.
"""
from __future__ import annotations

import time

import attrs
from twisted.internet import threads

from rccserver.directory.cache import CacheDiff, DirectoryCache, DirectoryError
from rccserver.directory.ldap import load_from_ldap
from rccserver.directory.ldif import load_ldif


def load_directory(config) -> DirectoryCache:
    """Blocking load from the configured source (config: DirectoryConfig)."""
    if config.source == "ldap":
        return load_from_ldap(config)
    return load_ldif(config.ldif_file, config.netbios_domain)


@attrs.frozen
class ReloadOutcome:
    ok: bool
    diff: CacheDiff | None
    error: str | None
    elapsed: float


class DirectoryReloader:
    def __init__(self, config, *, reactor, initial: DirectoryCache) -> None:
        self.config = config
        self.reactor = reactor
        self.current = initial

    def reload(self):
        """Deferred[ReloadOutcome]; never fails."""
        started = time.monotonic()
        deferred = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), load_directory, self.config)

        def loaded(cache: DirectoryCache) -> ReloadOutcome:
            diff = self.current.diff(cache)
            self.current = cache
            return ReloadOutcome(True, diff, None, time.monotonic() - started)

        def failed(failure) -> ReloadOutcome:
            failure.trap(DirectoryError, OSError)
            return ReloadOutcome(False, None, failure.getErrorMessage(), time.monotonic() - started)

        return deferred.addCallbacks(loaded, failed)
