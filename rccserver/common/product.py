"""How the product names itself in Server and User-Agent headers (SPEC section 2).

Without `[server] advertise_version = true` the version stays out, so a peer
(or a scanner that got past the access list) learns nothing it could match
against a list of known problems.
"""
from __future__ import annotations

from rccserver import __version__

PRODUCT = "rccserver"


def product_token(advertise_version: bool = False) -> str:
    return f"{PRODUCT}/{__version__}" if advertise_version else PRODUCT
