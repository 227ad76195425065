"""The one exception the switch raises for a refused service: a CSTA error code.

`SwitchError(category, value)` carries exactly what the RCC layer puts into a
`CSTAErrorCode/<category>/<value>` answer. How lookups fail, in order:

* a station the switch does not know: operation/invalidDeviceIdentifier
* a call id that never existed or has ended: operation/invalidCallIdentifier
* a live call the station has no connection in: stateIncompatibility/invalidConnectionID
* a connection in the wrong state: the value listed in connection_fsm.REFUSALS
"""
from __future__ import annotations

# Categories (ECMA-285 UniversalFailure).
OPERATION = "operation"
STATE_INCOMPATIBILITY = "stateIncompatibility"
SYSTEM_RESOURCE_AVAILABILITY = "systemResourceAvailability"

CATEGORIES = frozenset(
    {
        OPERATION,
        "security",
        STATE_INCOMPATIBILITY,
        SYSTEM_RESOURCE_AVAILABILITY,
        "subscribedResourceAvailability",
        "performanceManagement",
        "privateData",
        "unspecified",
    }
)


class SwitchError(Exception):
    """A service the switch refuses, named by its CSTA error category and value."""

    def __init__(self, category: str, value: str, detail: str = "") -> None:
        if category not in CATEGORIES:
            raise ValueError(f"unknown CSTA error category {category!r}")
        self.category = category
        self.value = value
        self.detail = detail
        super().__init__(f"{category}/{value}" + (f": {detail}" if detail else ""))

    @property
    def code(self) -> tuple[str, str]:
        return (self.category, self.value)
