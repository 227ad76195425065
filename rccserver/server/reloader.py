"""Loading and reloading the AD cache without blocking SIP handling (the Twisted edge).

The server reloads through ChildReloader: the load and the diff run in a child
process, the reactor rebuilds the result a slice per turn. DirectoryReloader runs
a load function in the reactor's thread pool. Either way, on success the new cache replaces
the old one in a single assignment (readers see the old or the new snapshot,
never a mix); on failure the old cache stays in force and the outcome says why.
"""
from __future__ import annotations

import gc
import os
import pickle
import sys
import time
from typing import Callable

import attrs
from twisted.internet import protocol, threads
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ProcessExitedAlready
from twisted.python.failure import Failure

from rccserver.directory.cache import CacheDiff, DirectoryCache, DirectoryError
from rccserver.directory.source import load_directory
from rccserver.server import reload_worker


@attrs.frozen
class ReloadOutcome:
    ok: bool
    diff: CacheDiff | None  # None when the load failed
    error: str | None  # None when the load succeeded
    elapsed: float  # seconds, by the reloader's clock
    users: int = 0  # Lync users in the cache now in force
    worker_pid: int | None = None  # the child process that loaded the data (ChildReloader)
    prepared: object = None  # what ChildReloader's `prepare` returned, for the swap's turn


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


RELOAD_TIMEOUT = 600.0  # seconds a reload's child may take before it is killed and the reload fails


class _WorkerProtocol(protocol.ProcessProtocol):
    """Writes the request to the child's stdin, gathers its stdout, fires `done` at its end."""

    def __init__(self, request: bytes, done: Deferred) -> None:
        self.request = request
        self.done = done
        self.buffer = bytearray()  # the frame being received (reload_worker.py: length, bytes)
        self.frames: list[bytes] = []
        self.err: list[bytes] = []
        self.timed_out: float | None = None

    def connectionMade(self) -> None:
        self.transport.write(self.request)
        self.transport.closeStdin()
        del self.request

    def outReceived(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while len(buffer) >= 8:
            size = int.from_bytes(buffer[:8], "big")
            if len(buffer) < 8 + size:
                break
            self.frames.append(bytes(buffer[8:8 + size]))
            del buffer[:8 + size]

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)
        if len(self.err) > 64:
            del self.err[:-64]

    def processEnded(self, reason: Failure) -> None:
        self.done.callback(reason.value)


