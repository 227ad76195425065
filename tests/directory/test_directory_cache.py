"""The AD cache snapshot: SIP URI lookups, the diff a reload reports (by SIP URI,
case-insensitive), and directory entries turned into users."""
from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from rccserver.directory import CacheDiff, DirectoryCache, DirectoryUser, diff
from rccserver.directory.entries import EntrySkipped, user_from_entry

import pytest


def user(name: str, line: str | None = "tel:+1001", enabled: bool = True, uri: str | None = None) -> DirectoryUser:
    return DirectoryUser(sip_uri=uri or f"sip:{name}@example.com", sam_account_name=name,
                         domain_account=f"EXAMPLE\\{name}", line=line, line_server=None, enabled=enabled,
                         display_name=name.title(), dn=f"CN={name},DC=example,DC=com")


@pytest.mark.parametrize("written", [
    "sip:John.Miller@Example.com", "SIP:john.miller@example.com", "john.miller@example.com",
    "<sip:john.miller@example.com>", "sip:john.miller@example.com;transport=tls", "  sip:john.miller@example.com ",
])
def test_lookup_is_case_insensitive_and_ignores_scheme_brackets_and_parameters(written):
    john = user("john", uri="sip:John.Miller@Example.com")
    cache = DirectoryCache([john])
    assert cache.lookup(written) is john
    assert written in cache


def test_lookup_misses():
    cache = DirectoryCache([user("alice")])
    assert cache.lookup("sip:bob@example.com") is None
    assert cache.lookup("sip:alice@example.org") is None
    assert "sip:bob@example.com" not in cache and 42 not in cache


def test_len_iteration_and_duplicates():
    first = user("alice")
    second = user("alice2", uri="SIP:ALICE@EXAMPLE.COM")
    cache = DirectoryCache([first, user("bob"), second], source="test")
    assert len(cache) == 2
    assert list(cache) == [first, user("bob")]
    [skipped] = cache.skipped
    assert skipped.dn == second.dn and "duplicate" in skipped.reason and first.dn in skipped.reason


def test_diff_by_sip_uri():
    old = DirectoryCache([user("alice"), user("bob"), user("carol")])
    new = DirectoryCache([user("alice"), user("bob", line="tel:+1009"), user("dave")])
    assert diff(old, new) == CacheDiff(added=("sip:dave@example.com",), removed=("sip:carol@example.com",),
                                       changed=("sip:bob@example.com",))
    assert old.diff(new) == diff(old, new)
    assert diff(new, new).empty and not diff(old, new).empty


def test_a_case_change_of_the_uri_is_a_change_not_an_add_and_remove():
    old = DirectoryCache([user("alice")])
    new = DirectoryCache([user("alice", uri="sip:Alice@example.com")])
    # shown as the newer cache writes it
    assert diff(old, new) == CacheDiff(added=(), removed=(), changed=("sip:Alice@example.com",))


def test_disabling_is_a_change_and_equal_data_is_none():
    old = DirectoryCache([user("alice")])
    assert old.diff(DirectoryCache([user("alice", enabled=False)])).changed == ("sip:alice@example.com",)
    assert old.diff(DirectoryCache([user("alice")])).empty  # equal users in another snapshot


versions = st.dictionaries(st.sampled_from([f"u{i}" for i in range(12)]), st.sampled_from(["tel:+1001", "tel:+1002"]),
                           max_size=12)


@given(versions, versions)
def test_diff_accounts_for_every_user(before, after):
    old = DirectoryCache([user(n, line=l) for n, l in before.items()])
    new = DirectoryCache([user(n, line=l) for n, l in after.items()])
    change = diff(old, new)
    uri = "sip:{}@example.com".format
    assert set(change.added) == {uri(n) for n in after.keys() - before.keys()}
    assert set(change.removed) == {uri(n) for n in before.keys() - after.keys()}
    assert set(change.changed) == {uri(n) for n in before.keys() & after.keys() if before[n] != after[n]}
    assert all(list(uris) == sorted(uris) for uris in (change.added, change.removed, change.changed))
    assert change.empty == (before == after)
    # Applying the diff's names to the old URIs gives the new URIs.
    assert ({u.sip_uri for u in old} - set(change.removed)) | set(change.added) == {u.sip_uri for u in new}


def test_the_cache_is_a_snapshot():
    users = [user("alice")]
    cache = DirectoryCache(users)
    users.append(user("bob"))
    assert len(cache) == 1 and cache.lookup("sip:bob@example.com") is None
    assert attrs.has(DirectoryUser)


def entry(**attributes: str) -> dict[str, list[str]]:
    return {name.replace("_", "-"): [value] for name, value in attributes.items()}


def test_entry_to_user():
    got = user_from_entry("CN=j,DC=x", {
        "sAMAccountName": ["jdoe"], "msRTCSIP-PrimaryUserAddress": [" sip:jdoe@example.com "],
        "msrtcsip-line": ["tel:+44770"], "msRTCSIP-LineServer": ["sip:rcc@rcc.example.com"],
        "msRTCSIP-UserEnabled": ["true"], "displayName;lang-en": ["J Doe"],
    }, "EXAMPLE")
    assert got == DirectoryUser(sip_uri="sip:jdoe@example.com", sam_account_name="jdoe",
                                domain_account="EXAMPLE\\jdoe", line="tel:+44770",
                                line_server="sip:rcc@rcc.example.com", enabled=True, display_name="J Doe",
                                dn="CN=j,DC=x")


@pytest.mark.parametrize("enabled, expected", [("TRUE", True), ("FALSE", False), ("yes", False), (None, False)])
def test_only_true_enables(enabled, expected):
    attributes = {"sAMAccountName": ["a"], "msRTCSIP-PrimaryUserAddress": ["sip:a@x"]}
    if enabled is not None:
        attributes["msRTCSIP-UserEnabled"] = [enabled]
    assert user_from_entry("CN=a", attributes, "X").enabled is expected


def test_non_lync_entries_are_not_users_and_broken_lync_entries_are_skipped():
    assert user_from_entry("CN=p", {"sAMAccountName": ["p"]}, "X") is None
    with pytest.raises(EntrySkipped, match="sAMAccountName"):
        user_from_entry("CN=p", {"msRTCSIP-PrimaryUserAddress": ["sip:p@x"]}, "X")
    with pytest.raises(EntrySkipped, match="not a sip:user@domain URI"):
        user_from_entry("CN=p", {"sAMAccountName": ["p"], "msRTCSIP-PrimaryUserAddress": ["tel:+1001"]}, "X")
