"""`rccserver probe` without --line against a real OpenLDAP server: the user's line comes through
the server's own directory loader when the configuration says `source = "ldap"` (SPEC section 2)."""
from __future__ import annotations

from rccserver.commands.probe.line_lookup import find_line, load_configured_directory
from rccserver.commands.probe.report import Status
from tests.ldap.conftest import POPULATION
from tests.ldap.slapd_server import BIND_DN, PAGE_LIMIT, USERS_DN, user_line, user_sam


def ldap_config(tmp_path, slapd):
    path = tmp_path / "rccserver.toml"
    path.write_text(f'[directory]\nsource = "ldap"\nurl = "{slapd.url}"\nbind_dn = "{BIND_DN}"\n'
                    f'password_file = "{slapd.password_file}"\nsearch_dn = "{USERS_DN}"\n'
                    f'page_size = {PAGE_LIMIT}\nnetbios_domain = "EXAMPLE"\n')
    return path


def test_the_line_comes_from_ldap(tmp_path, slapd):
    directory = load_configured_directory(ldap_config(tmp_path, slapd))
    index = POPULATION.in_sales + 11
    found = find_line(directory, f"sip:{user_sam(index)}@example.com")
    assert (found.line, found.status) == (user_line(index), Status.OK)
    assert slapd.url in found.summary


def test_a_user_ldap_does_not_hold(tmp_path, slapd):
    directory = load_configured_directory(ldap_config(tmp_path, slapd))
    found = find_line(directory, "sip:nobody@example.com")
    assert (found.line, found.code) == (None, "Cs_UserNotInDirectory")
