"""What loaded config entries hold (``entry.runtime_data``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeIs

from homeassistant.config_entries import ConfigEntry

from .central import ChargePoint
from .const import CONF_CHARGE_POINT_ID
from .devices import DeviceManager
from .hub import Hub
from .local_lists import LocalListKeeper

# A server entry holds its hub.
type ServerConfigEntry = ConfigEntry[Hub]


@dataclass(slots=True)
class CsmsRuntimeData:
    """A loaded charge point entry: its hub, charge point, devices and local list."""

    hub: Hub
    charge_point: ChargePoint
    devices: DeviceManager
    local_list: LocalListKeeper

    @property
    def charge_point_id(self) -> str:
        """The OCPP identity."""
        return self.charge_point.charge_point_id

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a request to this charge point."""
        return await self.hub.request(self.charge_point_id, action, payload)


# A charge point entry: the one the platforms work with.
type CsmsConfigEntry = ConfigEntry[CsmsRuntimeData]


def is_server_entry(entry: CsmsConfigEntry | ServerConfigEntry) -> TypeIs[ServerConfigEntry]:
    """A server entry, as opposed to a charge point entry."""
    return CONF_CHARGE_POINT_ID not in entry.data
