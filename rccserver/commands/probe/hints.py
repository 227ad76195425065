"""What a failed probe step means and what the administrator should do about it.

Two sources of failure are translated into a short finding plus a fix hint:

* a refused logon: the `Warning: 399 <domain> "<Cs_code>: <detail>"` header the
  server puts on every failing INVITE answer (SPEC section 6);
* a connection that could not be made or was dropped: socket and TLS errors.

A probe without --line also explains why the directory gives it no line to sign
in with (line_lookup.py words those findings).

Pure functions over values; no I/O.
"""
from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from rccserver.sip.uri import split_header_list, unquote_string

# The seed's troubleshooting list, keyed by the logon code.
LOGON_HINTS: Mapping[str, str] = MappingProxyType({
    "Cs_UserNotInDirectory": (
        "the AD cache is stale or the user is not enabled for Lync/RCC: run `rccserver -reload` "
        "(or check msRTCSIP-UserEnabled / msRTCSIP-PrimaryUserAddress)"
    ),
    "Cs_LineNotAssigned": (
        "the --line differs from the user's msRTCSIP-Line (Set-CsUser -LineUri)"
    ),
    "Cs_UserNotFound": (
        "the domain account is wrong: exactly one CIC user must have "
        "nt_domain_user = DOMAIN\\sAMAccountName"
    ),
    "Cs_AmbiguousUser": (
        "the domain account is wrong: exactly one CIC user must have "
        "nt_domain_user = DOMAIN\\sAMAccountName"
    ),
    "Cs_NoClientLicense": "enable the CIC user's client licence",
    "Cs_NoFeatureLicense": "add I3_FEATURE_LYNC to the CIC licences",
    "Cs_StationNotFound": (
        "the TEL URI is not a CIC station extension (or allow_remote_number)"
    ),
    "Cs_StationInUseByAnotherUser": (
        "the station is used by another user (log them off)"
    ),
    "Cs_BadRequest": (
        "the request body was refused (should not happen with probe): "
        "see the RCCServer log for the reason"
    ),
})

UNKNOWN_CODE_HINT = "look up the logon decision line in the RCCServer log"
# Without --line: the directory the configuration names gives no line to sign in with.
NOT_IN_DIRECTORY_HINT = (
    "check the SIP URI (msRTCSIP-PrimaryUserAddress) and that --config names the server's "
    "configuration; or name the line with --line to ask the server itself"
)
NO_LINE_HINT = (
    "assign the user a Line URI (Set-CsUser -LineUri tel:+...), then `rccserver -reload`; "
    "or name a line with --line"
)
DISABLED_HINT = "enable the user for Lync (msRTCSIP-UserEnabled TRUE), then `rccserver -reload`"
# The line came from the directory, yet the server says it is not the user's.
STALE_LINE_HINT = (
    "the server's AD cache holds another line for the user than the directory does now: "
    "run `rccserver -reload` (or check that --config names the server's configuration)"
)
NO_WARNING_HINT = (
    "the answer carries no Cs_ code: the peer may not be rccserver, or a proxy answered; "
    "see the RCCServer log"
)
NOT_RUNNING_HINT = (
    "the server is not running or the port is not kept open: start it (`rccserver run`), "
    "check [line] address/receive_port, the firewall and the access list "
    "([line] access / access_exceptions: a denied peer's connection is closed at once)"
)
CLOSED_HINT = (
    "the server closed the connection without answering: this computer is denied by the "
    "access list ([line] access / access_exceptions), its connection limit is reached "
    "([line] max_connections_per_source), or the line speaks TLS (try --tls)"
)
TLS_ALERT_ON_TCP_HINT = "the line speaks TLS ([line] transport = \"tls\"): run the probe with --tls"
NOT_TLS_HINT = "the line does not speak TLS ([line] transport = \"tcp\"): run the probe without --tls"
UNKNOWN_CA_HINT = (
    "the server certificate is not issued by a CA the probe trusts: "
    "pass the issuing CA with --ca FILE"
)
HOSTNAME_HINT = (
    "the server certificate does not name the host the probe checked: connect by a name the "
    "certificate holds (--target) or name it with --tls-name"
)
EXPIRED_HINT = "the server certificate is out of its validity period: renew [line] certificate"
CLIENT_CERT_REQUIRED_HINT = (
    "mutual TLS wants a client certificate ([line] mutual_tls = true): "
    "pass one with --cert FILE --key FILE"
)
CLIENT_CERT_REFUSED_HINT = (
    "the server refused the client certificate: it must be issued by a CA in "
    "[line] authority_certificates, be within its validity period and carry the "
    "clientAuth extended key usage"
)
TLS_OTHER_HINT = "check [line] certificate / private_key and the TLS settings of both sides"
RESOLVE_HINT = "the target host name does not resolve: check --target (or use an IP address)"
UNREACHABLE_HINT = "no route to the target: check --target, the network and the firewall"

