"""A small LDIF (RFC 2849) content reader: entries, folded lines, base64 values, comments.

Change records (`changetype:`, `control:`) and URL values (`attr:< file://...`)
are refused: a directory export holds content records only. Every error names
the file and the line. Base64 values of attributes we do not read may be binary
(objectGUID, objectSid in an AD export): they are kept undecoded instead of
failing the load.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Iterator

import attrs

from rccserver.directory.cache import DirectoryCache, DirectoryError, SkippedEntry
from rccserver.directory.entries import ATTRIBUTES, EntrySkipped, user_from_entry

# attribute type (name or OID) with options, e.g. displayName;lang-de
_DESCRIPTION = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$")
_TEXT_ATTRIBUTES = {name.lower() for name in ATTRIBUTES} | {"dn"}
_SPECIAL = {"dn", "version", "changetype", "control"}  # names with a meaning of their own in LDIF


@attrs.frozen
class LdifEntry:
    dn: str
    attributes: dict[str, list[str]]
    line: int  # of the dn line


def _logical_lines(text: str, source: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, unfolded line); '' marks a record boundary. Comments are dropped."""
    current: str | None = None  # the logical line being unfolded
    start = 0
    in_comment = False  # folded continuation lines of a comment belong to the comment
    for number, raw in enumerate(text.splitlines(), 1):
        if not current and not in_comment and not raw.strip():
            raw = ""  # a whitespace-only line between records is a blank line, not a continuation
        if raw.startswith(" "):
            if in_comment:
                continue
            if not current:
                raise DirectoryError(f"{source}:{number}: continuation line (starting with a space) "
                                     f"with no line to continue")
            current += raw[1:]
            continue
        if current is not None:
            yield start, current
            current = None
        in_comment = raw.startswith("#")
        if not in_comment:
            current, start = raw.rstrip("\r"), number
    if current is not None:
        yield start, current


def _value(name: str, rest: str, source: str, number: int) -> str:
    """The value after `name:`; `rest` starts after that first colon."""
    if rest.startswith(":"):
        try:
            raw = base64.b64decode(rest[1:].strip(), validate=True)
        except (binascii.Error, ValueError) as error:
            raise DirectoryError(f"{source}:{number}: bad base64 value for {name}: {error}") from None
        if name.split(";", 1)[0].lower() in _TEXT_ATTRIBUTES:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DirectoryError(f"{source}:{number}: {name} is not UTF-8 text: {error}") from None
        return raw.decode("utf-8", "surrogateescape")  # binary we never read
    if rest.startswith("<"):
        raise DirectoryError(f"{source}:{number}: URL values ({name}:<) are not supported")
    return rest.lstrip(" ")


def parse_ldif(text: str, source: str = "<ldif>") -> list[LdifEntry]:
    """Content records of an LDIF text; raises DirectoryError naming `source` and the line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    entries: list[LdifEntry] = []
    dn: str | None = None
    dn_line = 0
    attributes: dict[str, list[str]] = {}
    seen_record = False
    known_names: set[str] = set()  # attribute descriptions already validated (a handful repeat)
    for number, line in _logical_lines(text, source):
        if not line or line.isspace():
            if dn is not None:
                entries.append(LdifEntry(dn, attributes, dn_line))
            dn, attributes = None, {}
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            raise DirectoryError(f"{source}:{number}: expected 'attribute: value', got {line[:60]!r}")
        if name not in known_names:
            if not _DESCRIPTION.match(name):
                raise DirectoryError(f"{source}:{number}: {name[:60]!r} is not an attribute name")
            known_names.add(name)
        value = _value(name, rest, source, number) if rest[:1] in (":", "<") else rest.lstrip(" ")
        lowered = name.lower()
        if lowered not in _SPECIAL:
            if dn is None:
                raise DirectoryError(f"{source}:{number}: attribute {name} before any dn")
            seen_record = True
            values = attributes.get(name)
            if values is None:
                attributes[name] = [value]
            else:
                values.append(value)
            continue
        if lowered == "version" and dn is None and not seen_record:
            if value.strip() != "1":
                raise DirectoryError(f"{source}:{number}: unsupported LDIF version {value.strip()!r} (only 1)")
            seen_record = True
            continue
        seen_record = True
        if lowered == "dn":
            if dn is not None:
                raise DirectoryError(f"{source}:{number}: a new dn without a blank line before it")
            dn, dn_line = value.strip(), number
            continue
        if dn is None:
            raise DirectoryError(f"{source}:{number}: attribute {name} before any dn")
        if lowered in ("changetype", "control"):
            raise DirectoryError(f"{source}:{number}: change records are not supported (content LDIF only)")
        attributes.setdefault(name, []).append(value)  # "version" inside a record is an ordinary attribute
    if dn is not None:
        entries.append(LdifEntry(dn, attributes, dn_line))
    return entries


def cache_from_ldif_text(text: str, netbios_domain: str, source: str = "<ldif>") -> DirectoryCache:
    users = []
    skipped = []
    for entry in parse_ldif(text, source):
        try:
            user = user_from_entry(entry.dn, entry.attributes, netbios_domain)
        except EntrySkipped as why:
            skipped.append(SkippedEntry(entry.dn, str(why), f"{source}:{entry.line}"))
            continue
        if user is not None:
            users.append(user)
    return DirectoryCache(users, source=f"ldif {source}", skipped=skipped)


def load_ldif(path: str | os.PathLike[str], netbios_domain: str) -> DirectoryCache:
    """Blocking: read an LDIF export into a DirectoryCache; raises DirectoryError."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DirectoryError(f"{source}: directory LDIF file not found") from None
    except UnicodeDecodeError as error:
        raise DirectoryError(f"{source}: not UTF-8 text: {error}") from None
    except OSError as error:
        raise DirectoryError(f"{source}: cannot read: {error.strerror or error}") from None
    return cache_from_ldif_text(text, netbios_domain, source)
