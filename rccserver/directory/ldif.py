"""A small LDIF (RFC 2849) content reader: entries, continuation lines, base64 values, comments.

Change records are refused: a directory export holds content records only.
"""
from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Iterator

from rccserver.directory.cache import DirectoryCache, DirectoryError
from rccserver.directory.entries import user_from_entry


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, unfolded line); '' marks an entry boundary."""
    current: str | None = None
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith(" ") and current is not None:
            current += raw[1:]
            continue
        if current is not None:
            yield start, current
        if raw.startswith("#"):
            current = None
            continue
        current, start = raw, number
    if current is not None:
        yield start, current


def parse_ldif(text: str, source: str = "<ldif>") -> list[tuple[str, dict[str, list[str]]]]:
    entries: list[tuple[str, dict[str, list[str]]]] = []
    dn: str | None = None
    attributes: dict[str, list[str]] = {}
    for number, line in _logical_lines(text):
        if not line.strip():
            if dn is not None:
                entries.append((dn, attributes))
            dn, attributes = None, {}
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise DirectoryError(f"{source}:{number}: expected 'attribute: value', got {line[:60]!r}")
        name = name.strip()
        if value.startswith(":"):
            try:
                value = base64.b64decode(value[1:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as error:
                raise DirectoryError(f"{source}:{number}: bad base64 value for {name}: {error}") from None
        elif value.startswith("<"):
            raise DirectoryError(f"{source}:{number}: URL values ({name}:<) are not supported")
        else:
            value = value.strip()
        if name.lower() == "version" and dn is None:
            continue
        if name.lower() == "dn":
            if dn is not None:
                raise DirectoryError(f"{source}:{number}: a new dn without a blank line before it")
            dn = value
            continue
        if dn is None:
            raise DirectoryError(f"{source}:{number}: attribute {name} before any dn")
        if name.lower() == "changetype":
            raise DirectoryError(f"{source}:{number}: change records are not supported (content LDIF only)")
        attributes.setdefault(name, []).append(value)
    if dn is not None:
        entries.append((dn, attributes))
    return entries


def load_ldif(path: str | os.PathLike[str], netbios_domain: str) -> DirectoryCache:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DirectoryError(f"{os.fspath(path)}: directory LDIF file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DirectoryError(f"{os.fspath(path)}: cannot read: {error}") from None
    users = []
    for dn, attributes in parse_ldif(text, os.fspath(path)):
        user = user_from_entry(dn, attributes, netbios_domain)
        if user is not None:
            users.append(user)
    return DirectoryCache(users, source=f"ldif {os.fspath(path)}")
