"""The AD cache against a real OpenLDAP server (tests/ldap/slapd_server.py).

slapd caps every search at PAGE_LIMIT entries, as AD does; the directory
holds more Lync users than that, so only paged searches see them all.
"""
from __future__ import annotations

import attrs
import ldap3
import pytest

from rccserver.server.config import load_config
from rccserver.directory.cache import DirectoryError
from rccserver.directory.ldap import load_from_ldap
from testkit.serverproc import free_port
from tests.ldap.conftest import POPULATION
from tests.ldap.slapd_server import BIND_DN, BIND_PASSWORD, PAGE_LIMIT, USERS_DN, user_line, user_sam


def directory_config(tmp_path, slapd, **overrides):
    """The [directory] table of a real config file pointing at slapd, loaded through load_config."""
    keys = {
        "source": "ldap", "netbios_domain": "EXAMPLE", "url": slapd.url, "bind_dn": BIND_DN,
        "password_file": str(slapd.password_file), "search_dn": USERS_DN, "page_size": PAGE_LIMIT,
        "timeout": 10.0,
    }
    keys.update(overrides)
    body = "\n".join(f"{name} = {value!r}".replace("'", '"') if not isinstance(value, bool)
                     else f"{name} = {str(value).lower()}" for name, value in keys.items() if value is not None)
    path = tmp_path / "rccserver.toml"
    path.write_text(f"[directory]\n{body}\n")
    return load_config(path).directory


def test_a_plain_search_is_truncated_at_the_size_limit(slapd):
    connection = ldap3.Connection(ldap3.Server(slapd.url), user=BIND_DN, password=BIND_PASSWORD, auto_bind=True)
    try:
        connection.search(USERS_DN, "(msRTCSIP-PrimaryUserAddress=*)", attributes=["sAMAccountName"])
        assert connection.result["description"] == "sizeLimitExceeded"
        assert len(connection.entries) == PAGE_LIMIT < POPULATION.lync_users
    finally:
        connection.unbind()


def test_paged_load_gets_every_lync_user(tmp_path, slapd):
    cache = load_from_ldap(directory_config(tmp_path, slapd))
    assert len(cache) == POPULATION.lync_users
    assert not cache.skipped
    # The non-Lync users are not in the cache; all the others are, once each.
    assert {user.sam_account_name for user in cache} == {user_sam(i) for i in range(POPULATION.lync_users)}


def test_entries_become_users_with_every_attribute(tmp_path, slapd):
    cache = load_from_ldap(directory_config(tmp_path, slapd))
    index = POPULATION.in_sales + 7
    user = cache.lookup(f"SIP:{user_sam(index).upper()}@EXAMPLE.COM")
    assert user is not None
    assert user.domain_account == f"EXAMPLE\\{user_sam(index)}"
    assert user.line == user_line(index)
    assert user.line_server == "sip:rcc@rcc.example.com"
    assert user.display_name == f"User {index}"
    assert user.enabled is True
    assert user.dn.lower() == f"cn={user_sam(index)},{USERS_DN}".lower()


def test_disabled_users_are_cached_as_disabled_and_subtree_is_searched(tmp_path, slapd):
    cache = load_from_ldap(directory_config(tmp_path, slapd))
    disabled = cache.lookup(f"sip:{user_sam(POPULATION.enabled)}@example.com")
    assert disabled is not None and disabled.enabled is False
    assert sum(not user.enabled for user in cache) == POPULATION.disabled
    nested = cache.lookup(f"sip:{user_sam(0)}@example.com")
    assert nested is not None and ",cn=sales," in nested.dn.lower()


@pytest.mark.parametrize("page_size", [1, 97])
def test_small_pages_give_the_same_cache(tmp_path, slapd, page_size):
    config = directory_config(tmp_path, slapd, search_dn=f"CN=Sales,{USERS_DN}", page_size=page_size)
    cache = load_from_ldap(config)
    assert len(cache) == POPULATION.in_sales


def test_the_search_filter_is_applied(tmp_path, slapd):
    config = directory_config(tmp_path, slapd,
                              search_filter="(&(msRTCSIP-PrimaryUserAddress=*)(msRTCSIP-UserEnabled=FALSE))")
    cache = load_from_ldap(config)
    assert len(cache) == POPULATION.disabled
    assert not any(user.enabled for user in cache)


def test_default_float_timeout_is_accepted(tmp_path, slapd):
    """The [directory] timeout is a float (default 30.0): the loader must accept it as configured."""
    directory = directory_config(tmp_path, slapd, timeout=None)
    assert directory.timeout == 30.0
    cache = load_from_ldap(directory)
    assert len(cache) == POPULATION.lync_users


def test_ldaps_with_the_ca_file(tmp_path, slapd):
    config = directory_config(tmp_path, slapd, url=slapd.ldaps_url, ca_file=str(slapd.ca_file))
    assert len(load_from_ldap(config)) == POPULATION.lync_users


def test_start_tls_with_the_ca_file(tmp_path, slapd):
    config = directory_config(tmp_path, slapd, start_tls=True, ca_file=str(slapd.ca_file))
    assert len(load_from_ldap(config)) == POPULATION.lync_users


def test_ldaps_without_trusting_the_ca_is_refused(tmp_path, slapd):
    config = directory_config(tmp_path, slapd, url=slapd.ldaps_url)
    with pytest.raises(DirectoryError) as caught:
        load_from_ldap(config)
    message = str(caught.value)
    assert slapd.ldaps_url in message
    assert "certificate verify failed" in message


def test_wrong_password_is_a_refused_bind(tmp_path, slapd):
    secret = tmp_path / "wrong.secret"
    secret.write_text("not the password\n")
    config = directory_config(tmp_path, slapd, password_file=str(secret))
    with pytest.raises(DirectoryError) as caught:
        load_from_ldap(config)
    message = str(caught.value)
    assert slapd.url in message and BIND_DN in message
    assert "refused" in message and "invalid credentials" in message


def test_unreadable_password_file_is_named(tmp_path, slapd):
    missing = tmp_path / "nope.secret"
    config = directory_config(tmp_path, slapd)
    config = attrs.evolve(config, password_file=str(missing))
    with pytest.raises(DirectoryError, match=r"directory\.password_file .*nope\.secret: cannot read"):
        load_from_ldap(config)


def test_server_down_is_a_clear_connect_error(tmp_path, slapd):
    url = f"ldap://127.0.0.1:{free_port()}"  # nothing listens there
    config = directory_config(tmp_path, slapd, url=url)
    with pytest.raises(DirectoryError) as caught:
        load_from_ldap(config)
    message = str(caught.value)
    assert url in message and "cannot connect" in message and "refused" in message.lower()


def test_missing_search_base_names_it(tmp_path, slapd):
    config = directory_config(tmp_path, slapd, search_dn="CN=Nowhere,DC=example,DC=com")
    with pytest.raises(DirectoryError) as caught:
        load_from_ldap(config)
    assert "CN=Nowhere,DC=example,DC=com" in str(caught.value) and "noSuchObject" in str(caught.value)


def test_page_size_above_the_server_limit_is_reported(tmp_path, slapd):
    config = directory_config(tmp_path, slapd, page_size=PAGE_LIMIT * 2)
    with pytest.raises(DirectoryError) as caught:
        load_from_ldap(config)
    assert "page size" in str(caught.value)
