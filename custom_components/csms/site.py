"""Site load management in Home Assistant: the grid sensor, settings and logbook.

The decisions are the core's (:mod:`.central.load_manager`); this module
feeds it the grid sensor's readings and the server's settings, and writes
its decisions to the logbook, at most once a minute.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_call_later, async_track_state_change_event

from .central.load_management import GridReading
from .central.load_manager import Decision
from .const import CONF_GRID_SENSOR, DOMAIN
from .runtime import ServerConfigEntry

EVENT_LOAD_MANAGEMENT = f"{DOMAIN}_load_management"
# The logbook hears of a new decision at most this often.
LOGBOOK_INTERVAL_S = 60.0

_POWER_FACTORS: dict[str, float] = {
    UnitOfPower.WATT: 1.0,
    UnitOfPower.KILO_WATT: 1000.0,
    UnitOfPower.MEGA_WATT: 1_000_000.0,
}


# The units a grid sensor may have.
GRID_POWER_UNITS = tuple(_POWER_FACTORS)
GRID_SENSOR_UNITS = (UnitOfElectricCurrent.AMPERE, *GRID_POWER_UNITS)


def grid_reading(state: State | None) -> GridReading | None:
    """The grid import a sensor shows: current (A) or power (W, kW), else nothing."""
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    unit = str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
    # A sensor that reports the same value again still measured now.
    at = state.last_reported
    if unit == UnitOfElectricCurrent.AMPERE:
        return GridReading(current_a=value, at=at)
    if (factor := _POWER_FACTORS.get(unit)) is not None:
        return GridReading(power_w=value * factor, at=at)
    return None


@callback
def async_start_load_management(hass: HomeAssistant, entry: ServerConfigEntry) -> None:
    """Run a server's load management while its entry is loaded."""
    manager = entry.runtime_data.load_manager
    entry.async_on_unload(manager.start())
    grid = _GridFollower(hass, entry)
    grid.follow()
    entry.async_on_unload(grid.stop)

    @callback
    def entry_changed(change: ConfigEntryChange, changed: ConfigEntry) -> None:
        # Settings apply at once: the server keeps running, chargers stay connected.
        # (An update listener would make a reconfigure's reload report a misuse.)
        if change is ConfigEntryChange.UPDATED and changed.entry_id == entry.entry_id:
            grid.follow()
            manager.schedule(delay=0)

    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)
    )
    logbook = _LogbookWriter(hass, entry)
    entry.async_on_unload(manager.subscribe_decisions(logbook.decided))
    entry.async_on_unload(logbook.cancel)


class _GridFollower:
    """Hands the grid sensor's readings to load management."""

    def __init__(self, hass: HomeAssistant, entry: ServerConfigEntry) -> None:
        self._hass = hass
        self._entry = entry
        self._sensor: str | None = None
        self._unsubscribe: CALLBACK_TYPE | None = None

    @callback
    def follow(self) -> None:
        """Follow the sensor the settings name (again, after they changed)."""
        sensor: str | None = self._entry.options.get(CONF_GRID_SENSOR)
        if sensor == self._sensor:
            return
        self.stop()
        self._sensor = sensor
        manager = self._entry.runtime_data.load_manager
        manager.grid_reading = grid_reading(self._hass.states.get(sensor)) if sensor else None
        if sensor:

            @callback
            def changed(event: Event[EventStateChangedData]) -> None:
                manager.grid_reading = grid_reading(event.data["new_state"])
                # Without load management the reading decides nothing; it is
                # kept for when load management is switched on.
                if manager.enabled:
                    manager.schedule()

            self._unsubscribe = async_track_state_change_event(self._hass, [sensor], changed)

    @callback
    def stop(self) -> None:
        """Stop following."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._sensor = None


class _LogbookWriter:
    """Fires the latest decision as an event, at most once per interval."""

    def __init__(self, hass: HomeAssistant, entry: ServerConfigEntry) -> None:
        self._hass = hass
        self._entry = entry
        self._pending: Decision | None = None
        self._cancel_timer: CALLBACK_TYPE | None = None

    @callback
    def decided(self, decision: Decision) -> None:
        self._pending = decision
        if self._cancel_timer is None:
            self._fire()

    @callback
    def _fire(self, _now: datetime | None = None) -> None:
        self._cancel_timer = None
        decision, self._pending = self._pending, None
        if decision is None:
            return
        budget = decision.budget.current_a
        site = dr.async_get(self._hass).async_get_device_by_identifier(
            (DOMAIN, self._entry.entry_id), self._entry.entry_id
        )
        self._hass.bus.async_fire(
            EVENT_LOAD_MANAGEMENT,
            {
                "device_id": site.id if site is not None else None,
                "server_entry_id": self._entry.entry_id,
                "sessions": len(decision.shares),
                "paused": len(decision.paused),
                "allocated_a": round(decision.allocated_a, 1),
                "budget_a": None if budget is None else round(budget, 1),
            },
        )
        self._cancel_timer = async_call_later(self._hass, LOGBOOK_INTERVAL_S, self._fire)

    @callback
    def cancel(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
