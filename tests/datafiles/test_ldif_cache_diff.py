"""What a reload reports: the difference between two AD caches, by SIP URI (case-insensitive)."""
from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from rccserver.directory.cache import DirectoryCache, DirectoryUser


def user(name: str, line: str = "tel:+1", enabled: bool = True, uri: str | None = None) -> DirectoryUser:
    return DirectoryUser(sip_uri=uri or f"sip:{name}@example.com", sam_account_name=name,
                         domain_account=f"EXAMPLE\\{name}", line=line, line_server=None, enabled=enabled,
                         display_name=None, dn=f"CN={name}")


def test_added_removed_changed():
    old = DirectoryCache([user("a"), user("b"), user("c")])
    new = DirectoryCache([user("a"), user("b", line="tel:+2"), user("d")])
    change = old.diff(new)
    assert (change.added, change.removed, change.changed) == (
        ("sip:d@example.com",), ("sip:c@example.com",), ("sip:b@example.com",))
    assert not change.empty


def test_disabling_is_a_change_and_same_data_is_none():
    old = DirectoryCache([user("a")])
    assert old.diff(DirectoryCache([user("a", enabled=False)])).changed == ("sip:a@example.com",)
    assert old.diff(DirectoryCache([user("a")])).empty


def test_uri_case_does_not_make_a_new_user():
    old = DirectoryCache([user("a")])
    change = old.diff(DirectoryCache([user("a", uri="sip:A@Example.com")]))
    assert change.added == () and change.removed == ()
    assert change.changed == ("sip:A@Example.com",)  # written differently: shown as the new cache has it


names = st.sampled_from([f"u{i}" for i in range(12)])
versions = st.dictionaries(names, st.sampled_from(["tel:+1", "tel:+2"]), max_size=12)


@given(versions, versions)
def test_diff_accounts_for_every_user(before, after):
    old = DirectoryCache([user(n, line) for n, line in before.items()])
    new = DirectoryCache([user(n, line) for n, line in after.items()])
    change = old.diff(new)
    uri = "sip:{}@example.com".format
    assert set(change.added) == {uri(n) for n in after.keys() - before.keys()}
    assert set(change.removed) == {uri(n) for n in before.keys() - after.keys()}
    assert set(change.changed) == {uri(n) for n in after.keys() & before.keys() if after[n] != before[n]}
    assert list(change.added) == sorted(change.added)
    assert change.empty == (before == after)


def test_the_cache_is_a_snapshot():
    users = [user("a")]
    cache = DirectoryCache(users)
    users.append(user("b"))
    assert len(cache) == 1 and cache.lookup("sip:b@example.com") is None
    assert attrs.has(DirectoryUser)
    assert "sip:a@example.com" in cache and "sip:A@EXAMPLE.COM;transport=tls" in cache