_RCC_CODE_RE = re.compile(r"\s*(?P<code>Cs_[A-Za-z]+)\s*(?::\s*(?P<detail>.*))?", re.DOTALL)
_WARNING_RE = re.compile(r'(?P<code>[0-9]{3})[ \t]+(?P<agent>\S+)[ \t]+(?P<text>"(?:[^"\\]|\\.)*")')

# OpenSSL verify codes (X509_V_ERR_*) grouped by what the administrator has to do.
_UNTRUSTED_ISSUER = frozenset({2, 18, 19, 20, 21})
_OUT_OF_VALIDITY = frozenset({9, 10})
_NAME_MISMATCH = frozenset({62, 64})

# OpenSSL reason names in alerts the server sends about our (missing) client certificate.
_CLIENT_CERT_MISSING = frozenset({
    "TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "PEER_DID_NOT_RETURN_A_CERTIFICATE",
})
_CLIENT_CERT_BAD = frozenset({
    "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "TLSV1_ALERT_DECRYPT_ERROR",
    "SSLV3_ALERT_CERTIFICATE_REVOKED", "TLSV1_ALERT_ACCESS_DENIED",
})
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"})


@attrs.frozen(slots=True)
class WarningValue:
    """One warning-value of a SIP Warning header (RFC 3261 section 20.43)."""

    code: int
    agent: str
    text: str


@attrs.frozen(slots=True)
class Finding:
    """What went wrong, in one line, and what to do about it."""

    summary: str
    hint: str
    code: str | None = None  # the Cs_ code, for refused logons
    detail: str | None = None  # the server's detail after the code


def parse_warnings(value: str) -> list[WarningValue]:
    """Every well-formed warning-value in a Warning header value; malformed items are skipped
    (the probe reports what it can read rather than failing on a peer's typo)."""
    found = []
    for item in split_header_list(value):
        m = _WARNING_RE.fullmatch(item.strip())
        if m is not None:
            found.append(WarningValue(int(m.group("code")), m.group("agent"), unquote_string(m.group("text"))))
    return found


def split_rcc_code(text: str) -> tuple[str, str] | None:
    """('Cs_Code', 'detail') from a warning text 'Cs_Code: detail', or None if it holds no code."""
    m = _RCC_CODE_RE.fullmatch(text)
    if m is None:
        return None
    return m.group("code"), (m.group("detail") or "").strip()


def logon_refusal(status: int, reason: str, warning_headers: list[str]) -> Finding:
    """The finding for an INVITE answered `status` (>= 300) with these Warning header values."""
    answer = f"{status} {reason}".strip()
    for header in warning_headers:
        for warning in parse_warnings(header):
            split = split_rcc_code(warning.text)
            if split is None:
                continue
            code, detail = split
            hint = LOGON_HINTS.get(code, UNKNOWN_CODE_HINT)
            shown = f"{code}: {detail}" if detail else code
            return Finding(f"INVITE answered {answer}: {shown}", hint, code=code, detail=detail)
    texts = [w.text for header in warning_headers for w in parse_warnings(header)]
    extra = f" (Warning: {'; '.join(texts)})" if texts else ""
    return Finding(f"INVITE answered {answer}{extra}", NO_WARNING_HINT)


