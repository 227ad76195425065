"""CIC users, stations and feature licences (SPEC section 5), from a TOML file.

Duplicate user ids or station extensions are errors (file, line, key); a
domain account shared by two users is legal here and reported by
check-config as a warning (the logon then answers Cs_AmbiguousUser).

A station is `simulated` (the embedded switch plays the phone) or `sip` (a real
phone registers with us, SPEC section 9). Only a SIP station may carry the
phone keys (`sip_user`, `password`/`ha1`, `auto_answer`, `remote_answer`): on
a simulated station they would silently do nothing, so they are errors there.
A SIP station needs exactly one of `password` and `ha1`; `sip_user` defaults
to the extension and must be unique among SIP stations, because it is the
digest user name the registrar looks the phone up by.
"""
from __future__ import annotations

import os
import re
from typing import Iterable

import attrs

from rccserver.common.numbers import MAX_DIGITS, is_valid_extension, line_number
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


SIMULATED = "simulated"
SIP = "sip"
STATION_TYPES = (SIMULATED, SIP)
# How MakeCall's first call asks a SIP phone to go off-hook by itself (SPEC section 9).
AUTO_ANSWER_HINTS = ("call-info", "alert-info", "none")
# Call-Info answer-after is understood by the widest range of phones, and a phone that
# ignores it simply rings: MakeCall still works, one key press later.
DEFAULT_AUTO_ANSWER = "call-info"
REMOTE_ANSWER_METHODS = ("talk-event", "none")
DEFAULT_REMOTE_ANSWER = "none"


@attrs.frozen
class Station:
    name: str
    extension: str
    identification_address: str | None
    type: str = SIMULATED
    # The fields below mean something only for type "sip" (None / defaults otherwise).
    sip_user: str | None = None
    # Secrets stay out of repr() so that a logged station never shows them.
    password: str | None = attrs.field(default=None, repr=False)
    ha1: str | None = attrs.field(default=None, repr=False)  # md5("user:realm:password"), lowercase hex
    auto_answer: str = DEFAULT_AUTO_ANSWER
    remote_answer: str = DEFAULT_REMOTE_ANSWER

    @property
    def is_sip(self) -> bool:
        return self.type == SIP


class CicData:
    """Immutable after construction; lookups are O(1) dictionary reads."""

    def __init__(self, users: Iterable[CicUser], stations: Iterable[Station], features: Iterable[str]) -> None:
        self._start(features)
        self._index_users(users)
        self._index_stations(stations)
        self._finish()

    @classmethod
    def building(cls, features: Iterable[str]) -> CicData:
        """An empty CicData to fill a slice at a time (add_users, add_stations), then finish()
        before anyone reads it: a reload builds a large one without one long stall."""
        data = cls.__new__(cls)
        data._start(features)
        return data

    def add_users(self, users: Iterable[CicUser]) -> None:
        self._index_users(users)

    def add_stations(self, stations: Iterable[Station]) -> None:
        self._index_stations(stations)

    def finish(self) -> None:
        self._finish()

    def _start(self, features: Iterable[str]) -> None:
        self.features = frozenset(features)
        self._users: list[CicUser] = []
        self._stations: list[Station] = []
        self._by_id: dict[str, CicUser] = {}
        self._by_account: dict[str, list[CicUser]] = {}
        self._by_extension: dict[str, Station] = {}
        self._by_number: dict[str, Station] = {}
        self._by_address: dict[str, Station] = {}
        self._by_sip_user: dict[str, Station] = {}

    def _index_users(self, users: Iterable[CicUser]) -> None:
        by_id, by_account = self._by_id, self._by_account
        for user in users:
            self._users.append(user)
            by_id[user.id] = user
            by_account.setdefault(user.nt_domain_user.lower(), []).append(user)

    def _index_stations(self, stations: Iterable[Station]) -> None:
        for s in stations:
            self._stations.append(s)
            self._by_extension[s.extension] = s
            self._by_number[line_number(s.extension)] = s
            if s.identification_address:
                self._by_address[s.identification_address] = s
            if s.is_sip and s.sip_user:
                self._by_sip_user[s.sip_user] = s

    def _finish(self) -> None:
        self.users = tuple(self._users)
        self.stations = tuple(self._stations)
        del self._users, self._stations

    def has_feature(self, name: str) -> bool:
        return name in self.features

    def user_by_id(self, user_id: str) -> CicUser | None:
        return self._by_id.get(user_id)

    def users_by_domain_account(self, account: str) -> list[CicUser]:
        return list(self._by_account.get(account.lower(), ()))

    def station_by_extension(self, extension: str) -> Station | None:
        return self._by_extension.get(extension)

    def station_by_sip_user(self, sip_user: str) -> Station | None:
        """The SIP station whose digest user name (and AOR user part) is `sip_user`; exact match."""
        return self._by_sip_user.get(sip_user)

    @property
    def sip_stations(self) -> tuple[Station, ...]:
        return tuple(s for s in self.stations if s.is_sip)

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
_STATION_KEYS = {"name", "extension", "identification_address", "type"}
_SIP_STATION_KEYS = {"sip_user", "password", "ha1", "auto_answer", "remote_answer"}
# A user part that needs no %-escaping in a SIP URI and no escaping in a quoted digest
# username, so the AOR user and the digest user name are the same string on the wire.
_SIP_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$]+")
_HA1 = re.compile(r"[0-9A-Fa-f]{32}")


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


