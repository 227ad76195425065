"""Turning directory entries (LDIF or LDAP) into DirectoryUser values (SPEC section 4)."""
from __future__ import annotations

from rccserver.directory.cache import DirectoryUser

ATTRIBUTES = (
    "sAMAccountName", "msRTCSIP-PrimaryUserAddress", "msRTCSIP-Line", "msRTCSIP-LineServer",
    "msRTCSIP-UserEnabled", "displayName",
)


def _first(attributes: dict[str, list[str]], name: str) -> str | None:
    for key, values in attributes.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def user_from_entry(dn: str, attributes: dict[str, list[str]], netbios_domain: str) -> DirectoryUser | None:
    """A Lync user, or None for an entry without msRTCSIP-PrimaryUserAddress or sAMAccountName."""
    sip_uri = _first(attributes, "msRTCSIP-PrimaryUserAddress")
    sam = _first(attributes, "sAMAccountName")
    if not sip_uri or not sam:
        return None
    enabled = (_first(attributes, "msRTCSIP-UserEnabled") or "").strip().upper() == "TRUE"
    return DirectoryUser(
        sip_uri=sip_uri.strip(),
        sam_account_name=sam.strip(),
        domain_account=f"{netbios_domain}\\{sam.strip()}",
        line=(_first(attributes, "msRTCSIP-Line") or "").strip() or None,
        line_server=(_first(attributes, "msRTCSIP-LineServer") or "").strip() or None,
        enabled=enabled,
        display_name=_first(attributes, "displayName"),
        dn=dn,
    )
