"""What loaded config entries hold (``entry.runtime_data``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .central import ChargePoint
from .central.commissioning import DEFAULT_MEASURANDS, DEFAULT_SAMPLE_INTERVAL_S
from .const import (
    CONF_MEASURANDS,
    CONF_PUSH_CONFIGURATION,
    CONF_REMOTE_START_ID_TAG,
    CONF_SAMPLE_INTERVAL,
    DEFAULT_REMOTE_START_ID_TAG,
)
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


def charge_point_options(options: dict[str, Any] | Any) -> dict[str, Any]:
    """A charge point entry's options with defaults filled in."""
    return {
        CONF_PUSH_CONFIGURATION: options.get(CONF_PUSH_CONFIGURATION, True),
        CONF_SAMPLE_INTERVAL: int(options.get(CONF_SAMPLE_INTERVAL, DEFAULT_SAMPLE_INTERVAL_S)),
        CONF_MEASURANDS: list(options.get(CONF_MEASURANDS, DEFAULT_MEASURANDS)),
        CONF_REMOTE_START_ID_TAG: options.get(
            CONF_REMOTE_START_ID_TAG, DEFAULT_REMOTE_START_ID_TAG
        ),
    }
