"""The probe's checklist: one line per step of the logon chain, then a one-line verdict.

Steps are recorded as they finish; steps that could not run because an earlier
one failed are recorded as skipped, so the checklist always shows the whole chain.
Rendering is plain text for people and a JSON document for scripts.
"""
from __future__ import annotations

import enum
import json
import textwrap
from collections.abc import Mapping
from typing import Any

import attrs

# The chain, in order. `line` only runs without --line, `call` only with --call.
STEP_TITLES: Mapping[str, str] = {
    "line": "line (directory)",
    "connect": "connect",
    "logon": "logon (INVITE)",
    "features": "GetCSTAFeatures",
    "monitor": "MonitorStart",
    "call": "test call",
    "signout": "sign-out",
}


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"  # worked, with something the administrator should know
    FAIL = "fail"
    SKIP = "skip"  # not run: an earlier step failed

    @property
    def mark(self) -> str:
        return {"ok": "[ ok ]", "warn": "[warn]", "fail": "[FAIL]", "skip": "[skip]"}[self.value]


@attrs.frozen(slots=True)
class Step:
    name: str = attrs.field(validator=attrs.validators.in_(STEP_TITLES))
    status: Status
    detail: str
    hint: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def title(self) -> str:
        return STEP_TITLES[self.name]


@attrs.define
class Report:
    """What the probe did, step by step. `target` and `user` head the text output."""

    user: str
    line: str | None  # None while (or because) the directory gives none
    target: str
    transport: str
    steps: list[Step] = attrs.field(factory=list)
    call_asked: bool = False

    def add(self, name: str, status: Status, detail: str, hint: str | None = None,
            **data: Any) -> Step:
        if any(step.name == name for step in self.steps):
            raise ValueError(f"step {name!r} is already recorded")
        step = Step(name, status, detail, hint, data)
        self.steps.append(step)
        return step

    def skip_rest(self, reason: str) -> None:
        """Record every step of the chain not yet recorded as skipped."""
        for name in self._chain():
            if self.step(name) is None:
                self.add(name, Status.SKIP, reason)

    def step(self, name: str) -> Step | None:
        for step in self.steps:
            if step.name == name:
                return step
        return None

    def _chain(self) -> list[str]:
        optional = {"call": self.call_asked, "line": self.step("line") is not None}
        return [name for name in STEP_TITLES if optional.get(name, True)]

    @property
    def ok(self) -> bool:
        """Logon works (connect, logon, features, monitor) and the test call, if asked, too.
        Sign-out trouble is a warning: the logon itself worked."""
        required = ["connect", "logon", "features", "monitor"] + (["call"] if self.call_asked else [])
        for name in required:
            step = self.step(name)
            if step is None or step.status not in (Status.OK, Status.WARN):
                return False
        return True

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def verdict(self) -> str:
        if self.ok:
            text = f"OK: {self.user} signs in on {self.line}"
            call = self.step("call")
            if call is not None:
                text += f"; {call.detail}"
            warnings = [step.name for step in self.steps if step.status is Status.WARN]
            if warnings:
                text += f" (warnings: {', '.join(warnings)})"
            return text
        failed = next((step for step in self.steps if step.status is Status.FAIL), None)
        who = f"{self.user} on {self.line}" if self.line else self.user
        if failed is None:
            return f"FAILED: {who}: the chain did not complete"
        code = failed.data.get("code")
        what = f"{failed.title}: {code}" if code else f"{failed.title}: {failed.detail}"
        return f"FAILED: {who}: {what}"


def render_text(report: Report) -> str:
    line = f"line {report.line}" if report.line else "no line"
    lines = [f"rccserver probe: {report.user} ({line}) -> {report.target} over {report.transport}"]
    width = max(len(step.title) for step in report.steps) if report.steps else 0
    for step in report.steps:
        lines.append(f"{step.status.mark} {step.title:<{width}}  {step.detail}")
        if step.hint:
            indent = " " * (len(step.status.mark) + width + 3)
            lines.extend(textwrap.wrap(f"hint: {step.hint}", width=max(100, len(indent) + 60),
                                       initial_indent=indent, subsequent_indent=indent + "      ",
                                       break_on_hyphens=False))
    lines.append(f"verdict: {report.verdict}")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    document = {
        "user": report.user,
        "line": report.line,
        "target": report.target,
        "transport": report.transport,
        "ok": report.ok,
        "exit_code": report.exit_code,
        "verdict": report.verdict,
        "steps": [
            {"name": step.name, "title": step.title, "status": step.status.value,
             "detail": step.detail, "hint": step.hint, **({"data": dict(step.data)} if step.data else {})}
            for step in report.steps
        ],
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
