"""The rccserver / Kamailio comparison (bench/bench_compare.py) at smoke scale, and its parts.

No timing is asserted: these tests defend that every scenario still runs against a
real server, that a SIPp call which gets a CSTA error is counted as failed, and that
the Lync scenario finds the call id in whatever MakeCallResponse the server encodes.
"""
from __future__ import annotations

import re
import xml.dom.minidom

import pytest
from hypothesis import given, settings, strategies as st

from bench import bench_compare
from bench.kamailio import kamailio_binary
from bench.sippload import NO_CALL_ID, call_counts, lync_calls_scenario, run_scenario
from rccserver import csta
from testkit.deployment import BenchUser, write_deployment


def _document(text: str) -> xml.dom.minidom.Document:
    return xml.dom.minidom.parseString(text.encode("iso-8859-1"))


def _call_id_regexp(scenario: str) -> str:
    """The regexp SIPp applies to MakeCall's answer (minidom unescapes it as SIPp does)."""
    eregs = [e for e in _document(scenario).getElementsByTagName("ereg")
             if e.getAttribute("assign_to").endswith(",call")]
    assert len(eregs) == 1
    return eregs[0].getAttribute("regexp")


def test_lync_scenario_is_a_bounded_loop_of_makecall_and_clearconnection():
    text = lync_calls_scenario(5)
    document = _document(text)
    sends = [node.firstChild.data for node in document.getElementsByTagName("send")]
    assert [s.strip().split(" ", 1)[0] for s in sends] == ["INVITE", "ACK", "INFO", "INFO", "BYE"]
    assert "<RequestSystemStatus" in sends[0] and "<lcs:line" in sends[0]
    assert "<MakeCall" in sends[2] and "<callingDevice>[field1]</callingDevice>" in sends[2]
    assert "<ClearConnection" in sends[3] and "<callID>[$call]</callID>" in sends[3]
    assert [t.getAttribute("value") for t in document.getElementsByTagName("test")] == ["6"]  # 5 rounds
    # the two INFOs of one round, and every round, have branches of their own
    assert "branch=[branch]-[$cs]\n" in sends[2] and "branch=[branch]-[$cs]-clear" in sends[3]
    # the call id falls back to a fixed value before each MakeCall (Kamailio's 200 has no body)
    fallback = document.getElementsByTagName("assignstr")
    assert [(a.getAttribute("assign_to"), a.getAttribute("value")) for a in fallback] == [("call", NO_CALL_ID)]
    # a 200 with a CSTA error to the logon or to either INFO fails the call
    inverse = [e for e in document.getElementsByTagName("ereg") if e.getAttribute("check_it_inverse") == "true"]
    assert len(inverse) == 3 and all(e.getAttribute("regexp") == "CSTAErrorCode" for e in inverse)


@settings(max_examples=80, deadline=None)
@given(st.text(st.characters(codec="ascii", exclude_categories=("Cc", "Cs")), min_size=1, max_size=24),
       st.sampled_from([csta.Namespace.ED3, csta.Namespace.ED5]))
def test_call_id_regexp_finds_the_call_of_any_make_call_response(call_id, namespace):
    calling = csta.ConnectionID(call_id=call_id, device_id="tel:+2000001")
    body = csta.encode(csta.MakeCallResponse(calling_device=calling, called_device="tel:+15552000001"),
                       namespace).decode()
    match = re.search(_call_id_regexp(lync_calls_scenario(1)), body)
    assert match is not None
    # what SIPp puts back into ClearConnection is the call id as the server wrote it
    assert re.search(r"<callID>([^<]*)</callID>", body).group(1) == match.group(1)


def test_call_counts_reads_the_last_statistics_line(tmp_path):
    stat = tmp_path / "stat.csv"
    stat.write_text("StartTime;SuccessfulCall(C);FailedCall(C);\n"
                    "t0;0;0;\n"
                    "t1;17;3;\n")
    assert call_counts(stat) == (17, 3)
    assert call_counts(tmp_path / "missing.csv") == (0, 0)
    stat.write_text("StartTime;\n")
    assert call_counts(stat) == (0, 0)


@pytest.mark.timeout(120)
def test_a_csta_error_answer_fails_the_call(tmp_path):
    """The Lync scenario with the call id never found: rccserver rejects ClearConnection of
    the fallback id with a CSTA error inside a 200, and SIPp counts every call failed."""
    server = write_deployment(tmp_path / "server", users=20).start()
    try:
        blind = lync_calls_scenario(2).replace("&lt;callID&gt;(", "&lt;noSuchElement&gt;(")
        result = run_scenario(tmp_path / "sipp", server.sip_port, [BenchUser(i) for i in range(4)], scenario=blind,
                              infos_per_call=4, one_connection=True, timeout=30, concurrency=2)
    finally:
        server.stop()
    assert (result.successful, result.failed, result.ok) == (0, 4, False), result.output
    assert "CSTAErrorCode" in result.output


@pytest.mark.timeout(180)
def test_smoke_run_fills_every_row(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    monkeypatch.delenv("BENCH_ROUNDS", raising=False)
    rows = bench_compare.run(tmp_path)
    bench_compare.print_table(rows)
    assert [(row.scenario[:2], row.unit) for row in rows] == [
        ("a.", "calls/s"), ("a.", "CSTA/s"), ("b.", "CSTA/s"), ("c.", "CSTA/s")]
    for row in rows:
        assert row.ours > 0 and row.ours_failed == 0 and row.ours_calls > 0, row
        assert row.ours_us >= 0 and row.ours_cpu_percent >= 0, row
        if kamailio_binary() is not None:
            assert row.theirs is not None and row.theirs > 0 and row.ratio > 0, row
            assert row.theirs_failed == 0, row
        else:
            assert row.theirs is None and row.ratio is None
