"""SIP stations in the CIC data file (SPEC section 9): type, credentials, phone options, located errors.

Simulated stations and files without the new keys are covered by test_cic_data.py, which
must keep passing unchanged.
"""
from __future__ import annotations

import pytest

from rccserver.cic.data import CicDataError, Station, load_cic_data

BASE = """\
[licenses]
features = ["I3_FEATURE_LYNC"]

[[stations]]
name = "Lobby"
extension = "1000"

[[stations]]
name = "AmyDesk"
extension = "1001"
type = "sip"
password = "s3cret"

[[stations]]
name = "BenDesk"
extension = "10-02"
type = "sip"
sip_user = "ben"
ha1 = "0123456789ABCDEF0123456789abcdef"
auto_answer = "alert-info"
remote_answer = "talk-event"
"""


def load(tmp_path, text: str):
    path = tmp_path / "cic.toml"
    path.write_text(text)
    return load_cic_data(path)


def error_of(tmp_path, text: str) -> CicDataError:
    with pytest.raises(CicDataError) as caught:
        load(tmp_path, text)
    assert caught.value.file == str(tmp_path / "cic.toml")
    return caught.value


def line_of(text: str, written: str, after: str = "") -> int:
    """1-based line of the first line equal to `written` that comes after the text `after`."""
    lines = text.splitlines()
    start = text[: text.index(after)].count("\n") if after else 0
    return next(i for i in range(start, len(lines)) if lines[i] == written) + 1


def test_simulated_is_the_default_and_carries_no_phone_settings(tmp_path):
    lobby = load(tmp_path, BASE).station_by_extension("1000")
    assert lobby.type == "simulated" and not lobby.is_sip
    assert (lobby.sip_user, lobby.password, lobby.ha1) == (None, None, None)


def test_a_sip_station_with_a_password_takes_the_documented_defaults(tmp_path):
    amy = load(tmp_path, BASE).station_by_extension("1001")
    assert amy.is_sip
    assert amy.sip_user == "1001"  # the extension
    assert (amy.password, amy.ha1) == ("s3cret", None)
    assert (amy.auto_answer, amy.remote_answer) == ("call-info", "none")


def test_a_sip_station_with_every_key_written(tmp_path):
    cic = load(tmp_path, BASE)
    ben = cic.station_by_extension("1002")
    assert (ben.sip_user, ben.password, ben.ha1) == ("ben", None, "0123456789abcdef0123456789abcdef")
    assert (ben.auto_answer, ben.remote_answer) == ("alert-info", "talk-event")
    assert cic.station_by_sip_user("ben") is ben
    assert cic.station_by_sip_user("1001").name == "AmyDesk"
    assert cic.station_by_sip_user("1002") is None  # ben's extension is not its sip_user
    assert cic.station_by_sip_user("1000") is None  # simulated stations have no sip_user
    assert [s.name for s in cic.sip_stations] == ["AmyDesk", "BenDesk"]


def test_secrets_stay_out_of_the_repr(tmp_path):
    cic = load(tmp_path, BASE)
    text = repr(cic.stations)
    assert "s3cret" not in text and "0123456789" not in text and "AmyDesk" in text


def test_stations_built_positionally_keep_working():
    station = Station("Desk", "44770", None)
    assert (station.type, station.sip_user, station.password) == ("simulated", None, None)


@pytest.mark.parametrize("old, new, key, words", [
    ('password = "s3cret"\n', "", "stations[1]", "needs password or ha1"),
    ('password = "s3cret"\n', 'password = "s3cret"\nha1 = "0123456789abcdef0123456789abcdef"\n',
     "stations[1].ha1", "not both"),
    ('ha1 = "0123456789ABCDEF0123456789abcdef"', 'ha1 = "0123456789abcdef0123456789abcde"',
     "stations[2].ha1", "32 hexadecimal digits"),
    ('ha1 = "0123456789ABCDEF0123456789abcdef"', 'ha1 = "0123456789abcdef0123456789abcdeg"',
     "stations[2].ha1", "32 hexadecimal digits"),
    ('ha1 = "0123456789ABCDEF0123456789abcdef"', "ha1 = 12", "stations[2].ha1", "32 hexadecimal digits"),
    ('password = "s3cret"', 'password = ""', "stations[1].password", "non-empty string"),
    ('type = "sip"\npassword', 'type = "SIP"\npassword', "stations[1].type", "'simulated', 'sip'"),
    ('auto_answer = "alert-info"', 'auto_answer = "yes"', "stations[2].auto_answer",
     "'call-info', 'alert-info', 'none'"),
    ('remote_answer = "talk-event"', "remote_answer = true", "stations[2].remote_answer", "'talk-event', 'none'"),
    ('sip_user = "ben"', 'sip_user = "ben@example.com"', "stations[2].sip_user", "must be letters, digits"),
    ('sip_user = "ben"', 'sip_user = "1001"', "stations[2].sip_user", "duplicate sip_user '1001' (also stations[1])"),
    ('extension = "1000"', 'extension = "1000"\npassword = "x"', "stations[0].password",
     'only a SIP station has password (add type = "sip")'),
    ('extension = "1000"', 'extension = "1000"\nauto_answer = "none"', "stations[0].auto_answer",
     "only a SIP station"),
])
def test_bad_sip_station_values_name_file_line_and_key(tmp_path, old, new, key, words):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    error = error_of(tmp_path, text)
    assert error.key == key
    assert words in error.message
    assert str(error).startswith(f"{tmp_path / 'cic.toml'}:{error.line}: {key}: ")
    if "." in key:  # at the bad key's own line
        name = key.rsplit(".", 1)[1]
        written = next(line for line in new.splitlines() if line.startswith(f"{name} ="))
        assert error.line == line_of(text, written, after=new)
    else:  # a missing key: at its station's [[stations]] header
        assert text.splitlines()[error.line - 1] == "[[stations]]"
        assert error.line == line_of(text, 'name = "AmyDesk"') - 1


def test_a_defaulted_sip_user_clashing_with_a_written_one_is_located_at_the_station(tmp_path):
    # Amy's sip_user is her extension 1001; a later station names 1001 as its sip_user
    # explicitly, and one after that only defaults to it.
    text = BASE.replace('sip_user = "ben"', 'sip_user = "carl"') + (
        '\n[[stations]]\nname = "Spare"\nextension = "2001"\ntype = "sip"\nsip_user = "carl"\npassword = "p"\n')
    error = error_of(tmp_path, text)
    assert error.key == "stations[3].sip_user" and "also stations[2]" in error.message
    assert error.line == line_of(text, 'sip_user = "carl"', after='name = "Spare"')
    text = BASE + '\n[[stations]]\nname = "Clash"\nextension = "2002"\ntype = "sip"\nsip_user = "1001"\npassword = "p"\n'
    assert error_of(tmp_path, text).key == "stations[3].sip_user"


def test_a_sip_user_may_equal_a_simulated_stations_extension(tmp_path):
    # Only SIP stations are looked up by sip_user, so "1000" clashes with nothing.
    cic = load(tmp_path, BASE.replace('sip_user = "ben"', 'sip_user = "1000"'))
    assert cic.station_by_sip_user("1000").name == "BenDesk"


def test_a_password_is_kept_exactly_as_written(tmp_path):
    cic = load(tmp_path, BASE.replace('password = "s3cret"', 'password = " s3cret "'))
    assert cic.station_by_extension("1001").password == " s3cret "
