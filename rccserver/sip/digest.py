"""HTTP digest authentication as SIP uses it (RFC 3261 section 22, RFC 7616, RFC 8760), sans-IO.

Server side: `DigestServer` builds `WWW-Authenticate` / `Proxy-Authenticate`
challenges and verifies `Authorization` / `Proxy-Authorization` credentials.
Client side: `DigestClient` answers a 401 or 407 (the trunk answering its carrier).
The header grammar lives in `parse_challenge` / `parse_credentials`, which raise
only `DigestError`, whatever the text.

Nonces carry their issue time and an HMAC over it made with the server's
secret, so verifying one needs no table of issued nonces. Only replay
protection needs memory: the highest `nc` seen per nonce, in a bounded table
that forgets the oldest nonces first and then refuses (as stale) every nonce
issued no later than the newest one it forgot.

Verification outcomes follow one rule: a response that is right proves the
password, so anything else wrong with it (a nonce that expired, was signed
with an old secret, or a replayed `nc`) is *stale* -- the client retries with
a fresh nonce without asking anyone for a password (RFC 7616 section 3.3).
A wrong response, an unknown user, a different realm or URI, or something
we did not offer is *rejected*.

Nothing here reads a clock or the system's randomness: `now` is passed in,
and nonces and cnonces are made from a `random_bytes(n)` callable.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import struct
from collections import OrderedDict
from typing import Callable, Iterable

import attrs

from rccserver.sip.message import Request, Response
from rccserver.sip.uri import quote_string, uri_equal

RandomBytes = Callable[[int], bytes]

DEFAULT_NONCE_LIFETIME = 300.0
# Pool members' clocks may disagree a little; a nonce from slightly in the future is fine.
CLOCK_SKEW = 2.0
# Limits on a header's text: a real one is a few hundred characters with about ten parameters.
MAX_HEADER_CHARS = 8192
MAX_PARAMS = 32


class DigestError(ValueError):
    """A challenge or credentials header that cannot be used; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Algorithm(enum.Enum):
    """The digest algorithms of RFC 7616 section 3.3 (the tokens of RFC 8760)."""

    MD5 = "MD5"
    MD5_SESS = "MD5-sess"
    SHA256 = "SHA-256"
    SHA256_SESS = "SHA-256-sess"
    SHA512_256 = "SHA-512-256"
    SHA512_256_SESS = "SHA-512-256-sess"

    @property
    def session(self) -> bool:
        """A "-sess" variant: HA1 also covers the nonce and cnonce."""
        return self.value.endswith("-sess")

    @property
    def hash_name(self) -> str:
        return _HASH_NAMES[self.value.removesuffix("-sess")]

    def hash(self, data: str | bytes) -> str:
        """Lowercase hex digest. Text is hashed as the octets it came from (UTF-8, surrogateescape)."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        return hashlib.new(self.hash_name, data).hexdigest()

    @property
    def hex_length(self) -> int:
        return 32 if self.hash_name == "md5" else 64


_HASH_NAMES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
_BY_TOKEN = {algorithm.value.lower(): algorithm for algorithm in Algorithm}

# What our server offers, most preferred first (RFC 8760 section 2.4: SHA-256 before MD5).
SERVER_ALGORITHMS = (Algorithm.SHA256, Algorithm.MD5)


def algorithm_named(token: str | None) -> Algorithm | None:
    """The algorithm a header names: absent means MD5 (RFC 7616 section 3.3); unknown is None."""
    if token is None:
        return Algorithm.MD5
    return _BY_TOKEN.get(token.lower())


# --------------------------------------------------------------------------
# Computing HA1 and the response (RFC 7616 section 3.4.1 - 3.4.3)


def compute_ha1(algorithm: Algorithm, username: str, realm: str, password: str) -> str:
    """H(username:realm:password), the per-realm secret (before any "-sess" step)."""
    return algorithm.hash(f"{username}:{realm}:{password}")


def compute_response(
    algorithm: Algorithm,
    *,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The `response` value. Without qop this is the RFC 2069 form H(HA1:nonce:HA2).

    `nc` is used exactly as written on the wire (normally 8 hex digits).
    """
    if algorithm.session:
        ha1 = algorithm.hash(f"{ha1}:{nonce}:{cnonce or ''}")
    a2 = f"{method}:{uri}"
    if qop is not None and qop.lower() == "auth-int":
        a2 = f"{a2}:{algorithm.hash(body)}"
    ha2 = algorithm.hash(a2)
    if qop is None:
        return algorithm.hash(f"{ha1}:{nonce}:{ha2}")
    return algorithm.hash(f"{ha1}:{nonce}:{nc or ''}:{cnonce or ''}:{qop}:{ha2}")


