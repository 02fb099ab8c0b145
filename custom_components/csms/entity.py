"""Base entity: one charge point or connector, updated when it changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import ChildDeviceInfo, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .central import CHARGE_POINT_CONNECTOR_ID, ChargePoint, Connector

if TYPE_CHECKING:
    from .runtime import CsmsConfigEntry, CsmsRuntimeData


@dataclass(frozen=True, kw_only=True)
class CsmsEntityDescription(EntityDescription):
    """Which part of the model an entity shows."""

    # True: one entity per charge point (fed by connector 0);
    # False: one per connector.
    charge_point_level: bool = False
    # Whether the charge point or connector has what the entity shows (a
    # phase's current, a feature profile); the entity is added once it does.
    exists_fn: Callable[[ChargePoint, Connector], bool] = lambda *_: True


def supports_smart_charging(charge_point: ChargePoint) -> bool:
    """Whether a charger reported the SmartCharging feature profile (read at its boot)."""
    return bool(charge_point.configuration) and charge_point.charging_capabilities.supported


class CsmsEntity(Entity):
    """An entity of a charge point or one of its connectors."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: CsmsEntityDescription
    # What the state showed when last written (see _model_changed).
    _written: tuple[Any, ...] | None = None

    def __init__(
        self,
        runtime: CsmsRuntimeData,
        charge_point: ChargePoint,
        connector_id: int,
        description: CsmsEntityDescription,
    ) -> None:
        """Describe the entity and the device it belongs to."""
        self.entity_description = description
        self._runtime = runtime
        self._charge_point = charge_point
        self._connector_id = connector_id
        charge_point_id = charge_point.charge_point_id
        if connector_id == CHARGE_POINT_CONNECTOR_ID:
            self._attr_unique_id = f"{charge_point_id}_{description.key}"
        else:
            self._attr_unique_id = f"{charge_point_id}_{connector_id}_{description.key}"

    @property
    def device_info(self) -> DeviceInfo | ChildDeviceInfo:
        """The charge point, or the connector once there are several."""
        # Asked again when the entity is re-added after its connector moved
        # to a device of its own.
        return self._runtime.devices.device_info(self._charge_point, self._connector_id)

    @property
    def connector(self) -> Connector:
        """The connector this entity shows (connector 0: the charge point)."""
        return self._charge_point.connectors[self._connector_id]

    @property
    def available(self) -> bool:
        """Entities follow the charger's connection."""
        return self._charge_point.connected

    async def async_added_to_hass(self) -> None:
        """Write state whenever the charge point or connector changes."""
        await super().async_added_to_hass()
        # Charge point entities also show the charge point's own facts (last
        # heartbeat, firmware); its listeners hear of connector 0 as well.
        connector_id = (
            None if self._connector_id == CHARGE_POINT_CONNECTOR_ID else self._connector_id
        )
        self.async_on_remove(
            self._runtime.hub.central.subscribe(
                self._charge_point.charge_point_id, connector_id, self._model_changed
            )
        )

    def state_key(self) -> tuple[Any, ...] | None:
        """What the state shows, cheap to compare; None: not known, always write."""
        return None

    @callback
    def _model_changed(self) -> None:
        """Write the state when what it shows changed.

        A connector's listeners hear of each of its changes: a MeterValues
        moves a few of its entities' values, not all of them, and working out
        an unchanged state costs as much as writing it.
        """
        key = self.state_key()
        if key is not None and key == self._written:
            return
        self._written = key
        self.async_write_ha_state()


def async_add_entities_per_connector[DescriptionT: CsmsEntityDescription](
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: tuple[DescriptionT, ...],
    factory: Callable[[CsmsRuntimeData, ChargePoint, int, DescriptionT], CsmsEntity],
) -> None:
    """Add a platform's entities for the charge point and each connector, now and later.

    Descriptions marked ``charge_point_level`` make one entity per charge
    point (fed by connector 0), the others one per connector. An entity whose
    ``exists_fn`` is false waits until the connector reports what it shows.
    """
    runtime = entry.runtime_data
    central = runtime.hub.central

    @callback
    def add(charge_point: ChargePoint, connector_id: int) -> None:
        charge_point_level = connector_id == CHARGE_POINT_CONNECTOR_ID
        waiting = [
            description
            for description in descriptions
            if description.charge_point_level == charge_point_level
        ]

        @callback
        def add_existing() -> None:
            connector = charge_point.connectors[connector_id]
            ready = [
                description
                for description in waiting
                if description.exists_fn(charge_point, connector)
            ]
            if not ready:
                return
            for description in ready:
                waiting.remove(description)
            async_add_entities(
                [factory(runtime, charge_point, connector_id, description) for description in ready]
            )
            if not waiting:
                unsubscribe()

        # Charge point entities may wait for the charge point's facts too:
        # its listeners hear of those and of connector 0.
        unsubscribe = central.subscribe(
            charge_point.charge_point_id, None if charge_point_level else connector_id, add_existing
        )
        entry.async_on_unload(lambda: unsubscribe() if waiting else None)
        add_existing()

    entry.async_on_unload(central.on_connector_added(runtime.charge_point_id, add))
