"""Sensors: status, errors, measurements and sessions of charge points and connectors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus, Reason

from .central import ChargePoint, Connector
from .central.ledger import QUARTER_HOUR, quarter_hour_start
from .central.local_list import SyncResult
from .central.reservations import reservation_at, reservation_attributes, supports_reservations
from .entity import (
    CsmsEntity,
    CsmsEntityDescription,
    async_add_entities_per_connector,
    supports_smart_charging,
)
from .runtime import CsmsConfigEntry, ServerConfigEntry, is_server_entry
from .site_entity import SiteHeadroomSensor

# Push updates: no polling to limit.
PARALLEL_UPDATES = 0

# OCPP status values as translatable enum states ("SuspendedEV" -> "suspended_ev").
# OCPP's "Unavailable" (inoperative) must not read as Home Assistant's own
# "unavailable" (no connection), so it gets a state of its own.
_STATUS_STATES: dict[str, str] = {
    status.value: status.name.lower() for status in ChargePointStatus
} | {ChargePointStatus.unavailable.value: "out_of_service"}
_ERROR_CODE_STATES: dict[str, str] = {code.value: code.name for code in ChargePointErrorCode}
_STOP_REASON_STATES: dict[str, str] = {reason.value: reason.name for reason in Reason}

PHASES = ("L1", "L2", "L3")
# What the metering rules file a reading without phase under.
_NO_PHASE = "total"


def status_state(connector: Connector) -> str | None:
    """The connector's OCPP status as a sensor state."""
    return _STATUS_STATES.get(connector.status or "")


def phase_value(values: dict[str, float], phase: str | None) -> float | None:
    """A phase's reading ("L1", or line-to-neutral "L1-N"); phase None: the one without phase.

    Line-to-line readings ("L1-L2") are not a phase's own and are left out.
    """
    if phase is None:
        return values.get(_NO_PHASE)
    return values.get(phase, values.get(f"{phase}-N"))


def highest_current(values: dict[str, float]) -> float | None:
    """The reading without phase, else the highest phase's: what the fuse sees."""
    total = values.get(_NO_PHASE)
    if total is not None:
        return total
    phases = [value for phase in PHASES if (value := phase_value(values, phase)) is not None]
    return max(phases, default=None)


def _energy_kwh(connector: Connector) -> float | None:
    if connector.energy_register_wh is None:
        return None
    return connector.energy_register_wh / 1000


def _session_energy_kwh(connector: Connector) -> float | None:
    session = connector.session
    return None if session is None else session.energy_wh / 1000


def _session_start(connector: Connector) -> datetime | None:
    session = connector.session
    return None if session is None else session.started_at


def _session_id_tag(connector: Connector) -> str | None:
    session = connector.session
    return None if session is None else session.id_tag or None


def _session_tenant(connector: Connector) -> str | None:
    session = connector.session
    return None if session is None else session.tenant


def _session_cost(connector: Connector) -> float | None:
    session = connector.session
    return None if session is None or session.cost is None else round(session.cost, 2)


def _last_quarter_hour_kwh(connector: Connector) -> float:
    start = quarter_hour_start(dt_util.utcnow()) - QUARTER_HOUR
    return connector.quarter_hour_energy_wh(start) / 1000


def _session_duration_s(connector: Connector) -> float | None:
    # A running session's duration moves on with each update of the
    # connector (meter values arrive every sample interval while charging).
    session = connector.session
    if session is None:
        return None
    end = session.stopped_at or dt_util.utcnow()
    return max(0.0, (end - session.started_at).total_seconds())


def _local_list_version(charge_point: ChargePoint) -> int | None:
    # Version 0 means no list sent yet: nothing to show.
    return charge_point.local_list.version or None


def _reservation_expiry(charge_point: ChargePoint, connector: Connector) -> datetime | None:
    # The connector's own reservation, else the charge point's (any connector may use it).
    reservation = reservation_at(charge_point, connector.connector_id)
    return None if reservation is None else reservation.expiry_date


def _stop_reason(connector: Connector) -> str | None:
    last = connector.last_transaction
    return None if last is None else _STOP_REASON_STATES.get(last.stop_reason or "")


@dataclass(frozen=True, kw_only=True)
class CsmsSensorEntityDescription(CsmsEntityDescription, SensorEntityDescription):
    """A sensor reading one value of a charge point or connector."""

    value_fn: Callable[[ChargePoint, Connector], StateType | datetime]
    # For a value that starts again from 0 (state class total).
    last_reset_fn: Callable[[Connector], datetime | None] | None = None
    # Written at every quarter hour, also when the connector is silent.
    quarter_hourly: bool = False
    # State attributes besides the value.
    attributes_fn: Callable[[ChargePoint, Connector], Mapping[str, Any] | None] | None = None


