"""Long work on the reactor, spread over its turns (a reload of 100,000 users).

Each step of the work is one reactor turn (`callLater(0)`), so SIP handling runs
between them: no single turn stalls the line for long.

- `run_in_turns` drives a generator: every `yield` ends a turn; its return value
  fires the Deferred.
- `release_in_turns` lets go of big data that is no longer in force (the cache a
  reload replaced): dropping its last reference at once frees a million objects in
  one turn (about 100 ms of CPU at 100,000 users), so its big containers are
  emptied a slice per turn instead.
"""
from __future__ import annotations

import sys
from typing import Any, Generator

from twisted.internet.defer import Deferred

RELEASE_SLICE = 2000  # items freed per turn: ~1-3 ms


def run_in_turns(reactor, steps: Generator[None, None, Any]) -> Deferred:
    """Deferred[the generator's return value]; an exception in a step fails it."""
    done: Deferred = Deferred()

    def turn() -> None:
        try:
            next(steps)
        except StopIteration as finished:
            done.callback(finished.value)
            return
        except BaseException:  # noqa: BLE001 - handed to the Deferred, as a callback's would be
            done.errback()
            return
        reactor.callLater(0, turn)

    turn()
    return done


def _only_here(value: object) -> bool:
    """True when the caller's one local name is the only reference to `value`
    (getrefcount also counts this function's parameter and its own argument)."""
    return sys.getrefcount(value) <= 3


def _containers(retired: object) -> list:
    """The big containers of an object nobody else holds, taken out of it."""
    state = getattr(retired, "__dict__", None)
    if state is None:
        return []
    names = [name for name, value in state.items()
             if isinstance(value, (dict, list, tuple)) and len(value) > RELEASE_SLICE]
    return [state.pop(name) for name in names]


def release_in_turns(reactor, retired: list) -> Deferred:
    """Free the objects in `retired` (the caller's only references to them: this empties
    the list) a slice per turn. Whatever someone else still references, the object or one
    of its containers, is not touched: it stays whole for them and is freed when they let
    it go. Deferred[None] when done."""

    def steps():
        work = []
        while retired:
            value = retired.pop()
            if _only_here(value):
                work += _containers(value)
            del value
        yield
        while work:
            container = work.pop()
            if not _only_here(container):
                del container  # shared: ours was not the last reference
                continue
            if isinstance(container, tuple):
                container = list(container)  # a tuple cannot be emptied in place
            if isinstance(container, dict):
                for _ in range(min(RELEASE_SLICE, len(container))):
                    container.popitem()
            else:
                del container[-RELEASE_SLICE:]
            if container:
                work.append(container)
            del container
            yield

    return run_in_turns(reactor, steps())
