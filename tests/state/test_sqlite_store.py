"""The SQLite state store against real files in tmp_path: what is saved is read back after a
reopen, an older file is migrated, files it cannot use are refused, and a write that
fails is reported to whoever waits for it and leaves nothing behind."""
from __future__ import annotations

import queue
import sqlite3
import threading

import pytest

from rccserver.server.state_sqlite import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SqliteStateStore,
    StateFileError,
    inspect,
)
from rccserver.state import DndRecord, ForwardingRecord, RegistrationRecord, SavedState, StoreError

NOW = 1_800_000_000.0
WAIT = 10.0  # bound on waiting for the writer thread; nothing asserts on time


class Reactor:
    """Stands in for reactor.callFromThread: completions queue up for the test's thread."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()
        self.failures: list[tuple[str, StoreError]] = []

    def deliver(self, thunk) -> None:
        assert threading.current_thread() is not threading.main_thread()  # the writer thread hands over
        self.calls.put(thunk)

    def run_one(self) -> None:
        self.calls.get(timeout=WAIT)()

    def store(self, path, **options) -> SqliteStateStore:
        store = SqliteStateStore(str(path), deliver=self.deliver,
                                 on_failure=lambda what, error: self.failures.append((what, error)), **options)
        return store


def confirmed(reactor: Reactor, save, *args):
    """Save, run the completion on this thread, return what `done` was given."""
    outcomes = []
    save(*args, outcomes.append)
    reactor.run_one()
    assert len(outcomes) == 1
    return outcomes[0]


def registration(contact: str, *, sip_user="1101", expires_at=NOW + 600, **changes) -> RegistrationRecord:
    fields = dict(sip_user=sip_user, extension="1101", contact=contact, contact_params=(("+sip.instance", '"<urn:x>"'),
                  ("ob", None)), call_id="c1@phone", cseq=7, transport="udp", source_host="192.0.2.10",
                  source_port=5062, user_agent="baresip 1.0", registered_at=NOW - 100, updated_at=NOW - 10,
                  expires_at=expires_at)
    fields.update(changes)
    return RegistrationRecord(**fields)


def started(reactor: Reactor, path) -> tuple[SqliteStateStore, SavedState]:
    store = reactor.store(path)
    saved = store.load(NOW)
    store.start()
    return store, saved


def test_what_was_saved_is_read_back_after_a_reopen(tmp_path):
    reactor = Reactor()
    path = tmp_path / "rccserver.db"
    store, saved = started(reactor, path)
    assert saved == SavedState()
    forward = ForwardingRecord("1001", "forwardImmediate", True, "+13175553030")
    no_answer = ForwardingRecord("1001", "forwardNoAns", True, "1002", 3)
    phone = registration("sip:1101@192.0.2.10:5062;transport=udp")
    assert confirmed(reactor, store.save_forwarding, forward) is None
    assert confirmed(reactor, store.save_forwarding, no_answer) is None
    assert confirmed(reactor, store.save_dnd, DndRecord("1002", True)) is None
    assert confirmed(reactor, store.save_registrations, "1101", (phone,)) is None
    store.close()

    again, saved = started(Reactor(), path)
    assert saved.forwarding == (forward, no_answer)
    assert saved.dnd == (DndRecord("1002", True),)
    assert saved.registrations == (phone,)
    again.close()


def test_a_save_replaces_the_previous_one_of_its_key(tmp_path):
    reactor = Reactor()
    store, _ = started(reactor, tmp_path / "state.db")
    confirmed(reactor, store.save_forwarding, ForwardingRecord("1001", "forwardBusy", True, "+1555"))
    confirmed(reactor, store.save_forwarding, ForwardingRecord("1001", "forwardBusy", False))
    confirmed(reactor, store.save_dnd, DndRecord("1001", True))
    confirmed(reactor, store.save_dnd, DndRecord("1001", False))
    first, second = registration("sip:a@192.0.2.1"), registration("sip:b@192.0.2.2")
    confirmed(reactor, store.save_registrations, "1101", (first, second))
    confirmed(reactor, store.save_registrations, "1102", (registration("sip:c@192.0.2.3", sip_user="1102"),))
    confirmed(reactor, store.save_registrations, "1101", (second,))  # the AOR's whole set is replaced
    store.close()
    saved = reactor.store(tmp_path / "state.db").load(NOW)
    assert saved.forwarding == (ForwardingRecord("1001", "forwardBusy", False),)
    assert saved.dnd == (DndRecord("1001", False),)
    assert [(r.sip_user, r.contact) for r in saved.registrations] == [("1101", "sip:b@192.0.2.2"),
                                                                      ("1102", "sip:c@192.0.2.3")]


def test_a_confirmed_write_is_in_the_file_before_done_is_called(tmp_path):
    """`done(None)` means committed: another connection (another process) reads it at once."""
    reactor = Reactor()
    path = tmp_path / "state.db"
    store, _ = started(reactor, path)
    seen = []

    def done(error) -> None:
        with sqlite3.connect(path) as other:
            seen.append(other.execute("SELECT dnd_on FROM dnd WHERE station = '1001'").fetchall())

    store.save_dnd(DndRecord("1001", True), done)
    reactor.run_one()
    assert seen == [[(1,)]]
    store.close()


def test_the_file_is_in_wal_mode_and_every_write_is_synced(tmp_path):
    reactor = Reactor()
    store, _ = started(reactor, tmp_path / "state.db")
    confirmed(reactor, store.save_dnd, DndRecord("1001", True))
    assert (tmp_path / "state.db-wal").exists()
    store.close()
    with sqlite3.connect(tmp_path / "state.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # synchronous is a property of the connection: ask the store's own (FULL is 2).
    store = reactor.store(tmp_path / "state.db")
    assert store._connection.execute("PRAGMA synchronous").fetchone() == (2,)
    store.close()


def test_expired_registrations_are_not_loaded_and_leave_the_file(tmp_path):
    reactor = Reactor()
    path = tmp_path / "state.db"
    store, _ = started(reactor, path)
    live, gone = registration("sip:a@192.0.2.1"), registration("sip:b@192.0.2.2", expires_at=NOW - 1)
    confirmed(reactor, store.save_registrations, "1101", (live, gone))
    store.close()
    store = reactor.store(path)
    assert store.load(NOW).registrations == (live,)
    store.close()
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT contact FROM registrations").fetchall() == [("sip:a@192.0.2.1",)]


def test_saves_queued_together_complete_in_order(tmp_path):
    reactor = Reactor()
    store, _ = started(reactor, tmp_path / "state.db")
    outcomes = []
    for index in range(300):  # more than one batch
        store.save_dnd(DndRecord(str(1000 + index), index % 2 == 0), lambda error, i=index: outcomes.append((i, error)))
    while len(outcomes) < 300:
        reactor.run_one()
    assert outcomes == [(index, None) for index in range(300)]
    store.close()
    assert len(reactor.store(tmp_path / "state.db").load(NOW).dnd) == 300


def test_close_commits_what_is_still_queued(tmp_path):
    reactor = Reactor()
    store, _ = started(reactor, tmp_path / "state.db")
    for index in range(50):
        store.save_forwarding(ForwardingRecord(str(2000 + index), "forwardImmediate", True, "+1555"))
    store.close()
    assert len(reactor.store(tmp_path / "state.db").load(NOW).forwarding) == 50


# -- an older file ----------------------------------------------------------------------------
# Version 1 of the schema as rccserver wrote it, spelled out here (not taken from MIGRATIONS):
# forwarding and do-not-disturb, no registrations yet.
VERSION_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE forwarding (station TEXT NOT NULL, forwarding_type TEXT NOT NULL, active INTEGER NOT NULL,
                         destination TEXT, ring_count INTEGER, PRIMARY KEY (station, forwarding_type));
CREATE TABLE dnd (station TEXT PRIMARY KEY, dnd_on INTEGER NOT NULL);
INSERT INTO forwarding VALUES ('1001', 'forwardNoAns', 1, '+13175553030', 2);
INSERT INTO dnd VALUES ('1002', 1);
"""


