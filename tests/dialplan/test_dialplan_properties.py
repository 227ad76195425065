"""Properties of the worked dial plans (docs/dialplan.md), for any number:

* normalising is idempotent: what the rules made of a number, they leave as it is
  (so a number that went through the plan once, e.g. a stored forwarding
  destination, never changes again);
* how the number is written (tel:, sip:, separators, parameters) never changes
  which rule matches or what comes out.
"""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rccserver.dialplan import Rule, RuleSet
from tests.common.number_forms import numbers, written
from tests.dialplan.dialplan_examples import DID_INBOUND_RULES, NORTH_AMERICA_RULES, UNITED_KINGDOM_RULES

RULE_SETS = {
    "north-america dial": NORTH_AMERICA_RULES,
    "united-kingdom dial": UNITED_KINGDOM_RULES,
    "DID inbound": DID_INBOUND_RULES,
}
# Numbers near the rules' edges: the prefixes they look for, and lengths around theirs.
_PREFIXES = ["", "9", "91", "9011", "0", "00", "90", "900", "+", "+1", "+44", "+1317555", "317555", "*"]
near_rules = st.builds(lambda prefix, digits: prefix + digits, st.sampled_from(_PREFIXES),
                       st.text(alphabet="0123456789", min_size=0, max_size=16)).filter(lambda n: n not in ("", "+"))
any_number = st.one_of(near_rules, numbers)


@pytest.mark.parametrize("name", RULE_SETS)
@given(number=any_number)
def test_normalising_is_idempotent(name, number):
    rules = RuleSet(Rule(*rule) for rule in RULE_SETS[name])
    once = rules.translate(number).number
    if once is not None:
        twice = rules.translate(once)
        assert twice.number == once


@pytest.mark.parametrize("name", RULE_SETS)
@given(data=st.data(), number=any_number)
def test_how_a_number_is_written_never_changes_the_outcome(name, data, number):
    rules = RuleSet(Rule(*rule) for rule in RULE_SETS[name])
    text = data.draw(written(number))
    plain, dressed = rules.translate(number), rules.translate(text)
    assert (dressed.canonical, dressed.index, dressed.number) == (plain.canonical, plain.index, plain.number)


_CACHED_RULE_SETS = {name: RuleSet(Rule(*rule) for rule in rules) for name, rules in RULE_SETS.items()}


@pytest.mark.parametrize("name", RULE_SETS)
@given(data=st.data(), number=any_number)
def test_a_kept_translation_equals_translating_again(name, data, number):
    """RuleSet keeps translations by text: the kept one is what translating gives."""
    rules = _CACHED_RULE_SETS[name]
    text = data.draw(st.one_of(st.just(number), written(number), st.text(max_size=30)))
    first, again = rules.translate(text), rules.translate(text)
    assert first == again == rules._translate(text)
