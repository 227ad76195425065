"""The dial plan of `[dialplan]` (SPEC section 10): two rule tables and a country.

`dial` rules read what a person dials (MakeCall, DeflectCall, transfers,
forwarding destinations, a SIP phone's INVITE); `inbound` rules read the
number a trunk call is for (its DID). `presentation` is how an outside party's
number is shown in CSTA: `tel:+<E.164>` whenever it has an E.164 form.
"""
from __future__ import annotations

from typing import Iterable

from rccserver.dialplan.e164 import country_code_problem, e164
from rccserver.dialplan.rules import Rule, RuleSet, Translation


class DialPlan:
    def __init__(self, dial: Iterable[Rule] = (), inbound: Iterable[Rule] = (),
                 country_code: str | None = None) -> None:
        if country_code is not None:
            problem = country_code_problem(country_code)
            if problem:
                raise ValueError(f"country_code {problem}")
        self.dial_rules = RuleSet(dial)
        self.inbound_rules = RuleSet(inbound)
        self.country_code = country_code

    def dial(self, text: str) -> Translation:
        """A dialled number through the `dial` rules."""
        return self.dial_rules.translate(text)

    def inbound(self, text: str) -> Translation:
        """A trunk call's DID through the `inbound` rules."""
        return self.inbound_rules.translate(text)

    def e164(self, number: str) -> str | None:
        """`+<E.164>` of a canonical number (national ones in `country_code`), or None."""
        return e164(number, self.country_code)

    def presentation(self, number: str) -> str | None:
        """The tel URI an outside party's number is shown as, when it has an E.164 form."""
        international = self.e164(number)
        return None if international is None else f"tel:{international}"
