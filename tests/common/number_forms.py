"""Hypothesis strategies for telephone numbers: canonical ones, and the ways people write them.

Written out here, not imported from rccserver, so that tests compare the code
with an independent statement of SPEC sections 5 and 10.
"""
from __future__ import annotations

from hypothesis import strategies as st

# Canonical numbers: digits, '*', '#', an optional leading '+'; at most 32 of them.
numbers = st.from_regex(r"\+?[0-9*#]{1,32}", fullmatch=True)
extensions = st.from_regex(r"[0-9*#]{1,32}", fullmatch=True)
digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=15)

# SPEC's visual separators, and tab.
SEPARATORS = "-.() \t"
_separators = st.text(alphabet=SEPARATORS, max_size=2)
_tel_parameters = st.lists(st.sampled_from([";ext=12", ";phone-context=example.com", ";phone-context=+1", ";isub=7"]),
                           max_size=2).map("".join)
_uri_parameters = st.lists(st.sampled_from([";user=phone", ";transport=tcp"]), max_size=2).map("".join)
_edges = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n"])


@st.composite
def written(draw, number: str) -> str:
    """`number` (canonical) as a tel URI, a sip/sips URI's user part or a typed dial string."""
    sign, body = ("+", number[1:]) if number.startswith("+") else ("", number)
    text = draw(_separators) + sign + "".join(draw(_separators) + char for char in body) + draw(_separators)
    form = draw(st.sampled_from(["typed", "tel", "sip"]))
    if form == "tel":
        text = draw(st.sampled_from(["tel:", "TEL:", "Tel:"])) + text + draw(_tel_parameters)
    elif form == "sip":
        text = (draw(st.sampled_from(["sip:", "sips:", "SIP:"])) + text + draw(_tel_parameters)
                + "@example.com" + draw(_uri_parameters))
    return draw(_edges) + text + draw(_edges)
