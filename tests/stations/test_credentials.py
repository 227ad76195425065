"""Which digest algorithms a station is challenged with: the offered ones its secret can answer."""
from __future__ import annotations

from rccserver.cic.data import Station
from rccserver.sip.digest import Algorithm, StoredSecret
from rccserver.stations.credentials import StationCredentials

PASSWORD = Station("P", "1001", None, type="sip", sip_user="1001", password="s3cret")
HA1 = Station("H", "1002", None, type="sip", sip_user="1002", ha1="0" * 32)
BOTH = (Algorithm.SHA256, Algorithm.MD5)


def test_a_password_answers_everything_offered_and_an_ha1_md5_only():
    credentials = StationCredentials([PASSWORD, HA1], secret=b"k", offered=BOTH)
    assert credentials.algorithms_for("1001") == BOTH
    assert credentials.algorithms_for("1002") == (Algorithm.MD5,)


def test_offering_md5_only_challenges_every_station_with_md5_only():
    credentials = StationCredentials([PASSWORD, HA1], secret=b"k", offered=(Algorithm.MD5,))
    assert credentials.algorithms_for("1001") == (Algorithm.MD5,)
    assert credentials.algorithms_for("1002") == (Algorithm.MD5,)
    assert credentials.secret("1001").algorithms == (Algorithm.MD5,)
    assert credentials.unanswerable() == []


def test_an_ha1_station_cannot_answer_sha256_only_and_is_named():
    credentials = StationCredentials([PASSWORD, HA1], secret=b"k", offered=(Algorithm.SHA256,))
    assert credentials.unanswerable() == ["1002"]
    assert StoredSecret(ha1_md5="0" * 32, offered=(Algorithm.SHA256,)).algorithms == ()


def test_unknown_names_get_a_real_stations_shape_always_the_same():
    credentials = StationCredentials([PASSWORD, HA1], secret=b"k", offered=BOTH)
    shapes = {credentials.algorithms_for(f"guess{n}") for n in range(200)}
    assert shapes == {BOTH, (Algorithm.MD5,)}
    assert credentials.algorithms_for("guess7") == credentials.algorithms_for("guess7")
    assert StationCredentials([], secret=b"k", offered=BOTH).algorithms_for("x") == BOTH
