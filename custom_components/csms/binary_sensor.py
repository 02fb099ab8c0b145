"""Binary sensors: whether a charge point is connected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CsmsConfigEntry
from .central import ChargePoint
from .entity import CsmsEntity, CsmsEntityDescription, async_add_entities_per_connector

# Push updates: no polling to limit.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class CsmsBinarySensorEntityDescription(CsmsEntityDescription, BinarySensorEntityDescription):
    """A binary sensor reading one fact of a charge point."""

    is_on_fn: Callable[[ChargePoint], bool]
    # Reports the connection itself, so stays available while disconnected.
    always_available: bool = False


BINARY_SENSORS: tuple[CsmsBinarySensorEntityDescription, ...] = (
    CsmsBinarySensorEntityDescription(
        key="connected",
        translation_key="connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        charge_point_level=True,
        always_available=True,
        is_on_fn=lambda charge_point: charge_point.connected,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add binary sensors for every charge point, now and later."""
    async_add_entities_per_connector(entry, async_add_entities, BINARY_SENSORS, CsmsBinarySensor)


class CsmsBinarySensor(CsmsEntity, BinarySensorEntity):
    """A binary sensor of a charge point."""

    entity_description: CsmsBinarySensorEntityDescription

    @property
    def available(self) -> bool:
        """The connection sensor is always available; others follow the connection."""
        return self.entity_description.always_available or super().available

    @property
    def is_on(self) -> bool:
        """The fact from the model."""
        return self.entity_description.is_on_fn(self._charge_point)
