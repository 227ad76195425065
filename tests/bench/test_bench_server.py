"""The whole-server benchmark (bench/bench_server.py) at smoke scale, and its parts.

No timing is asserted: these tests defend that the harness still drives a real
server through every phase (SIPp, the load client, logons, reload, keep-alives)
and that its generated data and wire handling are right.
"""
from __future__ import annotations

import re
import xml.dom.minidom

import pytest
from hypothesis import given, settings, strategies as st

from bench import bench_server
from bench.kamailio import kamailio_binary
from bench.sippload import info_loop_scenario
from rccserver.cic.data import load_cic_data
from rccserver.directory.ldif import cache_from_ldif_text
from rccserver.rcc.logon import LogonAttempt, decide_logon
from rccserver.rcc.occupancy import OccupancyRegistry
from testkit.deployment import BenchUser, cic_text, ldif_text
from testkit.loadclient import LoadClient, Message, frame


def test_generated_users_log_on_with_their_own_station(tmp_path):
    (tmp_path / "cic.toml").write_text(cic_text(25))
    cic = load_cic_data(tmp_path / "cic.toml")
    directory = cache_from_ldif_text(ldif_text(25), "EXAMPLE")
    occupancy = OccupancyRegistry()
    stations = set()
    for index in (0, 7, 24):
        user = BenchUser(index)
        attempt = LogonAttempt(content_type="application/csta+xml", csta_ok=True, line=user.line,
                               from_uri=user.uri)
        decision = decide_logon(attempt, directory, cic, occupancy)
        assert decision.code == "Cs_Success", decision
        assert decision.station == user.extension
        stations.add(decision.station)
    assert len(stations) == 3


def test_renamed_directory_changes_every_entry_and_nothing_else():
    old = cache_from_ldif_text(ldif_text(10), "EXAMPLE")
    new = cache_from_ldif_text(ldif_text(10, renamed=True), "EXAMPLE")
    assert len(old) == len(new) == 10
    assert ldif_text(10) != ldif_text(10, renamed=True)


def test_sipp_scenario_is_wellformed_with_a_bounded_loop():
    text = info_loop_scenario(7)
    document = xml.dom.minidom.parseString(text.encode("iso-8859-1"))
    sends = document.getElementsByTagName("send")
    methods = [node.firstChild.data.strip().split(" ", 1)[0] for node in sends]
    assert methods == ["INVITE", "ACK", "INFO", "BYE"]
    tests = document.getElementsByTagName("test")
    assert [t.getAttribute("value") for t in tests] == ["8"]  # 7 INFOs: cs runs 2..8
    info = sends[2].firstChild.data
    assert "branch=[branch]-[$cs]" in info and "CSeq: [cseq] INFO" in info


def _response(call_id: str, cseq: int, body: bytes = b"") -> bytes:
    return (f"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5;branch=z9hG4bKx\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {cseq} INFO\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 10_000), st.binary(max_size=40)), min_size=1, max_size=6),
    st.lists(st.integers(1, 50), max_size=8),
    st.booleans(),
)
def test_frame_recovers_messages_from_any_split(items, cuts, pings):
    stream = b"".join((b"\r\n" if pings else b"") + _response(f"c{n}", n, body) for n, body in items)
    buffer, messages, position = bytearray(), [], 0
    for cut in cuts + [len(stream)]:
        buffer += stream[position:position + cut]
        position += cut
        messages += frame(buffer)
    buffer += stream[position:]
    messages += frame(buffer)
    assert not buffer
    parsed = [Message(head, body) for head, body in messages]
    assert [(m.call_id, m.cseq_number, m.body) for m in parsed] == \
        [(f"c{n}".encode(), n, body) for n, body in items]
    assert all(m.is_response and m.status == 200 for m in parsed)


def test_ok_answer_echoes_the_dialog_headers():
    request = (b"INFO sip:fe@127.0.0.1:5 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:11001;branch=z9hG4bKa\r\n"
               b"f: <sip:rcc@rcc.example.com>;tag=s\r\nTo: <sip:u1@example.com>;tag=c\r\n"
               b"Call-ID: abc\r\nCSeq: 9 INFO\r\nContent-Type: application/csta+xml\r\n"
               b"Content-Length: 0")
    answer = LoadClient._ok(Message(request, b""))
    assert answer.startswith(b"SIP/2.0 200 OK\r\n")
    for line in (b"Via: SIP/2.0/TCP 127.0.0.1:11001;branch=z9hG4bKa", b"f: <sip:rcc@rcc.example.com>;tag=s",
                 b"To: <sip:u1@example.com>;tag=c", b"Call-ID: abc", b"CSeq: 9 INFO"):
        assert line in answer.split(b"\r\n")
    assert b"Content-Type" not in answer


@pytest.mark.timeout(180)
def test_smoke_run_drives_every_phase(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    monkeypatch.delenv("BENCH_PROFILE", raising=False)
    rows = bench_server.run(tmp_path)
    bench_server.print_table(rows)
    by_measure = {row.measure: row for row in rows}
    assert not [row for row in rows if "FAILED" in row.value], rows
    assert not [row for row in rows if "failures" in row.measure], rows
    sipp = [row for row in rows if row.measure.startswith("SIPp SnapshotDevice")]
    assert len(sipp) == 2 and all(row.value.endswith("tx/s") for row in sipp)
    if kamailio_binary() is not None:
        assert any(row.measure.startswith("ratio rccserver / Kamailio") for row in rows)
    storm = next(row for row in rows if row.measure.startswith("logon storm"))
    assert re.match(r"50/50 ok", storm.note), storm
    memory = [row for row in rows if row.measure.startswith("RSS with")]
    assert [row.measure for row in memory] == [f"RSS with {n} monitored sessions" for n in (10, 20, 40)]
    assert all(int(re.search(r"(\d[\d,]*) keep-alives answered", row.note).group(1).replace(",", "")) > 0
               for row in memory)
    assert by_measure["keep-alive interval observed"].value.startswith("median")
    reload_row = next(row for row in rows if "during reload" in row.measure)
    assert "reload took" in reload_row.note, reload_row
    latency = [row for row in rows if row.measure.startswith("latency")]
    assert len(latency) == 2 and all(row.value.startswith("p50") for row in latency)


def test_cpu_seconds_agrees_with_os_times():
    import os

    from testkit.serverproc import cpu_seconds

    sum(i * i for i in range(200_000))  # some CPU, so both counters are past zero
    times = os.times()
    assert abs(cpu_seconds(os.getpid()) - (times.user + times.system)) < 0.05


def test_py_spy_shares_count_own_and_inclusive_samples():
    from bench.profile_server import spy_shares

    raw = ("main (/x/cli.py:10);receive (/x/sip/endpoint.py:283);parse_message (/x/sip/parser.py:189) 3\n"
           "main (/x/cli.py:10);receive (/x/sip/endpoint.py:283) 1\n"
           "garbage line\n")
    text = spy_shares(raw, top=5)
    assert text.splitlines()[0] == "4 samples"
    own, inclusive = text.split("-- top 5 by inclusive samples --")
    assert "75.0 %  parse_message (parser.py)" in own and "25.0 %  receive (endpoint.py)" in own
    assert "100.0 %  main (cli.py)" in inclusive and "100.0 %  receive (endpoint.py)" in inclusive
    assert spy_shares("", top=5) == "no samples"
