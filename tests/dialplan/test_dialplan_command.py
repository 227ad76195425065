"""`rccserver dialplan test NUMBER [--inbound] [--config FILE]`, in process: which rule
matched (key, pattern, file:line), what came out, the E.164 presentation, where the
call goes, and the exit status (0 goes somewhere, 1 not dialable, 2 bad configuration)."""
from __future__ import annotations

from pathlib import Path

import pytest

from rccserver import cli

CONFIG = r"""[cic]
data_file = "cic.toml"

[dialplan]
country_code = "1"

[[dialplan.dial]]
pattern = '^9(\d{10})$'
translation = '+1$1'

[[dialplan.dial]]
pattern = '^(\d{4})$'
translation = '$1'

[[dialplan.inbound]]
pattern = '^\+1317555(1\d{3})$'
translation = '$1'
"""
CIC = """[licenses]
features = ["I3_FEATURE_LYNC"]

[[stations]]
name = "AmyDesk"
extension = "1001"
identification_address = "tel:+13175551001"
"""


@pytest.fixture
def config(tmp_path) -> Path:
    (tmp_path / "cic.toml").write_text(CIC)
    path = tmp_path / "rccserver.toml"
    path.write_text(CONFIG)
    return path


def run(capsys, *argv: str) -> tuple[int, dict[str, str]]:
    status = cli.main(["dialplan", "test", *argv])
    lines = capsys.readouterr().out.splitlines()
    return status, {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines}


def test_a_dialled_number_through_a_rule_to_the_outside(config, capsys):
    status, out = run(capsys, "9 (317) 555-0188", "--config", str(config))
    assert status == 0
    assert out["number"] == "9 (317) 555-0188"
    assert out["read as"] == "93175550188"
    assert out["dial rule"] == rf"dialplan.dial[0] '^9(\d{{10}})$' -> '+1$1' ({config}:8)"
    assert out["result"] == "+13175550188"
    assert out["E.164"] == "tel:+13175550188"
    assert out["goes to"].startswith("outside: +13175550188")


def test_a_station_by_its_extension_and_by_its_identification_address(config, capsys):
    status, out = run(capsys, "1001", "--config", str(config))
    assert status == 0
    assert out["dial rule"].startswith("dialplan.dial[1] ")
    assert out["E.164"] == "none: a station stays its extension"
    assert out["goes to"] == "station 1001 (AmyDesk, tel:+13175551001)"
    status, out = run(capsys, "9 317 555 1001", "--config", str(config))
    assert (status, out["result"], out["goes to"]) == (0, "+13175551001", "station 1001 (AmyDesk, tel:+13175551001)")


def test_a_number_that_goes_nowhere_is_not_dialable(config, capsys):
    status, out = run(capsys, "317-555-0188", "--config", str(config))
    assert status == 1
    assert out["dial rule"] == "none of 2 matched: the number stays as it is"
    assert out["result"] == "3175550188"
    assert out["E.164"] == "tel:+13175550188"  # a national number of country 1: presentable, not dialable
    assert out["goes to"].startswith("nowhere: 3175550188 is no station and does not start with '+'")


def test_what_is_no_number(config, capsys):
    status, out = run(capsys, "sip:bob@example.com", "--config", str(config))
    assert status == 1
    assert out["read as"].startswith("not a number")
    assert "result" not in out


def test_inbound_did(config, capsys):
    status, out = run(capsys, "tel:+1-317-555-1001", "--inbound", "--config", str(config))
    assert status == 0
    assert out["inbound rule"] == rf"dialplan.inbound[0] '^\+1317555(1\d{{3}})$' -> '$1' ({config}:16)"
    assert (out["result"], out["goes to"]) == ("1001", "station 1001 (AmyDesk, tel:+13175551001)")
    status, out = run(capsys, "+13175551999", "--inbound", "--config", str(config))
    assert status == 1
    assert out["result"] == "1999" and out["goes to"].startswith("nowhere: 1999 is no station's extension")
    status, out = run(capsys, "+13175550188", "--inbound", "--config", str(config))
    assert status == 1  # an outside number is no DID of ours
    assert out["inbound rule"] == "none of 1 matched: the number stays as it is"


def test_a_bad_rule_is_a_configuration_error_naming_file_line_and_key(config, capsys):
    config.write_text(CONFIG.replace("'+1$1'", "'+1$2'"))
    assert cli.main(["dialplan", "test", "93175550188", "--config", str(config)]) == 2
    out = capsys.readouterr().out
    assert f"error: {config}:9: dialplan.dial[0].translation: names $2, but the pattern has 1 group(s)" in out


def test_unreadable_cic_data_is_a_configuration_error(config, capsys):
    (config.parent / "cic.toml").unlink()
    assert cli.main(["dialplan", "test", "1001", "--config", str(config)]) == 2
    assert "cic.toml" in capsys.readouterr().out


def test_without_config_the_demo_dial_plan(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out = run(capsys, "9 (317) 555-0188")
    assert status == 0 and out["result"] == "+13175550188"
    assert "demo.toml:" in out["dial rule"]
