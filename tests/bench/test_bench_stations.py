"""The SIP stations benchmark (bench/bench_stations.py) at smoke scale, and its parts.

No timing is asserted: these tests defend that the harness still registers SIPp phones
with digest against rccserver (and Kamailio, when installed), places bridged calls
between two SIPp phones, and prints its table.
"""
from __future__ import annotations

import hashlib
import xml.dom.minidom

import pytest

from bench import bench_stations
from bench.kamailio import kamailio_binary


def test_precomputed_credentials_are_rfc_2617_md5_with_qop_auth():
    header = bench_stations.proxy_authorization("300001", "s3cret", "sip:300002@127.0.0.1:5", "abc", "op", 3)
    fields = dict(part.split("=", 1) for part in header.removeprefix("Digest ").split(","))
    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731
    ha1 = md5(f"300001:{bench_stations.REALM}:s3cret")
    expected = md5(f"{ha1}:abc:00000003:{fields['cnonce'].strip(chr(34))}:auth:{md5('INVITE:sip:300002@127.0.0.1:5')}")
    assert fields["response"] == f'"{expected}"'
    assert fields["nc"] == "00000003" and fields["opaque"] == '"op"' and fields["qop"] == "auth"


@pytest.mark.parametrize("text", [bench_stations.REGISTER_SCENARIO, bench_stations.call_scenario(100),
                                  bench_stations.ANSWER_SCENARIO])
def test_scenarios_are_wellformed(text):
    xml.dom.minidom.parseString(text.encode("iso-8859-1"))


def test_stations_cic_data_has_sip_stations_with_passwords(tmp_path):
    from rccserver.cic.data import load_cic_data

    (tmp_path / "cic.toml").write_text(bench_stations.cic_text(5))
    cic = load_cic_data(tmp_path / "cic.toml")
    sip = [station for station in cic.stations if station.is_sip]
    assert [station.sip_user for station in sip] == [bench_stations.extension(i) for i in range(5)]


@pytest.mark.timeout(180)
def test_smoke_run_prints_its_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    monkeypatch.delenv("BENCH_PROFILE", raising=False)
    rows = bench_stations.run(tmp_path)
    bench_stations.print_table(rows)
    measures = [row.measure for row in rows]
    assert "REGISTER with digest (MD5, qop=auth), rccserver" in measures
    assert "bridged calls phone to phone, rccserver" in measures
    if kamailio_binary() is not None:
        assert "ratio rccserver / Kamailio, registrations/s" in measures
    assert not [row for row in rows if row.value == "FAILED"], rows
    assert "measure" in capsys.readouterr().out
