"""The server's state store ([state], SPEC section 11): chosen from the configuration,
loaded at start, its completions run on the reactor thread, its failures logged.

`backend = "redis"` joins the pool of servers sharing `redis_url`
(server/state_redis.py): Redis unreachable at start refuses the start (exit 2,
naming state.redis_url) rather than run without the pool it was told to join.
`file = ""` keeps the state in memory (`MemoryStore`).
"""
from __future__ import annotations

import time
from typing import Callable

from twisted.logger import LogLevel

from rccserver.server import rcclog
from rccserver.server.config import Config
from rccserver.server.state_sqlite import SqliteStateStore, StateFileError
from rccserver.state import MemoryStore, SavedState, StateStore, StoreError


class StateUnavailable(Exception):
    """The configured state store cannot be used; the message names the file and key."""


def open_state_store(config: Config, reactor, after_completion: Callable[[], None]) -> tuple[StateStore, SavedState]:
    """Open the store, read what it holds and start its writer. Blocking: at start only.

    `after_completion` runs on the reactor thread after each batch of completions
    (the server flushes the responses they sent)."""
    state = config.state

    def deliver(thunk: Callable[[], None]) -> None:
        reactor.callFromThread(_run_then, thunk, after_completion)

    if state.backend == "redis":
        return _open_redis(config, deliver)
    if not state.file:
        return MemoryStore(), SavedState()

    try:
        store = SqliteStateStore(state.file, deliver=deliver, on_failure=_log_failure(state.file))
    except StateFileError as error:
        raise StateUnavailable(f"{config.path}: state.file: {state.file}: {error}") from None
    try:
        saved = store.load(time.time())
    except StateFileError as error:
        store.close()
        raise StateUnavailable(f"{config.path}: state.file: {state.file}: {error}") from None
    store.start()
    before, after = store.migrated
    if 0 < before < after:
        rcclog.emit("state-migrated", file=state.file, schema_from=before, schema_to=after)
    return store, saved


def _open_redis(config: Config, deliver) -> tuple[StateStore, SavedState]:
    from rccserver.server.state_redis import RedisStateStore, RedisUnavailable, shown_url

    state = config.state
    shown = shown_url(state.redis_url)  # no password in the log

    def health(ok: bool, reason: str) -> None:
        if ok:
            rcclog.emit("state-redis-back", redis_url=shown)
        else:
            rcclog.emit("state-redis-unreachable", LogLevel.error, redis_url=shown, error=reason,
                        action="logons needing a new station lease are refused; saves are retried")

    def lease_lost(station: str, other_user: str) -> None:
        rcclog.emit("state-lease-lost", LogLevel.warn, station=station, other_user=other_user,
                    action="this server's sessions on it go on; the pool gave it to another user")

    try:
        store = RedisStateStore(state.redis_url, lease_seconds=state.lease_seconds, deliver=deliver,
                                on_failure=_log_failure(shown), on_health=health,
                                on_lease_lost=lease_lost)
        saved = store.load(time.time())
    except RedisUnavailable as error:
        raise StateUnavailable(f"{config.path}: state.redis_url: {shown}: "
                               f"Redis unreachable: {error}") from None
    store.start()
    return store, saved


def log_state_restored(config: Config, saved: SavedState, ignored: tuple[str, ...],
                       registrations: tuple[int, int]) -> None:
    """What start found in the store: forwarding and DND turned on again, registrations bound
    again (and left out); stations it has settings for but the switch does not are named."""
    if config.state.backend == "redis":
        from rccserver.server.state_redis import shown_url

        where = shown_url(config.state.redis_url)
    else:
        where = config.state.file or "(memory)"
    rcclog.emit("state-restored", file=where,
                forwarding=sum(1 for record in saved.forwarding if record.active),
                dnd=sum(1 for record in saved.dnd if record.on), registrations=registrations[0],
                registrations_left_out=registrations[1])
    if ignored:
        rcclog.emit("state-stations-absent", LogLevel.warn, stations=",".join(ignored),
                    action="their saved settings apply if they come back")


def _run_then(thunk: Callable[[], None], after: Callable[[], None]) -> None:
    try:
        thunk()
    finally:
        after()


def _log_failure(path: str) -> Callable[[str, StoreError], None]:
    def failed(what: str, error: StoreError) -> None:
        rcclog.emit("state-write-failed", LogLevel.error, file=path, what=what, error=str(error))

    return failed