def _current(phase: str | None) -> CsmsSensorEntityDescription:
    # Without phase: the reading without phase, else the highest phase's.
    def current(connector: Connector) -> float | None:
        if phase is None:
            return highest_current(connector.current_a)
        return phase_value(connector.current_a, phase)

    return CsmsSensorEntityDescription(
        key="current" if phase is None else f"current_{phase.lower()}",
        translation_key="current" if phase is None else "current_phase",
        translation_placeholders=None if phase is None else {"phase": phase},
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        # One current sensor shows the highest phase; three more states to
        # record every minute per connector are for those who balance phases.
        entity_registry_enabled_default=phase is None,
        exists_fn=lambda _, connector: current(connector) is not None,
        value_fn=lambda _, connector: current(connector),
    )


def _voltage(phase: str | None) -> CsmsSensorEntityDescription:
    return CsmsSensorEntityDescription(
        key="voltage" if phase is None else f"voltage_{phase.lower()}",
        translation_key="voltage" if phase is None else "voltage_phase",
        translation_placeholders=None if phase is None else {"phase": phase},
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=0,
        # Grid voltage wanders all the time: much history, little news.
        entity_registry_enabled_default=False,
        exists_fn=lambda _, connector: phase_value(connector.voltage_v, phase) is not None,
        value_fn=lambda _, connector: phase_value(connector.voltage_v, phase),
    )


CHARGE_POINT_SENSORS: tuple[CsmsSensorEntityDescription, ...] = (
    CsmsSensorEntityDescription(
        key="charge_point_status",
        translation_key="charge_point_status",
        device_class=SensorDeviceClass.ENUM,
        options=list(_STATUS_STATES.values()),
        charge_point_level=True,
        value_fn=lambda _, connector: status_state(connector),
    ),
    CsmsSensorEntityDescription(
        key="charge_point_error_code",
        translation_key="charge_point_error_code",
        device_class=SensorDeviceClass.ENUM,
        options=list(_ERROR_CODE_STATES.values()),
        entity_category=EntityCategory.DIAGNOSTIC,
        # The status shows a fault; its code is for the one who repairs it.
        entity_registry_enabled_default=False,
        charge_point_level=True,
        value_fn=lambda _, connector: _ERROR_CODE_STATES.get(connector.error_code or ""),
    ),
    CsmsSensorEntityDescription(
        key="last_heartbeat",
        translation_key="last_heartbeat",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # A state to record at every heartbeat; the connectivity sensor says
        # what matters (and a lost connection is noticed by the server).
        entity_registry_enabled_default=False,
        charge_point_level=True,
        value_fn=lambda charge_point, _: charge_point.last_heartbeat_at,
    ),
    CsmsSensorEntityDescription(
        key="local_list_version",
        translation_key="local_list_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        # The sync outcome below says whether the list got through.
        entity_registry_enabled_default=False,
        charge_point_level=True,
        exists_fn=lambda charge_point, _: charge_point.supports_local_list,
        value_fn=lambda charge_point, _: _local_list_version(charge_point),
    ),
    CsmsSensorEntityDescription(
        key="local_list_sync",
        translation_key="local_list_sync",
        device_class=SensorDeviceClass.ENUM,
        options=[str(result) for result in SyncResult],
        entity_category=EntityCategory.DIAGNOSTIC,
        charge_point_level=True,
        exists_fn=lambda charge_point, _: charge_point.supports_local_list,
        value_fn=lambda charge_point, _: charge_point.local_list.result,
    ),
    CsmsSensorEntityDescription(
        key="firmware_version",
        translation_key="firmware_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        # The device page shows it too.
        entity_registry_enabled_default=False,
        charge_point_level=True,
        value_fn=lambda charge_point, _: charge_point.firmware_version,
    ),
)

