"""The CIC data file (SPEC section 5): users, stations, licences, lookups, and located errors.

How a Line URI matches a station number is in tests/cic/test_station_for_line.py.
"""
from __future__ import annotations

import re

import pytest

from rccserver.cic.data import CicDataError, load_cic_data

GOOD = """\
[licenses]
features = ["I3_FEATURE_LYNC", "OTHER"]

[[users]]
id = "JohnMiller"
nt_domain_user = 'EXAMPLE\\JohnMiller'
extension = "8891"
client_license = true
allow_remote_number = false

[[users]]
id = "Jane"
nt_domain_user = 'example\\jane'
client_license = true

[[users]]
id = "Jane2"
nt_domain_user = 'EXAMPLE\\JANE'

[[stations]]
name = "JohnMillerDesk"
extension = "44770"
identification_address = "tel:+44770"

[[stations]]
name = "Lobby"
extension = "4-4771"
"""


def write(tmp_path, text: str):
    path = tmp_path / "cic.toml"
    path.write_text(text)
    return path


def located(tmp_path, text: str) -> tuple[int | None, str | None, str]:
    path = write(tmp_path, text)
    with pytest.raises(CicDataError) as caught:
        load_cic_data(path)
    error = caught.value
    assert error.file == str(path)
    assert str(error).startswith(str(path))
    return error.line, error.key, error.message


def test_a_good_file(tmp_path):
    cic = load_cic_data(write(tmp_path, GOOD))
    assert cic.has_feature("I3_FEATURE_LYNC") and not cic.has_feature("i3_feature_lync")
    john = cic.user_by_id("JohnMiller")
    assert (john.nt_domain_user, john.extension, john.client_license, john.allow_remote_number) == (
        "EXAMPLE\\JohnMiller", "8891", True, False)
    jane2 = cic.user_by_id("Jane2")
    assert (jane2.extension, jane2.client_license, jane2.allow_remote_number) == (None, False, False)
    assert [s.extension for s in cic.stations] == ["44770", "44771"]  # separators dropped
    assert cic.station_by_extension("44770").identification_address == "tel:+44770"
    assert cic.station_by_extension("44771").identification_address is None
    # a Line URI finds a loaded station by its identification address or by its number
    assert cic.station_for_line("tel:+44770").name == "JohnMillerDesk"
    assert cic.station_for_line("tel:4 4 7 7 1;phone-context=x").name == "Lobby"
    assert cic.station_for_line("tel:+44772") is None


def test_domain_accounts_compare_case_insensitively(tmp_path):
    cic = load_cic_data(write(tmp_path, GOOD))
    assert [u.id for u in cic.users_by_domain_account("example\\johnmiller")] == ["JohnMiller"]
    assert sorted(u.id for u in cic.users_by_domain_account("EXAMPLE\\Jane")) == ["Jane", "Jane2"]
    assert cic.users_by_domain_account("EXAMPLE\\nobody") == []
    assert {account.lower(): sorted(ids) for account, ids in cic.shared_domain_accounts().items()} == {
        "example\\jane": ["Jane", "Jane2"]}


def test_empty_file_is_no_users_no_licence(tmp_path):
    cic = load_cic_data(write(tmp_path, ""))
    assert cic.users == () and cic.stations == () and not cic.has_feature("I3_FEATURE_LYNC")


def test_duplicate_user_id_is_located_at_the_second(tmp_path):
    text = GOOD.replace('id = "Jane2"', 'id = "JohnMiller"')
    line, key, message = located(tmp_path, text)
    assert line == GOOD.splitlines().index('id = "Jane2"') + 1
    assert key == "users[2].id"
    assert "duplicate user id 'JohnMiller'" in message and "users[0]" in message


def test_duplicate_extension_is_located_even_when_written_differently(tmp_path):
    text = GOOD.replace('extension = "4-4771"', 'extension = "447-70"')
    line, key, message = located(tmp_path, text)
    assert line == GOOD.splitlines().index('extension = "4-4771"') + 1
    assert key == "stations[1].extension"
    assert "duplicate station extension" in message and "stations[0]" in message