# --------------------------------------------------------------------------
# Header grammar: scheme, then comma-separated name=value pairs (RFC 3261 section 25)

_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
# Unquoted values are read leniently: some stacks send nonces or URIs without quotes.
_BARE_VALUE_END = frozenset(' \t,"')
_BLANKS = frozenset(" \t")
_SEPARATORS = frozenset(" \t,")
_NC = re.compile(r"[0-9A-Fa-f]{1,8}")


def _parse_header(value: str, what: str) -> dict[str, str]:
    """{lowercase name: unescaped value} of a Digest challenge or credentials header."""
    if not isinstance(value, str):
        raise DigestError(f"{what} must be text")
    if len(value) > MAX_HEADER_CHARS:
        raise DigestError(f"{what} is longer than {MAX_HEADER_CHARS} characters")
    if any(c in value for c in "\r\n\x00"):
        raise DigestError(f"{what} contains CR, LF or NUL")
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise DigestError(f"{what} contains characters that are not text") from None
    text = value.strip(" \t")
    end = _skip(text, 0, _TOKEN_CHARS)
    scheme = text[:end]
    if not scheme:
        raise DigestError(f"{what} does not start with an authentication scheme")
    if end < len(text) and text[end] not in _BLANKS:
        raise DigestError(f"{what}: unexpected {text[end]!r} after the scheme {scheme!r}")
    if scheme.lower() != "digest":
        raise DigestError(f"{what} uses the {scheme!r} scheme, not Digest")
    params: dict[str, str] = {}
    pos = end
    while (pos := _skip(text, pos, _SEPARATORS)) < len(text):  # empty list elements are allowed
        start, pos = pos, _skip(text, pos, _TOKEN_CHARS)
        name = text[start:pos].lower()
        if not name:
            raise DigestError(f"{what}: expected a parameter name at {text[start:start + 20]!r}")
        pos = _skip(text, pos, _BLANKS)
        if text[pos:pos + 1] != "=":
            raise DigestError(f"{what}: parameter {name!r} has no '=' value")
        pos = _skip(text, pos + 1, _BLANKS)
        if text[pos:pos + 1] == '"':
            param, pos = _read_quoted(text, pos, what, name)
        else:
            start, pos = pos, _skip_until(text, pos, _BARE_VALUE_END)
            param = text[start:pos]
            if not param:
                raise DigestError(f"{what}: parameter {name!r} has an empty value")
        pos = _skip(text, pos, _BLANKS)
        if pos < len(text) and text[pos] != ",":
            raise DigestError(f"{what}: expected ',' after parameter {name!r}, found {text[pos:pos + 20]!r}")
        if name in params:
            raise DigestError(f"{what}: parameter {name!r} appears twice")
        if len(params) >= MAX_PARAMS:
            raise DigestError(f"{what} has more than {MAX_PARAMS} parameters")
        params[name] = param
    if not params:
        raise DigestError(f"{what} has no parameters")
    return params


def _skip(text: str, pos: int, chars: frozenset[str]) -> int:
    """The first index from `pos` whose character is not in `chars`."""
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _skip_until(text: str, pos: int, chars: frozenset[str]) -> int:
    """The first index from `pos` whose character is in `chars`."""
    while pos < len(text) and text[pos] not in chars:
        pos += 1
    return pos


def _read_quoted(text: str, pos: int, what: str, name: str) -> tuple[str, int]:
    """The unescaped content of the quoted-string starting at text[pos] == '"', and the index after it."""
    out: list[str] = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            if pos + 1 >= len(text):
                break
            out.append(text[pos + 1])
            pos += 2
        elif char == '"':
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    raise DigestError(f"{what}: the quoted value of {name!r} is not terminated")


def _require(params: dict[str, str], name: str, what: str) -> str:
    value = params.get(name)
    if value is None:
        raise DigestError(f"{what} has no {name}")
    return value


