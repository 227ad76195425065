"""Reading TOML files so that every problem names the file, the line and the key.

tomllib reports syntax errors with a line but forgets where keys were; we find
them again by scanning the text for table headers and `key =` lines, which is
exact for the flat files rccserver reads.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_SEGMENT = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)"""
# `key =`, also dotted (`line.transport =`, TOML's other way to write a table's key)
_KEY = re.compile(rf"^\s*({_SEGMENT}(?:\s*\.\s*{_SEGMENT})*)\s*=")
_SEGMENTS = re.compile(_SEGMENT)
_SYNTAX_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


class LocatedError(Exception):
    """A problem in a file, at a line, with a key (dotted: `line.session_timeout`)."""

    def __init__(self, file: str | os.PathLike[str], line: int | None, key: str | None, message: str) -> None:
        self.file = os.fspath(file)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class TomlDocument:
    """A parsed TOML file plus where each table and key stands in it."""

    def __init__(self, path: str | os.PathLike[str], error_class: type[LocatedError] = LocatedError) -> None:
        self.path = Path(path)
        self.error_class = error_class
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise error_class(self.path, None, None, "file not found") from None
        except (OSError, UnicodeDecodeError) as error:
            raise error_class(self.path, None, None, f"cannot read: {error}") from None
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            match = _SYNTAX_LINE.search(str(error))
            line = int(match.group(1)) if match else None
            message = _SYNTAX_LINE.sub("", str(error)).strip()
            raise error_class(self.path, line, None, f"TOML syntax error: {message}") from None
        self._lines = self._locate(text)

    @staticmethod
    def _locate(text: str) -> dict[str, int]:
        """Dotted key -> line. Arrays of tables are numbered: users[0].id."""
        lines: dict[str, int] = {}
        table = ""
        counters: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            header = _HEADER.match(raw)
            if header and not raw.lstrip().startswith(("#",)):
                name = header.group(2).strip()
                if header.group(1) == "[[":
                    index = counters.get(name, 0)
                    counters[name] = index + 1
                    table = f"{name}[{index}]"
                else:
                    table = name
                lines.setdefault(table, number)
                continue
            key = _KEY.match(raw)
            if key:
                dotted = table
                for segment in _SEGMENTS.findall(key.group(1)):
                    name = segment.strip("\"'")
                    dotted = f"{dotted}.{name}" if dotted else name
                    lines.setdefault(dotted, number)
        return lines

    def line_of(self, key: str) -> int | None:
        """Line of a dotted key, else of its table, else None.

        An item of an array value (`line.authority_certificates[0]`) is found at
        its key's line; an array-of-tables entry (`users[1]`) is known as it is.
        """
        while key:
            if key in self._lines:
                return self._lines[key]
            owner, bracket, _ = key.rpartition("[")
            if bracket and key.endswith("]") and "." not in key[len(owner):]:
                key = owner
            else:
                key = key.rpartition(".")[0]
        return None

    def error(self, key: str, message: str) -> LocatedError:
        return self.error_class(self.path, self.line_of(key), key, message)
