"""Services: every CSMS-initiated OCPP 1.6 operation, and a charger's message log.

Each service names one charger, by its device (a connector's device names its
charge point and that connector) or by its OCPP identity, and returns the
charger's answer as response data. The answer is returned whatever its status
(Rejected, NotSupported, ...): the caller decides what that means. Only a
failed exchange (no connection, no answer, CALLERROR) raises.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
import json
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
from ocpp.v16.enums import (
    Action,
    AvailabilityType,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    ChargingRateUnitType,
    RecurrencyKind,
    ResetType,
    UpdateType,
)
import probatio as vol

from .central.charging_limits import MANAGED_PROFILE_IDS
from .central.smart_charging import ChargingCapabilities, ProfileError, check_profile
from .central.timestamps import format_timestamp
from .const import CONF_CHARGE_POINT_ID, DOMAIN
from .devices import connector_identifier
from .requests import async_request, request_errors
from .runtime import CsmsConfigEntry, CsmsRuntimeData

ATTR_CONNECTOR_ID = "connector_id"
ATTR_ID_TAG = "id_tag"
ATTR_CHARGING_PROFILE = "charging_profile"
ATTR_TRANSACTION_ID = "transaction_id"
ATTR_TYPE = "type"
ATTR_KEY = "key"
ATTR_VALUE = "value"
ATTR_VENDOR_ID = "vendor_id"
ATTR_MESSAGE_ID = "message_id"
ATTR_DATA = "data"
ATTR_REQUESTED_MESSAGE = "requested_message"
ATTR_LIMIT = "limit"

SERVICE_REMOTE_START_TRANSACTION = "remote_start_transaction"
SERVICE_REMOTE_STOP_TRANSACTION = "remote_stop_transaction"
SERVICE_RESET = "reset"
SERVICE_UNLOCK_CONNECTOR = "unlock_connector"
SERVICE_CHANGE_AVAILABILITY = "change_availability"
SERVICE_CHANGE_CONFIGURATION = "change_configuration"
SERVICE_GET_CONFIGURATION = "get_configuration"
SERVICE_CLEAR_CACHE = "clear_cache"
SERVICE_DATA_TRANSFER = "data_transfer"
SERVICE_TRIGGER_MESSAGE = "trigger_message"
SERVICE_GET_MESSAGE_LOG = "get_message_log"
SERVICE_GET_LOCAL_LIST_VERSION = "get_local_list_version"
SERVICE_SEND_LOCAL_LIST = "send_local_list"
SERVICE_SET_CHARGING_PROFILE = "set_charging_profile"
SERVICE_CLEAR_CHARGING_PROFILE = "clear_charging_profile"
SERVICE_GET_COMPOSITE_SCHEDULE = "get_composite_schedule"
ATTR_CS_CHARGING_PROFILES = "cs_charging_profiles"
ATTR_PROFILE_ID = "id"
ATTR_PURPOSE = "charging_profile_purpose"
ATTR_STACK_LEVEL = "stack_level"
ATTR_DURATION = "duration"
ATTR_CHARGING_RATE_UNIT = "charging_rate_unit"
ATTR_UPDATE_TYPE = "update_type"
ATTR_LIST_VERSION = "list_version"

# OCPP 1.6 section 7.26 MessageTrigger. The ocpp package's enum also holds the
# security extension's values, which only ExtendedTriggerMessage may request.
MESSAGE_TRIGGERS: tuple[str, ...] = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)


def _ocpp_text(value: Any) -> str:
    """A configuration value as OCPP writes it: booleans are "true" and "false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return cv.string(value)


def _data_transfer_data(value: Any) -> str:
    """DataTransfer data is text; anything else is sent as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


# Field limits of OCPP 1.6 (CiString20Type for id tags and so on).
_ID_TAG = vol.All(cv.string, vol.Length(min=1, max=20))
_CONFIGURATION_KEY = vol.All(cv.string, vol.Length(min=1, max=50))
# Connector 0 is the charge point as a whole.
_CONNECTOR_OR_CHARGE_POINT = cv.positive_int
# Connector ids above 0 where 1.6 wants a real connector.
_CONNECTOR = vol.All(vol.Coerce(int), vol.Range(min=1))


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


def _schema(fields: dict[Any, Any]) -> ServiceSchema:
    """A service's schema: the charger (by device or identity) and its own fields."""
    return ServiceSchema(
        {
            vol.Optional(ATTR_DEVICE_ID): cv.string,
            vol.Optional(CONF_CHARGE_POINT_ID): cv.string,
            **fields,
        }
    )


