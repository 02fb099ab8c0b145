"""Services of the core OCPP 1.6 operations, smart charging and a charger's message log.

The operations of other feature profiles live in their own modules
(``*_services.py``); :mod:`.service_helpers` holds what they share.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
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
from .const import DOMAIN
from .requests import request_errors
from .service_helpers import (
    ATTR_CONNECTOR_ID,
    CONFIGURATION_KEY,
    CONNECTOR,
    CONNECTOR_OR_CHARGE_POINT,
    ID_TAG,
    NON_NEGATIVE_INT,
    Operation,
    Target,
    async_register_operations,
    resolve_target,
    service_error,
    service_schema,
    utc_timestamp,
)

ATTRID_TAG = "id_tag"
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


def _remote_start_transaction(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id_tag": data[ATTRID_TAG],
        "connector_id": target.connector_id(data),
        "charging_profile": data.get(ATTR_CHARGING_PROFILE),
    }


def _remote_stop_transaction(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    if (transaction_id := data.get(ATTR_TRANSACTION_ID)) is not None:
        # Sent as given: a charger that was offline may run transactions we have not seen.
        return {"transaction_id": transaction_id}
    connector_id = target.single_connector_id(data)
    connector = target.runtime.charge_point.connectors.get(connector_id)
    if connector is None or connector.transaction is None:
        raise service_error(
            "no_transaction",
            charge_point_id=target.charge_point_id,
            connector_id=str(connector_id),
        )
    return {"transaction_id": connector.transaction.transaction_id}


def _reset(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": data[ATTR_TYPE]}


def _unlock_connector(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {"connector_id": target.single_connector_id(data)}


def _change_availability(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    connector_id = target.connector_id(data)
    # Without a connector the charge point as a whole (connector 0) is meant.
    return {"connector_id": connector_id or 0, "type": data[ATTR_TYPE]}


def _change_configuration(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {"key": data[ATTR_KEY], "value": data[ATTR_VALUE]}


def _get_configuration(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    # No (or an empty) key list asks for every key.
    return {"key": data.get(ATTR_KEY) or None}


def _no_payload(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {}


def _data_transfer(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "vendor_id": data[ATTR_VENDOR_ID],
        "message_id": data.get(ATTR_MESSAGE_ID),
        "data": data.get(ATTR_DATA),
    }


def _trigger_message(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "requested_message": data[ATTR_REQUESTED_MESSAGE],
        "connector_id": target.connector_id(data),
    }


_RATE_UNITS = [str(unit) for unit in ChargingRateUnitType]
_PURPOSES = [str(purpose) for purpose in ChargingProfilePurposeType]
# OCPP 1.6 section 7.7-7.9: ChargingProfile, ChargingSchedule, ChargingSchedulePeriod.
_CHARGING_SCHEDULE_PERIOD = vol.Schema(
    {
        vol.Required("start_period"): NON_NEGATIVE_INT,
        vol.Required("limit"): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional("number_phases"): vol.All(vol.Coerce(int), vol.Range(min=1, max=3)),
    }
)
_CHARGING_SCHEDULE = vol.Schema(
    {
        vol.Optional("duration"): NON_NEGATIVE_INT,
        vol.Optional("start_schedule"): utc_timestamp,
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
            NON_NEGATIVE_INT, vol.NotIn(MANAGED_PROFILE_IDS, msg="reserved for csms's own limits")
        ),
        vol.Optional(ATTR_TRANSACTION_ID): vol.Coerce(int),
        vol.Required(ATTR_STACK_LEVEL): NON_NEGATIVE_INT,
        vol.Required(ATTR_PURPOSE): vol.In(_PURPOSES),
        vol.Required("charging_profile_kind"): vol.In(
            [str(kind) for kind in ChargingProfileKindType]
        ),
        vol.Optional("recurrency_kind"): vol.In([str(kind) for kind in RecurrencyKind]),
        vol.Optional("valid_from"): utc_timestamp,
        vol.Optional("valid_to"): utc_timestamp,
        vol.Required("charging_schedule"): _CHARGING_SCHEDULE,
    }
)


def _capabilities(target: Target) -> ChargingCapabilities:
    """The charger's smart charging capabilities; refused when it has none."""
    charge_point = target.runtime.charge_point
    capabilities = charge_point.charging_capabilities
    if not capabilities.supported:
        raise service_error("smart_charging_not_supported", charge_point_id=target.charge_point_id)
    return capabilities


def _set_charging_profile(target: Target, data: dict[str, Any]) -> dict[str, Any]:
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