def older_file(path) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(VERSION_1)
    connection.close()


def test_a_version_1_file_is_migrated_and_keeps_its_settings(tmp_path):
    path = tmp_path / "old.db"
    older_file(path)
    assert inspect(str(path), NOW).version == 1  # check-config sees the old version, and changes nothing
    reactor = Reactor()
    store = reactor.store(path)
    assert store.migrated == (1, SCHEMA_VERSION)
    saved = store.load(NOW)
    assert saved.forwarding == (ForwardingRecord("1001", "forwardNoAns", True, "+13175553030", 2),)
    assert saved.dnd == (DndRecord("1002", True),)
    store.start()
    phone = registration("sip:1101@192.0.2.10")
    assert confirmed(reactor, store.save_registrations, "1101", (phone,)) is None
    store.close()
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert reactor.store(path).load(NOW).registrations == (phone,)


def test_a_new_file_is_built_by_the_migrations_from_version_0(tmp_path):
    store = Reactor().store(tmp_path / "new.db")
    assert store.migrated == (0, SCHEMA_VERSION) and SCHEMA_VERSION == len(MIGRATIONS)
    store.close()
    assert Reactor().store(tmp_path / "new.db").migrated == (SCHEMA_VERSION, SCHEMA_VERSION)


# -- files it cannot use ----------------------------------------------------------------------------
def test_files_it_cannot_use_are_refused_with_the_reason(tmp_path):
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as connection:
        connection.executescript("CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (99);")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE users (name TEXT)")
    text = tmp_path / "notes.txt"
    text.write_text("this is no database, just some text that is long enough " * 20)
    cases = [
        (newer, "newer rccserver"),
        (foreign, "not an rccserver state file"),
        (text, "not a database"),
        (tmp_path / "missing" / "state.db", "does not exist"),
    ]
    for path, words in cases:
        with pytest.raises(StateFileError, match=words):
            Reactor().store(path)
        if path.parent.exists():
            with pytest.raises(StateFileError, match=words):
                inspect(str(path), NOW)
    assert newer.read_bytes()  # refused files are left as they were
    with sqlite3.connect(newer) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(99,)]


# -- a write that fails ----------------------------------------------------------------------------
def test_a_failing_write_is_reported_and_leaves_nothing_behind(tmp_path):
    """Another program holds the file's write lock (a `sqlite3` shell in a transaction):
    the save fails after the busy timeout, and the one after the lock is gone succeeds."""
    path = tmp_path / "state.db"
    reactor = Reactor()
    store = reactor.store(path, busy_timeout=0.05)
    store.load(NOW)
    store.start()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    error = confirmed(reactor, store.save_dnd, DndRecord("1001", True))
    assert isinstance(error, StoreError) and "locked" in str(error)
    assert [what for what, _ in reactor.failures] == ["do-not-disturb of station 1001"]
    locker.execute("ROLLBACK")
    locker.close()
    assert confirmed(reactor, store.save_forwarding, ForwardingRecord("1002", "forwardBusy", True, "+1555")) is None
    store.close()
    saved = reactor.store(path).load(NOW)
    assert saved.dnd == ()  # the failed write left nothing
    assert saved.forwarding == (ForwardingRecord("1002", "forwardBusy", True, "+1555"),)
