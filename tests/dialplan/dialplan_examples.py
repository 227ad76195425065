"""The worked examples of docs/dialplan.md, with what each number must become, written out by hand.

Each example: its rules (pattern, translation), its country code, and rows of
(number as dialled, number read canonically, index of the rule that matches
or None, number that comes out or None).
"""
from __future__ import annotations

# North America: 9 for an outside line, 4-digit extensions, 011 for international.
NORTH_AMERICA_RULES = [
    (r"^9(\d{10})$", "+1$1"),
    (r"^9(1\d{10})$", "+$1"),
    (r"^9011(\d{7,15})$", "+$1"),
    (r"^(\d{4})$", "$1"),
]
NORTH_AMERICA = [
    ("9 (317) 555-0188", "93175550188", 0, "+13175550188"),
    ("9-1-317-555-0188", "913175550188", 1, "+13175550188"),
    ("tel:93175550188;phone-context=dialstring", "93175550188", 0, "+13175550188"),
    ("sip:9.317.555.0188@example.com;user=phone", "93175550188", 0, "+13175550188"),
    ("9 011 44 20 7946 0018", "901144207946" "0018", 2, "+442079460018"),
    ("1001", "1001", 3, "1001"),
    ("tel:+1001", "+1001", None, "+1001"),
    ("+1 (317) 555-0188", "+13175550188", None, "+13175550188"),
    ("tel:+1-317-555-0188;ext=22", "+13175550188", None, "+13175550188"),
    ("317 555 0188", "3175550188", None, "3175550188"),  # without the 9: no rule
    ("93175550188 1", "931755501881", None, "931755501881"),  # 9 + 11 digits not starting 1
    ("*86", "*86", None, "*86"),
    ("9 (317) 555-O188", None, None, None),  # a letter O, not a zero
    ("", None, None, None),
]

# United Kingdom: 0 for national numbers, 9 for an outside line on a PBX, 00 for international.
UNITED_KINGDOM_RULES = [
    (r"^00(\d{7,15})$", "+$1"),
    (r"^900(\d{7,15})$", "+$1"),
    (r"^0(\d{10})$", "+44$1"),
    (r"^90(\d{10})$", "+44$1"),
    (r"^(\d{4})$", "$1"),
]
UNITED_KINGDOM = [
    ("020 7946 0018", "02079460018", 2, "+442079460018"),
    ("9 020 7946 0018", "902079460018", 3, "+442079460018"),
    ("00 1 317 555 0188", "0013175550188", 0, "+13175550188"),
    ("9 00 33 1 23 45 67 89", "90033123456789", 1, "+33123456789"),
    ("07700 900123", "07700900123", 2, "+447700900123"),
    ("2001", "2001", 4, "2001"),
    ("+44 20 7946 0018", "+442079460018", None, "+442079460018"),
    ("7946 0018", "79460018", None, "79460018"),  # a local number without the area code
]

# A DID range +1 317 555 1000-1999 whose last four digits are the extension; the carrier
# sends some calls with +1, some with ten digits.
DID_INBOUND_RULES = [
    (r"^\+1317555(1\d{3})$", "$1"),
    (r"^317555(1\d{3})$", "$1"),
]
DID_INBOUND = [
    ("+1 317 555 1001", "+13175551001", 0, "1001"),
    ("tel:+13175551001;ext=1001", "+13175551001", 0, "1001"),
    ("sip:+13175551999@sbc.example.com;user=phone", "+13175551999", 0, "1999"),
    ("3175551001", "3175551001", 1, "1001"),
    ("+13175552001", "+13175552001", None, "+13175552001"),  # outside the range
    ("13175551001", "13175551001", None, "13175551001"),  # 11 digits without '+': no rule
]

# (name, dial rules, inbound rules, country code, dial rows, inbound rows)
WORKED = {
    "north-america": (NORTH_AMERICA_RULES, DID_INBOUND_RULES, "1", NORTH_AMERICA, DID_INBOUND),
    "united-kingdom": (UNITED_KINGDOM_RULES, [], "44", UNITED_KINGDOM, []),
}
