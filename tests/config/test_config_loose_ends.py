"""The keys SPEC 2 and 7 added: [server] advertise_version and [line] keepalive_misses."""
from __future__ import annotations

import pytest

from rccserver.server.config import ConfigError, load_config


def load(tmp_path, text: str):
    path = tmp_path / "rccserver.toml"
    path.write_text(text)
    return load_config(path)


def test_defaults_hide_the_version_and_allow_three_misses(tmp_path):
    config = load(tmp_path, "")
    assert config.server.advertise_version is False
    assert config.line.keepalive_misses == 3


def test_both_keys_are_taken(tmp_path):
    config = load(tmp_path, "[server]\nadvertise_version = true\n[line]\nkeepalive_misses = 0\n")
    assert config.server.advertise_version is True
    assert config.line.keepalive_misses == 0


@pytest.mark.parametrize(
    "text, key",
    [
        ("[line]\nkeepalive_misses = -1\n", "keepalive_misses"),
        ("[line]\nkeepalive_misses = \"3\"\n", "keepalive_misses"),
        ("[server]\nadvertise_version = \"yes\"\n", "advertise_version"),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "rccserver.toml" in message and key in message and ":2" in message


def test_stations_line_digest_algorithms_default_and_choices(tmp_path):
    config = load(tmp_path, "[stations_line]\n")
    assert config.stations_line.digest_algorithms == ("SHA-256", "MD5")
    config = load(tmp_path, '[stations_line]\ndigest_algorithms = ["MD5"]\n')
    assert config.stations_line.digest_algorithms == ("MD5",)


@pytest.mark.parametrize("value", ['[]', '["SHA-512"]', '["MD5", "MD5"]'])
def test_bad_digest_algorithms_name_file_line_and_key(tmp_path, value):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[stations_line]\ndigest_algorithms = {value}\n")
    assert "digest_algorithms" in str(caught.value) and ":2" in str(caught.value)
