"""The logon decision (SPEC section 6) as a pure function.

Checks run in the SPEC's order and the first failure wins; the decision
carries the Cs_ code, the SIP status, a human detail and every fact found on
the way, for the Warning header and the RCCServer log.
"""
from __future__ import annotations

import attrs

from rccserver.cic.data import LYNC_FEATURE
from rccserver.telnumber import line_number

CSTA_CONTENT_TYPE = "application/csta+xml"

SUCCESS = "Cs_Success"
# code -> SIP status of the refusal
STATUS = {
    SUCCESS: 200,
    "Cs_BadRequest": 400,
    "Cs_NoFeatureLicense": 403,
    "Cs_UserNotInDirectory": 404,
    "Cs_LineNotAssigned": 403,
    "Cs_UserNotFound": 404,
    "Cs_AmbiguousUser": 409,
    "Cs_NoClientLicense": 403,
    "Cs_StationNotFound": 404,
    "Cs_StationInUseByAnotherUser": 486,
}


@attrs.frozen
class LogonAttempt:
    content_type: str | None
    csta_ok: bool  # the body decoded as a RequestSystemStatus
    line: str | None  # lcs:line exactly as sent
    from_uri: str


@attrs.frozen
class LogonDecision:
    code: str
    sip_status: int
    detail: str
    lync_uri: str
    domain_account: str | None = None
    cic_user: str | None = None
    line: str | None = None
    station: str | None = None
    remote_number: str | None = None
    other_user: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS


def decide_logon(attempt: LogonAttempt, directory, cic, occupancy) -> LogonDecision:
    facts = {"lync_uri": attempt.from_uri, "line": attempt.line}

    def refuse(code: str, detail: str, **more) -> LogonDecision:
        status = 415 if code == "Cs_BadRequest" and attempt.content_type != CSTA_CONTENT_TYPE else STATUS[code]
        return LogonDecision(code=code, sip_status=status, detail=detail, **{**facts, **more})

    if attempt.content_type != CSTA_CONTENT_TYPE:
        return refuse("Cs_BadRequest", f"body type {attempt.content_type or 'none'} is not {CSTA_CONTENT_TYPE}")
    if not attempt.csta_ok:
        return refuse("Cs_BadRequest", "the body is not a valid CSTA RequestSystemStatus")
    if not cic.has_feature(LYNC_FEATURE):
        return refuse("Cs_NoFeatureLicense", f"the {LYNC_FEATURE} feature licence is not present")
    user = directory.lookup(attempt.from_uri)
    if user is None or not user.enabled:
        why = "is not in the AD cache" if user is None else "is not enabled for Lync (msRTCSIP-UserEnabled)"
        return refuse("Cs_UserNotInDirectory", f"{attempt.from_uri} {why}")
    facts["domain_account"] = user.domain_account
    if not attempt.line or not user.line or line_number(attempt.line) != line_number(user.line):
        return refuse("Cs_LineNotAssigned",
                      f"line {attempt.line or '(none)'} is not {user.sip_uri}'s msRTCSIP-Line ({user.line or 'unset'})")
    users = cic.users_by_domain_account(user.domain_account)
    if not users:
        return refuse("Cs_UserNotFound", f"no CIC user has domain account {user.domain_account}")
    if len(users) > 1:
        ids = ", ".join(sorted(u.id for u in users))
        return refuse("Cs_AmbiguousUser", f"CIC users {ids} all have domain account {user.domain_account}")
    cic_user = users[0]
    facts["cic_user"] = cic_user.id
    if not cic_user.client_license:
        return refuse("Cs_NoClientLicense", f"CIC user {cic_user.id} has no client licence")
    station = cic.station_for_line(attempt.line)
    if station is None:
        if cic_user.allow_remote_number and cic_user.extension:
            return LogonDecision(code=SUCCESS, sip_status=200, detail=f"remote number {attempt.line}",
                                 remote_number=line_number(attempt.line), **facts)
        return refuse("Cs_StationNotFound", f"line {attempt.line} matches no CIC station extension")
    facts["station"] = station.extension
    occupant = occupancy.occupant(station.extension)
    if occupant is not None and occupant != cic_user.id:
        return refuse("Cs_StationInUseByAnotherUser",
                      f"station {station.extension} ({station.name}) is in use by CIC user {occupant}",
                      other_user=occupant)
    return LogonDecision(code=SUCCESS, sip_status=200, detail=f"station {station.extension} ({station.name})",
                         **facts)


def warning_header(decision: LogonDecision, domain_name: str) -> str:
    text = f"{decision.code}: {decision.detail}".replace("\\", "\\\\").replace('"', '\\"')
    return f'399 {domain_name} "{text}"'