@dataclass(frozen=True, slots=True)
class _Target:
    """The charger a call is for, and the connector its device stands for (if any)."""

    runtime: CsmsRuntimeData
    device_connector_id: int | None = None

    @property
    def charge_point_id(self) -> str:
        return self.runtime.charge_point_id

    def connector_id(self, data: dict[str, Any]) -> int | None:
        """The connector given by connector_id or by a connector's device, checked."""
        given: int | None = data.get(ATTR_CONNECTOR_ID)
        device = self.device_connector_id
        if given is not None and device is not None and given != device:
            raise _error(
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
            raise _error("connector_required", charge_point_id=self.charge_point_id)
        (only,) = known
        return only

    def _known_connector_ids(self) -> set[int]:
        """The connectors the charger reported, or announced in NumberOfConnectors."""
        return set(self.runtime.charge_point.announced_outlet_ids)

    def _check_exists(self, connector_id: int) -> None:
        known = self._known_connector_ids()
        # A charger that has not told us its connectors yet gets the benefit of the doubt.
        if known and connector_id not in known:
            raise _error(
                "unknown_connector",
                charge_point_id=self.charge_point_id,
                connector_id=str(connector_id),
            )


def _error(translation_key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


def _loaded_runtime(entry: CsmsConfigEntry) -> CsmsRuntimeData:
    if entry.state is not ConfigEntryState.LOADED:
        raise _error("charge_point_not_loaded", charge_point_id=entry.data[CONF_CHARGE_POINT_ID])
    return entry.runtime_data


def _resolve_target(hass: HomeAssistant, data: dict[str, Any]) -> _Target:
    """The charger named by exactly one of device_id and charge_point_id."""
    device_id: str | None = data.get(ATTR_DEVICE_ID)
    charge_point_id: str | None = data.get(CONF_CHARGE_POINT_ID)
    if device_id is not None and charge_point_id is None:
        return _target_of_device(hass, device_id)
    if charge_point_id is None or device_id is not None:
        raise _error("charge_point_required")
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
    # Server entries have unique ids too (their port): only charge point entries count.
    if entry is None or CONF_CHARGE_POINT_ID not in entry.data:
        raise _error("unknown_charge_point", charge_point_id=charge_point_id)
    return _Target(_loaded_runtime(entry))


def _target_of_device(hass: HomeAssistant, device_id: str) -> _Target:
    device = dr.async_get(hass).async_get(device_id)
    entry = (
        hass.config_entries.async_get_entry(device.config_entry_id) if device is not None else None
    )
    if device is None or entry is None or entry.domain != DOMAIN:
        raise _error("unknown_device", device_id=device_id)
    runtime = _loaded_runtime(entry)
    charge_point = runtime.charge_point
    connector_id = next(
        (
            outlet
            for outlet in charge_point.outlet_ids
            if connector_identifier(charge_point.charge_point_id, outlet) in device.identifiers
        ),
        None,
    )
    return _Target(runtime, connector_id)


# Each operation builds its OCPP payload (snake_case) from the validated call data.
type _PayloadBuilder = Callable[[_Target, dict[str, Any]], dict[str, Any]]


def _remote_start_transaction(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id_tag": data[ATTR_ID_TAG],
        "connector_id": target.connector_id(data),
        "charging_profile": data.get(ATTR_CHARGING_PROFILE),
    }


def _remote_stop_transaction(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    if (transaction_id := data.get(ATTR_TRANSACTION_ID)) is not None:
        # Sent as given: a charger that was offline may run transactions we have not seen.
        return {"transaction_id": transaction_id}
    connector_id = target.single_connector_id(data)
    connector = target.runtime.charge_point.connectors.get(connector_id)
    if connector is None or connector.transaction is None:
        raise _error(
            "no_transaction",
            charge_point_id=target.charge_point_id,
            connector_id=str(connector_id),
        )
    return {"transaction_id": connector.transaction.transaction_id}


def _reset(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": data[ATTR_TYPE]}


def _unlock_connector(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    return {"connector_id": target.single_connector_id(data)}


def _change_availability(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    connector_id = target.connector_id(data)
    # Without a connector the charge point as a whole (connector 0) is meant.
    return {"connector_id": connector_id or 0, "type": data[ATTR_TYPE]}


def _change_configuration(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    return {"key": data[ATTR_KEY], "value": data[ATTR_VALUE]}


def _get_configuration(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    # No (or an empty) key list asks for every key.
    return {"key": data.get(ATTR_KEY) or None}


def _no_payload(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    return {}


def _data_transfer(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "vendor_id": data[ATTR_VENDOR_ID],
        "message_id": data.get(ATTR_MESSAGE_ID),
        "data": data.get(ATTR_DATA),
    }


def _trigger_message(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "requested_message": data[ATTR_REQUESTED_MESSAGE],
        "connector_id": target.connector_id(data),
    }


def _utc(value: Any) -> str:
    """A date and time as OCPP writes it; without an offset it is Home Assistant's local time."""
    parsed = cv.datetime(value)
    return format_timestamp(dt_util.as_utc(parsed))


_NON_NEGATIVE_INT = vol.All(vol.Coerce(int), vol.Range(min=0))
_RATE_UNITS = [str(unit) for unit in ChargingRateUnitType]
_PURPOSES = [str(purpose) for purpose in ChargingProfilePurposeType]
# OCPP 1.6 section 7.7-7.9: ChargingProfile, ChargingSchedule, ChargingSchedulePeriod.
_CHARGING_SCHEDULE_PERIOD = vol.Schema(
    {
        vol.Required("start_period"): _NON_NEGATIVE_INT,
        vol.Required("limit"): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional("number_phases"): vol.All(vol.Coerce(int), vol.Range(min=1, max=3)),
    }
)
_CHARGING_SCHEDULE = vol.Schema(
    {
        vol.Optional("duration"): _NON_NEGATIVE_INT,
        vol.Optional("start_schedule"): _utc,
        vol.Required("charging_rate_unit"): vol.In(_RATE_UNITS),
        vol.Required("charging_schedule_period"): vol.All(
            cv.ensure_list, [_CHARGING_SCHEDULE_PERIOD], vol.Length(min=1)
        ),
        vol.Optional("min_charging_rate"): vol.All(vol.Coerce(float), vol.Range(min=0)),
    }
)
_CHARGING_PROFILE = vol.Schema(
    {
        vol.Required("charging_profile_id"): vol.All(
            _NON_NEGATIVE_INT, vol.NotIn(MANAGED_PROFILE_IDS, msg="reserved for csms's own limits")
        ),
        vol.Optional(ATTR_TRANSACTION_ID): vol.Coerce(int),
        vol.Required(ATTR_STACK_LEVEL): _NON_NEGATIVE_INT,
        vol.Required(ATTR_PURPOSE): vol.In(_PURPOSES),
        vol.Required("charging_profile_kind"): vol.In(
            [str(kind) for kind in ChargingProfileKindType]
        ),
        vol.Optional("recurrency_kind"): vol.In([str(kind) for kind in RecurrencyKind]),
        vol.Optional("valid_from"): _utc,
        vol.Optional("valid_to"): _utc,
        vol.Required("charging_schedule"): _CHARGING_SCHEDULE,
    }
)


def _capabilities(target: _Target) -> ChargingCapabilities:
    """The charger's smart charging capabilities; refused when it has none."""
    charge_point = target.runtime.charge_point
    capabilities = charge_point.charging_capabilities
    if not capabilities.supported:
        raise _error("smart_charging_not_supported", charge_point_id=target.charge_point_id)
    return capabilities


def _set_charging_profile(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    connector_id = target.connector_id(data) or 0
    profile = dict(data[ATTR_CS_CHARGING_PROFILES])
    connector = target.runtime.charge_point.connectors.get(connector_id)
    running = connector.transaction if connector is not None else None
    if profile[ATTR_PURPOSE] == "TxProfile" and running is not None:
        # Chargers want to know the transaction; it is the one running there.
        profile.setdefault(ATTR_TRANSACTION_ID, running.transaction_id)
    try:
        check_profile(
            profile,
            connector_id,
            capabilities=_capabilities(target),
            running_transaction_id=running.transaction_id if running is not None else None,
            connector_ids=None,
        )
    except ProfileError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"profile_{err.translation_key}",
            translation_placeholders={
                "charge_point_id": target.charge_point_id,
                **err.placeholders,
            },
        ) from err
    return {"connector_id": connector_id, "cs_charging_profiles": profile}


def _clear_charging_profile(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    _capabilities(target)
    return {
        "id": data.get(ATTR_PROFILE_ID),
        "connector_id": target.connector_id(data),
        "charging_profile_purpose": data.get(ATTR_PURPOSE),
        "stack_level": data.get(ATTR_STACK_LEVEL),
    }


def _get_composite_schedule(target: _Target, data: dict[str, Any]) -> dict[str, Any]:
    unit = data.get(ATTR_CHARGING_RATE_UNIT)
    units = _capabilities(target).units
    if unit is not None and unit not in units:
        raise _error(
            "profile_unit_not_supported",
            charge_point_id=target.charge_point_id,
            unit=unit,
            units=", ".join(units),
        )
    return {
        "connector_id": target.connector_id(data) or 0,
        "duration": data[ATTR_DURATION],
        "charging_rate_unit": unit,
    }


@dataclass(frozen=True, slots=True)
class _Operation:
    """A service that sends one OCPP action."""

    action: str
    fields: dict[Any, Any]
    payload: _PayloadBuilder
    # Operations that change how a charger works, or reveal its settings.
    admin: bool


_OPERATIONS: dict[str, _Operation] = {
    SERVICE_REMOTE_START_TRANSACTION: _Operation(
        Action.remote_start_transaction,
        {
            vol.Optional(ATTR_CONNECTOR_ID): _CONNECTOR,
            vol.Required(ATTR_ID_TAG): _ID_TAG,
            vol.Optional(ATTR_CHARGING_PROFILE): dict,
        },
        _remote_start_transaction,
        admin=False,
    ),
    SERVICE_REMOTE_STOP_TRANSACTION: _Operation(
        Action.remote_stop_transaction,
        {
            vol.Exclusive(ATTR_TRANSACTION_ID, "transaction"): vol.Coerce(int),
            vol.Exclusive(ATTR_CONNECTOR_ID, "transaction"): _CONNECTOR,
        },
        _remote_stop_transaction,
        admin=False,
    ),
    SERVICE_RESET: _Operation(
        Action.reset,
        {vol.Required(ATTR_TYPE): vol.In([str(kind) for kind in ResetType])},
        _reset,
        admin=True,
    ),
    SERVICE_UNLOCK_CONNECTOR: _Operation(
        Action.unlock_connector,
        {vol.Optional(ATTR_CONNECTOR_ID): _CONNECTOR},
        _unlock_connector,
        admin=False,
    ),
    SERVICE_CHANGE_AVAILABILITY: _Operation(
        Action.change_availability,
        {
            vol.Optional(ATTR_CONNECTOR_ID): _CONNECTOR_OR_CHARGE_POINT,
            vol.Required(ATTR_TYPE): vol.In([str(kind) for kind in AvailabilityType]),
        },
        _change_availability,
        admin=True,
    ),
    SERVICE_CHANGE_CONFIGURATION: _Operation(
        Action.change_configuration,
        {
            vol.Required(ATTR_KEY): _CONFIGURATION_KEY,
            vol.Required(ATTR_VALUE): vol.All(_ocpp_text, vol.Length(max=500)),
        },
        _change_configuration,
        admin=True,
    ),
    SERVICE_GET_CONFIGURATION: _Operation(
        Action.get_configuration,
        {vol.Optional(ATTR_KEY): vol.All(cv.ensure_list, [_CONFIGURATION_KEY])},
        _get_configuration,
        admin=True,
    ),
    SERVICE_CLEAR_CACHE: _Operation(Action.clear_cache, {}, _no_payload, admin=True),
    SERVICE_GET_LOCAL_LIST_VERSION: _Operation(
        Action.get_local_list_version, {}, _no_payload, admin=False
    ),
    SERVICE_DATA_TRANSFER: _Operation(
        Action.data_transfer,
        {
            vol.Required(ATTR_VENDOR_ID): vol.All(cv.string, vol.Length(min=1, max=255)),
            vol.Optional(ATTR_MESSAGE_ID): vol.All(cv.string, vol.Length(max=50)),
            vol.Optional(ATTR_DATA): _data_transfer_data,
        },
        _data_transfer,
        admin=True,
    ),
    SERVICE_SET_CHARGING_PROFILE: _Operation(
        Action.set_charging_profile,
        {
            vol.Optional(ATTR_CONNECTOR_ID): _CONNECTOR_OR_CHARGE_POINT,
            vol.Required(ATTR_CS_CHARGING_PROFILES): _CHARGING_PROFILE,
        },
        _set_charging_profile,
        admin=True,
    ),
    SERVICE_CLEAR_CHARGING_PROFILE: _Operation(
        Action.clear_charging_profile,
        {
            vol.Optional(ATTR_PROFILE_ID): vol.Coerce(int),
            vol.Optional(ATTR_CONNECTOR_ID): _CONNECTOR_OR_CHARGE_POINT,
            vol.Optional(ATTR_PURPOSE): vol.In(_PURPOSES),
            vol.Optional(ATTR_STACK_LEVEL): _NON_NEGATIVE_INT,
        },
        _clear_charging_profile,
        admin=True,
    ),
    SERVICE_GET_COMPOSITE_SCHEDULE: _Operation(
        Action.get_composite_schedule,
        {
            vol.Optional(ATTR_CONNECTOR_ID): _CONNECTOR_OR_CHARGE_POINT,
            vol.Required(ATTR_DURATION): vol.All(vol.Coerce(int), vol.Range(min=1)),
            vol.Optional(ATTR_CHARGING_RATE_UNIT): vol.In(_RATE_UNITS),
        },
        _get_composite_schedule,
        admin=False,
    ),
    SERVICE_TRIGGER_MESSAGE: _Operation(
        Action.trigger_message,
        {
            vol.Required(ATTR_REQUESTED_MESSAGE): vol.In(MESSAGE_TRIGGERS),
            vol.Optional(ATTR_CONNECTOR_ID): _CONNECTOR_OR_CHARGE_POINT,
        },
        _trigger_message,
        admin=False,
    ),
}


_CHANGES_PROFILES = (Action.set_charging_profile, Action.clear_charging_profile)


def _operation_handler(
    hass: HomeAssistant, operation: _Operation
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    async def handle(call: ServiceCall) -> ServiceResponse:
        target = _resolve_target(hass, call.data)
        payload = operation.payload(target, call.data)
        if not target.runtime.charge_point.connected:
            raise _error("charge_point_not_connected", charge_point_id=target.charge_point_id)
        # Rejected and the like are answers too: the caller reads the status.
        response = await async_request(target.runtime, operation.action, payload, accepted=None)
        if operation.action in _CHANGES_PROFILES and response.get("status") == "Accepted":
            # It may have replaced or cleared one of csms's own limits: they go out again.
            load_manager = target.runtime.hub.load_manager
            load_manager.limits(target.charge_point_id).forget_profiles()
            load_manager.schedule()
        return response

    return handle


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services."""
    for service, operation in _OPERATIONS.items():
        handler = _operation_handler(hass, operation)
        schema = _schema(operation.fields)
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

    async def get_message_log(call: ServiceCall) -> ServiceResponse:
        # The log is worth most when the charger has just dropped: no connection needed.
        entries = _resolve_target(hass, call.data).runtime.charge_point.message_log.entries()
        if (limit := call.data.get(ATTR_LIMIT)) is not None:
            entries = entries[-limit:]
        response: dict[str, Any] = {"entries": entries}
        return response

    async def send_local_list(call: ServiceCall) -> ServiceResponse:
        target = _resolve_target(hass, call.data)
        charge_point = target.runtime.charge_point
        if charge_point.configuration and not charge_point.supports_local_list:
            raise _error("local_list_not_supported", charge_point_id=target.charge_point_id)
        if not charge_point.connected:
            raise _error("charge_point_not_connected", charge_point_id=target.charge_point_id)
        with request_errors(target.charge_point_id):
            outcome = await target.runtime.local_list.async_sync(
                update_type=call.data.get(ATTR_UPDATE_TYPE),
                list_version=call.data.get(ATTR_LIST_VERSION),
            )
        return {
            "status": str(outcome.result),
            "list_version": outcome.list_version,
            "update_type": outcome.update_type,
            "entries": outcome.entries,
        }

    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_SEND_LOCAL_LIST,
        send_local_list,
        schema=_schema(
            {
                vol.Optional(ATTR_UPDATE_TYPE): vol.In([str(kind) for kind in UpdateType]),
                # 0 and -1 mean "no list" to GetLocalListVersion (OCPP 1.6 section 5.9).
                vol.Optional(ATTR_LIST_VERSION): vol.All(
                    vol.Coerce(int), vol.Range(min=1, max=2**31 - 1)
                ),
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )

    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_GET_MESSAGE_LOG,
        get_message_log,
        schema=_schema({vol.Optional(ATTR_LIMIT): vol.All(vol.Coerce(int), vol.Range(min=1))}),
        supports_response=SupportsResponse.ONLY,
    )
