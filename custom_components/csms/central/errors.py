"""Why a request of the central system to a charge point failed."""

from __future__ import annotations


class RequestError(Exception):
    """A request to a charge point got no usable answer."""


class NotConnectedError(RequestError):
    """The charge point has no open connection."""

    def __init__(self, charge_point_id: str) -> None:
        """Name the charge point."""
        super().__init__(f"{charge_point_id} is not connected")
        self.charge_point_id = charge_point_id


class RequestTimeoutError(RequestError):
    """The charge point did not answer in time."""

    def __init__(self, action: str, timeout: float) -> None:
        """Name the request and how long we waited."""
        super().__init__(f"No answer to {action} within {timeout:.0f} s")
        self.action = action
        self.timeout = timeout


class CallErrorResponse(RequestError):
    """The charge point answered with a CALLERROR."""

    def __init__(self, action: str, code: str, description: str) -> None:
        """Keep the error code and description the charge point sent."""
        super().__init__(f"{action} failed: {code} {description}".strip())
        self.action = action
        self.code = code
        self.description = description
