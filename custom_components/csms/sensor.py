"""Sensors: status, energy and power of charge points and connectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from ocpp.v16.enums import ChargePointStatus

from . import CsmsConfigEntry
from .central import Connector
from .entity import CsmsEntity, CsmsEntityDescription, async_add_entities_per_connector

# Push updates: no polling to limit.
PARALLEL_UPDATES = 0

# OCPP status values as translatable enum states ("SuspendedEV" -> "suspended_ev").
# OCPP's "Unavailable" (inoperative) must not read as Home Assistant's own
# "unavailable" (no connection), so it gets a state of its own.
_STATUS_STATES: dict[str, str] = {
    status.value: status.name.lower() for status in ChargePointStatus
} | {ChargePointStatus.unavailable.value: "out_of_service"}


def status_state(connector: Connector) -> str | None:
    """The connector's OCPP status as a sensor state."""
    return _STATUS_STATES.get(connector.status or "")


def _energy_kwh(connector: Connector) -> float | None:
    if connector.energy_register_wh is None:
        return None
    return connector.energy_register_wh / 1000


@dataclass(frozen=True, kw_only=True)
class CsmsSensorEntityDescription(CsmsEntityDescription, SensorEntityDescription):
    """A sensor reading one value of a connector."""

    value_fn: Callable[[Connector], StateType]


SENSORS: tuple[CsmsSensorEntityDescription, ...] = (
    CsmsSensorEntityDescription(
        key="charge_point_status",
        translation_key="charge_point_status",
        device_class=SensorDeviceClass.ENUM,
        options=list(_STATUS_STATES.values()),
        charge_point_level=True,
        value_fn=status_state,
    ),
    CsmsSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=list(_STATUS_STATES.values()),
        value_fn=status_state,
    ),
    CsmsSensorEntityDescription(
        key="energy",
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_energy_kwh,
    ),
    CsmsSensorEntityDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda connector: connector.power_w,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for every charge point and connector, now and later."""
    async_add_entities_per_connector(entry, async_add_entities, SENSORS, CsmsSensor)


class CsmsSensor(CsmsEntity, SensorEntity):
    """A sensor of a charge point or connector."""

    entity_description: CsmsSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The value from the model."""
        return self.entity_description.value_fn(self.connector)
