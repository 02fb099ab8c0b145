"""What every csms service shares: the charger a call names, and validated, translated errors.

A service names one charger, by its device (a connector's device names its
charge point and that connector) or by its OCPP identity. Most services send
one OCPP action (an :class:`Operation`) and return the charger's answer as
response data, whatever its status (Rejected, NotSupported, ...): the caller
decides what that means. Only a failed exchange (no connection, no answer,
CALLERROR) raises.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
import probatio as vol

from .central.timestamps import format_timestamp
from .const import CONF_CHARGE_POINT_ID, DOMAIN
from .devices import connector_identifier
from .requests import async_request
from .runtime import CsmsConfigEntry, CsmsRuntimeData

ATTR_CONNECTOR_ID = "connector_id"

# Field limits of OCPP 1.6 (CiString20Type for id tags and so on).
ID_TAG = vol.All(cv.string, vol.Length(min=1, max=20))
CONFIGURATION_KEY = vol.All(cv.string, vol.Length(min=1, max=50))
# Connector 0 is the charge point as a whole.
CONNECTOR_OR_CHARGE_POINT = cv.positive_int
# Connector ids above 0 where 1.6 wants a real connector.
CONNECTOR = vol.All(vol.Coerce(int), vol.Range(min=1))


class ServiceSchema(vol.Schema):
    """A service schema whose faults reach the caller as translated validation errors."""

    def __call__(self, data: Any, **kwargs: Any) -> Any:
        """Validate like a schema, raising ServiceValidationError instead of Invalid."""
        try:
            return super().__call__(data, **kwargs)
        except vol.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_service_data",
                translation_placeholders={"error": str(err)},
            ) from err


def service_schema(fields: dict[Any, Any]) -> ServiceSchema:
    """A service's schema: the charger (by device or identity) and its own fields."""
    return ServiceSchema(
        {
            vol.Optional(ATTR_DEVICE_ID): cv.string,
            vol.Optional(CONF_CHARGE_POINT_ID): cv.string,
            **fields,
        }
    )


@dataclass(frozen=True, slots=True)
class Target:
    """The charger a call is for, and the connector its device stands for (if any)."""

    runtime: CsmsRuntimeData
    device_connector_id: int | None = None

    @property
    def charge_point_id(self) -> str:
        """The OCPP identity of the charger."""
        return self.runtime.charge_point_id

    def require_connected(self) -> None:
        """Refuse before anything is sent when the charger is not connected."""
        if not self.runtime.charge_point.connected:
            raise service_error("charge_point_not_connected", charge_point_id=self.charge_point_id)

    def connector_id(self, data: dict[str, Any]) -> int | None:
        """The connector given by connector_id or by a connector's device, checked."""
        given: int | None = data.get(ATTR_CONNECTOR_ID)
        device = self.device_connector_id
        if given is not None and device is not None and given != device:
            raise service_error(
                "connector_mismatch",
                charge_point_id=self.charge_point_id,
                connector_id=str(given),
                device_connector_id=str(device),
            )
        connector_id = given if given is not None else device
        if connector_id:
            self._check_exists(connector_id)
        return connector_id

    def single_connector_id(self, data: dict[str, Any]) -> int:
        """The connector given, or the charger's only one."""
        if (connector_id := self.connector_id(data)) is not None:
            return connector_id
        known = self._known_connector_ids()
        if len(known) != 1:
            raise service_error("connector_required", charge_point_id=self.charge_point_id)
        (only,) = known
        return only

    def _known_connector_ids(self) -> set[int]:
        """The connectors the charger reported, or announced in NumberOfConnectors."""
        return set(self.runtime.charge_point.announced_outlet_ids)

    def _check_exists(self, connector_id: int) -> None:
        known = self._known_connector_ids()
        # A charger that has not told us its connectors yet gets the benefit of the doubt.
        if known and connector_id not in known:
            raise service_error(
                "unknown_connector",
                charge_point_id=self.charge_point_id,
                connector_id=str(connector_id),
            )


