"""CSTAErrorCode values (reference section 3.6) and the codec's own exceptions."""
from types import MappingProxyType

import attrs

# category -> the values it allows. `privateData` and `unspecified` carry no
# standard value: they are sent as an empty category element (value "").
CATEGORIES: MappingProxyType = MappingProxyType({
    "operation": frozenset({
        "generic", "requestIncompatibleWithObject", "valueOutOfRange",
        "objectNotKnown", "invalidCallingDevice", "invalidCalledDevice",
        "invalidForwardingDestination", "privilegeViolationOnSpecifiedDevice",
        "privilegeViolationOnCalledDevice", "privilegeViolationOnCallingDevice",
        "invalidCallIdentifier", "invalidDeviceIdentifier",
        "invalidConnectionIdentifier", "invalidDestination", "invalidFeature",
        "invalidAllocationState", "invalidCrossRefID", "invalidObjectType",
        "securityViolation",
    }),
    "security": frozenset({
        "unspecified", "sequenceNumberViolated", "timeStampViolated",
        "securityInfoViolated",
    }),
    "stateIncompatibility": frozenset({
        "generic", "invalidObjectState", "invalidConnectionID", "noActiveCall",
        "noHeldCall", "noCallToClear", "noConnectionToClear", "noCallToAnswer",
        "noCallToComplete",
    }),
    "systemResourceAvailability": frozenset({
        "generic", "serviceBusy", "resourceBusy", "resourceOutOfService",
        "networkBusy", "networkOutOfService", "overallMonitorLimitExceeded",
        "conferenceMemberLimitExceeded",
    }),
    "subscribedResourceAvailability": frozenset({
        "generic", "objectMonitorLimitExceeded", "externalTrunkLimitExceeded",
        "outstandingRequestsLimitExceeded",
    }),
    "performanceManagement": frozenset({"generic", "performanceLimitExceeded"}),
    "privateData": frozenset({""}),
    "unspecified": frozenset({""}),
})


def _check_value(instance: "ErrorCode", attribute: attrs.Attribute, value: str) -> None:
    allowed = CATEGORIES.get(instance.category)
    if allowed is None:
        raise ValueError(f"unknown CSTAErrorCode category {instance.category!r}")
    if value not in allowed:
        raise ValueError(f"{value!r} is not a CSTAErrorCode {instance.category} value")


@attrs.frozen
class ErrorCode:
    """A negative CSTA answer: the `CSTAErrorCode` document, e.g. operation/invalidFeature.

    It is a message in its own right (encode it to answer a failed request).
    """

    category: str
    value: str = attrs.field(validator=_check_value)

    def __str__(self) -> str:
        return f"{self.category}/{self.value}" if self.value else self.category


# The codes the decoder itself answers with; documented in docs/csta.md.
MALFORMED = ErrorCode("operation", "generic")
UNKNOWN_SERVICE = ErrorCode("operation", "invalidFeature")
BAD_VALUE = ErrorCode("operation", "valueOutOfRange")
BAD_DEVICE = ErrorCode("operation", "invalidDeviceIdentifier")
BAD_CALL = ErrorCode("operation", "invalidCallIdentifier")
BAD_CONNECTION = ErrorCode("operation", "invalidConnectionIdentifier")
BAD_CROSS_REF = ErrorCode("operation", "invalidCrossRefID")


class CstaDecodeError(Exception):
    """The body is not a CSTA message we accept; `error_code` is what to answer with."""

    def __init__(self, error_code: ErrorCode, reason: str) -> None:
        super().__init__(f"{error_code}: {reason}")
        self.error_code = error_code
        self.reason = reason


class CstaEncodeError(ValueError):
    """A message holds a value that cannot be sent (bad enum value, illegal XML character...)."""
