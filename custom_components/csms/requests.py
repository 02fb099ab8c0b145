"""Requests to a charge point on behalf of the user; failures as Home Assistant errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.exceptions import HomeAssistantError

from .central.errors import CallErrorResponse, NotConnectedError, RequestTimeoutError
from .const import DOMAIN

if TYPE_CHECKING:
    from .runtime import CsmsRuntimeData


@dataclass(frozen=True, slots=True)
class OcppRequest:
    """A request an entity sends, and the answers that mean success."""

    action: str
    payload: dict[str, Any] = field(default_factory=dict)
    accepted: tuple[str, ...] | None = ("Accepted",)


async def async_request(
    runtime: CsmsRuntimeData,
    action: str,
    payload: dict[str, Any],
    *,
    accepted: tuple[str, ...] | None = ("Accepted",),
) -> dict[str, Any]:
    """Send ``action`` to the charge point and return its answer.

    Args:
        runtime: The charge point entry's runtime data.
        action: The OCPP action, e.g. ``"RemoteStartTransaction"``.
        payload: The request payload with snake_case keys.
        accepted: The answer's ``status`` values that mean success; ``None``
            when the answer has no status to check.

    Returns:
        The charger's answer with snake_case keys.

    Raises:
        HomeAssistantError: The charger is not connected, did not answer,
            answered with a CALLERROR or refused the request.
    """
    with request_errors(runtime.charge_point_id):
        response = await runtime.request(action, payload)
    if accepted is not None and (status := response.get("status")) not in accepted:
        raise rejected_error(runtime.charge_point_id, action, str(status))
    return response


def rejected_error(charge_point_id: str, action: str, status: str) -> HomeAssistantError:
    """The error for a request the charger refused (Rejected, NotSupported, ...)."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="request_rejected",
        translation_placeholders={
            "charge_point_id": charge_point_id,
            "action": action,
            "status": status,
        },
    )


@contextmanager
def request_errors(charge_point_id: str) -> Iterator[None]:
    """Turn a failed exchange with a charge point into a translated HomeAssistantError."""
    try:
        yield
    except NotConnectedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charge_point_not_connected",
            translation_placeholders={"charge_point_id": charge_point_id},
        ) from err
    except RequestTimeoutError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charge_point_timeout",
            translation_placeholders={
                "charge_point_id": charge_point_id,
                "action": err.action,
                "timeout": f"{err.timeout:g}",
            },
        ) from err
    except CallErrorResponse as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charge_point_call_error",
            translation_placeholders={
                "charge_point_id": charge_point_id,
                "action": err.action,
                "code": err.code,
                "description": err.description,
            },
        ) from err
