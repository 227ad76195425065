"""The end-to-end testbed: a small, complete deployment written into a temp dir: config, AD LDIF, CIC data.

Users (domain EXAMPLE; Line URIs tel:+<ext>):
  alice   line tel:+1001  station 1001  licensed                      -> Cs_Success
  bob     line tel:+1002  station 1002  licensed                      -> Cs_Success
  carol   line tel:+1003  station 1003  CIC user without client licence -> Cs_NoClientLicense
  dave    line tel:+1099  no such station                           -> Cs_StationNotFound
  erin    disabled in AD                                            -> Cs_UserNotInDirectory
  frank   line tel:+1005  no CIC user has EXAMPLE\\frank             -> Cs_UserNotFound
  gina    line tel:+1006  two CIC users share EXAMPLE\\gina          -> Cs_AmbiguousUser
  hank    line tel:+1004  station 1004 (tests occupy it with bob's CIC client) -> Cs_StationInUseByAnotherUser
  ivan    line tel:+15550100 not a station, allow_remote_number        -> Cs_Success (remote number)
"""
from __future__ import annotations

from pathlib import Path

from testkit.serverconfig import config_text
from testkit.serverproc import ServerProcess, free_port

USERS = [
    # sam, line, enabled
    ("alice", "tel:+1001", True),
    ("bob", "tel:+1002", True),
    ("carol", "tel:+1003", True),
    ("dave", "tel:+1099", True),
    ("erin", "tel:+1007", False),
    ("frank", "tel:+1005", True),
    ("gina", "tel:+1006", True),
    ("hank", "tel:+1004", True),
    ("ivan", "tel:+15550100", True),
]


def ldif_text() -> str:
    entries = []
    for sam, line, enabled in USERS:
        entries.append(
            f"dn: CN={sam},CN=Users,DC=example,DC=com\n"
            f"objectClass: user\n"
            f"sAMAccountName: {sam}\n"
            f"displayName: {sam.title()} Example\n"
            f"msRTCSIP-PrimaryUserAddress: sip:{sam}@example.com\n"
            f"msRTCSIP-Line: {line}\n"
            f"msRTCSIP-LineServer: sip:rcc@rcc.example.com\n"
            f"msRTCSIP-UserEnabled: {'TRUE' if enabled else 'FALSE'}\n"
        )
    return "\n".join(entries)


def cic_text(features=("I3_FEATURE_LYNC",)) -> str:
    users = [
        ("Alice", "alice", "8001", True, False),
        ("Bob", "bob", "8002", True, False),
        ("Carol", "carol", "8003", False, False),
        ("Dave", "dave", "8004", True, False),
        ("Gina1", "gina", "8006", True, False),
        ("Gina2", "gina", "8016", True, False),
        ("Hank", "hank", "8005", True, False),
        ("Ivan", "ivan", "8007", True, True),
    ]
    parts = [f"[licenses]\nfeatures = {list(features)!r}\n".replace("'", '"')]
    for uid, sam, ext, licence, remote in users:
        parts.append(
            f"[[users]]\nid = \"{uid}\"\nnt_domain_user = 'EXAMPLE\\{sam}'\nextension = \"{ext}\"\n"
            f"client_license = {str(licence).lower()}\nallow_remote_number = {str(remote).lower()}\n"
        )
    for ext in ("1001", "1002", "1003", "1004"):
        parts.append(
            f"[[stations]]\nname = \"Desk{ext}\"\nextension = \"{ext}\"\nidentification_address = \"tel:+{ext}\"\n"
        )
    return "\n".join(parts)


def write_testbed(directory: Path, *, sip_port: int | None = None, admin_port: int | None = None,
                  line_extra: str = "", features=("I3_FEATURE_LYNC",), session_timeout: int = 0,
                  switch_extra: str = "") -> ServerProcess:
    directory.mkdir(parents=True, exist_ok=True)
    sip_port = sip_port or free_port()
    admin_port = admin_port or free_port()
    (directory / "directory.ldif").write_text(ldif_text())
    (directory / "cic.toml").write_text(cic_text(features))
    (directory / "rccserver.toml").write_text(
        config_text(sip_port=sip_port, admin_port=admin_port, session_timeout=session_timeout,
                    line_extra=line_extra, switch_extra=switch_extra)
    )
    return ServerProcess(directory / "rccserver.toml", sip_port, admin_port, users=len(USERS))
