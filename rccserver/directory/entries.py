"""Turning directory entries (LDIF or LDAP) into DirectoryUser values (SPEC section 4)."""
from __future__ import annotations

from rccserver.directory.cache import DirectoryUser

PRIMARY_USER_ADDRESS = "msRTCSIP-PrimaryUserAddress"
ATTRIBUTES = (
    "sAMAccountName", PRIMARY_USER_ADDRESS, "msRTCSIP-Line", "msRTCSIP-LineServer",
    "msRTCSIP-UserEnabled", "displayName",
)


class EntrySkipped(Exception):
    """An entry with msRTCSIP-PrimaryUserAddress that cannot become a DirectoryUser."""


def _by_name(attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Attributes keyed by lower-case name without options (displayName;lang-en -> displayname)."""
    index: dict[str, list[str]] = {}
    for key, values in attributes.items():
        if values:
            index.setdefault(key.split(";", 1)[0].lower(), values)
    return index


def _first(index: dict[str, list[str]], name: str) -> str | None:
    values = index.get(name.lower())
    return values[0] if values else None


def _text(index: dict[str, list[str]], name: str) -> str | None:
    value = _first(index, name)
    return value.strip() or None if value is not None else None


def user_from_entry(dn: str, attributes: dict[str, list[str]], netbios_domain: str) -> DirectoryUser | None:
    """A Lync user; None for an entry that is no Lync user (no msRTCSIP-PrimaryUserAddress).

    Raises EntrySkipped for a Lync entry we cannot use (no sAMAccountName, or a
    primary user address that is not a sip: URI).
    """
    attributes = _by_name(attributes)
    sip_uri = _text(attributes, PRIMARY_USER_ADDRESS)
    if sip_uri is None:
        return None
    if not sip_uri.lower().startswith("sip:") or "@" not in sip_uri:
        raise EntrySkipped(f"{PRIMARY_USER_ADDRESS} {sip_uri!r} is not a sip:user@domain URI")
    sam = _text(attributes, "sAMAccountName")
    if sam is None:
        raise EntrySkipped(f"Lync user {sip_uri} has no sAMAccountName (no domain account)")
    # AD writes booleans as TRUE/FALSE; anything else (or nothing) is not enabled.
    enabled = (_first(attributes, "msRTCSIP-UserEnabled") or "").strip().upper() == "TRUE"
    return DirectoryUser(
        sip_uri=sip_uri,
        sam_account_name=sam,
        domain_account=f"{netbios_domain}\\{sam}",
        line=_text(attributes, "msRTCSIP-Line"),
        line_server=_text(attributes, "msRTCSIP-LineServer"),
        enabled=enabled,
        display_name=_text(attributes, "displayName"),
        dn=dn,
    )
