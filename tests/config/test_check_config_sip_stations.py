"""`check_config` reports SIP station mistakes in the CIC data with file, line and key (SPEC 2, 9)."""
from __future__ import annotations

from pathlib import Path

import pytest

from rccserver.cli import main
from rccserver.commands.checkconfig import check_config

LDIF = """\
dn: CN=Amy,DC=example,DC=com
sAMAccountName: amy
msRTCSIP-PrimaryUserAddress: sip:amy@example.com
msRTCSIP-Line: tel:+1001
msRTCSIP-UserEnabled: TRUE
"""

CIC = """\
[licenses]
features = ["I3_FEATURE_LYNC"]

[[users]]
id = "Amy"
nt_domain_user = 'EXAMPLE\\amy'
client_license = true

[[stations]]
name = "AmyDesk"
extension = "1001"
type = "sip"
password = "s3cret"

[[stations]]
name = "Spare"
extension = "1002"
type = "sip"
sip_user = "spare"
ha1 = "5f4dcc3b5aa765d61d8327deb882cf99"
"""

CONFIG = '[directory]\nldif_file = "directory.ldif"\nnetbios_domain = "EXAMPLE"\n\n[cic]\ndata_file = "cic.toml"\n'
STATIONS_LINE = '\n[stations_line]\naddress = "127.0.0.1"\n'


def check(tmp_path: Path, cic: str, config: str = CONFIG + STATIONS_LINE):
    (tmp_path / "directory.ldif").write_text(LDIF)
    (tmp_path / "cic.toml").write_text(cic)
    (tmp_path / "rccserver.toml").write_text(config)
    return check_config(tmp_path / "rccserver.toml")


def test_good_sip_stations_are_clean(tmp_path):
    result = check(tmp_path, CIC)
    assert (result.errors, result.warnings, result.valid) == ([], [], True)


@pytest.mark.parametrize("old, new, line, key, words", [
    # no credentials: reported at the station's [[stations]] header (line 9)
    ('password = "s3cret"\n', "", 9, "stations[0]", "needs password or ha1"),
    ('ha1 = "5f4dcc3b5aa765d61d8327deb882cf99"', 'ha1 = "password"', 20, "stations[1].ha1", "32 hexadecimal digits"),
    ('sip_user = "spare"', 'sip_user = "1001"', 19, "stations[1].sip_user", "duplicate sip_user '1001'"),
])
def test_sip_station_errors_make_the_configuration_invalid(tmp_path, old, new, line, key, words):
    assert old in CIC
    result = check(tmp_path, CIC.replace(old, new, 1))
    assert not result.valid
    [error] = result.errors
    assert error.startswith(f"{tmp_path / 'cic.toml'}:{line}: {key}: ")
    assert words in error


def test_the_command_prints_the_error_and_exits_2(tmp_path, capsys):
    check(tmp_path, CIC.replace('password = "s3cret"\n', ""))
    code = main(["check-config", "--config", str(tmp_path / "rccserver.toml")])
    out = capsys.readouterr().out
    assert code == 2
    assert f"{tmp_path / 'cic.toml'}:9: stations[0]: a SIP station needs password or ha1" in out


def test_sip_stations_without_a_stations_line_are_a_warning(tmp_path):
    # Legal (the server runs, the stations stay simulated in the switch) but no phone can register.
    result = check(tmp_path, CIC, config=CONFIG)
    assert result.valid
    assert result.warnings == [f"{tmp_path / 'cic.toml'}: stations: SIP station(s) 1001, 1002 can never register: "
                               f"{tmp_path / 'rccserver.toml'} has no [stations_line]"]


def test_a_stations_line_without_sip_stations_is_clean(tmp_path):
    cic = CIC.split("[[stations]]")[0] + '[[stations]]\nname = "Plain"\nextension = "1001"\n'
    result = check(tmp_path, cic)
    assert (result.errors, result.warnings) == ([], [])


def test_an_ha1_station_with_no_md5_offered_can_never_register(tmp_path):
    result = check(tmp_path, CIC, CONFIG + STATIONS_LINE + 'digest_algorithms = ["SHA-256"]\n')
    assert not result.valid
    (error,) = result.errors
    assert "spare" in error and "digest_algorithms" in error and "never register" in error


def test_md5_only_is_clean_for_passwords_and_ha1(tmp_path):
    result = check(tmp_path, CIC, CONFIG + STATIONS_LINE + 'digest_algorithms = ["MD5"]\n')
    assert (result.errors, result.valid) == ([], True)
