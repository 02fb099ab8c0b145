"""Buttons: restart a charge point, unlock a connector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from ocpp.v16.enums import ResetType, UnlockStatus

from . import CsmsConfigEntry
from .central import Connector
from .entity import CsmsEntity, CsmsEntityDescription, async_add_entities_per_connector
from .requests import OcppRequest, async_request

# Each press waits for its charger's answer; chargers take one call at a time anyway.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class CsmsButtonEntityDescription(CsmsEntityDescription, ButtonEntityDescription):
    """A button that sends one OCPP request."""

    request_fn: Callable[[Connector], OcppRequest]


def _reset(kind: ResetType) -> Callable[[Connector], OcppRequest]:
    return lambda _: OcppRequest("Reset", {"type": kind.value})


BUTTONS: tuple[CsmsButtonEntityDescription, ...] = (
    CsmsButtonEntityDescription(
        key="soft_reset",
        translation_key="soft_reset",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        charge_point_level=True,
        request_fn=_reset(ResetType.soft),
    ),
    CsmsButtonEntityDescription(
        key="hard_reset",
        translation_key="hard_reset",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        # A hard reset cuts running sessions short without a clean stop;
        # the soft one is what a user normally wants.
        entity_registry_enabled_default=False,
        charge_point_level=True,
        request_fn=_reset(ResetType.hard),
    ),
    CsmsButtonEntityDescription(
        key="unlock",
        translation_key="unlock",
        # For the rare stuck cable (also a service): not worth an entity per
        # connector on a site with hundreds of them.
        entity_registry_enabled_default=False,
        request_fn=lambda connector: OcppRequest(
            "UnlockConnector",
            {"connector_id": connector.connector_id},
            accepted=(UnlockStatus.unlocked.value,),
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add buttons for every charge point and connector, now and later."""
    async_add_entities_per_connector(entry, async_add_entities, BUTTONS, CsmsButton)


class CsmsButton(CsmsEntity, ButtonEntity):
    """A button of a charge point or connector."""

    entity_description: CsmsButtonEntityDescription

    def state_key(self) -> tuple[Any, ...]:
        """A button's state is its last press: only availability follows the model."""
        return (self.available,)

    async def async_press(self) -> None:
        """Send the request; a refusal is the user's error to see."""
        request = self.entity_description.request_fn(self.connector)
        await async_request(
            self._runtime, request.action, request.payload, accepted=request.accepted
        )