def service_error(translation_key: str, **placeholders: str) -> ServiceValidationError:
    """A translated validation error of this integration."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


def loaded_runtime(entry: CsmsConfigEntry) -> CsmsRuntimeData:
    """The runtime data of a charge point entry; refused while it is not loaded."""
    if entry.state is not ConfigEntryState.LOADED:
        raise service_error(
            "charge_point_not_loaded", charge_point_id=entry.data[CONF_CHARGE_POINT_ID]
        )
    return entry.runtime_data


def resolve_target(hass: HomeAssistant, data: dict[str, Any]) -> Target:
    """The charger named by exactly one of device_id and charge_point_id."""
    device_id: str | None = data.get(ATTR_DEVICE_ID)
    charge_point_id: str | None = data.get(CONF_CHARGE_POINT_ID)
    if device_id is not None and charge_point_id is None:
        return target_of_device(hass, device_id)
    if charge_point_id is None or device_id is not None:
        raise service_error("charge_point_required")
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
    # Server entries have unique ids too (their port): only charge point entries count.
    if entry is None or CONF_CHARGE_POINT_ID not in entry.data:
        raise service_error("unknown_charge_point", charge_point_id=charge_point_id)
    return Target(loaded_runtime(entry))


def target_of_device(hass: HomeAssistant, device_id: str) -> Target:
    """The charger of a charge point's or connector's device."""
    device = dr.async_get(hass).async_get(device_id)
    entry = (
        hass.config_entries.async_get_entry(device.config_entry_id) if device is not None else None
    )
    if device is None or entry is None or entry.domain != DOMAIN:
        raise service_error("unknown_device", device_id=device_id)
    runtime = loaded_runtime(entry)
    charge_point = runtime.charge_point
    connector_id = next(
        (
            outlet
            for outlet in charge_point.outlet_ids
            if connector_identifier(charge_point.charge_point_id, outlet) in device.identifiers
        ),
        None,
    )
    return Target(runtime, connector_id)


def utc_datetime(value: Any) -> datetime:
    """A date and time in UTC; without an offset it is Home Assistant's local time."""
    return dt_util.as_utc(cv.datetime(value))


def utc_timestamp(value: Any) -> str:
    """A date and time as OCPP writes it; without an offset it is Home Assistant's local time."""
    return format_timestamp(utc_datetime(value))


NON_NEGATIVE_INT = vol.All(vol.Coerce(int), vol.Range(min=0))
# OCPP 1.6 security extension: a certificate (PEM) in a request is at most 5500 characters.
MAX_CERTIFICATE_LENGTH = 5500

# Each operation builds its OCPP payload (snake_case) from the validated call data.
type PayloadBuilder = Callable[[Target, dict[str, Any]], dict[str, Any]]
# And may act on the charger's answer (payload sent, answer received).
type AnswerHandler = Callable[[Target, dict[str, Any], dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Operation:
    """A service that sends one OCPP action."""

    action: str
    fields: dict[Any, Any]
    payload: PayloadBuilder
    # Operations that change how a charger works, or reveal its settings.
    admin: bool
    on_answer: AnswerHandler | None = None


def _operation_handler(
    hass: HomeAssistant, operation: Operation
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    async def handle(call: ServiceCall) -> ServiceResponse:
        target = resolve_target(hass, call.data)
        payload = operation.payload(target, call.data)
        target.require_connected()
        # Rejected and the like are answers too: the caller reads the status.
        response = await async_request(target.runtime, operation.action, payload, accepted=None)
        if operation.on_answer is not None:
            operation.on_answer(target, payload, response)
        return response

    return handle


@callback
def async_register_operations(hass: HomeAssistant, operations: Mapping[str, Operation]) -> None:
    """Register one service per operation; admin operations for admins only."""
    for service, operation in operations.items():
        handler = _operation_handler(hass, operation)
        schema = service_schema(operation.fields)
        if operation.admin:
            async_register_admin_service(
                hass,
                DOMAIN,
                service,
                handler,
                schema=schema,
                supports_response=SupportsResponse.OPTIONAL,
            )
        else:
            hass.services.async_register(
                DOMAIN,
                service,
                handler,
                schema=schema,
                supports_response=SupportsResponse.OPTIONAL,
            )
