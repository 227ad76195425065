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
from rccserver.common.records import record_maker
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


_make_decision = record_maker(LogonDecision)  # tests/logon/test_logon_decision.py: __init__ only stores


def _granted_station(detail: str, lync_uri: str, domain_account: str | None, cic_user: str, line: str | None,
                     station: str, station_name: str | None) -> LogonDecision:
    """LogonDecision(code=SUCCESS, sip_status=200, detail=..., ..., station_name=...), the answer
    to nearly every logon, without attrs' frozen __init__ (an object.__setattr__ call per field,
    a fifth of decide_logon): the same slots filled directly, the same immutable record."""
    return _make_decision(SUCCESS, 200, detail, lync_uri, domain_account, cic_user, line, station, station_name,
                          None, None)


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def _refused(code: str, detail: str, **facts) -> LogonDecision:
    return LogonDecision(code=code, sip_status=STATUS[code], detail=detail, **facts)


def decide_logon(attempt: LogonAttempt, directory: DirectoryCache, cic: CicData,
                 occupancy: OccupancyRegistry) -> LogonDecision:
    # A refusal carries the facts found so far, passed by name; the line's number is worked
    # out once (it is compared with the directory's line and is a remote logon's number).
    lync_uri, line = attempt.from_uri, attempt.line
    content_type = attempt.content_type
    if content_type != CSTA_CONTENT_TYPE and _media_type(content_type) != CSTA_CONTENT_TYPE:
        return LogonDecision(code=BAD_REQUEST, sip_status=UNSUPPORTED_MEDIA_TYPE,
                             detail=f"body type {content_type or 'none'} is not {CSTA_CONTENT_TYPE}",
                             lync_uri=lync_uri, line=line)
    if not attempt.csta_ok:
        return _refused(BAD_REQUEST, "the body is not a valid CSTA RequestSystemStatus", lync_uri=lync_uri, line=line)
    if not cic.has_feature(LYNC_FEATURE):
        return _refused("Cs_NoFeatureLicense", f"the {LYNC_FEATURE} feature licence is not present",
                        lync_uri=lync_uri, line=line)

    user = directory.lookup(lync_uri)
    if user is None:
        return _refused("Cs_UserNotInDirectory", f"{lync_uri} is not a Lync user in the AD cache",
                        lync_uri=lync_uri, line=line)
    if not user.enabled:
        return _refused("Cs_UserNotInDirectory",
                        f"{lync_uri} is not enabled for Lync (msRTCSIP-UserEnabled is not TRUE)",
                        lync_uri=lync_uri, line=line)
    account = user.domain_account

    number = line_number(line)
    # Most clients send their msRTCSIP-Line as written: the same text is the same number.
    if not number or (line != user.line and number != line_number(user.line)):
        return _refused("Cs_LineNotAssigned", f"line {line or '(none)'} is not {user.sip_uri}'s "
                                              f"msRTCSIP-Line ({user.line or 'not set'})",
                        lync_uri=lync_uri, domain_account=account, line=line)

    candidates = cic.users_by_domain_account(account)
    if not candidates:
        return _refused("Cs_UserNotFound", f"no CIC user has domain account {account}",
                        lync_uri=lync_uri, domain_account=account, line=line)
    if len(candidates) > 1:
        ids = ", ".join(sorted(u.id for u in candidates))
        return _refused("Cs_AmbiguousUser", f"CIC users {ids} all have domain account {account}",
                        lync_uri=lync_uri, domain_account=account, line=line)
    cic_user = candidates[0]
    user_id = cic_user.id
    if not cic_user.client_license:
        return _refused("Cs_NoClientLicense", f"CIC user {user_id} has no client licence",
                        lync_uri=lync_uri, domain_account=account, cic_user=user_id, line=line)

    station = cic.station_for_line(line)
    if station is None:
        facts = dict(lync_uri=lync_uri, domain_account=account, cic_user=user_id, line=line)
        if not cic_user.allow_remote_number:
            return _refused("Cs_StationNotFound", f"line {line} matches no CIC station", **facts)
        if not cic_user.extension:
            # A remote-number logon rings the number through the user's own extension.
            return _refused("Cs_StationNotFound", f"line {line} matches no CIC station, and CIC user "
                                                  f"{user_id} (remote number allowed) has no extension", **facts)
        if canonical_number(line) is None:
            # The switch rings the remote number, so it must be one it can dial (SPEC section 10).
            return _refused("Cs_StationNotFound", f"line {line} matches no CIC station and is not "
                                                  f"a dialable number for a remote-number logon", **facts)
        return LogonDecision(code=SUCCESS, sip_status=200,
                             detail=f"remote number {number} through extension {cic_user.extension}",
                             remote_number=number, **facts)
    extension, name = station.extension, station.name
    holder = occupancy.occupant(extension)
    if holder is not None and holder != user_id:
        return _refused("Cs_StationInUseByAnotherUser", f"station {extension} ({name}) is in use by CIC user {holder}",
                        lync_uri=lync_uri, domain_account=account, cic_user=user_id, line=line, station=extension,
                        station_name=name, other_user=holder)
    return _granted_station(f"station {extension} ({name})", lync_uri, account, user_id, line, extension, name)


def warning_header(decision: LogonDecision, domain_name: str) -> str:
    """`399 <domain_name> "<code>: <detail>"` (RFC 3261 quoted-string: backslash and quote escaped)."""
    text = f"{decision.code}: {decision.detail}".replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r", " ").replace("\n", " ")
    return f'399 {domain_name} "{text}"'
