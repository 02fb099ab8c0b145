"""Numbers: charging limits of charge points and connectors.

A connector's limit goes to that connector only (its TxDefaultProfile, and a
TxProfile for the running transaction), never to the charge point as a
whole; the charge point's own limit is its ChargePointMaxProfile. Each shows
what the charger accepted. 0 pauses charging; between 0 and 6 A no car can
charge (IEC 61851-1), so such values are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, UnitOfElectricCurrent, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .central import CHARGE_POINT_CONNECTOR_ID, ChargePoint
from .central.charging_limits import ProfileRejectedError
from .central.smart_charging import (
    AMPERE,
    MIN_CURRENT_A,
    WATT,
    amps_to_watts,
)
from .const import CONF_MAX_CURRENT, CONF_PHASES, DOMAIN
from .entity import (
    CsmsEntity,
    CsmsEntityDescription,
    async_add_entities_per_connector,
    supports_smart_charging,
)
from .options import charge_point_options
from .requests import rejected_error, request_errors
from .runtime import CsmsConfigEntry, CsmsRuntimeData

# Each change waits for the charger's answer; chargers take one call at a time anyway.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class CsmsNumberEntityDescription(CsmsEntityDescription, NumberEntityDescription):
    """A charging limit, in A per phase or in W."""

    in_watts: bool = False


def _offers_watts(charge_point: ChargePoint) -> bool:
    """Only where the charger takes limits in W."""
    return (
        supports_smart_charging(charge_point) and WATT in charge_point.charging_capabilities.units
    )


NUMBERS: tuple[CsmsNumberEntityDescription, ...] = (
    CsmsNumberEntityDescription(
        key="charge_point_current_limit",
        translation_key="charge_point_current_limit",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.CONFIG,
        charge_point_level=True,
        # The connectors' own limits cover what most need.
        entity_registry_enabled_default=False,
        exists_fn=lambda charge_point, _: supports_smart_charging(charge_point),
    ),
    CsmsNumberEntityDescription(
        key="current_limit",
        translation_key="current_limit",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        exists_fn=lambda charge_point, _: supports_smart_charging(charge_point),
    ),
    CsmsNumberEntityDescription(
        key="power_limit",
        translation_key="power_limit",
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        in_watts=True,
        exists_fn=lambda charge_point, _: _offers_watts(charge_point),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CsmsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the limits of every charge point and connector that takes charging profiles."""

    def number(
        runtime: CsmsRuntimeData,
        charge_point: ChargePoint,
        connector_id: int,
        description: CsmsNumberEntityDescription,
    ) -> ChargingLimitNumber:
        return ChargingLimitNumber(entry, runtime, charge_point, connector_id, description)

    async_add_entities_per_connector(entry, async_add_entities, NUMBERS, number)


class ChargingLimitNumber(CsmsEntity, NumberEntity):
    """A charging limit; its value is what the charger accepted."""

    entity_description: CsmsNumberEntityDescription
    _attr_mode = NumberMode.BOX
    _attr_native_min_value = 0

    def __init__(
        self,
        entry: CsmsConfigEntry,
        runtime: CsmsRuntimeData,
        charge_point: ChargePoint,
        connector_id: int,
        description: CsmsNumberEntityDescription,
    ) -> None:
        """Keep the entry: the charger's phases and maximum are its options."""
        super().__init__(runtime, charge_point, connector_id, description)
        self._entry = entry
        self._attr_native_step = 100 if description.in_watts else 1
        if description.in_watts:
            # Where the charger also takes amperes, the current limit says as much.
            units = charge_point.charging_capabilities.units
            self._attr_entity_registry_enabled_default = AMPERE not in units

    @property
    def _phases(self) -> int:
        return int(charge_point_options(self._entry.options)[CONF_PHASES])

    @property
    def _max_current_a(self) -> float:
        maximum = float(charge_point_options(self._entry.options)[CONF_MAX_CURRENT])
        if self._connector_id == CHARGE_POINT_CONNECTOR_ID:
            # The charge point's connectors together.
            return maximum * max(1, len(self._charge_point.outlet_ids))
        return maximum

    def _from_amps(self, current_a: float) -> float:
        if self.entity_description.in_watts:
            return round(amps_to_watts(current_a, self._phases))
        return current_a

    @property
    def native_max_value(self) -> float:
        """The charger's maximum (its settings)."""
        return self._from_amps(self._max_current_a)

    @property
    def native_value(self) -> float | None:
        """The accepted limit; without one, the charger's maximum."""
        limit_a = self.connector.limit_a
        return self._from_amps(self._max_current_a if limit_a is None else limit_a)

    async def async_set_native_value(self, value: float) -> None:
        """Send the limit; the value changes once the charger accepted it."""
        limit_a = value
        if self.entity_description.in_watts:
            limit_a = value / amps_to_watts(1, self._phases)
        if 0 < limit_a < MIN_CURRENT_A:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="limit_below_minimum",
                translation_placeholders={
                    "value": f"{value:g}",
                    "minimum": f"{self._from_amps(MIN_CURRENT_A):g}",
                },
            )
        manager = self._runtime.hub.load_manager
        charge_point_id = self._runtime.charge_point_id
        with request_errors(charge_point_id):
            try:
                if self._connector_id == CHARGE_POINT_CONNECTOR_ID:
                    await manager.async_set_charge_point_limit(charge_point_id, limit_a)
                else:
                    await manager.async_set_limit(charge_point_id, self._connector_id, limit_a)
            except ProfileRejectedError as err:
                raise rejected_error(charge_point_id, err.action, err.status) from err
