"""The state store's SQLite backend (SPEC section 11): one file, WAL, a writer thread.

Durability: WAL journal with `synchronous = FULL`, so a commit has reached the disk
(the WAL is fsynced) before `done` is called; the CSTA response that confirms a
setting is sent only after that, so neither a SIGKILL nor a power cut after the
response loses it. (NORMAL would survive a killed process but not a power cut: the
last commits could be rolled back.)

Writes run on one dedicated thread, never on the reactor: every save is queued, the
thread takes what has queued up (up to `MAX_BATCH`), commits it in one transaction
and hands the outcomes to `deliver`, which runs them on the reactor thread. When a
batch fails, its writes are tried one by one, so one bad write fails alone. Reads
happen once, at start (`load`), before the thread starts.

The schema is versioned: `schema_version` holds the version, and `MIGRATIONS[n]`
brings a file from version n to n + 1 in one transaction. A new file is built by
the same migrations from version 0, so every step is exercised on every start of a
new installation. A file of a newer version is refused: this rccserver cannot know
what it would lose.
"""
from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterable

import attrs

from rccserver.state import DndRecord, Done, ForwardingRecord, RegistrationRecord, SavedState, StoreError

# version n -> the statements that bring a file from version n to n + 1
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 -> 1: forwarding and do-not-disturb per station
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version (version) VALUES (0)",
        "CREATE TABLE forwarding (station TEXT NOT NULL, forwarding_type TEXT NOT NULL,"
        " active INTEGER NOT NULL, destination TEXT, ring_count INTEGER,"
        " PRIMARY KEY (station, forwarding_type))",
        "CREATE TABLE dnd (station TEXT PRIMARY KEY, dnd_on INTEGER NOT NULL)",
    ),
    (  # 1 -> 2: the SIP stations' registrations, one row per binding
        "CREATE TABLE registrations (sip_user TEXT NOT NULL, contact TEXT NOT NULL, extension TEXT NOT NULL,"
        " contact_params TEXT NOT NULL, call_id TEXT NOT NULL, cseq INTEGER NOT NULL, transport TEXT NOT NULL,"
        " source_host TEXT NOT NULL, source_port INTEGER NOT NULL, user_agent TEXT,"
        " registered_at REAL NOT NULL, updated_at REAL NOT NULL, expires_at REAL NOT NULL,"
        " PRIMARY KEY (sip_user, contact))",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

MAX_BATCH = 256  # saves committed in one transaction at most
BUSY_TIMEOUT = 5.0  # seconds a write waits for another program's lock on the file


class StateFileError(Exception):
    """The state file cannot be used: not SQLite, not ours, newer than us, not writable."""


def schema_version(connection: sqlite3.Connection) -> int:
    """The file's schema version: 0 for an empty file; StateFileError for a file not ours."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return 0
    if "schema_version" not in tables:
        raise StateFileError(f"not an rccserver state file (tables {', '.join(sorted(tables))}, "
                             f"no schema_version)")
    rows = connection.execute("SELECT version FROM schema_version").fetchall()
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        raise StateFileError(f"schema_version must hold one version number (holds {rows!r})")
    return rows[0][0]


def check_version(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StateFileError(f"schema version {version} was written by a newer rccserver; this one reads "
                             f"up to version {SCHEMA_VERSION} (restore a backup or upgrade)")


def migrate(connection: sqlite3.Connection) -> tuple[int, int]:
    """Bring the file to SCHEMA_VERSION, one transaction per step; (version before, after)."""
    before = schema_version(connection)
    check_version(before)
    for version in range(before, SCHEMA_VERSION):
        with _transaction(connection):
            for statement in MIGRATIONS[version]:
                connection.execute(statement)
            connection.execute("UPDATE schema_version SET version = ?", (version + 1,))
    return before, SCHEMA_VERSION


def connect(path: str, *, busy_timeout: float = BUSY_TIMEOUT) -> sqlite3.Connection:
    """Open (creating) the file for the writer: WAL, synchronous FULL. The directory must exist."""
    directory = Path(path).parent
    if not directory.is_dir():
        raise StateFileError(f"directory {directory} does not exist")
    try:
        # isolation_level None: we say BEGIN and COMMIT ourselves.
        connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        connection.execute("PRAGMA synchronous = FULL")
    except sqlite3.Error as error:
        raise StateFileError(_reason(error)) from None
    if mode.lower() != "wal":
        connection.close()
        raise StateFileError(f"cannot use the WAL journal (SQLite answered {mode!r})")
    return connection


def read_state(connection: sqlite3.Connection, now: float) -> SavedState:
    """Every saved setting, and the registrations that have not expired by `now` (epoch seconds)."""
    forwarding = tuple(
        ForwardingRecord(station, ftype, bool(active), destination, ring_count)
        for station, ftype, active, destination, ring_count in connection.execute(
            "SELECT station, forwarding_type, active, destination, ring_count FROM forwarding"
            " ORDER BY station, forwarding_type"))
    dnd = tuple(DndRecord(station, bool(on)) for station, on in connection.execute(
        "SELECT station, dnd_on FROM dnd ORDER BY station"))
    registrations = tuple(
        RegistrationRecord(
            sip_user=row[0], contact=row[1], extension=row[2],
            contact_params=tuple((name, value) for name, value in json.loads(row[3])),
            call_id=row[4], cseq=row[5], transport=row[6], source_host=row[7], source_port=row[8],
            user_agent=row[9], registered_at=row[10], updated_at=row[11], expires_at=row[12])
        for row in connection.execute(
            "SELECT sip_user, contact, extension, contact_params, call_id, cseq, transport, source_host,"
            " source_port, user_agent, registered_at, updated_at, expires_at FROM registrations"
            " WHERE expires_at > ? ORDER BY sip_user, registered_at", (now,)))
    return SavedState(forwarding, dnd, registrations)


@attrs.frozen
class FileReport:
    """What check-config learns of a state file without changing it."""

    path: str
    exists: bool
    version: int  # 0 when the file does not exist yet
    saved: SavedState


def inspect(path: str, now: float) -> FileReport:
    """Read-only look at a state file: StateFileError when the server could not use it."""
    file = Path(path)
    directory = file.parent
    if not directory.is_dir():
        raise StateFileError(f"directory {directory} does not exist")
    # The WAL and its index are files beside the database: the directory must be writable.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StateFileError(f"directory {directory} is not writable (the file and its -wal and -shm "
                             f"files are created there)")
    if not file.exists():
        return FileReport(path, False, 0, SavedState())
    if not file.is_file():
        raise StateFileError("not a regular file")
    if not os.access(file, os.R_OK | os.W_OK):
        raise StateFileError("not readable and writable by this user")
    try:
        connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise StateFileError(_reason(error)) from None
    try:
        version = schema_version(connection)
        check_version(version)
        saved = _read_known_tables(connection, version, now)
    except sqlite3.Error as error:
        raise StateFileError(_reason(error)) from None
    finally:
        connection.close()
    return FileReport(path, True, version, saved)


def _read_known_tables(connection: sqlite3.Connection, version: int, now: float) -> SavedState:
    if version == 0:
        return SavedState()
    if version >= SCHEMA_VERSION:
        return read_state(connection, now)
    # An older file: what it has (version 1: no registrations yet).
    forwarding = tuple(ForwardingRecord(s, t, bool(a), d, r) for s, t, a, d, r in connection.execute(
        "SELECT station, forwarding_type, active, destination, ring_count FROM forwarding"))
    dnd = tuple(DndRecord(s, bool(on)) for s, on in connection.execute("SELECT station, dnd_on FROM dnd"))
    return SavedState(forwarding, dnd)


class _Write:
    """One save: its statements, what it is (for the log) and who waits for it."""

    __slots__ = ("what", "statements", "done")

    def __init__(self, what: str, statements: list[tuple[str, tuple]], done: Done | None) -> None:
        self.what = what
        self.statements = statements
        self.done = done


_STOP = object()


class SqliteStateStore:
    """`StateStore` (rccserver.state.store) in one SQLite file.

    `deliver(thunk)` must run `thunk` on the reactor thread (reactor.callFromThread);
    `on_failure(what, error)` is told of each write that failed, on that thread too,
    before its `done`."""

    def __init__(self, path: str, *, deliver: Callable[[Callable[[], None]], None],
                 on_failure: Callable[[str, StoreError], None] | None = None,
                 busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self._deliver = deliver
        self._on_failure = on_failure
        self._connection = connect(path, busy_timeout=busy_timeout)
        try:
            self.migrated = migrate(self._connection)  # (version before, after)
        except sqlite3.Error as error:
            self._connection.close()
            raise StateFileError(_reason(error)) from None
        except StateFileError:
            self._connection.close()
            raise
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    # -- start ----------------------------------------------------------------------
    def load(self, now: float) -> SavedState:
        """Blocking; before `start`. Registrations that expired by `now` are dropped from the file."""
        if self._thread is not None:
            raise RuntimeError("load() is for the start, before the writer thread runs")
        try:
            with _transaction(self._connection):
                self._connection.execute("DELETE FROM registrations WHERE expires_at <= ?", (now,))
            return read_state(self._connection, now)
        except sqlite3.Error as error:
            raise StateFileError(_reason(error)) from None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rccserver-state-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Blocking: commit what is queued, stop the thread, close the file."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        self._connection.close()

    # -- saves (any thread; in practice the reactor's) -------------------------------------
    def save_forwarding(self, record: ForwardingRecord, done: Done | None = None) -> None:
        self._queue.put(_Write(
            f"forwarding {record.forwarding_type} of station {record.station}",
            [("INSERT OR REPLACE INTO forwarding (station, forwarding_type, active, destination, ring_count)"
              " VALUES (?, ?, ?, ?, ?)",
              (record.station, record.forwarding_type, int(record.active), record.destination, record.ring_count))],
            done))

    def save_dnd(self, record: DndRecord, done: Done | None = None) -> None:
        self._queue.put(_Write(
            f"do-not-disturb of station {record.station}",
            [("INSERT OR REPLACE INTO dnd (station, dnd_on) VALUES (?, ?)", (record.station, int(record.on)))],
            done))

    def save_registrations(self, sip_user: str, records: tuple[RegistrationRecord, ...],
                           done: Done | None = None) -> None:
        statements: list[tuple[str, tuple]] = [("DELETE FROM registrations WHERE sip_user = ?", (sip_user,))]
        for r in records:
            statements.append((
                "INSERT OR REPLACE INTO registrations (sip_user, contact, extension, contact_params, call_id,"
                " cseq, transport, source_host, source_port, user_agent, registered_at, updated_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.sip_user, r.contact, r.extension, json.dumps([list(p) for p in r.contact_params]), r.call_id,
                 r.cseq, r.transport, r.source_host, r.source_port, r.user_agent, r.registered_at, r.updated_at,
                 r.expires_at)))
        self._queue.put(_Write(f"registrations of {sip_user}", statements, done))

    # -- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._report(batch, self._commit(batch))

    def _commit(self, batch: list[_Write]) -> list[StoreError | None]:
        try:
            self._apply(batch)
            return [None] * len(batch)
        except sqlite3.OperationalError as error:
            # The file's trouble (locked, disk full, I/O error), not one write's: all fail,
            # without waiting for the lock once per write.
            return [StoreError(_reason(error))] * len(batch)
        except sqlite3.Error as error:
            if len(batch) == 1:
                return [StoreError(_reason(error))]
        return [outcome for write in batch for outcome in self._commit([write])]

    def _apply(self, batch: Iterable[_Write]) -> None:
        with _transaction(self._connection):
            for write in batch:
                for sql, parameters in write.statements:
                    self._connection.execute(sql, parameters)

    def _report(self, batch: list[_Write], outcomes: list[StoreError | None]) -> None:
        def on_reactor() -> None:
            for write, outcome in zip(batch, outcomes):
                if outcome is not None and self._on_failure is not None:
                    self._on_failure(write.what, outcome)
                if write.done is not None:
                    write.done(outcome)

        if any(write.done is not None for write in batch) or any(outcomes):
            self._deliver(on_reactor)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the body raises."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            try:
                self.connection.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        try:
            self.connection.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction left to roll back (SQLite ended it itself)


def _reason(error: sqlite3.Error) -> str:
    return str(error) or type(error).__name__
