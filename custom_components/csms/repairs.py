"""Repair flows for issues the user can fix from the repairs dashboard."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant

from .const import CONF_PUSH_CONFIGURATION


class StopConfiguringFlow(ConfirmRepairFlow):
    """The charger refused the recommended configuration: stop pushing it."""

    def __init__(self, entry_id: str) -> None:
        """Fix the charger of this entry."""
        super().__init__()
        self._entry_id = entry_id

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> Any:
        """Turn off the configuration push once the user confirms."""
        if user_input is not None and (
            entry := self.hass.config_entries.async_get_entry(self._entry_id)
        ):
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_PUSH_CONFIGURATION: False}
            )
        return await super().async_step_confirm(user_input)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue (only the configuration one is)."""
    assert data is not None
    return StopConfiguringFlow(str(data["entry_id"]))
