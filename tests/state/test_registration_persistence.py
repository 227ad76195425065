"""The SIP stations' registrations across a restart (sans-IO, and through a real SQLite file):
every binding change is saved, and a new registrar is seeded with the saved bindings that
have not expired, so a phone is reachable without registering again."""
from __future__ import annotations

import queue

from rccserver.server.state_sqlite import SqliteStateStore
from rccserver.state import MemoryStore
from rccserver.state.registrations import RegistrationPersistence
from tests.stations.registrar_harness import AMY, AMY_PASSWORD, BEN, BEN_PASSWORD, LOBBY, Phone, new_registrar

WALL = 1_800_000_000.0  # epoch seconds when the registrar's clock reads 0
CONTACT = "<sip:1001@192.0.2.10:5060;transport=udp>;+sip.instance=\"<urn:uuid:0001>\""


class Clocks:
    """The registrar's clock (like reactor.seconds) and the wall clock, moved together."""

    def __init__(self, registrar_now: float = 100.0, wall_offset: float = WALL) -> None:
        self.now = registrar_now
        self.wall_offset = wall_offset

    def wall(self) -> float:
        return self.now + self.wall_offset


def persisted(store, clocks: Clocks, stations=(AMY, BEN, LOBBY)):
    registrar = new_registrar(stations, max_expires=3600)
    persistence = RegistrationPersistence(store, clock=lambda: clocks.now, wall_clock=clocks.wall)
    persistence.attach(registrar)
    return registrar, persistence


def register(registrar, persistence, clocks, *contacts, expires=600, user="1001", password=AMY_PASSWORD,
             phone=None):
    phone = phone or Phone(registrar, user, password)
    response, events = phone.send(contacts, now=clocks.now, expires=expires)
    assert response.status == 200, response
    for event in events:
        persistence(event)
    return phone


def test_every_binding_change_saves_the_aors_bindings():
    store, clocks = MemoryStore(), Clocks()
    registrar, persistence = persisted(store, clocks)
    phone = register(registrar, persistence, clocks, CONTACT)
    [record] = store.registrations["1001"]
    assert (record.sip_user, record.extension, record.contact) == ("1001", "1001", "sip:1001@192.0.2.10:5060;transport=udp")
    assert record.contact_params == (("+sip.instance", '"<urn:uuid:0001>"'),)
    assert (record.transport, record.source_host, record.source_port) == ("udp", "192.0.2.10", 5060)
    assert record.expires_at == WALL + 100 + 600  # wall-clock time in the record
    clocks.now += 300
    register(registrar, persistence, clocks, CONTACT, phone=phone)  # refreshed
    assert store.registrations["1001"][0].expires_at == WALL + 400 + 600
    register(registrar, persistence, clocks, "<sip:1001@192.0.2.11>", phone=phone)  # a second contact
    assert len(store.registrations["1001"]) == 2
    register(registrar, persistence, clocks, "*", expires=0, phone=phone)  # unregistered
    assert "1001" not in store.registrations


def test_a_lapsed_binding_leaves_the_store():
    store, clocks = MemoryStore(), Clocks()
    registrar, persistence = persisted(store, clocks)
    register(registrar, persistence, clocks, CONTACT, expires=60)
    clocks.now += 61
    for event in registrar.tick(clocks.now):
        persistence(event)
    assert "1001" not in store.registrations


def test_one_register_with_several_contacts_is_one_write():
    writes = []

    class Counting(MemoryStore):
        def save_registrations(self, sip_user, records, done=None):
            writes.append(len(records))
            super().save_registrations(sip_user, records, done)

    clocks = Clocks()
    registrar, persistence = persisted(Counting(), clocks)
    register(registrar, persistence, clocks, "<sip:a@192.0.2.1>", "<sip:b@192.0.2.2>", "<sip:c@192.0.2.3>")
    assert writes == [3]


def test_a_new_registrar_is_seeded_with_the_saved_bindings_that_have_not_expired():
    store, clocks = MemoryStore(), Clocks()
    registrar, persistence = persisted(store, clocks)
    register(registrar, persistence, clocks, CONTACT, expires=600)
    register(registrar, persistence, clocks, "<sip:ben@192.0.2.20>", expires=60, user="ben", password=BEN_PASSWORD)
    before = registrar.bindings("1001")[0]

    # The restart: 120 s later by the wall clock; the new process's registrar clock starts elsewhere.
    later = Clocks(registrar_now=5.0, wall_offset=WALL + 100 + 120 - 5.0)
    saved = store.load(later.wall())
    assert [r.sip_user for r in saved.registrations] == ["1001"]  # ben's lapsed during the restart
    fresh, restorer = persisted(store, later)
    assert restorer.restore(saved.registrations) == (1, 0)
    [binding] = fresh.bindings("1001")
    assert (binding.contact, binding.contact_params, binding.source, binding.transport) == (
        before.contact, before.contact_params, before.source, before.transport)
    assert binding.expires_in(later.now) == 600 - 120  # its own expiry, not a new one
    assert fresh.registration("1001", later.now)["expires_in"] == 480
    # ... and it lapses when it would have, on the new registrar's clock.
    assert fresh.tick(later.now + 479) == [] and len(fresh.tick(later.now + 480)) == 1


def test_the_phone_refreshes_a_restored_binding_as_its_own():
    store, clocks = MemoryStore(), Clocks()
    registrar, persistence = persisted(store, clocks)
    phone = register(registrar, persistence, clocks, CONTACT)
    fresh, restorer = persisted(store, clocks)
    restorer.restore(store.load(clocks.wall()).registrations)
    clocks.now += 10
    phone.registrar = fresh  # the same phone, going on with its Call-ID and CSeq after the restart
    register(fresh, restorer, clocks, CONTACT, phone=phone)
    [binding] = fresh.bindings("1001")
    assert binding.updated_at == clocks.now and len(store.registrations["1001"]) == 1
    # A REGISTER the restored binding has already seen (its CSeq) is refused as out of order.
    stale = Phone(fresh, "1001", AMY_PASSWORD, call_id=phone.call_id)
    response, _ = stale.send((CONTACT,), now=clocks.now, expires=600)
    assert (response.status, response.reason) == (400, "Out of Order CSeq")


def test_bindings_of_stations_that_are_no_sip_stations_now_are_left_out():
    store, clocks = MemoryStore(), Clocks()
    registrar, persistence = persisted(store, clocks)
    register(registrar, persistence, clocks, CONTACT)
    register(registrar, persistence, clocks, "<sip:ben@192.0.2.20>", user="ben", password=BEN_PASSWORD)
    fresh, restorer = persisted(store, clocks, stations=(BEN, LOBBY))  # AMY's station is gone
    assert restorer.restore(store.load(clocks.wall()).registrations) == (1, 1)
    assert fresh.bindings("1001") == () and len(fresh.bindings("ben")) == 1


def test_registrations_round_trip_through_a_real_sqlite_file(tmp_path):
    calls: queue.Queue = queue.Queue()
    path = str(tmp_path / "rccserver.db")
    store = SqliteStateStore(path, deliver=calls.put)
    clocks = Clocks()
    store.load(clocks.wall())
    store.start()
    registrar, persistence = persisted(store, clocks)
    register(registrar, persistence, clocks, CONTACT)
    store.close()  # commits what is queued

    reopened = SqliteStateStore(path, deliver=calls.put)
    fresh, restorer = persisted(reopened, clocks)
    assert restorer.restore(reopened.load(clocks.wall()).registrations) == (1, 0)
    assert fresh.bindings("1001")[0] == registrar.bindings("1001")[0]
    reopened.close()
