"""The dial plan (SPEC section 10): normalisation rules, routing by number, E.164 presentation."""
from rccserver.dialplan.e164 import country_code_problem, e164
from rccserver.dialplan.plan import DialPlan
from rccserver.dialplan.routing import DialPlanRouter, Kind, Route, StationNumbers, destination_kind
from rccserver.dialplan.rules import Rule, RuleSet, Translation, rule_problems

__all__ = [
    "DialPlan",
    "DialPlanRouter",
    "Kind",
    "Route",
    "Rule",
    "RuleSet",
    "StationNumbers",
    "Translation",
    "country_code_problem",
    "destination_kind",
    "e164",
    "rule_problems",
]