def _format(scheme_params: Iterable[tuple[str, str | None, bool]]) -> str:
    """'Digest a="x", b=y' from (name, value, quoted); None values are left out.

    A value meant to go unquoted is quoted anyway when it could not be read back bare.
    """
    parts = []
    for name, value, quoted in scheme_params:
        if value is None:
            continue
        if quoted or not value or not _BARE_VALUE_END.isdisjoint(value):
            value = quote_string(value)
        parts.append(f"{name}={value}")
    return "Digest " + ", ".join(parts)


# --------------------------------------------------------------------------
# Challenges


@attrs.frozen(kw_only=True)
class DigestChallenge:
    """One `WWW-Authenticate` / `Proxy-Authenticate` value. `algorithm` is the token as written."""

    realm: str
    nonce: str
    algorithm: str | None = None
    qop: tuple[str, ...] = ()  # lowercase options; empty: an RFC 2069 challenge
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None

    @property
    def algorithm_kind(self) -> Algorithm | None:
        """The algorithm (MD5 when absent), or None when we do not know it."""
        return algorithm_named(self.algorithm)

    def header_value(self) -> str:
        return _format((
            ("realm", self.realm, True),
            ("domain", self.domain, True),
            ("nonce", self.nonce, True),
            ("opaque", self.opaque, True),
            ("algorithm", self.algorithm, False),
            ("qop", ",".join(self.qop) if self.qop else None, True),
            ("stale", "true" if self.stale else None, False),
        ))


def parse_challenge(value: str) -> DigestChallenge:
    """Parse a `WWW-Authenticate` / `Proxy-Authenticate` value; raises DigestError only."""
    what = "challenge"
    params = _parse_header(value, what)
    qop = params.get("qop")
    return DigestChallenge(
        realm=_require(params, "realm", what),
        nonce=_require(params, "nonce", what),
        algorithm=params.get("algorithm"),
        qop=() if qop is None else tuple(o.strip(" \t").lower() for o in qop.split(",") if o.strip(" \t")),
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
        domain=params.get("domain"),
    )


# --------------------------------------------------------------------------
# Credentials


