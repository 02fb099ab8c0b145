"""Devices of a charge point entry: the charge point, and its connectors when there are several."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import ChildDeviceInfo, DeviceInfo

from .central import CHARGE_POINT_CONNECTOR_ID, CentralSystem, ChargePoint
from .const import DOMAIN

if TYPE_CHECKING:
    from .runtime import CsmsConfigEntry


def charge_point_identifier(charge_point_id: str) -> tuple[str, str]:
    """Device registry identifier of a charge point."""
    return (DOMAIN, charge_point_id)


def connector_identifier(charge_point_id: str, connector_id: int) -> tuple[str, str]:
    """Device registry identifier of a connector."""
    return (DOMAIN, f"{charge_point_id}_connector_{connector_id}")


def connector_unique_id_prefix(charge_point_id: str, connector_id: int) -> str:
    """Unique ids of a connector's entities start with this."""
    return f"{charge_point_id}_{connector_id}_"


def has_connector_devices(charge_point: ChargePoint) -> bool:
    """Connectors get devices of their own when a charge point has several."""
    return len(charge_point.outlet_ids) > 1


class DeviceManager:
    """Keeps the device registry in line with what a charger reports."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: CsmsConfigEntry,
        central: CentralSystem,
        charge_point_id: str,
    ) -> None:
        """Manage the devices of one charge point entry."""
        self._hass = hass
        self._entry = entry
        self._central = central
        self._charge_point_id = charge_point_id
        self._device_ids: dict[str, str] = {}
        # What each device was last registered with: charge point changes
        # (status, connection) are frequent, identity changes are not.
        self._identities: dict[str, tuple[str | None, ...]] = {}
        self._unsubscribers: list[Callable[[], None]] = []

    def start(self) -> Callable[[], None]:
        """Follow the charge point and new connectors; returns the undo."""
        self._unsubscribers.append(
            self._central.on_connector_added(self._charge_point_id, self._connector_added)
        )
        return self._stop

    def device_id(self, connector_id: int = CHARGE_POINT_CONNECTOR_ID) -> str | None:
        """The registry id of the charge point's device, or of a connector's own device."""
        charge_point = self._central.charge_points.get(self._charge_point_id)
        device_registry = dr.async_get(self._hass)
        if (
            charge_point is not None
            and connector_id != CHARGE_POINT_CONNECTOR_ID
            and has_connector_devices(charge_point)
        ):
            device = device_registry.async_get_child_device_by_identifier(
                connector_identifier(self._charge_point_id, connector_id), self._entry.entry_id
            )
            return device.id if device else None
        return self._device_ids.get(self._charge_point_id)

    @callback
    def rename(self) -> None:
        """Give the charge point's device the entry's (new) title."""
        if (device_id := self._device_ids.get(self._charge_point_id)) is not None:
            dr.async_get(self._hass).async_update_device(device_id, name=self._entry.title)

    def _stop(self) -> None:
        while self._unsubscribers:
            self._unsubscribers.pop()()

    def device_info(
        self, charge_point: ChargePoint, connector_id: int
    ) -> DeviceInfo | ChildDeviceInfo:
        """The device an entity of this charge point or connector belongs to."""
        charge_point_id = charge_point.charge_point_id
        if connector_id == CHARGE_POINT_CONNECTOR_ID or not has_connector_devices(charge_point):
            return DeviceInfo(identifiers={charge_point_identifier(charge_point_id)})
        return self._connector_device_info(charge_point_id, connector_id)

    def _connector_device_info(self, charge_point_id: str, connector_id: int) -> ChildDeviceInfo:
        return ChildDeviceInfo(
            identifiers={connector_identifier(charge_point_id, connector_id)},
            parent_device_id=self._device_ids[charge_point_id],
            translation_key="connector",
            translation_placeholders={"connector_id": str(connector_id)},
        )

    @callback
    def _connector_added(self, charge_point: ChargePoint, connector_id: int) -> None:
        charge_point_id = charge_point.charge_point_id
        if connector_id == CHARGE_POINT_CONNECTOR_ID:
            self._register_charge_point(charge_point)
            self._unsubscribers.append(
                self._central.subscribe(
                    charge_point_id, None, lambda: self._register_charge_point(charge_point)
                )
            )
            return
        if len(charge_point.outlet_ids) == 2:
            (first,) = (outlet for outlet in charge_point.outlet_ids if outlet != connector_id)
            self._move_connector_to_own_device(charge_point, first)

    @callback
    def _register_charge_point(self, charge_point: ChargePoint) -> None:
        """Create or refresh the charge point's device from its BootNotification."""
        identity = (
            charge_point.vendor,
            charge_point.model,
            charge_point.serial_number,
            charge_point.firmware_version,
        )
        if self._identities.get(charge_point.charge_point_id) == identity:
            return
        self._identities[charge_point.charge_point_id] = identity
        device = dr.async_get(self._hass).async_get_or_create(
            config_entry_id=self._entry.entry_id,
            identifiers={charge_point_identifier(charge_point.charge_point_id)},
            name=self._entry.title,
            manufacturer=charge_point.vendor,
            model=charge_point.model,
            serial_number=charge_point.serial_number,
            sw_version=charge_point.firmware_version,
        )
        self._device_ids[charge_point.charge_point_id] = device.id

    @callback
    def _move_connector_to_own_device(self, charge_point: ChargePoint, first: int) -> None:
        """A second connector appeared: the first one gets its own device too.

        Its entities keep their unique ids and history; only their device
        (and, unless the user renamed them, their entity ids) change.
        """
        charge_point_id = charge_point.charge_point_id
        prefix = connector_unique_id_prefix(charge_point_id, first)
        entity_registry = er.async_get(self._hass)
        entries = [
            entry
            for entry in er.async_entries_for_device(
                entity_registry, self._device_ids[charge_point_id], include_disabled_entities=True
            )
            if entry.unique_id.startswith(prefix)
        ]
        if not entries:
            return
        device = dr.async_get(self._hass).async_get_or_create_child(
            config_entry_id=self._entry.entry_id,
            **self._connector_device_info(charge_point_id, first),
        )
        for entry in entries:
            # An entity id the user has not changed follows the new device name.
            generated = entity_registry.async_regenerate_entity_id(entry) == entry.entity_id
            moved = entity_registry.async_update_entity(entry.entity_id, device_id=device.id)
            if generated:
                entity_registry.async_update_entity(
                    moved.entity_id,
                    new_entity_id=entity_registry.async_regenerate_entity_id(moved),
                )
