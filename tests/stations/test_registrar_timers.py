"""Bindings lapse at their expiry: next_deadline() / tick(now) with a hand-moved clock."""
from __future__ import annotations

from rccserver.stations.registrar_events import BindingExpired, BindingRefreshed
from tests.stations.registrar_harness import AMY_PASSWORD, BEN_PASSWORD, Phone, contact_expiries, new_registrar

DESK = "<sip:1001@192.0.2.10:5060>"
SOURCE = ("192.0.2.10", 5060)


def test_a_binding_lapses_exactly_at_its_expiry():
    registrar = new_registrar()
    assert registrar.next_deadline() is None
    Phone(registrar, "1001", AMY_PASSWORD).send((DESK,), now=1000.0, expires=100)
    assert registrar.next_deadline() == 1100.0
    assert registrar.tick(1099.9) == []
    assert len(registrar.bindings("1001")) == 1
    assert registrar.tick(1100.0) == [BindingExpired("1001", "1001", "sip:1001@192.0.2.10:5060", SOURCE)]
    assert registrar.bindings("1001") == () and registrar.next_deadline() is None
    assert registrar.tick(5000.0) == []
    assert registrar.counters.bindings_expired == 1


def test_a_refresh_moves_the_deadline():
    registrar = new_registrar()
    phone = Phone(registrar, "1001", AMY_PASSWORD)
    phone.send((DESK,), now=0.0, expires=100)
    response, events = phone.send((DESK,), now=60.0, expires=100)
    assert [type(e) for e in events] == [BindingRefreshed]
    assert registrar.next_deadline() == 160.0
    assert registrar.tick(100.0) == [] and len(registrar.bindings("1001")) == 1
    assert len(registrar.tick(160.0)) == 1


def test_the_remaining_time_counts_down():
    registrar = new_registrar()
    Phone(registrar, "1001", AMY_PASSWORD).send((DESK,), now=0.0, expires=100)
    assert [registrar.registration("1001", now=t)["expires_in"] for t in (0.0, 60.0, 99.5)] == [100, 40, 1]


def test_bindings_lapse_one_by_one_in_deadline_order():
    registrar = new_registrar()
    Phone(registrar, "1001", AMY_PASSWORD).send(("<sip:1001@192.0.2.10>;expires=300", "<sip:1001@192.0.2.11>"),
                                                now=0.0, expires=200)
    Phone(registrar, "ben", BEN_PASSWORD, host="192.0.2.12").send(("<sip:ben@192.0.2.12>",), now=50.0, expires=100)
    assert registrar.next_deadline() == 150.0
    expired = []
    while (deadline := registrar.next_deadline()) is not None:
        expired += [(deadline, event.contact) for event in registrar.tick(deadline)]
    assert expired == [(150.0, "sip:ben@192.0.2.12"), (200.0, "sip:1001@192.0.2.11"), (300.0, "sip:1001@192.0.2.10")]


def test_a_late_tick_lapses_everything_due():
    registrar = new_registrar()
    Phone(registrar, "1001", AMY_PASSWORD).send(("<sip:1001@192.0.2.10>;expires=60", "<sip:1001@192.0.2.11>"),
                                                now=0.0, expires=90)
    assert len(registrar.tick(10_000.0)) == 2 and registrar.binding_count == 0


def test_a_request_after_the_expiry_sees_the_binding_gone_even_without_a_tick():
    registrar = new_registrar()
    phone = Phone(registrar, "1001", AMY_PASSWORD)
    phone.send(("<sip:1001@192.0.2.10>;expires=60", "<sip:1001@192.0.2.11>"), now=0.0, expires=600)
    response, events = phone.send((), now=60.0)  # a query exactly at the first expiry
    assert events == [BindingExpired("1001", "1001", "sip:1001@192.0.2.10", SOURCE)]
    assert contact_expiries(response) == {"sip:1001@192.0.2.11": 540}
    # and a lapsed contact that comes back is a new binding, not a refresh
    response, events = phone.send(("<sip:1001@192.0.2.10>",), now=61.0, expires=60)
    assert [type(e).__name__ for e in events] == ["BindingAdded"]
    assert registrar.bindings("1001")[1].registered_at == 61.0