@attrs.frozen(kw_only=True)
class DigestCredentials:
    """One `Authorization` / `Proxy-Authorization` value; fields as written (quoted ones unescaped)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str | None = None
    cnonce: str | None = None
    opaque: str | None = None
    qop: str | None = None
    nc: str | None = None

    @property
    def algorithm_kind(self) -> Algorithm | None:
        return algorithm_named(self.algorithm)

    @property
    def nonce_count(self) -> int | None:
        return None if self.nc is None else int(self.nc, 16)

    def header_value(self) -> str:
        return _format((
            ("username", self.username, True),
            ("realm", self.realm, True),
            ("nonce", self.nonce, True),
            ("uri", self.uri, True),
            ("response", self.response, True),
            ("algorithm", self.algorithm, False),
            ("cnonce", self.cnonce, True),
            ("opaque", self.opaque, True),
            ("qop", self.qop, False),
            ("nc", self.nc, False),
        ))


def parse_credentials(value: str) -> DigestCredentials:
    """Parse an `Authorization` / `Proxy-Authorization` value; raises DigestError only."""
    what = "credentials"
    params = _parse_header(value, what)
    nc = params.get("nc")
    if nc is not None and not _NC.fullmatch(nc):
        raise DigestError(f"credentials: nc must be 8 hexadecimal digits, not {nc[:20]!r}")
    qop = params.get("qop")
    if qop is not None and (nc is None or params.get("cnonce") is None):
        raise DigestError("credentials: qop needs both nc and cnonce")
    return DigestCredentials(
        username=_require(params, "username", what),
        realm=_require(params, "realm", what),
        nonce=_require(params, "nonce", what),
        uri=_require(params, "uri", what),
        response=_require(params, "response", what),
        algorithm=params.get("algorithm"),
        cnonce=params.get("cnonce"),
        opaque=params.get("opaque"),
        qop=qop,
        nc=nc,
    )


def answer_challenge(
    challenge: DigestChallenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    cnonce: str,
    nc: int = 1,
    body: bytes = b"",
) -> DigestCredentials:
    """The credentials that answer `challenge` for this request (RFC 7616 section 3.4).

    qop `auth` is preferred over `auth-int`; a challenge without qop is answered in
    the RFC 2069 form (no cnonce, no nc). Raises DigestError for an algorithm or a
    qop we cannot do.
    """
    algorithm = challenge.algorithm_kind
    if algorithm is None:
        raise DigestError(f"unsupported algorithm {challenge.algorithm!r}")
    if not challenge.qop:
        qop = None
    elif "auth" in challenge.qop:
        qop = "auth"
    elif "auth-int" in challenge.qop:
        qop = "auth-int"
    else:
        raise DigestError(f"unsupported qop {','.join(challenge.qop)!r}")
    if not 1 <= nc <= 0xFFFFFFFF:
        raise ValueError(f"nc must be in 1..2**32-1, not {nc}")
    uses_cnonce = qop is not None or algorithm.session
    nc_text = f"{nc:08x}" if qop is not None else None
    response = compute_response(
        algorithm, ha1=compute_ha1(algorithm, username, challenge.realm, password), nonce=challenge.nonce,
        method=method, uri=uri, qop=qop, nc=nc_text, cnonce=cnonce if uses_cnonce else None, body=body)
    return DigestCredentials(
        username=username, realm=challenge.realm, nonce=challenge.nonce, uri=uri, response=response,
        algorithm=challenge.algorithm, cnonce=cnonce if uses_cnonce else None, opaque=challenge.opaque,
        qop=qop, nc=nc_text)


# --------------------------------------------------------------------------
# The server side


@attrs.frozen
class StoredSecret:
    """What the server knows of one user: the password, or only its MD5 HA1 (lowercase hex)."""

    password: str | None = attrs.field(default=None, repr=False)
    ha1_md5: str | None = attrs.field(default=None, repr=False)
    offered: tuple[Algorithm, ...] = SERVER_ALGORITHMS  # what the server is configured to offer

    def __attrs_post_init__(self) -> None:
        if self.password is None and self.ha1_md5 is None:
            raise ValueError("a stored secret needs a password or an MD5 HA1")

    @property
    def algorithms(self) -> tuple[Algorithm, ...]:
        """What we may offer (and accept from) this user, most preferred first: the offered
        algorithms the secret can answer; an MD5 HA1 answers MD5 only."""
        if self.password is not None:
            return self.offered
        return tuple(a for a in self.offered if a.hash_name == "md5")

    def ha1(self, algorithm: Algorithm, username: str, realm: str) -> str:
        if self.password is not None:
            return compute_ha1(algorithm, username, realm, self.password)
        if algorithm.hash_name != "md5" or self.ha1_md5 is None:
            raise ValueError(f"an MD5 HA1 cannot answer {algorithm.value}")
        return self.ha1_md5.lower()


class Outcome(enum.Enum):
    VALID = "valid"
    STALE = "stale"  # the response is right, the nonce is not usable: challenge again with stale=true
    REJECTED = "rejected"  # wrong or unusable credentials: challenge again (or refuse)


@attrs.frozen
class Verification:
    outcome: Outcome
    username: str
    reason: str  # for the log; never sent to the client

    @property
    def valid(self) -> bool:
        return self.outcome is Outcome.VALID


# Unknown users are checked against this, so that they cost the same work as known ones.
_NOBODY = StoredSecret(password="\x00no such user\x00")

_NONCE_BYTES = 8 + 12 + 16  # issue time (ms), randomness, truncated HMAC-SHA-256
_NONCE_TEXT = re.compile(r"[A-Za-z0-9_-]{48}")


class _NonceCounts:
    """Highest nc accepted per nonce, for at most `capacity` nonces (the oldest are forgotten).

    A forgotten nonce could be replayed, so every nonce issued no later than the
    newest one forgotten is refused from then on (the client gets a fresh nonce).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the nonce table needs room for at least one nonce")
        self.capacity = capacity
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()  # nonce -> (issued, highest nc)
        self._forgotten_up_to = float("-inf")

    def __len__(self) -> int:
        return len(self._seen)

    def accept(self, nonce: str, issued: float, nc: int, *, expired_before: float) -> bool:
        """Record `nc` for `nonce` if it is higher than any before; False for a replay."""
        while self._seen:  # nonces past their lifetime are refused anyway: drop them first
            _, (first_issued, _) = next(iter(self._seen.items()))
            if first_issued >= expired_before:
                break
            self._seen.popitem(last=False)
        entry = self._seen.get(nonce)
        if entry is None:
            if issued <= self._forgotten_up_to:
                return False
            if len(self._seen) >= self.capacity:
                _, (forgotten, _) = self._seen.popitem(last=False)
                self._forgotten_up_to = max(self._forgotten_up_to, forgotten)
        elif nc <= entry[1]:
            return False
        self._seen[nonce] = (issued, nc)
        return True


