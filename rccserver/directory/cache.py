"""The AD cache: an immutable snapshot of Lync users, looked up by SIP URI in O(1).

A reload builds a new DirectoryCache and swaps it in whole; readers never see
a half-built cache.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import attrs


class DirectoryError(Exception):
    """The directory could not be loaded (file and line, or server, and why)."""


def uri_key(uri: str) -> str:
    """Lookup key for a SIP URI: case-insensitive, `sip:` optional, no parameters or brackets."""
    text = uri.strip().strip("<>").split(";", 1)[0].strip().lower()
    if text.startswith("sip:"):
        text = text[4:]
    return text


@attrs.frozen
class DirectoryUser:
    sip_uri: str  # msRTCSIP-PrimaryUserAddress as written
    sam_account_name: str
    domain_account: str  # NETBIOS\sAMAccountName
    line: str | None  # msRTCSIP-Line
    line_server: str | None  # msRTCSIP-LineServer
    enabled: bool  # msRTCSIP-UserEnabled
    display_name: str | None
    dn: str


@attrs.frozen
class SkippedEntry:
    """A directory entry that looks like a Lync user but cannot be one (shown by check-config)."""

    dn: str
    reason: str
    where: str = ""  # "file:line" for LDIF, "" for LDAP


@attrs.frozen
class CacheDiff:
    """SIP URIs (as written in the newer cache, else the older) added, removed or changed."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class DirectoryCache:
    """Lync users by SIP URI. Duplicates of a SIP URI keep the first entry; the rest are skipped."""

    def __init__(self, users: Iterable[DirectoryUser], source: str = "",
                 skipped: Iterable[SkippedEntry] = ()) -> None:
        self._users: dict[str, DirectoryUser] = {}
        dropped = list(skipped)
        for user in users:
            key = uri_key(user.sip_uri)
            first = self._users.setdefault(key, user)
            if first is not user:
                dropped.append(SkippedEntry(user.dn, f"duplicate msRTCSIP-PrimaryUserAddress {user.sip_uri} "
                                                     f"(already used by {first.dn})"))
        self.source = source
        self.skipped: tuple[SkippedEntry, ...] = tuple(dropped)

    @classmethod
    def from_keyed(cls, users: dict[str, DirectoryUser], source: str = "",
                   skipped: Iterable[SkippedEntry] = ()) -> DirectoryCache:
        """A cache over `users`, already keyed by uri_key and without duplicates (a reload
        built them elsewhere): taken as is, not copied."""
        cache = cls.__new__(cls)
        cache._users = users
        cache.source = source
        cache.skipped = tuple(skipped)
        return cache

    def lookup(self, sip_uri: str) -> DirectoryUser | None:
        return self._users.get(uri_key(sip_uri))

    def __contains__(self, sip_uri: object) -> bool:
        return isinstance(sip_uri, str) and uri_key(sip_uri) in self._users

    def __len__(self) -> int:
        return len(self._users)

    def __iter__(self) -> Iterator[DirectoryUser]:
        return iter(self._users.values())

    def diff(self, newer: DirectoryCache) -> CacheDiff:
        return diff(self, newer)

    def __repr__(self) -> str:
        return f"<DirectoryCache {len(self)} users from {self.source or '?'}>"


def diff(old: DirectoryCache, new: DirectoryCache) -> CacheDiff:
    """What a swap from `old` to `new` changes, by SIP URI (case-insensitive)."""
    before, after = old._users, new._users
    return CacheDiff(
        added=tuple(sorted(after[k].sip_uri for k in after.keys() - before.keys())),
        removed=tuple(sorted(before[k].sip_uri for k in before.keys() - after.keys())),
        changed=tuple(sorted(after[k].sip_uri for k in after.keys() & before.keys() if after[k] != before[k])),
    )
