"""CIC data checks beyond the basics: URIs, extensions, table shapes, and station matching by URI."""
from __future__ import annotations

import pytest

from rccserver.cic.data import CicDataError, load_cic_data

BASE = """\
[licenses]
features = ["I3_FEATURE_LYNC"]

[[users]]
id = "A"
nt_domain_user = 'EXAMPLE\\a'
extension = "8001"

[[stations]]
name = "S1"
extension = "1001"
identification_address = "tel:+1001"

[[stations]]
name = "S2"
extension = "1002"
"""


def load(tmp_path, text):
    path = tmp_path / "cic.toml"
    path.write_text(text)
    return load_cic_data(path)


@pytest.mark.parametrize("old, new, key, words", [
    ('extension = "1002"', 'extension = "1002"\nidentification_address = "tel:+1001"',
     "stations[1].identification_address", "duplicate identification address"),
    ('identification_address = "tel:+1001"', 'identification_address = "+1001"',
     "stations[0].identification_address", "tel: or sip: URI"),
    ('extension = "8001"', 'extension = "80-01"', "users[0].extension", "must be digits"),
    ("nt_domain_user = 'EXAMPLE\\a'", "nt_domain_user = 'EXAMPLE\\a\\b'", "users[0].nt_domain_user", "DOMAIN"),
    ("nt_domain_user = 'EXAMPLE\\a'", "nt_domain_user = '\\a'", "users[0].nt_domain_user", "DOMAIN"),
])
def test_located_errors(tmp_path, old, new, key, words):
    text = BASE.replace(old, new)
    with pytest.raises(CicDataError) as caught:
        load(tmp_path, text)
    error = caught.value
    assert error.key == key and words in error.message
    assert text.splitlines()[error.line - 1] == new.splitlines()[-1]


@pytest.mark.parametrize("text, key", [
    ("users = 5\n", "users"),
    ("stations = [1, 2]\n", "stations"),
    ("licenses = 3\n", "licenses"),
])
def test_tables_of_the_wrong_shape(tmp_path, text, key):
    with pytest.raises(CicDataError) as caught:
        load(tmp_path, text)
    assert caught.value.key == key and caught.value.line == 1


def test_station_by_identification_address_or_number(tmp_path):
    cic = load(tmp_path, BASE)
    assert cic.station_for_line("tel:+1001").name == "S1"
    assert cic.station_for_line("tel:1 0 0 2;phone-context=x").name == "S2"
    assert cic.station_for_line("tel:+1003") is None
    assert cic.station_by_extension("1002").name == "S2" and cic.user_by_id("A").extension == "8001"