class DigestServer:
    """Challenges and verifies digest credentials for one realm.

    `proxy=True` speaks 407 headers (`Proxy-Authenticate` / `Proxy-Authorization`)
    instead of 401 ones. `secret` signs nonces: servers that share it accept each
    other's nonces (a pool); a new secret makes older nonces stale, never wrong.
    """

    def __init__(
        self,
        *,
        realm: str,
        secret: bytes,
        random_bytes: RandomBytes,
        nonce_lifetime: float = DEFAULT_NONCE_LIFETIME,
        max_tracked_nonces: int = 4096,
        proxy: bool = False,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the nonce secret must be at least 16 bytes")
        if nonce_lifetime <= 0:
            raise ValueError("the nonce lifetime must be positive")
        self.realm = realm
        self.nonce_lifetime = nonce_lifetime
        self.challenge_header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        self.credentials_header = "Proxy-Authorization" if proxy else "Authorization"
        self._secret = secret
        self._random_bytes = random_bytes
        self._counts = _NonceCounts(max_tracked_nonces)

    # --- nonces

    def new_nonce(self, now: float) -> str:
        raw = struct.pack(">q", round(now * 1000)) + self._random_bytes(12)
        return base64.urlsafe_b64encode(raw + self._sign(raw)).decode("ascii")

    def _sign(self, raw: bytes) -> bytes:
        message = b"rccserver digest nonce\x00" + self.realm.encode("utf-8", "surrogateescape") + b"\x00" + raw
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:16]

    def _issued(self, nonce: str) -> float | None:
        """When we issued `nonce`, or None if it is not one of ours (under the current secret)."""
        if not _NONCE_TEXT.fullmatch(nonce):
            return None
        data = base64.urlsafe_b64decode(nonce)
        raw, mac = data[:20], data[20:]
        if not hmac.compare_digest(mac, self._sign(raw)):
            return None
        return struct.unpack(">q", raw[:8])[0] / 1000

    # --- challenges

    def challenges(
        self, now: float, algorithms: Iterable[Algorithm] = SERVER_ALGORITHMS, *, stale: bool = False
    ) -> list[DigestChallenge]:
        """One challenge per algorithm, in the order given, sharing one fresh nonce."""
        nonce = self.new_nonce(now)
        return [DigestChallenge(realm=self.realm, nonce=nonce, algorithm=algorithm.value, qop=("auth",),
                                stale=stale) for algorithm in algorithms]

    def challenge_headers(
        self, now: float, algorithms: Iterable[Algorithm] = SERVER_ALGORITHMS, *, stale: bool = False
    ) -> list[tuple[str, str]]:
        """The header fields of a 401 (or 407): one per algorithm (RFC 8760 section 2.4)."""
        return [(self.challenge_header, challenge.header_value())
                for challenge in self.challenges(now, algorithms, stale=stale)]

    # --- credentials

    def credentials_in(self, request: Request) -> DigestCredentials | None:
        """The request's digest credentials for our realm, or None if it has none.

        Headers of other schemes or realms are skipped; a Digest header that does
        not parse raises DigestError (a clear refusal, never a silent challenge).
        """
        for value in request.headers.get_all(self.credentials_header):
            scheme = value.strip(" \t").split(None, 1)[0] if value.strip(" \t") else ""
            if scheme.lower() != "digest":
                continue
            credentials = parse_credentials(value)
            if credentials.realm == self.realm:
                return credentials
        return None

    def verify(
        self,
        credentials: DigestCredentials,
        *,
        method: str,
        uri: str,
        secret: StoredSecret | None,
        now: float,
    ) -> Verification:
        """Check credentials against the request (`uri`: its Request-URI) and the user's secret.

        `secret` None means an unknown user: the work is done against a dummy secret
        and the outcome is REJECTED, as for a wrong password.
        """
        username = credentials.username

        def rejected(reason: str) -> Verification:
            return Verification(Outcome.REJECTED, username, reason)

        def stale(reason: str) -> Verification:
            return Verification(Outcome.STALE, username, reason)

        known = secret is not None
        secret = secret if secret is not None else _NOBODY
        if credentials.realm != self.realm:
            return rejected(f"realm {credentials.realm!r} is not {self.realm!r}")
        algorithm = credentials.algorithm_kind
        if algorithm is None or algorithm not in secret.algorithms:
            return rejected(f"algorithm {credentials.algorithm!r} was not offered")
        qop = credentials.qop.lower() if credentials.qop is not None else None
        if qop not in (None, "auth"):
            return rejected(f"qop {credentials.qop!r} was not offered")
        if not (credentials.uri == uri or uri_equal(credentials.uri, uri)):
            return rejected(f"uri {credentials.uri!r} is not the Request-URI {uri!r}")
        expected = compute_response(
            algorithm, ha1=secret.ha1(algorithm, username, self.realm), nonce=credentials.nonce, method=method,
            uri=credentials.uri, qop=credentials.qop, nc=credentials.nc, cnonce=credentials.cnonce)
        right = hmac.compare_digest(expected.encode("ascii"),
                                    credentials.response.lower().encode("utf-8", "surrogateescape"))
        if not known:
            return rejected("unknown user")
        if not right:
            return rejected("wrong response (wrong password?)")
        issued = self._issued(credentials.nonce)
        if issued is None:
            return stale("nonce not issued by this server (or under an older secret)")
        if now - issued > self.nonce_lifetime:
            return stale(f"nonce expired {now - issued - self.nonce_lifetime:.0f} s ago")
        if issued - now > CLOCK_SKEW:
            return stale("nonce issued in the future")
        # Without qop there is no nc: such a nonce is good for one request.
        count = credentials.nonce_count if qop is not None else 1
        assert count is not None  # parse_credentials demands nc with qop
        if not self._counts.accept(credentials.nonce, issued, count, expired_before=now - self.nonce_lifetime):
            return stale(f"nonce count {credentials.nc or 'none'} was already used with this nonce")
        return Verification(Outcome.VALID, username, "valid")