def _clear_charging_profile(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    _capabilities(target)
    return {
        "id": data.get(ATTR_PROFILE_ID),
        "connector_id": target.connector_id(data),
        "charging_profile_purpose": data.get(ATTR_PURPOSE),
        "stack_level": data.get(ATTR_STACK_LEVEL),
    }


def _get_composite_schedule(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    unit = data.get(ATTR_CHARGING_RATE_UNIT)
    units = _capabilities(target).units
    if unit is not None and unit not in units:
        raise service_error(
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


def _limits_replaced(target: Target, payload: dict[str, Any], response: dict[str, Any]) -> None:
    """A profile set or cleared may have replaced one of csms's own limits: they go out again."""
    if response.get("status") == "Accepted":
        load_manager = target.runtime.hub.load_manager
        load_manager.limits(target.charge_point_id).forget_profiles()
        load_manager.schedule(charge_point_id=target.charge_point_id)


_OPERATIONS: dict[str, Operation] = {
    SERVICE_REMOTE_START_TRANSACTION: Operation(
        Action.remote_start_transaction,
        {
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR,
            vol.Required(ATTRID_TAG): ID_TAG,
            vol.Optional(ATTR_CHARGING_PROFILE): dict,
        },
        _remote_start_transaction,
        admin=False,
    ),
    SERVICE_REMOTE_STOP_TRANSACTION: Operation(
        Action.remote_stop_transaction,
        {
            vol.Exclusive(ATTR_TRANSACTION_ID, "transaction"): vol.Coerce(int),
            vol.Exclusive(ATTR_CONNECTOR_ID, "transaction"): CONNECTOR,
        },
        _remote_stop_transaction,
        admin=False,
    ),
    SERVICE_RESET: Operation(
        Action.reset,
        {vol.Required(ATTR_TYPE): vol.In([str(kind) for kind in ResetType])},
        _reset,
        admin=True,
    ),
    SERVICE_UNLOCK_CONNECTOR: Operation(
        Action.unlock_connector,
        {vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR},
        _unlock_connector,
        admin=False,
    ),
    SERVICE_CHANGE_AVAILABILITY: Operation(
        Action.change_availability,
        {
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR_OR_CHARGE_POINT,
            vol.Required(ATTR_TYPE): vol.In([str(kind) for kind in AvailabilityType]),
        },
        _change_availability,
        admin=True,
    ),
    SERVICE_CHANGE_CONFIGURATION: Operation(
        Action.change_configuration,
        {
            vol.Required(ATTR_KEY): CONFIGURATION_KEY,
            vol.Required(ATTR_VALUE): vol.All(_ocpp_text, vol.Length(max=500)),
        },
        _change_configuration,
        admin=True,
    ),
    SERVICE_GET_CONFIGURATION: Operation(
        Action.get_configuration,
        {vol.Optional(ATTR_KEY): vol.All(cv.ensure_list, [CONFIGURATION_KEY])},
        _get_configuration,
        admin=True,
    ),
    SERVICE_CLEAR_CACHE: Operation(Action.clear_cache, {}, _no_payload, admin=True),
    SERVICE_GET_LOCAL_LIST_VERSION: Operation(
        Action.get_local_list_version, {}, _no_payload, admin=False
    ),
    SERVICE_DATA_TRANSFER: Operation(
        Action.data_transfer,
        {
            vol.Required(ATTR_VENDOR_ID): vol.All(cv.string, vol.Length(min=1, max=255)),
            vol.Optional(ATTR_MESSAGE_ID): vol.All(cv.string, vol.Length(max=50)),
            vol.Optional(ATTR_DATA): _data_transfer_data,
        },
        _data_transfer,
        admin=True,
    ),
    SERVICE_SET_CHARGING_PROFILE: Operation(
        Action.set_charging_profile,
        {
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR_OR_CHARGE_POINT,
            vol.Required(ATTR_CS_CHARGING_PROFILES): _CHARGING_PROFILE,
        },
        _set_charging_profile,
        admin=True,
        on_answer=_limits_replaced,
    ),
    SERVICE_CLEAR_CHARGING_PROFILE: Operation(
        Action.clear_charging_profile,
        {
            vol.Optional(ATTR_PROFILE_ID): vol.Coerce(int),
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR_OR_CHARGE_POINT,
            vol.Optional(ATTR_PURPOSE): vol.In(_PURPOSES),
            vol.Optional(ATTR_STACK_LEVEL): NON_NEGATIVE_INT,
        },
        _clear_charging_profile,
        admin=True,
        on_answer=_limits_replaced,
    ),
    SERVICE_GET_COMPOSITE_SCHEDULE: Operation(
        Action.get_composite_schedule,
        {
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR_OR_CHARGE_POINT,
            vol.Required(ATTR_DURATION): vol.All(vol.Coerce(int), vol.Range(min=1)),
            vol.Optional(ATTR_CHARGING_RATE_UNIT): vol.In(_RATE_UNITS),
        },
        _get_composite_schedule,
        admin=False,
    ),
    SERVICE_TRIGGER_MESSAGE: Operation(
        Action.trigger_message,
        {
            vol.Required(ATTR_REQUESTED_MESSAGE): vol.In(MESSAGE_TRIGGERS),
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR_OR_CHARGE_POINT,
        },
        _trigger_message,
        admin=False,
    ),
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services."""
    async_register_operations(hass, _OPERATIONS)

    async def get_message_log(call: ServiceCall) -> ServiceResponse:
        # The log is worth most when the charger has just dropped: no connection needed.
        entries = resolve_target(hass, call.data).runtime.charge_point.message_log.entries()
        if (limit := call.data.get(ATTR_LIMIT)) is not None:
            entries = entries[-limit:]
        response: dict[str, Any] = {"entries": entries}
        return response

    async def send_local_list(call: ServiceCall) -> ServiceResponse:
        target = resolve_target(hass, call.data)
        charge_point = target.runtime.charge_point
        if charge_point.configuration and not charge_point.supports_local_list:
            raise service_error("local_list_not_supported", charge_point_id=target.charge_point_id)
        target.require_connected()
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
        schema=service_schema(
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
        schema=service_schema(
            {vol.Optional(ATTR_LIMIT): vol.All(vol.Coerce(int), vol.Range(min=1))}
        ),
        supports_response=SupportsResponse.ONLY,
    )
