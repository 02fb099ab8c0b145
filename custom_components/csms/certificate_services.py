"""Services of the OCPP 1.6 security extension: certificates, extended triggers."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback

from .service_helpers import Operation, async_register_operations

OPERATIONS: dict[str, Operation] = {}


@callback
def async_setup_certificate_services(hass: HomeAssistant) -> None:
    """Register the services."""
    async_register_operations(hass, OPERATIONS)
