"""`rccserver --help` and every command's `--help` render, and the administrator's
guide and the CLI agree both ways:

* every command and every option the CLI has is in the guide's command
  reference, and the reference lists no option the command lacks;
* every `rccserver ...` command line in the guide's shell blocks, and every
  example in the help texts, is accepted by the CLI's own parser.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rccserver import cli

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "admin-guide.md"
ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def long_options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings
            if option.startswith("--") and option != "--help"}


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def reference_rows() -> dict[str, str]:
    """Command reference table: command name -> its row."""
    reference = guide_text().split("## Command reference", 1)[1]
    rows = {}
    for line in reference.splitlines():
        match = re.match(r"^\| `rccserver (-reload|[a-z-]+|--version)`", line)
        if match:
            name = "reload" if match.group(1) == "-reload" else match.group(1)
            rows[name] = line
    return rows


def parses(argv: list[str]) -> tuple[int, str]:
    """Exit status and error text of argparse for argv (0 when it parses)."""
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.build_parser().parse_args(cli._normalise_argv(argv))
        except SystemExit as stop:
            return int(stop.code or 0), errors.getvalue()
    return 0, ""


# -- help renders ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["", "run", "reload", "-reload", "check-config", "certs", "probe", "dialplan"])
def test_help_renders(command):
    argv = [sys.executable, "-m", "rccserver", *([command] if command else []), "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0, done.stderr
    name = "reload" if command == "-reload" else command
    assert done.stdout.startswith(f"usage: rccserver {name}".rstrip())
    assert done.stderr == ""
    if not command:
        for sub in subcommands():
            assert sub in done.stdout
        assert "docs/admin-guide.md" in done.stdout and "-reload" in done.stdout
    else:
        assert "examples:\n  rccserver " in done.stdout  # each command shows how it is used


def test_version():
    done = subprocess.run([sys.executable, "-m", "rccserver", "--version"], capture_output=True, text=True,
                          env=ENV, timeout=60)
    assert done.returncode == 0 and re.fullmatch(r"rccserver \S+\n", done.stdout)


# -- the guide and the CLI agree ------------------------------------------------------------


def test_every_command_has_a_reference_row_and_vice_versa():
    rows = reference_rows()
    assert set(rows) == set(subcommands()) | {"--version"}


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_reference_row_lists_exactly_the_commands_options(command):
    row = reference_rows()[command]
    options_cell = row.split("|")[2]
    listed = set(re.findall(r"(--[a-z][a-z-]*)", options_cell))
    assert listed == long_options(subcommands()[command])


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_guide_describes_every_option_outside_the_table_too(command):
    # The reference table alone is terse; each option also shows up in prose, an example
    # or the linked probe page (probe options are documented in docs/probe.md).
    text = guide_text().split("## Command reference", 1)[0]
    if command == "probe":
        text += (REPO / "docs" / "probe.md").read_text(encoding="utf-8")
    missing = sorted(option for option in long_options(subcommands()[command]) if option not in text)
    assert missing == []


def _command_lines(block: str) -> list[str]:
    joined = block.replace("\\\n", " ")
    lines = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith(("rccserver ", "sudo rccserver ")):
            line = line.removeprefix("sudo ").split(" #", 1)[0].strip().removesuffix("&").strip()
            lines.append(line)
    return lines


def guide_command_lines() -> list[str]:
    lines = []
    for lang, body in FENCE.findall(guide_text()):
        if lang in ("sh", ""):
            lines.extend(_command_lines(body))
    return lines


def test_the_guide_has_command_lines_for_every_command():
    used = {shlex.split(line)[1] for line in guide_command_lines()}
    assert {"reload" if u == "-reload" else u for u in used} >= set(subcommands())


@pytest.mark.parametrize("line", guide_command_lines())
def test_every_command_line_in_the_guide_parses(line):
    argv = shlex.split(line.replace("$RCC_PORT", "11001"))[1:]
    status, error = parses(argv)
    assert status == 0, f"{line}: {error}"


def help_examples() -> list[str]:
    examples = []
    for parser in subcommands().values():
        epilog = parser.epilog or ""
        examples.extend(line.strip().split("  #", 1)[0].strip() for line in epilog.splitlines()[1:])
    return examples


@pytest.mark.parametrize("line", help_examples())
def test_every_help_example_parses(line):
    status, error = parses(shlex.split(line)[1:])
    assert status == 0, f"{line}: {error}"


def test_the_parser_check_can_fail():
    # Guards the two tests above: a wrong option is caught.
    assert parses(["probe", "--as", "sip:a@b", "--line", "tel:+1", "--no-such-option"])[0] == 2
    assert parses(["check-config", "--config"])[0] == 2
