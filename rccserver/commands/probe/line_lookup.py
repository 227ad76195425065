"""The user's Line URI from the configured directory, for a probe run without --line.

The probe reads the directory as the server does: the [directory] table of the
configuration (`--config`, default the bundled demo, as `rccserver run`), LDIF
or LDAP, through the server's own loader; then takes the user's msRTCSIP-Line.
A user the directory does not hold, or one without a line, cannot sign in: the
finding carries the Cs_ code the server would answer, and the probe does not
connect. A disabled user's line is still probed, with a warning, so that the
refusal shown is the server's own.
"""
from __future__ import annotations

import os

import attrs

from rccserver.commands.probe.hints import DISABLED_HINT, NO_LINE_HINT, NOT_IN_DIRECTORY_HINT
from rccserver.commands.probe.report import Status
from rccserver.directory.cache import DirectoryCache, DirectoryError
from rccserver.directory.source import load_directory
from rccserver.server.config import ConfigError
from rccserver.server.effective_config import load_effective_config


class DirectoryUnreadable(Exception):
    """The configuration, or the directory it names, cannot be read: the probe has no line."""


@attrs.frozen(slots=True)
class LineLookup:
    """What the directory says about the user's line, worded as a step of the checklist."""

    line: str | None  # the msRTCSIP-Line to sign in with; None when there is none
    status: Status
    summary: str
    hint: str | None = None
    code: str | None = None  # the Cs_ code the server would answer, when there is no line


def load_configured_directory(config_path: str | os.PathLike[str] | None) -> DirectoryCache:
    """Blocking: the directory of that configuration (None: the bundled demo); raises DirectoryUnreadable."""
    try:
        config = load_effective_config(config_path)
        return load_directory(config.directory)
    except (ConfigError, DirectoryError) as error:
        raise DirectoryUnreadable(str(error)) from None


def find_line(directory: DirectoryCache, user: str) -> LineLookup:
    where = directory.source or "the directory"
    entry = directory.lookup(user)
    if entry is None:
        return LineLookup(None, Status.FAIL, f"{user} is not a Lync user in {where}: Cs_UserNotInDirectory",
                          NOT_IN_DIRECTORY_HINT, "Cs_UserNotInDirectory")
    if not entry.line:
        return LineLookup(None, Status.FAIL, f"{user} ({entry.dn}) has no msRTCSIP-Line in {where}: "
                          f"Cs_LineNotAssigned", NO_LINE_HINT, "Cs_LineNotAssigned")
    found = f"{entry.line}, the msRTCSIP-Line of {user} in {where}"
    if not entry.enabled:
        return LineLookup(entry.line, Status.WARN, f"{found}; msRTCSIP-UserEnabled is not TRUE: the server "
                          f"will refuse the logon with Cs_UserNotInDirectory", DISABLED_HINT)
    return LineLookup(entry.line, Status.OK, found)
