"""Normalisation rules (SPEC section 10): an ordered table of (pattern, translation).

A number is first read in its canonical form (`rccserver.common.numbers`:
digits, `*`, `#` and a leading `+`, without `tel:`, parameters or visual
separators); each rule's pattern is then matched against that WHOLE string, the
first rule that matches translates it, and no match leaves it unchanged. The
translation is literal text with `$1`...`$9` standing for the pattern's groups
(`$10` is group 1 followed by a 0, as in Lync); the result is read as a number
again, so a translation may carry separators or a parameter (`;ext=$1`) that
reading drops. A translation that does not read as a number gives None: that
number cannot be dialled.

`rule_problems` is what check-config says about a rule; a `RuleSet` is only
built from rules that have none.
"""
from __future__ import annotations

import re
from typing import Iterable

import attrs

from rccserver.common.numbers import canonical_number

# `$` and one digit 1-9; every other `$` is an error (a typo, or .NET's `${name}`).
_REFERENCE = re.compile(r"\$([1-9])")
_DOLLAR = re.compile(r"\$")
_CACHE_SIZE = 4096
_CACHED_LENGTH = 256


@attrs.frozen
class Rule:
    """One rule as written; `origin` says where ("file:line"), for people reading results."""

    pattern: str
    translation: str
    origin: str | None = None


def _references(translation: str) -> list[int] | str:
    """The group numbers the translation names, or what is wrong with a `$` in it."""
    groups = []
    for dollar in _DOLLAR.finditer(translation):
        reference = _REFERENCE.match(translation, dollar.start())
        if reference is None:
            return f"'$' at position {dollar.start()} must be followed by a group number 1-9"
        groups.append(int(reference.group(1)))
    return groups


def rule_problems(pattern: object, translation: object) -> list[tuple[str, str]]:
    """What is wrong with a rule, as (key, message) pairs: [] for a good rule.

    The pattern must compile; the translation may name only groups the pattern
    has and must read as a number once they are filled in.
    """
    problems: list[tuple[str, str]] = []
    compiled = None
    if not isinstance(pattern, str) or not pattern:
        problems.append(("pattern", f"must be a non-empty regular expression (got {pattern!r})"))
    else:
        try:
            compiled = re.compile(pattern)
        except (re.error, OverflowError, RecursionError) as error:
            problems.append(("pattern", f"does not compile: {error}"))
    if not isinstance(translation, str) or not translation:
        problems.append(("translation", f"must be a non-empty string (got {translation!r})"))
        return problems
    references = _references(translation)
    if isinstance(references, str):
        problems.append(("translation", references))
        return problems
    if compiled is not None:
        missing = sorted({n for n in references if n > compiled.groups})
        if missing:
            names = ", ".join(f"${n}" for n in missing)
            problems.append(("translation", f"names {names}, but the pattern has {compiled.groups} group(s)"))
            return problems
    # Any digit stands for a group here: groups match parts of a canonical number.
    if canonical_number(_REFERENCE.sub("0", translation)) is None:
        problems.append(("translation", f"{translation!r} does not read as a number (digits, '*', '#', "
                                        f"a leading '+', separators '-.() ' and parameters)"))
    return problems


@attrs.frozen
class Translation:
    """What a rule table made of one number.

    `canonical` is the number as read (None: the text is not a number); `index`
    and `rule` the rule that matched (None: none did, the number is unchanged);
    `number` what came out, canonical (None: nothing dialable came out).
    """

    text: str
    canonical: str | None
    index: int | None
    rule: Rule | None
    number: str | None


@attrs.frozen(eq=False)
class _Compiled:
    rule: Rule
    regex: re.Pattern[str]

    def expand(self, match: re.Match[str]) -> str:
        # An optional group that did not take part gives "" (like Lync's $n).
        return _REFERENCE.sub(lambda ref: match.group(int(ref.group(1))) or "", self.rule.translation)


class RuleSet:
    """An ordered rule table: first match wins, no match leaves the number unchanged."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = tuple(rules)
        compiled = []
        for index, rule in enumerate(self.rules):
            problems = rule_problems(rule.pattern, rule.translation)
            if problems:
                key, message = problems[0]
                raise ValueError(f"rule {index} {key}: {message}")
            compiled.append(_Compiled(rule, re.compile(rule.pattern)))
        self._compiled = tuple(compiled)
        # A table is fixed once built and translating is pure: the same text (a number a
        # user dials again) gets the same Translation. Bounded: emptied when full.
        self._translations: dict[str, Translation] = {}

    def __len__(self) -> int:
        return len(self.rules)

    def translate(self, text: str) -> Translation:
        if type(text) is not str or len(text) > _CACHED_LENGTH:
            return self._translate(text)
        translation = self._translations.get(text)
        if translation is None:
            if len(self._translations) >= _CACHE_SIZE:
                self._translations.clear()
            translation = self._translations[text] = self._translate(text)
        return translation

    def _translate(self, text: str) -> Translation:
        canonical = canonical_number(text)
        if canonical is None:
            return Translation(text, None, None, None, None)
        for index, entry in enumerate(self._compiled):
            match = entry.regex.fullmatch(canonical)
            if match is not None:
                return Translation(text, canonical, index, entry.rule, canonical_number(entry.expand(match)))
        return Translation(text, canonical, None, None, canonical)
