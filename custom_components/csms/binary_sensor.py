"""Binary sensors: whether a charge point is connected, a vehicle plugged in and charging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from ocpp.v16.enums import ChargePointStatus

from . import CsmsConfigEntry
from .central import ChargePoint, Connector
from .entity import CsmsEntity, CsmsEntityDescription, async_add_entities_per_connector

# Push updates: no polling to limit.
PARALLEL_UPDATES = 0

# The statuses in which a vehicle is connected (OCPP 1.6 section 4.9).
PLUGGED_IN_STATUSES = frozenset(
    {
        ChargePointStatus.preparing,
        ChargePointStatus.charging,
        ChargePointStatus.suspended_ev,
        ChargePointStatus.suspended_evse,
        ChargePointStatus.finishing,
    }
)


@dataclass(frozen=True, kw_only=True)
class CsmsBinarySensorEntityDescription(CsmsEntityDescription, BinarySensorEntityDescription):
    """A binary sensor reading one fact of a charge point or connector."""

    is_on_fn: Callable[[ChargePoint, Connector], bool | None]
    # Reports the connection itself, so stays available while disconnected.
    always_available: bool = False


def _status_in(connector: Connector, statuses: frozenset[str]) -> bool | None:
    return None if connector.status is None else connector.status in statuses


BINARY_SENSORS: tuple[CsmsBinarySensorEntityDescription, ...] = (
    CsmsBinarySensorEntityDescription(
        key="connected",
        translation_key="connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        charge_point_level=True,
        always_available=True,
        is_on_fn=lambda charge_point, _: charge_point.connected,
    ),
    CsmsBinarySensorEntityDescription(
        key="plugged_in",
        translation_key="plugged_in",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda _, connector: _status_in(connector, PLUGGED_IN_STATUSES),
    ),
    CsmsBinarySensorEntityDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda _, connector: _status_in(
            connector, frozenset({ChargePointStatus.charging})
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add binary sensors for every charge point and connector, now and later."""
    async_add_entities_per_connector(entry, async_add_entities, BINARY_SENSORS, CsmsBinarySensor)


class CsmsBinarySensor(CsmsEntity, BinarySensorEntity):
    """A binary sensor of a charge point or connector."""

    entity_description: CsmsBinarySensorEntityDescription

    @property
    def available(self) -> bool:
        """The connection sensor is always available; others follow the connection."""
        return self.entity_description.always_available or super().available

    @property
    def is_on(self) -> bool | None:
        """The fact from the model."""
        return self.entity_description.is_on_fn(self._charge_point, self.connector)

    def state_key(self) -> tuple[Any, ...]:
        """Availability and the fact."""
        return (self.available, self.is_on)
