"""Services of security profiles: charger passwords."""

from __future__ import annotations

from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from .central.passwords import check_password_rules, generate_password
from .charger_security import async_set_password
from .const import DOMAIN
from .service_helpers import Operation, async_register_operations, resolve_target, service_schema

OPERATIONS: dict[str, Operation] = {}

SERVICE_SET_CHARGER_PASSWORD = "set_charger_password"
ATTR_PASSWORD = "password"


def _password(value: Any) -> str:
    password = cv.string(value)
    try:
        check_password_rules(password)
    except ValueError as err:
        raise vol.Invalid(str(err)) from err
    return password


@callback
def async_setup_security_services(hass: HomeAssistant) -> None:
    """Register the services."""
    async_register_operations(hass, OPERATIONS)

    async def set_charger_password(call: ServiceCall) -> ServiceResponse:
        target = resolve_target(hass, call.data)
        given: str | None = call.data.get(ATTR_PASSWORD)
        password = given or generate_password()
        sent = await async_set_password(hass, target.runtime.hub, target.charge_point_id, password)
        response: dict[str, Any] = {"sent_to_charger": sent}
        if given is None:
            # Shown this once: only a salted hash is kept.
            response[ATTR_PASSWORD] = password
        return response

    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_SET_CHARGER_PASSWORD,
        set_charger_password,
        schema=service_schema({vol.Optional(ATTR_PASSWORD): _password}),
        supports_response=SupportsResponse.OPTIONAL,
    )