def connect_failure(error: OSError, *, tls: bool, client_cert: bool) -> Finding:
    """The finding for an error raised while connecting, handshaking or waiting for the first
    answer. `tls`: the probe used TLS; `client_cert`: it offered a client certificate."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return _verify_failure(error)
    if isinstance(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return _tls_dropped(error, client_cert=client_cert)
    if isinstance(error, ssl.SSLError):
        return _tls_failure(error, client_cert=client_cert)
    if isinstance(error, socket.gaierror):
        return Finding(f"cannot resolve the target: {error.strerror or error}", RESOLVE_HINT)
    if isinstance(error, ConnectionRefusedError):
        return Finding("connection refused", NOT_RUNNING_HINT)
    if isinstance(error, (socket.timeout, TimeoutError)):
        return Finding("connection attempt timed out", NOT_RUNNING_HINT)
    if isinstance(error, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        if tls:
            return _tls_dropped(error, client_cert=client_cert)
        return Finding(f"the server dropped the connection ({_describe(error)})", CLOSED_HINT)
    if error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return Finding(f"target unreachable ({_describe(error)})", UNREACHABLE_HINT)
    return Finding(f"connection failed: {_describe(error)}", NOT_RUNNING_HINT)


def closed_without_answer(first_bytes: bytes, *, tls: bool, client_cert: bool,
                          port_speaks_tls: bool = False) -> Finding:
    """The server closed the connection before answering; `first_bytes` is what it sent, if any;
    `port_speaks_tls`: a TLS handshake with the same port completed (probed after the close)."""
    if not tls and first_bytes[:1] == b"\x15" and first_bytes[1:2] == b"\x03":
        # 0x15 0x03 opens a TLS alert record: a TLS listener answered our plain-text SIP.
        return Finding("the server answered with a TLS alert", TLS_ALERT_ON_TCP_HINT)
    if not tls and port_speaks_tls:
        return Finding("the server closed the connection without answering; the port completes "
                       "a TLS handshake", TLS_ALERT_ON_TCP_HINT)
    if tls and not client_cert:
        return Finding("the server closed the TLS connection without answering",
                       f"{CLIENT_CERT_REQUIRED_HINT}; otherwise: {CLOSED_HINT}")
    if tls:
        return Finding("the server closed the TLS connection without answering",
                       f"{CLIENT_CERT_REFUSED_HINT}; otherwise: {CLOSED_HINT}")
    return Finding("the server closed the connection without answering", CLOSED_HINT)


def _tls_dropped(error: OSError, *, client_cert: bool) -> Finding:
    # TLS 1.3 lets our side finish the handshake before the server checks our certificate,
    # so a refused (or missing) client certificate shows up as a dropped connection.
    hint = CLIENT_CERT_REFUSED_HINT if client_cert else CLIENT_CERT_REQUIRED_HINT
    return Finding(f"the server dropped the TLS connection ({_describe(error)})",
                   f"{hint}; otherwise: {CLOSED_HINT}")


def _verify_failure(error: ssl.SSLCertVerificationError) -> Finding:
    code = error.verify_code
    message = error.verify_message or str(error)
    summary = f"TLS: server certificate not accepted: {message}"
    if code in _UNTRUSTED_ISSUER:
        return Finding(summary + " (unknown CA)", UNKNOWN_CA_HINT)
    if code in _NAME_MISMATCH:
        return Finding(summary + " (hostname)", HOSTNAME_HINT)
    if code in _OUT_OF_VALIDITY:
        return Finding(summary, EXPIRED_HINT)
    return Finding(summary, TLS_OTHER_HINT)


def _tls_failure(error: ssl.SSLError, *, client_cert: bool) -> Finding:
    reason = error.reason or ""
    summary = f"TLS handshake failed: {reason or error}"
    if reason in _NOT_TLS:
        return Finding(summary, NOT_TLS_HINT)
    if reason in _CLIENT_CERT_MISSING and not client_cert:
        return Finding(summary + " (client certificate required)", CLIENT_CERT_REQUIRED_HINT)
    if reason in _CLIENT_CERT_BAD or reason in _CLIENT_CERT_MISSING:
        return Finding(summary + " (client certificate refused)", CLIENT_CERT_REFUSED_HINT)
    return Finding(summary, TLS_OTHER_HINT)


def _describe(error: OSError) -> str:
    if error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