# --------------------------------------------------------------------------
# The client side


class DigestClient:
    """Answers 401 / 407 challenges with one account (username and password).

    Counts `nc` per nonce, so a nonce may be reused for later requests; keeps at
    most `max_nonces` nonces (the oldest are forgotten: their next use starts a
    fresh challenge round instead).
    """

    def __init__(self, username: str, password: str, random_bytes: RandomBytes, *, max_nonces: int = 32) -> None:
        self.username = username
        self._password = password
        self._random_bytes = random_bytes
        self._max_nonces = max_nonces
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()

    def authorize(self, challenge: DigestChallenge, *, method: str, uri: str, body: bytes = b"") -> DigestCredentials:
        """Credentials for one request answering `challenge`; raises DigestError if we cannot."""
        key = (challenge.realm, challenge.nonce)
        nc = self._counts.get(key, 0) + 1
        credentials = answer_challenge(
            challenge, username=self.username, password=self._password, method=method, uri=uri,
            cnonce=base64.urlsafe_b64encode(self._random_bytes(12)).decode("ascii"), nc=nc, body=body)
        self._counts.pop(key, None)  # re-inserted last: the most recently used nonce is kept longest
        self._counts[key] = nc
        while len(self._counts) > self._max_nonces:
            self._counts.popitem(last=False)
        return credentials

    def answer(self, response: Response, *, method: str, uri: str, body: bytes = b"") -> tuple[str, str]:
        """The (header name, value) that answers a 401 or 407 for a new attempt of the request.

        Uses the first challenge we can answer, in the order the server listed them
        (RFC 8760 section 2.4: most preferred first). Raises DigestError if none.
        """
        if response.status == 401:
            challenge_name, credentials_name = "WWW-Authenticate", "Authorization"
        elif response.status == 407:
            challenge_name, credentials_name = "Proxy-Authenticate", "Proxy-Authorization"
        else:
            raise DigestError(f"a {response.status} response is no challenge")
        problems = []
        for value in response.headers.get_all(challenge_name):
            try:
                challenge = parse_challenge(value)
                credentials = self.authorize(challenge, method=method, uri=uri, body=body)
            except DigestError as error:
                problems.append(error.reason)
                continue
            return credentials_name, credentials.header_value()
        raise DigestError(f"no {challenge_name} challenge we can answer"
                          + (f" ({'; '.join(problems)})" if problems else ""))
