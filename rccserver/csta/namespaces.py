"""XML namespaces the CSTA codec speaks (reference section 3.1)."""
import enum


class Namespace(enum.StrEnum):
    """The ECMA-323 editions we accept; answers go out in the request's edition."""

    ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
    ED4 = "http://www.ecma-international.org/standards/ecma-323/csta/ed4"
    ED5 = "http://www.ecma-international.org/standards/ecma-323/csta/ed5"

    @property
    def edition(self) -> int:
        return int(self.value[-1])


# Microsoft's private-data extension carrying the user's Line URI (`lcs:line`).
RCC_EXTENSION = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"

BY_URI: dict[str, Namespace] = {ns.value: ns for ns in Namespace}
