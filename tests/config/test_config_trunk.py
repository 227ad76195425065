"""[trunk] (SPEC section 9): the SIP peer for every number that is no station; absent, no
carrier. Each error names the file, the line and the key."""
from __future__ import annotations

import pytest

from rccserver.commands.checkconfig import check_config
from rccserver.server.config import ConfigError, TrunkConfig, load_config

STATIONS = '[stations_line]\naddress = "127.0.0.1"\n'


def load(tmp_path, text: str):
    path = tmp_path / "rccserver.toml"
    path.write_text(text)
    return load_config(path)


def error_of(tmp_path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value


def test_without_the_table_there_is_no_trunk(tmp_path):
    assert load(tmp_path, STATIONS).trunk is None


def test_the_peer_alone_gives_the_defaults(tmp_path):
    config = load(tmp_path, STATIONS + '[trunk]\npeer = "sip:sbc.example.com:5080;transport=udp"\n')
    trunk = config.trunk
    assert trunk == TrunkConfig(peer="sip:sbc.example.com:5080;transport=udp")
    assert (trunk.host, trunk.port, trunk.transport) == ("sbc.example.com", 5080, "udp")
    assert trunk.accept_from == () and trunk.did_from == "request-uri" and trunk.options_interval == 30.0


def test_every_key_is_read(tmp_path):
    config = load(tmp_path, STATIONS.replace('"127.0.0.1"\n', '"127.0.0.1"\ntransports = ["udp", "tcp"]\n') + """
[trunk]
peer = "sip:10.1.2.3;transport=tcp"
accept_from = ["10.1.2.0/24", "192.0.2.7"]
username = "acme"
password = "pw"
did_from = "to"
options_interval = 10
""")
    trunk = config.trunk
    assert (trunk.host, trunk.port, trunk.transport) == ("10.1.2.3", 5060, "tcp")
    assert trunk.accept_from == ("10.1.2.0/24", "192.0.2.7")
    assert (trunk.username, trunk.password, trunk.did_from, trunk.options_interval) == ("acme", "pw", "to", 10.0)


@pytest.mark.parametrize(("lines", "key", "message"), [
    ('peer = "http://sbc.example.com"', "trunk.peer", "sip: URI"),
    ('peer = "sip:+1317@sbc.example.com"', "trunk.peer", "not a user"),
    ('peer = "sip:sbc.example.com;transport=sctp"', "trunk.peer", "transport must be one of"),
    ('peer = "sip:sbc.example.com;transport=tls"', "trunk.peer", "not in stations_line.transports"),
    ('peer = "sip:sbc"\naccept_from = ["10.0.0.0/33"]', "trunk.accept_from", "not an IP address or CIDR"),
    ('peer = "sip:sbc"\ndid_from = "from"', "trunk.did_from", "must be one of"),
    ('peer = "sip:sbc"\nusername = "acme"', "trunk.username", "go together"),
    ('accept_from = []', "trunk", "peer is required"),
])
def test_a_bad_key_names_file_line_and_key(tmp_path, lines, key, message):
    text = STATIONS + "[trunk]\n" + lines + "\n"
    error = error_of(tmp_path, text)
    assert key in str(error) and message in str(error)
    assert str(tmp_path / "rccserver.toml") in str(error)
    assert error.line is not None


def test_a_trunk_needs_the_stations_line(tmp_path):
    error = error_of(tmp_path, '[trunk]\npeer = "sip:sbc.example.com"\n')
    assert "needs [stations_line]" in str(error)


def test_check_config_reports_trunk_errors(tmp_path):
    path = tmp_path / "rccserver.toml"
    path.write_text(STATIONS + '[trunk]\npeer = "sip:sbc;transport=sctp"\ndid_from = "via"\n')
    result = check_config(path)
    assert any("trunk.peer" in e for e in result.errors) and any("trunk.did_from" in e for e in result.errors)


def test_check_config_warns_when_accept_from_lets_every_address_in(tmp_path):
    path = tmp_path / "rccserver.toml"
    path.write_text(STATIONS + '[trunk]\npeer = "sip:192.0.2.5"\naccept_from = ["192.0.2.0/28", "0.0.0.0/0"]\n')
    result = check_config(path)
    warnings = [w for w in result.warnings if "trunk.accept_from" in w]
    assert len(warnings) == 1 and "trunk.accept_from[1]: 0.0.0.0/0 is every address" in warnings[0]
    assert not any("trunk" in e for e in result.errors)


def test_the_password_is_never_shown_and_a_config_every_user_can_read_is_a_warning(tmp_path):
    path = tmp_path / "rccserver.toml"
    path.write_text(STATIONS + '[trunk]\npeer = "sip:192.0.2.5"\nusername = "acme"\npassword = "s3cret-pw"\n')
    path.chmod(0o644)
    assert "s3cret-pw" not in repr(load_config(path))
    assert any("trunk.password" in w and "chmod 600" in w for w in check_config(path).warnings)
    path.chmod(0o600)
    assert not any("trunk.password" in w for w in check_config(path).warnings)
