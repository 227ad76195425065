"""The SIP stations' digest secrets, and which algorithms each name is challenged with.

One object serves the registrar (REGISTER, 401) and the phone line (INVITE, 407),
so that both challenge a name the same way.  The algorithms offered are those of
`[stations_line] digest_algorithms` that the stored secret allows: a `password`
answers SHA-256 and MD5, an `ha1` (an MD5 hash) answers MD5 only.  Some phones give
up on any SHA-256 challenge (baresip 1.0), so a site can offer MD5 alone.

An unknown name is challenged like a real station picked by a keyed hash of the name
(the same one every time), so that the shape of a challenge never tells which
extensions exist.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Iterable

from rccserver.cic.data import Station
from rccserver.sip.digest import SERVER_ALGORITHMS, Algorithm, StoredSecret


class StationCredentials:
    def __init__(self, stations: Iterable[Station], *, secret: bytes,
                 offered: tuple[Algorithm, ...] = SERVER_ALGORITHMS) -> None:
        self.offered = tuple(offered)
        self._shape_key = hmac.new(secret, b"rccserver unknown-user challenge", hashlib.sha256).digest()
        self._secrets: dict[str, StoredSecret] = {}
        self._shapes: tuple[tuple[Algorithm, ...], ...] = ()
        self.replace(stations)

    def replace(self, stations: Iterable[Station]) -> None:
        sip = sorted((s for s in stations if s.is_sip and s.sip_user), key=lambda s: s.sip_user or "")
        self._secrets = {
            s.sip_user: StoredSecret(password=s.password, ha1_md5=s.ha1, offered=self.offered)
            for s in sip if s.sip_user
        }
        self._shapes = tuple(secret.algorithms for secret in self._secrets.values())

    def secret(self, sip_user: str | None) -> StoredSecret | None:
        return self._secrets.get(sip_user) if sip_user is not None else None

    def algorithms_for(self, user: str) -> tuple[Algorithm, ...]:
        """What to offer `user`: its station's algorithms; for an unknown user, those of a
        station picked by a keyed hash of the name."""
        secret = self._secrets.get(user)
        if secret is not None:
            return secret.algorithms
        if not self._shapes:
            return self.offered
        digest = hmac.new(self._shape_key, user.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
        return self._shapes[int.from_bytes(digest[:8], "big") % len(self._shapes)]

    def unanswerable(self) -> list[str]:
        """Stations whose secret cannot answer any offered algorithm (an ha1 when MD5 is not offered)."""
        return [user for user, secret in self._secrets.items() if not secret.algorithms]
