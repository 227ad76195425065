"""/metrics for SIP stations (SPEC section 9): current bindings as a gauge, REGISTER outcomes
and authentication failures as counters, read from a real registrar that phones register
with (tests/stations/registrar_harness.py); and the status page's registration column."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from rccserver.admin.metrics import Metrics
from rccserver.admin.statuspage import render_status_page
from rccserver.server.station_observers import StationsMetricsObserver
from tests.stations.registrar_harness import AMY_PASSWORD, Phone, new_registrar


def samples(metrics: Metrics) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_without_a_registrar_there_are_no_station_gauges():
    assert ("rcc_station_bindings", ()) not in samples(Metrics())


def test_bindings_outcomes_and_failures():
    metrics = Metrics()
    registrar = new_registrar()
    metrics.watch_registrar(registrar)
    observer = StationsMetricsObserver(metrics)
    assert samples(metrics)[("rcc_station_bindings", ())] == 0

    amy = Phone(registrar, "1001", AMY_PASSWORD)
    for event in amy.send(("<sip:1001@192.0.2.10>",), now=10.0)[1]:  # 401, then 200
        observer(event)
    found = samples(metrics)
    assert found[("rcc_station_bindings", ())] == 1
    assert found[("rcc_station_registers_total", ())] == 2
    assert found[("rcc_station_register_outcomes_total", (("outcome", "ok"),))] == 1
    assert found[("rcc_station_register_outcomes_total", (("outcome", "challenged"),))] == 1
    assert found[("rcc_station_binding_changes_total", (("change", "added"),))] == 1

    guesser = Phone(registrar, "1001", "wrong", host="198.51.100.7")
    for event in guesser.send(("<sip:1001@198.51.100.7>",), now=20.0, retries=1)[1]:
        observer(event)
    found = samples(metrics)
    assert found[("rcc_station_auth_failures_total", (("method", "REGISTER"),))] == 1
    assert found[("rcc_station_bindings", ())] == 1  # the guesser bound nothing
    assert found[("rcc_station_register_outcomes_total", (("outcome", "challenged"),))] == 3

    for event in amy.send(("<sip:1001@192.0.2.10>",), now=30.0, expires=0)[1]:
        observer(event)
    found = samples(metrics)
    assert found[("rcc_station_bindings", ())] == 0
    assert found[("rcc_station_binding_changes_total", (("change", "removed"),))] == 1


def test_the_status_page_shows_each_sip_stations_phone():
    stations = [
        {"extension": "1001", "name": "Desk", "type": "simulated", "user": None, "how": [], "calls": []},
        {"extension": "1101", "name": "Phone", "type": "sip", "user": None, "how": [], "calls": [],
         "registration": {"contact": "sip:1101@192.0.2.10:5062", "transport": "tcp", "expires_in": 597,
                          "user_agent": "baresip v1.0.0"}},
        {"extension": "1102", "name": "Spare", "type": "sip", "user": None, "how": [], "calls": [],
         "registration": None},
    ]
    page = render_status_page([], stations, [])
    assert "<th>registered phone</th>" in page
    assert "<td>sip:1101@192.0.2.10:5062 (tcp), expires in 597 s, baresip v1.0.0</td>" in page
    assert "<td>not registered</td>" in page
    row_1001 = page[page.index("<td>1001</td>"):].split("</tr>")[0]
    assert "<td>simulated</td>" in row_1001 and "registered" not in row_1001