@pytest.mark.parametrize("old, new, key, words", [
    ('id = "Jane"', 'id = ""', "users[1].id", "non-empty string"),
    ('id = "Jane"', "id = 7", "users[1].id", "non-empty string"),
    ("client_license = true\nallow", 'client_license = "yes"\nallow', "users[0].client_license", "true or false"),
    ("allow_remote_number = false", "allow_remote_number = 1", "users[0].allow_remote_number", "true or false"),
    ("nt_domain_user = 'example\\jane'", "nt_domain_user = 'jane'", "users[1].nt_domain_user", "DOMAIN\\account"),
    ("nt_domain_user = 'example\\jane'", "nt_domain_user = '\\jane'", "users[1].nt_domain_user", "DOMAIN\\account"),
    ("nt_domain_user = 'example\\jane'", "nt_domain_user = 'example\\jane\\b'", "users[1].nt_domain_user",
     "DOMAIN\\account"),
    ('extension = "8891"', 'extension = "88-91"', "users[0].extension", "must be digits"),
    ('extension = "44770"', 'extension = "desk"', "stations[0].extension", "must be digits"),
    # digits the switch would refuse when the server starts: other scripts, more than 32
    ('extension = "8891"', 'extension = "\u0668\u0668\u0669\u0661"', "users[0].extension", "must be digits"),
    ('extension = "8891"', f'extension = "{"8" * 33}"', "users[0].extension", "at most 32"),
    ('extension = "44770"', 'extension = "\u0664\u0664\u0667\u0667\u0660"', "stations[0].extension",
     "must be digits"),
    ('extension = "44770"', f'extension = "+{"4" * 33}"', "stations[0].extension", "at most 32"),
    ('identification_address = "tel:+44770"', 'identification_address = "+44770"',
     "stations[0].identification_address", "tel: or sip: URI"),
    ('extension = "4-4771"', 'extension = "4-4771"\nidentification_address = "tel:+44770"',
     "stations[1].identification_address", "duplicate identification address 'tel:+44770' (also stations[0])"),
    ('name = "Lobby"', 'name = "Lobby"\ncolour = "red"', "stations[1].colour", "unknown key"),
    ('id = "Jane2"', 'id = "Jane2"\nlicence = true', "users[2].licence", "unknown key"),
    ('features = ["I3_FEATURE_LYNC", "OTHER"]', 'features = "I3_FEATURE_LYNC"', "licenses.features", "list of strings"),
    ('features = ["I3_FEATURE_LYNC", "OTHER"]', 'features = []\nseats = 3', "licenses.seats", "unknown key"),
])
def test_bad_values_are_located(tmp_path, old, new, key, words):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    line, got_key, message = located(tmp_path, text)
    assert got_key == key
    assert words in message
    # located at the bad key's own line in the replacement
    name = key.rsplit(".", 1)[1]
    offset = next(i for i, written in enumerate(new.splitlines()) if written.startswith(f"{name} ="))
    assert line == GOOD[:GOOD.index(old)].count("\n") + offset + 1


@pytest.mark.parametrize("text, key", [
    ("users = 5\n", "users"),
    ("stations = [1, 2]\n", "stations"),
    ("licenses = 3\n", "licenses"),
])
def test_tables_of_the_wrong_shape(tmp_path, text, key):
    line, got_key, _ = located(tmp_path, text)
    assert (got_key, line) == (key, 1)


def test_missing_required_key_names_the_table(tmp_path):
    text = GOOD.replace('name = "Lobby"\n', "")
    line, key, message = located(tmp_path, text)
    assert key == "stations[1].name" and message == "missing"
    assert text.splitlines()[line - 1] == "[[stations]]"
    assert line == len(text.splitlines()) - 1  # the header of the second [[stations]]


def test_unknown_table(tmp_path):
    line, key, message = located(tmp_path, GOOD + "\n[phones]\nx = 1\n")
    assert key == "phones" and "unknown table" in message
    assert line == len(GOOD.splitlines()) + 2


def test_toml_syntax_error_has_a_line(tmp_path):
    text = GOOD.replace('extension = "8891"', 'extension = "8891')
    line, key, message = located(tmp_path, text)
    assert line == GOOD.splitlines().index('extension = "8891"') + 1
    assert key is None and message.startswith("TOML syntax error")


def test_missing_file(tmp_path):
    with pytest.raises(CicDataError, match=re.escape(str(tmp_path / "none.toml")) + ": file not found"):
        load_cic_data(tmp_path / "none.toml")