def _choice(doc: TomlDocument, key: str, table: dict, name: str, choices: tuple[str, ...], default: str) -> str:
    value = table.get(name, default)
    if value not in choices:
        raise doc.error(f"{key}.{name}", f"must be one of {', '.join(repr(c) for c in choices)} (got {value!r})")
    return value


def _sip_fields(doc: TomlDocument, key: str, table: dict, extension: str) -> dict:
    """The phone keys of a `type = "sip"` station, checked."""
    sip_user = _string(doc, key, table, "sip_user", required=False) or extension
    if not _SIP_USER.fullmatch(sip_user):
        raise doc.error(f"{key}.sip_user", "must be letters, digits and -_.!~*'()&=+$ only "
                        f"(it is the digest user name and the user part of the phone's SIP URI; got {sip_user!r})")
    # A password is used exactly as written: surrounding spaces are part of it.
    password = table.get("password")
    if password is not None and (not isinstance(password, str) or not password):
        raise doc.error(f"{key}.password", "must be a non-empty string")
    ha1 = table.get("ha1")
    if ha1 is not None:
        if not isinstance(ha1, str) or not _HA1.fullmatch(ha1):
            raise doc.error(f"{key}.ha1", f"must be 32 hexadecimal digits, md5(\"user:realm:password\") "
                            f"(got {ha1!r})")
        ha1 = ha1.lower()
    if password is None and ha1 is None:
        raise doc.error(key, "a SIP station needs password or ha1 (the phone's digest credentials)")
    if password is not None and ha1 is not None:
        raise doc.error(f"{key}.ha1", "give password or ha1, not both")
    return dict(
        sip_user=sip_user, password=password, ha1=ha1,
        auto_answer=_choice(doc, key, table, "auto_answer", AUTO_ANSWER_HINTS, DEFAULT_AUTO_ANSWER),
        remote_answer=_choice(doc, key, table, "remote_answer", REMOTE_ANSWER_METHODS, DEFAULT_REMOTE_ANSWER),
    )


def _is_digits_extension(text: str) -> bool:
    """CIC extensions are plain digits. The switch's own rule bounds the length and keeps
    out what str.isdigit also calls digits (other scripts, superscripts), which the
    switch would refuse when the server starts."""
    return text.isdigit() and is_valid_extension(text)


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
        if extension is not None and not _is_digits_extension(extension):
            raise doc.error(f"{key}.extension", f"must be digits, at most {MAX_DIGITS} (got {extension!r})")
        users.append(CicUser(
            id=user_id, nt_domain_user=account, extension=extension,
            client_license=_bool(doc, key, table, "client_license", False),
            allow_remote_number=_bool(doc, key, table, "allow_remote_number", False),
        ))
    stations: list[Station] = []
    seen_extensions: dict[str, int] = {}
    seen_addresses: dict[str, int] = {}
    seen_sip_users: dict[str, int] = {}
    if not isinstance(data.get("stations", []), list):
        raise doc.error("stations", "must be an array of tables [[stations]]")
    for index, table in enumerate(data.get("stations", [])):
        key = f"stations[{index}]"
        if not isinstance(table, dict):
            raise doc.error("stations", "must be an array of tables [[stations]]")
        for name in table:
            if name not in _STATION_KEYS | _SIP_STATION_KEYS:
                known = ", ".join(sorted(_STATION_KEYS | _SIP_STATION_KEYS))
                raise doc.error(f"{key}.{name}", f"unknown key (known: {known})")
        station_type = _choice(doc, key, table, "type", STATION_TYPES, SIMULATED)
        if station_type != SIP:
            for name in sorted(_SIP_STATION_KEYS & table.keys()):
                raise doc.error(f"{key}.{name}", f'only a SIP station has {name} (add type = "sip")')
        extension = _string(doc, key, table, "extension")
        number = line_number(extension)
        if not _is_digits_extension(number):
            raise doc.error(f"{key}.extension", f"must be digits, at most {MAX_DIGITS} (got {extension!r})")
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
        sip = _sip_fields(doc, key, table, number) if station_type == SIP else {}
        if sip:
            if sip["sip_user"] in seen_sip_users:
                raise doc.error(f"{key}.sip_user", f"duplicate sip_user {sip['sip_user']!r} "
                                f"(also stations[{seen_sip_users[sip['sip_user']]}])")
            seen_sip_users[sip["sip_user"]] = index
        stations.append(Station(name=_string(doc, key, table, "name"), extension=number,
                                identification_address=address, type=station_type, **sip))
    return CicData(users, stations, features)
