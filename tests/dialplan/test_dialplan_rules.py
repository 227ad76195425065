"""The rule table (SPEC section 10): the worked examples of docs/dialplan.md row by row,
then what a translation may say and what check-config refuses."""
from __future__ import annotations

import pytest

from rccserver.dialplan import DialPlan, Rule, RuleSet, rule_problems
from tests.dialplan.dialplan_examples import WORKED


def _rows(direction: int):
    for name, example in WORKED.items():
        rules, rows = example[direction], example[3 + direction]
        for row in rows:
            yield pytest.param(rules, *row, id=f"{name}:{row[0]!r}")


@pytest.mark.parametrize("rules, text, canonical, index, number", list(_rows(0)))
def test_worked_dial_rules(rules, text, canonical, index, number):
    translation = RuleSet(Rule(p, t) for p, t in rules).translate(text)
    assert (translation.canonical, translation.index, translation.number) == (canonical, index, number)
    assert translation.rule == (None if index is None else Rule(*rules[index]))


@pytest.mark.parametrize("rules, text, canonical, index, number", list(_rows(1)))
def test_worked_inbound_rules(rules, text, canonical, index, number):
    plan = DialPlan(inbound=[Rule(p, t) for p, t in rules])
    translation = plan.inbound(text)
    assert (translation.canonical, translation.index, translation.number) == (canonical, index, number)
    assert plan.dial(text).index is None  # the dial rules (none here) are another table


def translate(pattern: str, translation: str, number: str) -> str | None:
    return RuleSet([Rule(pattern, translation)]).translate(number).number


def test_the_whole_number_must_match_anchors_or_not():
    assert translate(r"\d{4}", "+13175551000", "1001") == "+13175551000"
    assert translate(r"\d{4}", "+13175551000", "12345") == "12345"  # \d{4} matches a part only
    assert translate(r"(\d{4})", "+1317555$1", "1001") == "+13175551001"
    assert translate(r"(\d{4})", "+1317555$1", "91001") == "91001"


def test_first_match_wins():
    rules = RuleSet([Rule(r"^(\d{4})$", "+1317555$1"), Rule(r"^(1\d{3})$", "+44207946$1")])
    assert rules.translate("1001").number == "+13175551001"
    assert rules.translate("1001").index == 0


@pytest.mark.parametrize("pattern, translation, number, out", [
    (r"^9(\d{3})(\d{3})(\d{4})$", "+1$1$2$3", "93175550188", "+13175550188"),
    (r"^9(\d{3})(\d{3})(\d{4})$", "+1$3$2$1", "93175550188", "+10188555317"),  # any order
    (r"^(\d)(\d)$", "$10", "12", "10"),  # $10 is $1 then a 0
    (r"^(\d{4})(#)?$", "$1$2", "1001", "1001"),  # a group that took no part is empty
    (r"^(\d{4})$", "+1 (317) 555-$1", "1001", "+13175551001"),  # separators in a translation
    (r"^(\d{4})$", "+1317555$1;ext=$1", "1001", "+13175551001"),  # Lync's ;ext= is dropped
    (r"^(\+\d+)$", "9$1", "+13175550188", None),  # '+' inside a number: nothing dialable
    (r"^(\d+)$", "$1$1", "1" * 20, None),  # more than 32 digits
    (r"^\*(\d\d)$", "*$1#", "*86", "*86#"),
])
def test_translation(pattern, translation, number, out):
    assert translate(pattern, translation, number) == out


@pytest.mark.parametrize("pattern, translation, key, words", [
    (r"^9(\d{10}$", "+1$1", "pattern", "does not compile: missing ), unterminated subpattern"),
    (r"^9(\d{10})$", "+1$2", "translation", "names $2, but the pattern has 1 group(s)"),
    (r"^9\d{10}$", "+1$1", "translation", "names $1, but the pattern has 0 group(s)"),
    (r"^(\d)(\d)$", "$3$1$4", "translation", "names $3, $4, but the pattern has 2 group(s)"),
    (r"^(\d+)$", "+1${1}", "translation", "'$' at position 2 must be followed by a group number 1-9"),
    (r"^(\d+)$", "$0", "translation", "'$' at position 0 must be followed by a group number 1-9"),
    (r"^(\d+)$", "+1$", "translation", "'$' at position 2"),
    (r"^(\d+)$", "sip:bob$1@example.com", "translation", "does not read as a number"),
    (r"^(\d+)$", "", "translation", "must be a non-empty string"),
    ("", "$1", "pattern", "must be a non-empty regular expression"),
])
def test_what_check_config_refuses(pattern, translation, key, words):
    problems = rule_problems(pattern, translation)
    assert len(problems) == 1
    assert problems[0][0] == key and words in problems[0][1], problems


def test_a_good_rule_has_no_problem_and_a_bad_one_never_gets_into_a_table():
    assert rule_problems(r"^9(\d{10})$", "+1$1") == []
    assert rule_problems(r"^(?P<ext>\d{4})$", "$1") == []  # a named group is numbered too
    with pytest.raises(ValueError, match="rule 1 translation"):
        RuleSet([Rule(r"^(\d)$", "$1"), Rule(r"^\d$", "$1")])


def test_a_dial_plan_refuses_an_unknown_country():
    with pytest.raises(ValueError, match="country_code"):
        DialPlan(country_code="999")
    with pytest.raises(ValueError, match="country_code"):
        DialPlan(country_code="+1")
