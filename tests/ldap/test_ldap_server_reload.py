"""The real server with `source = "ldap"` against slapd: logons from the LDAP cache, `-reload` after the
directory changed, and a failing reload (bind refused) that keeps the old cache in force."""
from __future__ import annotations

import ldap3
import pytest

from testkit.testbed import write_testbed
from tests.ldap.conftest import POPULATION
from tests.ldap.slapd_server import BIND_DN, PAGE_LIMIT, ROOT_DN, ROOT_PASSWORD, USERS_DN, user_line, user_sam
from tests.reload.reload_support import logon_status, reload_cli, wait_log

KNOWN = POPULATION.in_sales + 3  # an enabled user with a CIC user and a station
NEWBIE_DN = f"CN=newbie,{USERS_DN}"


def cic_text() -> str:
    return (
        '[licenses]\nfeatures = ["I3_FEATURE_LYNC"]\n\n'
        f"[[users]]\nid = \"Known\"\nnt_domain_user = 'EXAMPLE\\{user_sam(KNOWN)}'\nclient_license = true\n\n"
        "[[users]]\nid = \"Newbie\"\nnt_domain_user = 'EXAMPLE\\newbie'\nclient_license = true\n\n"
        f"[[stations]]\nname = \"KnownDesk\"\nextension = \"{user_line(KNOWN)[5:]}\"\n\n"
        "[[stations]]\nname = \"NewbieDesk\"\nextension = \"4242\"\n"
    )


@pytest.fixture
def server(tmp_path, slapd):
    process = write_testbed(tmp_path)
    config = process.config_path.read_text()
    ldap_table = (f'[directory]\nsource = "ldap"\nurl = "{slapd.url}"\nbind_dn = "{BIND_DN}"\n'
                  f'password_file = "{slapd.password_file}"\nsearch_dn = "{USERS_DN}"\npage_size = {PAGE_LIMIT}\n'
                  'netbios_domain = "EXAMPLE"\n')
    config = config.replace('[directory]\nsource = "ldif"\nldif_file = "directory.ldif"\nnetbios_domain = "EXAMPLE"\n',
                            ldap_table)
    assert 'source = "ldap"' in config
    process.config_path.write_text(config)
    (tmp_path / "cic.toml").write_text(cic_text())
    process.start()
    yield process
    assert process.stop() == 0


@pytest.fixture
def admin_connection(slapd):
    connection = ldap3.Connection(ldap3.Server(slapd.url), user=ROOT_DN, password=ROOT_PASSWORD, auto_bind=True)
    yield connection
    connection.delete(NEWBIE_DN)  # leave the session's directory as the other tests expect it
    connection.unbind()


def test_logon_from_the_ldap_cache_and_reload_after_a_change(server, admin_connection):
    assert logon_status(server, f"sip:{user_sam(KNOWN)}@example.com", user_line(KNOWN)) == (200, None)
    status, warning = logon_status(server, "sip:newbie@example.com", "tel:+4242")
    assert status == 404 and "Cs_UserNotInDirectory" in warning

    assert admin_connection.add(NEWBIE_DN, ["user"], {
        "cn": "newbie", "sn": "newbie", "sAMAccountName": "newbie", "displayName": "New Bie",
        "msRTCSIP-PrimaryUserAddress": "sip:newbie@example.com", "msRTCSIP-Line": "tel:+4242",
        "msRTCSIP-LineServer": "sip:rcc@rcc.example.com", "msRTCSIP-UserEnabled": "TRUE"})
    renamed = f"CN={user_sam(KNOWN + 1)},{USERS_DN}"
    assert admin_connection.modify(renamed, {"displayName": [(ldap3.MODIFY_REPLACE, ["Renamed"])]})
    try:
        done = reload_cli(server)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == f"reloaded: {POPULATION.lync_users + 1} directory users, 1 added, 0 removed, 1 changed"
        assert "  added: sip:newbie@example.com" in lines
        assert f"  changed: sip:{user_sam(KNOWN + 1)}@example.com" in lines
        assert logon_status(server, "sip:newbie@example.com", "tel:+4242") == (200, None)
    finally:
        admin_connection.modify(renamed, {"displayName": [(ldap3.MODIFY_REPLACE, [f"User {KNOWN + 1}"])]})


def test_refused_bind_on_reload_keeps_the_old_cache(server, slapd):
    good = slapd.password_file.read_text()
    slapd.password_file.write_text("wrong password\n")
    try:
        done = reload_cli(server)
    finally:
        slapd.password_file.write_text(good)
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "reload failed" in output and "refused" in output and BIND_DN in output
    assert logon_status(server, f"sip:{user_sam(KNOWN)}@example.com", user_line(KNOWN)) == (200, None)
    wait_log(server, "reload-failed", "invalid credentials")
