"""`rccserver dialplan test NUMBER [--inbound] [--config FILE]`: the dial plan's "Test" button.

Like the Test button of Lync's normalisation rules: reads NUMBER as the server
would (SPEC section 10), says which rule of `[dialplan]` matched (its key,
pattern and file:line) and what came out, its E.164 presentation, and where the
call would go with the CIC data the configuration names. `--inbound` reads
NUMBER as a trunk call's DID through the `inbound` rules instead of the `dial`
rules.

Exit 0 when the number goes somewhere (a station, or outside for a dialled
number), 1 when it is not dialable (not a number, or it goes nowhere), 2 when
the configuration or its CIC data cannot be read.
"""
from __future__ import annotations

import argparse

from rccserver.cic.data import CicDataError, load_cic_data
from rccserver.dialplan import DialPlan, DialPlanRouter, Kind, Route
from rccserver.server.config import DEFAULT_CONFIG_PATH, read_config

EXIT_DIALABLE = 0
EXIT_NOT_DIALABLE = 1
EXIT_CONFIG_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("test",), help="test: show what the dial plan makes of NUMBER")
    parser.add_argument("number", metavar="NUMBER",
                        help="a number as dialled or received: 9 (317) 555-0188, tel:+13175550188, 1001, ...")
    parser.add_argument("--inbound", action="store_true",
                        help="read NUMBER as a trunk call's DID, through the inbound rules")


def run(args: argparse.Namespace) -> int:
    reading = read_config(args.config or DEFAULT_CONFIG_PATH)
    if reading.errors:
        for error in reading.errors:
            print(f"error: {error}")
        return EXIT_CONFIG_ERROR
    config = reading.config
    try:
        cic = load_cic_data(config.cic.data_file)
    except CicDataError as error:
        print(f"error: {error}")
        return EXIT_CONFIG_ERROR
    plan = DialPlan(config.dialplan.dial, config.dialplan.inbound, config.dialplan.country_code)
    router = DialPlanRouter(plan, lambda: cic.stations)
    table = "inbound" if args.inbound else "dial"
    route = router.route_inbound(args.number) if args.inbound else router.route_dialled(args.number)
    for label, value in _report(route, table, plan, cic, args.inbound):
        print(f"{label + ':':<14} {value}")
    dialable = route.kind is Kind.STATION or (route.kind is Kind.EXTERNAL and not args.inbound)
    return EXIT_DIALABLE if dialable else EXIT_NOT_DIALABLE


def _report(route: Route, table: str, plan: DialPlan, cic, inbound: bool) -> list[tuple[str, str]]:
    translation = route.translation
    lines = [("number", translation.text)]
    if translation.canonical is None:
        lines.append(("read as", "not a number (digits, '*', '#' and a leading '+', once tel:, "
                                 "parameters and the separators -.() are dropped)"))
        return lines
    lines.append(("read as", translation.canonical))
    rules = plan.inbound_rules if inbound else plan.dial_rules
    if translation.rule is None:
        lines.append((f"{table} rule", f"none of {len(rules)} matched: the number stays as it is"))
    else:
        rule = translation.rule
        where = f" ({rule.origin})" if rule.origin else ""
        lines.append((f"{table} rule", f"dialplan.{table}[{translation.index}] '{rule.pattern}' -> "
                                       f"'{rule.translation}'{where}"))
    if translation.number is None:
        lines.append(("result", "no number: the translation does not give a dialable number"))
        return lines
    lines.append(("result", translation.number))
    if route.kind is Kind.STATION:
        lines.append(("E.164", "none: a station stays its extension"))
    else:
        presented = plan.presentation(translation.number)
        lines.append(("E.164", presented or "none: phonenumbers knows no valid number like it"
                      + ("" if plan.country_code or translation.number.startswith("+")
                         else " (without [dialplan] country_code a national number has none)")))
    lines.append(("goes to", _destination(route, cic, inbound)))
    return lines


def _destination(route: Route, cic, inbound: bool) -> str:
    number = route.translation.number
    if route.kind is Kind.STATION:
        station = cic.station_by_extension(route.target)
        name = f" ({station.name}, {station.identification_address or 'no identification address'})" \
            if station is not None else ""
        return f"station {route.target}{name}"
    if inbound:
        return f"nowhere: {number} is no station's extension (the trunk's call is answered 404)"
    if route.kind is Kind.EXTERNAL:
        return f"outside: {number} (the trunk's, once there is one; else the embedded switch's external party)"
    return (f"nowhere: {number} is no station and does not start with '+' "
            f"(MakeCall answers operation/invalidCalledDevice)")
