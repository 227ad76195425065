"""The AD cache: an immutable snapshot of Lync users, looked up by SIP URI in O(1).

A reload builds a new DirectoryCache and swaps it in whole; readers never see
a half-built cache.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import attrs


class DirectoryError(Exception):
    """The directory could not be loaded (file, line or server, and why)."""


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
class CacheDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class DirectoryCache:
    def __init__(self, users: Iterable[DirectoryUser], source: str = "") -> None:
        self._users: dict[str, DirectoryUser] = {}
        for user in users:
            # The first entry for a SIP URI wins; AD enforces uniqueness anyway.
            self._users.setdefault(uri_key(user.sip_uri), user)
        self.source = source

    def lookup(self, sip_uri: str) -> DirectoryUser | None:
        return self._users.get(uri_key(sip_uri))

    def __len__(self) -> int:
        return len(self._users)

    def __iter__(self) -> Iterator[DirectoryUser]:
        return iter(self._users.values())

    def diff(self, newer: "DirectoryCache") -> CacheDiff:
        old, new = self._users, newer._users
        return CacheDiff(
            added=tuple(sorted(new[k].sip_uri for k in new.keys() - old.keys())),
            removed=tuple(sorted(old[k].sip_uri for k in old.keys() - new.keys())),
            changed=tuple(sorted(new[k].sip_uri for k in new.keys() & old.keys() if new[k] != old[k])),
        )
