"""The logon decision (SPEC section 6) as a pure function.

Checks run in the SPEC's order and the first failure wins; the decision
carries the Cs_ code, the SIP status, a human detail naming the object at
fault, and every fact found on the way (for the Warning header, the RCCServer
log and the session). Nothing here changes state: the caller acquires the
station in the occupancy registry after a Cs_Success.
"""
from __future__ import annotations

import attrs

from rccserver.cic.data import LYNC_FEATURE, CicData
from rccserver.directory.cache import DirectoryCache
from rccserver.rcc.occupancy import OccupancyRegistry
from rccserver.common.numbers import canonical_number, line_number

CSTA_CONTENT_TYPE = "application/csta+xml"

SUCCESS = "Cs_Success"
BAD_REQUEST = "Cs_BadRequest"
# code -> SIP status of the answer (Cs_BadRequest is 415 for a wrong body type, else 400)
STATUS = {
    SUCCESS: 200,
    BAD_REQUEST: 400,
    "Cs_NoFeatureLicense": 403,
    "Cs_UserNotInDirectory": 404,
    "Cs_LineNotAssigned": 403,
    "Cs_UserNotFound": 404,
    "Cs_AmbiguousUser": 409,
    "Cs_NoClientLicense": 403,
    "Cs_StationNotFound": 404,
    "Cs_StationInUseByAnotherUser": 486,
}
UNSUPPORTED_MEDIA_TYPE = 415


@attrs.frozen
class LogonAttempt:
    content_type: str | None  # of the INVITE body, parameters removed, lower case
    csta_ok: bool  # the body decoded as a valid RequestSystemStatus
    line: str | None  # lcs:line exactly as sent
    from_uri: str  # the From URI


@attrs.frozen
class LogonDecision:
    code: str
    sip_status: int
    detail: str  # human text naming the object at fault (or the station granted)
    lync_uri: str
    domain_account: str | None = None
    cic_user: str | None = None  # CIC user id
    line: str | None = None  # as sent
    station: str | None = None  # extension of the matched station
    station_name: str | None = None
    remote_number: str | None = None  # a Cs_Success without a station: the number calls ring
    other_user: str | None = None  # Cs_StationInUseByAnotherUser: who holds the station

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def decide_logon(attempt: LogonAttempt, directory: DirectoryCache, cic: CicData,
                 occupancy: OccupancyRegistry) -> LogonDecision:
    facts: dict = {"lync_uri": attempt.from_uri, "line": attempt.line}

    def refuse(code: str, detail: str, status: int | None = None, **more) -> LogonDecision:
        return LogonDecision(code=code, sip_status=status or STATUS[code], detail=detail, **{**facts, **more})

    if _media_type(attempt.content_type) != CSTA_CONTENT_TYPE:
        return refuse(BAD_REQUEST, f"body type {attempt.content_type or 'none'} is not {CSTA_CONTENT_TYPE}",
                      status=UNSUPPORTED_MEDIA_TYPE)
    if not attempt.csta_ok:
        return refuse(BAD_REQUEST, "the body is not a valid CSTA RequestSystemStatus")
    if not cic.has_feature(LYNC_FEATURE):
        return refuse("Cs_NoFeatureLicense", f"the {LYNC_FEATURE} feature licence is not present")

    user = directory.lookup(attempt.from_uri)
    if user is None:
        return refuse("Cs_UserNotInDirectory", f"{attempt.from_uri} is not a Lync user in the AD cache")
    if not user.enabled:
        return refuse("Cs_UserNotInDirectory",
                      f"{attempt.from_uri} is not enabled for Lync (msRTCSIP-UserEnabled is not TRUE)")
    facts["domain_account"] = user.domain_account

    if not line_number(attempt.line) or line_number(attempt.line) != line_number(user.line):
        return refuse("Cs_LineNotAssigned", f"line {attempt.line or '(none)'} is not {user.sip_uri}'s "
                                            f"msRTCSIP-Line ({user.line or 'not set'})")

    candidates = cic.users_by_domain_account(user.domain_account)
    if not candidates:
        return refuse("Cs_UserNotFound", f"no CIC user has domain account {user.domain_account}")
    if len(candidates) > 1:
        ids = ", ".join(sorted(u.id for u in candidates))
        return refuse("Cs_AmbiguousUser", f"CIC users {ids} all have domain account {user.domain_account}")
    cic_user = candidates[0]
    facts["cic_user"] = cic_user.id
    if not cic_user.client_license:
        return refuse("Cs_NoClientLicense", f"CIC user {cic_user.id} has no client licence")

    station = cic.station_for_line(attempt.line)
    if station is None:
        if not cic_user.allow_remote_number:
            return refuse("Cs_StationNotFound", f"line {attempt.line} matches no CIC station")
        if not cic_user.extension:
            # A remote-number logon rings the number through the user's own extension.
            return refuse("Cs_StationNotFound", f"line {attempt.line} matches no CIC station, and CIC user "
                                                f"{cic_user.id} (remote number allowed) has no extension")
        if canonical_number(attempt.line) is None:
            # The switch rings the remote number, so it must be one it can dial (SPEC section 10).
            return refuse("Cs_StationNotFound", f"line {attempt.line} matches no CIC station and is not "
                                                f"a dialable number for a remote-number logon")
        return LogonDecision(code=SUCCESS, sip_status=200, detail=f"remote number {line_number(attempt.line)} "
                             f"through extension {cic_user.extension}",
                             remote_number=line_number(attempt.line), **facts)
    facts["station"] = station.extension
    facts["station_name"] = station.name
    holder = occupancy.occupant(station.extension)
    if holder is not None and holder != cic_user.id:
        return refuse("Cs_StationInUseByAnotherUser",
                      f"station {station.extension} ({station.name}) is in use by CIC user {holder}",
                      other_user=holder)
    return LogonDecision(code=SUCCESS, sip_status=200, detail=f"station {station.extension} ({station.name})",
                         **facts)


def warning_header(decision: LogonDecision, domain_name: str) -> str:
    """`399 <domain_name> "<code>: <detail>"` (RFC 3261 quoted-string: backslash and quote escaped)."""
    text = f"{decision.code}: {decision.detail}".replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r", " ").replace("\n", " ")
    return f'399 {domain_name} "{text}"'
