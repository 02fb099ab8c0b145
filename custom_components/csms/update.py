"""Firmware update entity: a charger's firmware version and the progress of an update.

The entity only shows: installing needs a location to fetch the firmware
from, which the ``csms.update_firmware`` and ``csms.signed_update_firmware``
services take. The latest version is the installed one unless an update is
under way, so no update is announced that nobody can install.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.update import (
    UpdateDeviceClass,
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CsmsConfigEntry
from .central import firmware
from .central.events import ChargePointEvent, EventKind
from .entity import CsmsEntity, CsmsEntityDescription, async_add_entities_per_connector

# Push updates: no polling to limit.
PARALLEL_UPDATES = 0

# What latest_version shows for an update under way whose file name is unknown.
REQUESTED_VERSION = "requested"


@dataclass(frozen=True, kw_only=True)
class CsmsUpdateEntityDescription(CsmsEntityDescription, UpdateEntityDescription):
    """The firmware of a charge point."""


UPDATES: tuple[CsmsUpdateEntityDescription, ...] = (
    CsmsUpdateEntityDescription(
        key="firmware",
        translation_key="firmware",
        device_class=UpdateDeviceClass.FIRMWARE,
        entity_category=EntityCategory.CONFIG,
        charge_point_level=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the firmware entity of the charge point."""
    async_add_entities_per_connector(entry, async_add_entities, UPDATES, CsmsFirmwareUpdate)


class CsmsFirmwareUpdate(CsmsEntity, UpdateEntity):
    """The firmware a charger reported at its last boot, and an update's progress."""

    entity_description: CsmsUpdateEntityDescription
    _attr_supported_features = UpdateEntityFeature.PROGRESS

    @property
    def installed_version(self) -> str | None:
        """The firmware version of the last BootNotification."""
        return self._charge_point.firmware_version

    @property
    def latest_version(self) -> str | None:
        """The firmware asked for while an update is under way, else the installed one."""
        if not self.in_progress:
            return self.installed_version
        return self._charge_point.firmware_management.firmware_file_name or REQUESTED_VERSION

    @property
    def in_progress(self) -> bool:
        """Whether the charger is downloading or installing firmware."""
        return firmware.in_progress(self._charge_point.firmware_status)

    @property
    def update_percentage(self) -> int | None:
        """How far the update is, by its stage."""
        return firmware.progress_percent(self._charge_point.firmware_status)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The last firmware status (a failure such as InvalidSignature stays visible)."""
        status = self._charge_point.firmware_status
        return {
            "firmware_status": status,
            "failed": status in firmware.FAILED_STATUSES,
            "request_id": self._charge_point.firmware_management.firmware_request_id,
        }

    async def async_added_to_hass(self) -> None:
        """Follow the firmware statuses too (they do not notify the whole charge point)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._runtime.hub.central.subscribe_events(
                self._charge_point.charge_point_id, self._handle_event
            )
        )

    @callback
    def _handle_event(self, event: ChargePointEvent) -> None:
        if event.kind is EventKind.FIRMWARE_STATUS:
            self.async_write_ha_state()