class ChildReloader:
    """DirectoryReloader's counterpart for the server: the directory and the CIC data are
    loaded and diffed in a child process (rccserver/server/reload_worker.py), so the
    reactor never waits on the GIL for them. The child answers with plain tuples in
    slices; the reactor turns them into the new DirectoryCache and CicData one slice per
    turn (a few ms each, other events run between) and swaps them in at the last one.
    `current` is a `snapshot(directory, cic)`, as with DirectoryReloader.

    `prepare(new_snapshot)`, when given, is a generator run a step per turn after the
    rebuild and before the swap (the old snapshot still in force): what its owner must
    compare against the new data without a long turn (the runtime: which stations join or
    leave the switch). Its return value is the outcome's `prepared`."""

    def __init__(self, config, *, reactor, initial, snapshot: Callable,
                 clock: Callable[[], float] = time.monotonic, timeout: float = RELOAD_TIMEOUT,
                 command: list[str] | None = None, prepare: Callable | None = None) -> None:
        self.config = config
        self.reactor = reactor
        self.current = initial
        self._snapshot = snapshot
        self._prepare = prepare
        self._clock = clock
        self.timeout = timeout
        # The child's command line: a test replaces it (a child that crashes or hangs).
        self.command = command or [sys.executable, "-m", "rccserver.server.reload_worker"]
        self._baseline = reload_worker.baseline(initial.directory)
        self.last_swap: float | None = None  # seconds of reactor time the last rebuild took, in all
        self.longest_slice: float | None = None  # seconds of the longest single rebuild turn

    def reload(self) -> Deferred:
        """Deferred[ReloadOutcome]: a failed load, a child that crashes or hangs give ok=False and
        keep the data in force; only a bug in the rebuild here fails the Deferred."""
        started = self._clock()
        request = pickle.dumps((self.config.directory, self.config.cic.data_file, self._baseline),
                               pickle.HIGHEST_PROTOCOL)
        ended: Deferred = Deferred()
        worker = _WorkerProtocol(request, ended)
        try:
            process = self.reactor.spawnProcess(worker, self.command[0], list(self.command), env=dict(os.environ),
                                                childFDs={0: "w", 1: "r", 2: "r"})
        except OSError as error:
            return succeed(self._failed(f"cannot start the reload process: {error}", started))

        def kill() -> None:
            worker.timed_out = self.timeout
            try:
                process.signalProcess("KILL")
            except (OSError, ProcessExitedAlready):
                pass

        timer = self.reactor.callLater(self.timeout, kill)

        def finished(reason) -> Deferred | ReloadOutcome:
            if timer.active():
                timer.cancel()
            if worker.timed_out is not None:
                return self._failed(f"the reload process did not finish within {worker.timed_out:g} s "
                                    f"(killed); the data in force is kept", started)
            try:
                answer = None if worker.buffer else reload_worker.answer_from_frames(worker.frames)
            except Exception:  # noqa: BLE001 - a garbled answer: the child died writing it
                answer = None
            worker.frames = []
            if not isinstance(answer, tuple) or len(answer) != 2:
                code = getattr(reason, "exitCode", None)
                signal = getattr(reason, "signal", None)
                how = f"killed by signal {signal}" if signal else f"exited with code {code}"
                last = b"".join(worker.err).decode("utf-8", "replace").strip().splitlines()
                why = f": {last[-1]}" if last else ""
                return self._failed(f"the reload process {how} without an answer{why}; "
                                    f"the data in force is kept", started)
            kind, payload = answer
            if kind != "ok":
                return self._failed(str(payload), started)
            return self._swap(payload, started)

        return ended.addCallback(finished)

    def _failed(self, error: str, started: float) -> ReloadOutcome:
        return ReloadOutcome(False, None, error, self._clock() - started, len(self.current))

    def _swap(self, loaded, started: float) -> Deferred:
        """Rebuild the objects a slice per reactor turn; swap at the end (readers see the old
        snapshot until then). The collector waits meanwhile: a million new objects would
        otherwise set off full collections that walk them all, one long stall each."""
        from rccserver.cic.data import CicData, CicUser, Station
        from rccserver.directory.cache import DirectoryCache, DirectoryUser

        users: dict = {}
        cic = CicData.building(loaded.features)

        def directory_slice(blob: bytes) -> None:
            for key, *fields in pickle.loads(blob):
                users[key] = DirectoryUser(*fields)

        steps = [(directory_slice, blob) for blob in loaded.users]
        steps += [(lambda blob: cic.add_users([CicUser(*f) for f in pickle.loads(blob)]), blob)
                  for blob in loaded.cic_users]
        steps += [(lambda blob: cic.add_stations([Station(*f) for f in pickle.loads(blob)]), blob)
                  for blob in loaded.stations]

        def turns():
            for function, blob in steps:
                function(blob)
                yield
            cic.finish()
            snapshot = self._snapshot(DirectoryCache.from_keyed(users, loaded.source, loaded.skipped), cic)
            prepared = None
            if self._prepare is not None:
                yield
                prepared = yield from self._prepare(snapshot)
            # The swap: one assignment, in the turn that hands the outcome on.
            self.current = snapshot
            self._baseline = loaded.baseline
            gc.freeze()  # the new data is long-lived: no collection need walk it
            return ReloadOutcome(True, CacheDiff(loaded.added, loaded.removed, loaded.changed), None,
                                 self._clock() - started, len(snapshot), worker_pid=loaded.pid, prepared=prepared)

        work = turns()
        done: Deferred = Deferred()
        collecting = gc.isenabled()
        gc.disable()
        spent = [0.0, 0.0]  # reactor seconds in all, longest turn

        def step() -> None:
            turn = time.perf_counter()
            try:
                next(work)
            except StopIteration as finished:
                outcome = finished.value
            except BaseException:
                if collecting:
                    gc.enable()
                done.errback()
                return
            else:
                outcome = None
            took = time.perf_counter() - turn
            spent[0] += took
            spent[1] = max(spent[1], took)
            if outcome is None:
                self.reactor.callLater(0, step)
                return
            if collecting:
                gc.enable()
            self.last_swap, self.longest_slice = spent
            done.callback(outcome)

        step()
        return done
