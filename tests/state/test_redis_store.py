"""The Redis state store and the pool's station leases against a real redis-server on a
free loopback port: settings and registrations read back by another store (another
server of the pool), a setting saved by one told to the other, leases granted to one
user across servers, refused to another, lapsing within lease_seconds once their
server stops renewing, and saves that wait for a Redis that comes back."""
from __future__ import annotations

import queue
import threading
import time

import pytest

from rccserver.rcc.occupancy import Conflict
from rccserver.rcc.pool import Granted, PoolUnavailable
from rccserver.server.state_redis import RedisStateStore, RedisUnavailable
from rccserver.state import DndRecord, ForwardingRecord, RegistrationRecord, SavedState, StoreError
from testkit.redisproc import RedisProcess, redis_server_path

# A missing redis-server fails these tests (never skips them): scripts/install-system-deps installs it.
pytestmark = pytest.mark.usefixtures("redis_installed")


@pytest.fixture
def redis_installed():
    assert redis_server_path() is not None, "redis-server is missing: run scripts/install-system-deps"

NOW = 1_800_000_000.0
WAIT = 15.0  # bound on waiting for a store's thread; nothing asserts on time


class Reactor:
    """Stands in for reactor.callFromThread: completions queue up for the test's thread."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()
        self.failures: list[tuple[str, StoreError]] = []
        self.health: list[bool] = []
        self.changes: list[object] = []

    def deliver(self, thunk) -> None:
        assert threading.current_thread() is not threading.main_thread()
        self.calls.put(thunk)

    def run_one(self, timeout: float = WAIT) -> None:
        self.calls.get(timeout=timeout)()

    def run_until(self, condition, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.run_one(timeout=max(0.01, deadline - time.monotonic()))

    def store(self, url: str, **options) -> RedisStateStore:
        store = RedisStateStore(url, deliver=self.deliver, on_health=lambda ok, why: self.health.append(ok),
                                on_failure=lambda what, error: self.failures.append((what, error)),
                                on_pool_change=self.changes.append, **{"lease_seconds": 30, **options})
        return store


@pytest.fixture
def redis_server(tmp_path):
    with RedisProcess(tmp_path / "redis") as server:
        yield server


def registration(contact: str, *, expires_at=NOW + 600) -> RegistrationRecord:
    return RegistrationRecord(sip_user="1101", extension="1101", contact=contact,
                              contact_params=(("+sip.instance", '"<urn:x>"'), ("ob", None)), call_id="c1@phone",
                              cseq=7, transport="udp", source_host="192.0.2.10", source_port=5062,
                              user_agent="baresip 1.0", registered_at=NOW - 100, updated_at=NOW - 10,
                              expires_at=expires_at)


def saved_and_confirmed(reactor: Reactor, save, *args):
    outcomes = []
    save(*args, outcomes.append)
    reactor.run_until(lambda: outcomes)
    return outcomes[0]


def claim(reactor: Reactor, store: RedisStateStore, station: str, user: str):
    results = []
    store.claim(station, user, results.append)
    reactor.run_until(lambda: results)
    return results[0]


def test_redis_unreachable_at_start_is_refused():
    with pytest.raises(RedisUnavailable):
        Reactor().store("redis://127.0.0.1:1/0")


def test_what_one_server_saves_another_reads_and_is_told_of(redis_server):
    reactor_a, reactor_b = Reactor(), Reactor()
    a = reactor_a.store(redis_server.url)
    assert a.load(NOW) == SavedState()
    a.start()
    b = reactor_b.store(redis_server.url)
    b.start()
    try:
        forwarding = ForwardingRecord("1001", "forwardImmediate", True, "1002")
        no_answer = ForwardingRecord("1001", "forwardNoAns", True, "+4930123", ring_count=3)
        assert saved_and_confirmed(reactor_a, a.save_forwarding, forwarding) is None
        assert saved_and_confirmed(reactor_a, a.save_forwarding, no_answer) is None
        assert saved_and_confirmed(reactor_a, a.save_dnd, DndRecord("1002", True)) is None
        live, gone = registration("sip:1101@192.0.2.10:5062"), registration("sip:1101@old", expires_at=NOW - 1)
        assert saved_and_confirmed(reactor_a, a.save_registrations, "1101", (live, gone)) is None
        # B is told of each setting A saved (its subscription), not of its own.
        reactor_b.run_until(lambda: DndRecord("1002", True) in reactor_b.changes)
        assert forwarding in reactor_b.changes and no_answer in reactor_b.changes
        assert not [c for c in reactor_a.changes if c not in (forwarding, no_answer, DndRecord("1002", True))]
        # A third server starting now reads it all; the expired binding is left out.
        third = Reactor().store(redis_server.url)
        saved = third.load(NOW)
        assert saved.forwarding == (forwarding, no_answer)
        assert saved.dnd == (DndRecord("1002", True),)
        assert saved.registrations == (live,)
        assert saved_and_confirmed(reactor_b, b.save_registrations, "1101", ()) is None
        assert third.load(NOW).registrations == ()
    finally:
        a.close()
        b.close()


def test_a_lease_is_shared_by_one_user_and_refused_to_another(redis_server):
    reactor = Reactor()
    a, b = reactor.store(redis_server.url), reactor.store(redis_server.url)
    a.start()
    b.start()
    try:
        assert claim(reactor, a, "1001", "alice") == Granted("1001")
        assert claim(reactor, b, "1001", "alice") == Granted("1001")  # the same user through both
        assert claim(reactor, b, "1002", "bob") == Granted("1002")
        assert claim(reactor, a, "1002", "alice") == Conflict("1002", "bob")
        b.release("1001")
        assert claim(reactor, b, "1001", "carol") == Conflict("1001", "alice")  # A still holds it
        a.release("1001")  # on A's thread: B's next claims see it once it ran
        deadline = time.monotonic() + WAIT
        while claim(reactor, b, "1001", "carol") != Granted("1001"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        a.close()
        b.close()


def test_a_stopped_servers_leases_lapse_within_lease_seconds_and_live_ones_are_renewed(redis_server):
    reactor = Reactor()
    a = reactor.store(redis_server.url, lease_seconds=2, server_id="a")
    b = reactor.store(redis_server.url, lease_seconds=2, server_id="b")
    a.start()
    b.start()
    try:
        assert claim(reactor, a, "1001", "alice") == Granted("1001")
        assert claim(reactor, b, "1002", "bob") == Granted("1002")
        # A dies without giving anything back: it renews nothing more, as after a SIGKILL
        # (the pair tests SIGKILL a real server).
        a._held.clear()
        refused_at_first = claim(reactor, b, "1001", "bob")
        assert refused_at_first == Conflict("1001", "alice")
        deadline = time.monotonic() + 2 + WAIT
        while claim(reactor, b, "1001", "bob") != Granted("1001"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        # B's own lease on 1002 outlived several lease periods: B renews it.
        time.sleep(2.5)
        assert claim(reactor, a, "1002", "carol") == Conflict("1002", "bob")
    finally:
        a.close()
        b.close()


def test_redis_gone_refuses_claims_and_a_waiting_save_is_confirmed_once_it_is_back(tmp_path):
    server = RedisProcess(tmp_path / "redis", appendonly=True).start()
    reactor = Reactor()
    store = reactor.store(server.url)
    store.start()
    try:
        assert saved_and_confirmed(reactor, store.save_dnd, DndRecord("1001", True)) is None
        server.stop()
        outcome = claim(reactor, store, "1002", "bob")
        assert isinstance(outcome, PoolUnavailable) and server.url in outcome.reason
        assert reactor.health == [False] and not store.healthy
        outcomes = []
        store.save_forwarding(ForwardingRecord("1001", "forwardBusy", True, "1003"), outcomes.append)
        server.start()  # same port, same AOF
        reactor.run_until(lambda: outcomes)
        assert outcomes == [None]
        reactor.run_until(lambda: store.healthy)
        saved = Reactor().store(server.url).load(NOW)
        assert saved.dnd == (DndRecord("1001", True),)  # confirmed before the outage: kept by the AOF
        assert saved.forwarding == (ForwardingRecord("1001", "forwardBusy", True, "1003"),)
    finally:
        store.close()
        server.stop()


def test_pools_on_other_databases_of_one_redis_do_not_see_each_other(redis_server):
    reactor_a, reactor_b = Reactor(), Reactor()
    a = reactor_a.store(redis_server.url)  # database 0
    b = reactor_b.store(redis_server.url.rsplit("/", 1)[0] + "/1")
    a.start()
    b.start()
    try:
        deadline = time.monotonic() + WAIT
        while b._pubsub is None or not b._pubsub.subscribed:  # b listens before a publishes
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)
        assert saved_and_confirmed(reactor_a, a.save_dnd, DndRecord("1001", True)) is None
        assert b.load(NOW) == SavedState()
        assert saved_and_confirmed(reactor_b, b.save_dnd, DndRecord("1002", True)) is None
        # b's own save comes back to nobody; a's never reached b's channel.
        with pytest.raises(queue.Empty):
            reactor_b.run_one(timeout=1.0)
        assert reactor_b.changes == []
    finally:
        a.close()
        b.close()


def test_a_lease_another_user_took_meanwhile_is_reported_lost_at_the_next_renewal(redis_server):
    import redis

    reactor = Reactor()
    lost = []
    a = reactor.store(redis_server.url, lease_seconds=2, server_id="a",
                      on_lease_lost=lambda station, other: lost.append((station, other)))
    b = reactor.store(redis_server.url, lease_seconds=2, server_id="b")
    a.start()
    b.start()
    try:
        assert claim(reactor, a, "1001", "alice") == Granted("1001")
        # As if A's lease had lapsed during an outage: gone from Redis, and bob took it through B.
        redis.Redis.from_url(redis_server.url).delete("rccserver:lease:1001")
        assert claim(reactor, b, "1001", "bob") == Granted("1001")
        reactor.run_until(lambda: lost)
        assert lost == [("1001", "bob")]
        assert claim(reactor, b, "1001", "bob") == Granted("1001")  # A does not take it back
    finally:
        a.close()
        b.close()


def test_a_password_in_the_url_is_never_shown():
    from rccserver.server.state_redis import shown_url

    assert shown_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert shown_url("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert shown_url("rediss://rcc:s3cret@redis.example.com/1") == "rediss://rcc:***@redis.example.com/1"
    with pytest.raises(RedisUnavailable):
        Reactor().store("redis://:s3cret@127.0.0.1:1/0")
    store_error = None
    try:
        Reactor().store("redis://:s3cret@127.0.0.1:1/0")
    except RedisUnavailable as error:
        store_error = str(error)
    assert "s3cret" not in store_error
