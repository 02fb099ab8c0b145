"""Entry points into the ocpp package, which ships without type hints.

All of the simulator's ocpp imports go through here, and the decorators get
signatures that keep the handlers' types intact for the type checker.
"""

from collections.abc import Callable
from typing import Any, cast

from ocpp import messages
from ocpp.exceptions import OCPPError, ProtocolError, TypeConstraintViolationError
from ocpp.messages import CallError
from ocpp.routing import after as _after, on as _on
from ocpp.v16 import ChargePoint, call, call_result, datatypes, enums

__all__ = [
    "CallError",
    "ChargePoint",
    "OCPPError",
    "ProtocolError",
    "TypeConstraintViolationError",
    "after",
    "call",
    "call_result",
    "datatypes",
    "enums",
    "messages",
    "on",
]


def on[F: Callable[..., Any]](
    action: str, *, skip_schema_validation: bool = False
) -> Callable[[F], F]:
    """Route CSMS-initiated calls of `action` to the decorated method."""
    return cast("Callable[[F], F]", _on(action, skip_schema_validation=skip_schema_validation))


def after[F: Callable[..., Any]](action: str) -> Callable[[F], F]:
    """Run the decorated method once the answer to `action` has been sent."""
    return cast("Callable[[F], F]", _after(action))
