"""Switches: charging on a connector, and whether a charge point or connector is in service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from ocpp.v16.enums import AvailabilityStatus, AvailabilityType, ChargePointStatus

from .central import ChargePoint, Connector
from .const import CONF_REMOTE_START_ID_TAG
from .entity import CsmsEntity, CsmsEntityDescription, async_add_entities_per_connector
from .options import charge_point_options
from .requests import OcppRequest, async_request
from .runtime import CsmsConfigEntry, CsmsRuntimeData, ServerConfigEntry, is_server_entry
from .site_entity import LoadManagementSwitch

# Each switch waits for its charger's answer; chargers take one call at a time anyway.
PARALLEL_UPDATES = 0

# A busy charger applies a change of availability once its transactions end.
_AVAILABILITY_ACCEPTED = (AvailabilityStatus.accepted.value, AvailabilityStatus.scheduled.value)
# The status of an inoperative charge point or connector.
_INOPERATIVE: str = ChargePointStatus.unavailable.value


@dataclass(frozen=True, slots=True)
class SwitchContext:
    """What a switch needs to build its request."""

    connector: Connector
    options: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CsmsSwitchEntityDescription(CsmsEntityDescription, SwitchEntityDescription):
    """A switch backed by one OCPP request each way."""

    is_on_fn: Callable[[Connector], bool | None]
    # The request that turns the switch on (True) or off (False); None when
    # the charger already is where the switch should go.
    request_fn: Callable[[SwitchContext, bool], OcppRequest | None]


def _operative(connector: Connector) -> bool | None:
    if connector.status is None:
        return None
    return connector.status != _INOPERATIVE


def _change_availability(context: SwitchContext, turn_on: bool) -> OcppRequest:
    kind = AvailabilityType.operative if turn_on else AvailabilityType.inoperative
    return OcppRequest(
        "ChangeAvailability",
        {"connector_id": context.connector.connector_id, "type": kind.value},
        accepted=_AVAILABILITY_ACCEPTED,
    )


def _charging(context: SwitchContext, turn_on: bool) -> OcppRequest | None:
    transaction = context.connector.transaction
    if turn_on:
        if transaction is not None:
            return None
        return OcppRequest(
            "RemoteStartTransaction",
            {
                "connector_id": context.connector.connector_id,
                "id_tag": context.options[CONF_REMOTE_START_ID_TAG],
            },
        )
    if transaction is None:
        return None
    return OcppRequest("RemoteStopTransaction", {"transaction_id": transaction.transaction_id})


SWITCHES: tuple[CsmsSwitchEntityDescription, ...] = (
    CsmsSwitchEntityDescription(
        key="charge_point_available",
        translation_key="charge_point_available",
        entity_category=EntityCategory.CONFIG,
        charge_point_level=True,
        is_on_fn=_operative,
        request_fn=_change_availability,
    ),
    # No entity category: a control of its own that Assist may switch.
    CsmsSwitchEntityDescription(
        key="charging",
        translation_key="charging",
        is_on_fn=lambda connector: connector.transaction is not None,
        request_fn=_charging,
    ),
    CsmsSwitchEntityDescription(
        key="available",
        translation_key="available",
        entity_category=EntityCategory.CONFIG,
        # The charge point's own switch covers what most need.
        entity_registry_enabled_default=False,
        is_on_fn=_operative,
        request_fn=_change_availability,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry | ServerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add switches for every charge point and connector, now and later; or the site's."""
    if is_server_entry(entry):
        async_add_entities([LoadManagementSwitch(entry)])
        return

    def switch(
        runtime: CsmsRuntimeData,
        charge_point: ChargePoint,
        connector_id: int,
        description: CsmsSwitchEntityDescription,
    ) -> CsmsSwitch:
        return CsmsSwitch(entry, runtime, charge_point, connector_id, description)

    async_add_entities_per_connector(entry, async_add_entities, SWITCHES, switch)


class CsmsSwitch(CsmsEntity, SwitchEntity):
    """A switch of a charge point or connector; its state is what the charger reports."""

    entity_description: CsmsSwitchEntityDescription

    def __init__(
        self,
        entry: CsmsConfigEntry,
        runtime: CsmsRuntimeData,
        charge_point: ChargePoint,
        connector_id: int,
        description: CsmsSwitchEntityDescription,
    ) -> None:
        """Keep the entry: its options (the remote start id tag) may change."""
        super().__init__(runtime, charge_point, connector_id, description)
        self._entry = entry

    @property
    def is_on(self) -> bool | None:
        """The state from the model."""
        return self.entity_description.is_on_fn(self.connector)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Send the request that turns the switch on."""
        await self._async_switch(turn_on=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Send the request that turns the switch off."""
        await self._async_switch(turn_on=False)

    async def _async_switch(self, *, turn_on: bool) -> None:
        # The state changes when the charger reports the result (a status or
        # transaction message), not on its answer alone.
        context = SwitchContext(self.connector, charge_point_options(self._entry.options))
        request = self.entity_description.request_fn(context, turn_on)
        if request is not None:
            await async_request(
                self._runtime, request.action, request.payload, accepted=request.accepted
            )
