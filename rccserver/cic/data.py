"""CIC users, stations and feature licences (SPEC section 5), from a TOML file.

Duplicate user ids or station extensions are errors (file, line, key); a
domain account shared by two users is legal here and reported by
check-config as a warning (the logon then answers Cs_AmbiguousUser).
"""
from __future__ import annotations

import os
from typing import Iterable

import attrs

from rccserver.common.numbers import line_number
from rccserver.common.tomlfile import LocatedError, TomlDocument

LYNC_FEATURE = "I3_FEATURE_LYNC"


class CicDataError(LocatedError):
    """A problem in the CIC data file: file, line, key and what is wrong."""


@attrs.frozen
class CicUser:
    id: str
    nt_domain_user: str
    extension: str | None
    client_license: bool
    allow_remote_number: bool


@attrs.frozen
class Station:
    name: str
    extension: str
    identification_address: str | None


class CicData:
    """Immutable after construction; lookups are O(1) dictionary reads."""

    def __init__(self, users: Iterable[CicUser], stations: Iterable[Station], features: Iterable[str]) -> None:
        self.users = tuple(users)
        self.stations = tuple(stations)
        self.features = frozenset(features)
        self._by_id = {u.id: u for u in self.users}
        self._by_account: dict[str, list[CicUser]] = {}
        for user in self.users:
            self._by_account.setdefault(user.nt_domain_user.lower(), []).append(user)
        self._by_extension = {s.extension: s for s in self.stations}
        self._by_number = {line_number(s.extension): s for s in self.stations}
        self._by_address = {s.identification_address: s for s in self.stations if s.identification_address}

    def has_feature(self, name: str) -> bool:
        return name in self.features

    def user_by_id(self, user_id: str) -> CicUser | None:
        return self._by_id.get(user_id)

    def users_by_domain_account(self, account: str) -> list[CicUser]:
        return list(self._by_account.get(account.lower(), ()))

    def station_by_extension(self, extension: str) -> Station | None:
        return self._by_extension.get(extension)

    def station_for_line(self, line: str) -> Station | None:
        """SPEC 5: the line's number equals the extension, or the whole URI the identification address."""
        station = self._by_address.get(line)
        if station is not None:
            return station
        return self._by_number.get(line_number(line))

    def shared_domain_accounts(self) -> dict[str, list[str]]:
        return {
            users[0].nt_domain_user: [u.id for u in users]
            for users in self._by_account.values() if len(users) > 1
        }


_USER_KEYS = {"id", "nt_domain_user", "extension", "client_license", "allow_remote_number"}
_STATION_KEYS = {"name", "extension", "identification_address"}


def _string(doc: TomlDocument, key: str, table: dict, name: str, required: bool = True) -> str | None:
    value = table.get(name)
    if value is None:
        if required:
            raise doc.error(f"{key}.{name}" if name else key, "missing")
        return None
    if not isinstance(value, str) or not value.strip():
        raise doc.error(f"{key}.{name}", f"must be a non-empty string (got {value!r})")
    return value.strip()


def _bool(doc: TomlDocument, key: str, table: dict, name: str, default: bool) -> bool:
    value = table.get(name, default)
    if not isinstance(value, bool):
        raise doc.error(f"{key}.{name}", f"must be true or false (got {value!r})")
    return value


def load_cic_data(path: str | os.PathLike[str]) -> CicData:
    """Read and check a CIC data file; raises CicDataError naming file, line and key."""
    doc = TomlDocument(path, CicDataError)
    data = doc.data
    for name in data:
        if name not in ("licenses", "users", "stations"):
            raise doc.error(name, "unknown table (known: licenses, users, stations)")
    licenses = data.get("licenses", {})
    if not isinstance(licenses, dict):
        raise doc.error("licenses", "must be a table")
    for name in licenses:
        if name != "features":
            raise doc.error(f"licenses.{name}", "unknown key (known: features)")
    features = licenses.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise doc.error("licenses.features", "must be a list of strings")
    users: list[CicUser] = []
    seen_ids: dict[str, int] = {}
    if not isinstance(data.get("users", []), list):
        raise doc.error("users", "must be an array of tables [[users]]")
    for index, table in enumerate(data.get("users", [])):
        key = f"users[{index}]"
        if not isinstance(table, dict):
            raise doc.error("users", "must be an array of tables [[users]]")
        for name in table:
            if name not in _USER_KEYS:
                raise doc.error(f"{key}.{name}", f"unknown key (known: {', '.join(sorted(_USER_KEYS))})")
        user_id = _string(doc, key, table, "id")
        if user_id in seen_ids:
            raise doc.error(f"{key}.id", f"duplicate user id {user_id!r} (also users[{seen_ids[user_id]}])")
        seen_ids[user_id] = index
        account = _string(doc, key, table, "nt_domain_user")
        domain, _, name = account.partition("\\")
        if not domain or not name or "\\" in name:
            raise doc.error(f"{key}.nt_domain_user", f"must be DOMAIN\\account (got {account!r})")
        extension = _string(doc, key, table, "extension", required=False)
        if extension is not None and not extension.isdigit():
            raise doc.error(f"{key}.extension", f"must be digits (got {extension!r})")
        users.append(CicUser(
            id=user_id, nt_domain_user=account, extension=extension,
            client_license=_bool(doc, key, table, "client_license", False),
            allow_remote_number=_bool(doc, key, table, "allow_remote_number", False),
        ))
    stations: list[Station] = []
    seen_extensions: dict[str, int] = {}
    seen_addresses: dict[str, int] = {}
    if not isinstance(data.get("stations", []), list):
        raise doc.error("stations", "must be an array of tables [[stations]]")
    for index, table in enumerate(data.get("stations", [])):
        key = f"stations[{index}]"
        if not isinstance(table, dict):
            raise doc.error("stations", "must be an array of tables [[stations]]")
        for name in table:
            if name not in _STATION_KEYS:
                raise doc.error(f"{key}.{name}", f"unknown key (known: {', '.join(sorted(_STATION_KEYS))})")
        extension = _string(doc, key, table, "extension")
        number = line_number(extension)
        if not number.isdigit():
            raise doc.error(f"{key}.extension", f"must be digits (got {extension!r})")
        if number in seen_extensions:
            raise doc.error(f"{key}.extension",
                            f"duplicate station extension {extension!r} (also stations[{seen_extensions[number]}])")
        seen_extensions[number] = index
        address = _string(doc, key, table, "identification_address", required=False)
        if address is not None:
            if not address.lower().startswith(("tel:", "sip:", "sips:")):
                raise doc.error(f"{key}.identification_address", f"must be a tel: or sip: URI (got {address!r})")
            if address in seen_addresses:
                raise doc.error(f"{key}.identification_address", f"duplicate identification address "
                                f"{address!r} (also stations[{seen_addresses[address]}])")
            seen_addresses[address] = index
        stations.append(Station(name=_string(doc, key, table, "name"), extension=number,
                                identification_address=address))
    return CicData(users, stations, features)