CONNECTOR_SENSORS: tuple[CsmsSensorEntityDescription, ...] = (
    CsmsSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=list(_STATUS_STATES.values()),
        value_fn=lambda _, connector: status_state(connector),
    ),
    CsmsSensorEntityDescription(
        key="error_code",
        translation_key="error_code",
        device_class=SensorDeviceClass.ENUM,
        options=list(_ERROR_CODE_STATES.values()),
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda _, connector: _ERROR_CODE_STATES.get(connector.error_code or ""),
    ),
    CsmsSensorEntityDescription(
        key="energy",
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda _, connector: _energy_kwh(connector),
    ),
    CsmsSensorEntityDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda _, connector: connector.power_w,
    ),
    *(_current(phase) for phase in (None, *PHASES)),
    *(_voltage(phase) for phase in (None, *PHASES)),
    CsmsSensorEntityDescription(
        key="soc",
        translation_key="soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        exists_fn=lambda _, connector: connector.soc_percent is not None,
        value_fn=lambda _, connector: connector.soc_percent,
    ),
    CsmsSensorEntityDescription(
        key="temperature",
        translation_key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda _, connector: connector.temperature_c is not None,
        value_fn=lambda _, connector: connector.temperature_c,
    ),
    CsmsSensorEntityDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        # Every session starts again from 0: a total with the session start
        # as its last reset, so statistics start a new cycle there instead
        # of guessing a meter reset.
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda _, connector: _session_energy_kwh(connector),
        last_reset_fn=_session_start,
    ),
    CsmsSensorEntityDescription(
        key="session_cost",
        translation_key="session_cost",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        # Only where the server has a price.
        exists_fn=lambda _, connector: _session_cost(connector) is not None,
        value_fn=lambda _, connector: _session_cost(connector),
        last_reset_fn=_session_start,
    ),
    CsmsSensorEntityDescription(
        key="last_quarter_hour_energy",
        translation_key="last_quarter_hour_energy",
        device_class=SensorDeviceClass.ENERGY,
        # No state class: the energy dashboard counts the energy sensor;
        # this one is for the history graph of the quarter-hour profile.
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        # Billing reads the ledger; this graph is for the curious, and costs
        # a timer and a state per connector every quarter hour.
        entity_registry_enabled_default=False,
        quarter_hourly=True,
        value_fn=lambda _, connector: _last_quarter_hour_kwh(connector),
    ),
    CsmsSensorEntityDescription(
        key="session_duration",
        translation_key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        # The session start says as much, and is exact between updates.
        entity_registry_enabled_default=False,
        value_fn=lambda _, connector: _session_duration_s(connector),
    ),
    CsmsSensorEntityDescription(
        key="allocated_current",
        translation_key="allocated_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=0,
        # Load management's share of the site for the running session: for
        # sites that share, which enable it (the site's sensor sums it up).
        entity_registry_enabled_default=False,
        exists_fn=lambda charge_point, _: supports_smart_charging(charge_point),
        value_fn=lambda _, connector: connector.allocated_a,
    ),
    CsmsSensorEntityDescription(
        key="session_start",
        translation_key="session_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda _, connector: _session_start(connector),
    ),
    CsmsSensorEntityDescription(
        key="session_id_tag",
        translation_key="session_id_tag",
        # An id tag is personal: kept out of the history unless wanted (the
        # session event names it too).
        entity_registry_enabled_default=False,
        value_fn=lambda _, connector: _session_id_tag(connector),
    ),
    CsmsSensorEntityDescription(
        key="session_tenant",
        translation_key="session_tenant",
        # Only where tags name tenants.
        exists_fn=lambda _, connector: _session_tenant(connector) is not None,
        value_fn=lambda _, connector: _session_tenant(connector),
    ),
    CsmsSensorEntityDescription(
        key="stop_reason",
        translation_key="stop_reason",
        device_class=SensorDeviceClass.ENUM,
        options=list(_STOP_REASON_STATES.values()),
        # The session event carries the reason too.
        entity_registry_enabled_default=False,
        value_fn=lambda _, connector: _stop_reason(connector),
    ),
    CsmsSensorEntityDescription(
        key="reservation",
        translation_key="reservation",
        device_class=SensorDeviceClass.TIMESTAMP,
        # For sites that take reservations (the services work without it).
        entity_registry_enabled_default=False,
        # Where the charger takes reservations (or holds one: its profiles not read yet).
        exists_fn=lambda charge_point, connector: bool(
            supports_reservations(charge_point.configuration)
            or reservation_at(charge_point, connector.connector_id)
        ),
        value_fn=_reservation_expiry,
        attributes_fn=lambda charge_point, connector: reservation_attributes(
            reservation_at(charge_point, connector.connector_id)
        ),
    ),
)

SENSORS = CHARGE_POINT_SENSORS + CONNECTOR_SENSORS


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry | ServerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for every charge point and connector, now and later; or the site's."""
    if is_server_entry(entry):
        async_add_entities([SiteHeadroomSensor(entry)])
        return
    async_add_entities_per_connector(entry, async_add_entities, SENSORS, CsmsSensor)


class CsmsSensor(CsmsEntity, SensorEntity):
    """A sensor of a charge point or connector."""

    entity_description: CsmsSensorEntityDescription

    @property
    def native_value(self) -> StateType | datetime:
        """The value from the model."""
        return self.entity_description.value_fn(self._charge_point, self.connector)

    @property
    def last_reset(self) -> datetime | None:
        """Where a value that starts again from 0 did so."""
        if (last_reset_fn := self.entity_description.last_reset_fn) is None:
            return None
        return last_reset_fn(self.connector)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Details of the value, for sensors that have them."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self._charge_point, self.connector)

    def state_key(self) -> tuple[Any, ...]:
        """Availability, the value and what goes with it."""
        return (
            self.available,
            self.native_value,
            self.native_unit_of_measurement,
            self.last_reset,
            self.extra_state_attributes,
        )

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Money is in Home Assistant's currency."""
        if self.entity_description.device_class is SensorDeviceClass.MONETARY:
            return self.hass.config.currency
        return super().native_unit_of_measurement

    async def async_added_to_hass(self) -> None:
        """Also write a quarter-hour value when the quarter hour turns."""
        await super().async_added_to_hass()
        if self.entity_description.quarter_hourly:
            self.async_on_remove(
                async_track_utc_time_change(
                    self.hass, self._quarter_hour_passed, minute=(0, 15, 30, 45), second=0
                )
            )

    @callback
    def _quarter_hour_passed(self, _: datetime) -> None:
        # Through the key, so that a later value equal to the one before this
        # write is not taken for unchanged.
        self._model_changed()
