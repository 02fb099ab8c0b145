"""Event entities: sessions on a connector; boots, id tags and errors of a charge point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CsmsConfigEntry
from .central.events import ChargePointEvent, EventKind
from .entity import CsmsEntity, CsmsEntityDescription, async_add_entities_per_connector

# Push updates: no polling to limit.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class CsmsEventEntityDescription(CsmsEntityDescription, EventEntityDescription):
    """An event entity showing some kinds of charger events."""

    # Which event type each kind of charger event is shown as.
    event_types_by_kind: dict[EventKind, str]


EVENTS: tuple[CsmsEventEntityDescription, ...] = (
    CsmsEventEntityDescription(
        key="charge_point_event",
        translation_key="charge_point_event",
        charge_point_level=True,
        event_types_by_kind={
            EventKind.BOOTED: "booted",
            EventKind.ID_TAG_PRESENTED: "id_tag_presented",
            EventKind.ERROR_REPORTED: "error_reported",
            EventKind.SECURITY_EVENT: "security_event",
        },
    ),
    CsmsEventEntityDescription(
        key="session",
        translation_key="session",
        event_types_by_kind={
            EventKind.TRANSACTION_STARTED: "started",
            EventKind.TRANSACTION_STOPPED: "stopped",
        },
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add event entities for every charge point and connector, now and later."""
    async_add_entities_per_connector(entry, async_add_entities, EVENTS, CsmsEvent)


class CsmsEvent(CsmsEntity, EventEntity):
    """Fires when its charge point or connector reports one of its kinds of events."""

    entity_description: CsmsEventEntityDescription

    def state_key(self) -> tuple[Any, ...]:
        """An event's state is its last event: only availability follows the model."""
        return (self.available,)

    @property
    def event_types(self) -> list[str]:
        """The event types, in the order of the description."""
        return list(self.entity_description.event_types_by_kind.values())

    async def async_added_to_hass(self) -> None:
        """Listen to the charge point's events too."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._runtime.hub.central.subscribe_events(
                self._charge_point.charge_point_id, self._handle_event
            )
        )

    @callback
    def _handle_event(self, event: ChargePointEvent) -> None:
        event_type = self.entity_description.event_types_by_kind.get(event.kind)
        if event_type is None:
            return
        attributes: dict[str, Any] = dict(event.data)
        if self.entity_description.charge_point_level:
            # Errors of any connector are the charge point's news.
            attributes["connector_id"] = event.connector_id
        elif event.connector_id != self._connector_id:
            return
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
