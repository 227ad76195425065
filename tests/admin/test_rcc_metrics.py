"""The RCC observers' cheaper paths: a logon counted through the kept label child shows the
same /metrics text as labels().inc() did, and the Observers fan-out set up once per hook
reaches every observer, in order, as the plain loop did."""
from __future__ import annotations

from hypothesis import given, strategies as st

from rccserver.admin.metrics import Metrics
from rccserver.rcc.session import SessionRegistry
from rccserver.server.observers import HOOKS, LogObserver, MetricsObserver, Observers

CODES = ["Cs_Success", "Cs_UserNotFound", "Cs_StationInUseByAnotherUser", "Cs_BadRequest"]


def without_created(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if "_created" not in line]


@given(st.lists(st.sampled_from(CODES), max_size=30))
def test_logons_counted_through_kept_children_expose_what_labels_inc_did(codes):
    kept, plain = Metrics(), Metrics()
    for code in codes:
        kept.count_logon(code)
        plain.logons.labels(code=code).inc()
    assert without_created(kept.exposition()) == without_created(plain.exposition())


def test_the_metrics_observer_counts_a_logon_under_its_code():
    metrics = Metrics()
    observer = MetricsObserver(metrics, SessionRegistry())

    class Decision:
        code = "Cs_Success"

    observer.logon(Decision(), None)
    observer.logon(Decision(), None)
    assert 'rcc_logons_total{code="Cs_Success"} 2.0' in metrics.exposition().decode()


class Recorder:
    def __init__(self, name, calls, silent=frozenset()) -> None:
        self.silent = silent
        for hook in HOOKS:
            setattr(self, hook, lambda *args, hook=hook: calls.append((name, hook, args)))


def test_each_hook_reaches_every_observer_in_order_but_where_it_is_silent():
    calls = []
    observers = Observers(Recorder("a", calls), Recorder("b", calls, frozenset({"csta_request"})),
                          Recorder("c", calls, frozenset(HOOKS)))
    for n, hook in enumerate(HOOKS):
        getattr(observers, hook)(n, "x")
    expected = []
    for n, hook in enumerate(HOOKS):
        expected += [(name, hook, (n, "x")) for name in ("a", "b") if not (name == "b" and hook == "csta_request")]
    assert calls == expected


def test_the_servers_observers_have_every_hook_of_the_application():
    # What RccApplication and the transport call on the runtime's Observers.
    observers = Observers(LogObserver(), MetricsObserver(Metrics(), SessionRegistry()))
    for hook in HOOKS:
        assert callable(getattr(observers, hook))
    assert Observers().logon(None, None) is None  # no observer: nothing to do


SERVICES = [("MakeCall", "ok"), ("ClearConnection", "ok"), ("MakeCall", "operation/invalidDestination")]


@given(st.lists(st.lists(st.tuples(st.sampled_from(["csta", "event", "logon"]), st.integers(0, 2)), max_size=20),
                max_size=4))
def test_counts_kept_between_readings_expose_what_labels_inc_did(batches):
    """Counted in plain dicts and settled when /metrics is read: every reading (and a reading
    twice in a row) shows what counting straight into the Prometheus children showed."""
    kept, plain = Metrics(), Metrics()
    for batch in batches:
        for what, n in batch:
            if what == "csta":
                kept.count_csta_request(*SERVICES[n])
                plain.csta_requests.labels(service=SERVICES[n][0], result=SERVICES[n][1]).inc()
            elif what == "event":
                kept.count_event(f"Event{n}")
                plain.events_sent.labels(event=f"Event{n}").inc()
            else:
                kept.count_logon(CODES[n])
                plain.logons.labels(code=CODES[n]).inc()
        assert without_created(kept.exposition()) == without_created(plain.exposition())
        assert without_created(kept.exposition()) == without_created(plain.exposition())


def test_a_counted_label_has_its_created_time_from_its_first_count():
    metrics = Metrics()
    metrics.count_csta_request("MakeCall", "ok")
    assert ("MakeCall", "ok") in metrics._csta_children  # made at once: _created is the first count
    assert 'rcc_csta_requests_total{result="ok",service="MakeCall"} 1.0' in metrics.exposition().decode()
