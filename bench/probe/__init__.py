"""Benchmark probe: measures Home Assistant's event loop during a csms benchmark.

`script/bench` copies this integration (with `loop_monitor.py`) into the
benchmark's configuration directory. It

- samples the event loop's lag into a file, like the ocpp-only central system;
- writes a status file every 2 s (config entries, entities) for the benchmark;
- on the first start, adds a csms server through its config flow and sets it to
  accept unknown chargers and id tags, as a commissioning electrician would;
- confirms the benchmark's `http:` port, which Home Assistant would otherwise
  revert after five minutes.

It is never installed anywhere else.
"""

import contextlib
from datetime import timedelta
import gc
import json
import logging
from pathlib import Path
import time
import tracemalloc
from typing import Any

from homeassistant.components.http.config import async_get_and_load_store
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .loop_monitor import LoopMonitor

DOMAIN = "csms_bench_probe"
CSMS = "csms"
_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.Schema(
            {
                vol.Required("ocpp_port"): int,
                vol.Required("lag_file"): str,
                vol.Required("status_file"): str,
                # A file name here asks for a tracemalloc snapshot (see _memory_snapshot).
                vol.Required("snapshot_request"): str,
            }
        )
    },
    extra=vol.ALLOW_EXTRA,
)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start measuring; add the csms server on the first start."""
    conf = config[DOMAIN]
    gc.callbacks.append(GC.callback)
    monitor = LoopMonitor(Path(conf["lag_file"]))
    monitor.start()
    status_file = Path(conf["status_file"])

    snapshot_request = Path(conf["snapshot_request"])

    async def write_status(*_: Any) -> None:
        status = _status(hass)
        await hass.async_add_executor_job(_write, status_file, status)
        if tracemalloc.is_tracing():
            await hass.async_add_executor_job(_memory_snapshot, snapshot_request)

    async def stop(_: Event) -> None:
        await monitor.stop()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop)
    async_track_time_interval(hass, write_status, timedelta(seconds=2))
    await _confirm_http_port(hass)
    if not hass.config_entries.async_entries(CSMS):
        await _add_server(hass, conf["ocpp_port"])
    return True


class GarbageCollections:
    """Pauses of Python's cycle collector: a stopped world stops the event loop too."""

    def __init__(self) -> None:
        """Counts from now on."""
        self.started = 0.0
        self.count = 0
        self.total_s = 0.0
        self.longest_s = 0.0
        self.over_100_ms = 0

    def callback(self, phase: str, _info: dict[str, Any]) -> None:
        """gc.callbacks hook."""
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause = time.perf_counter() - self.started
        self.count += 1
        self.total_s += pause
        self.longest_s = max(self.longest_s, pause)
        self.over_100_ms += pause > 0.1

    def as_dict(self) -> dict[str, Any]:
        """For the status file."""
        return {
            "collections": self.count,
            "total_s": round(self.total_s, 3),
            "longest_s": round(self.longest_s, 3),
            "over_100_ms": self.over_100_ms,
        }


GC = GarbageCollections()


def _status(hass: HomeAssistant) -> dict[str, Any]:
    entries = hass.config_entries.async_entries(CSMS)
    registry = er.async_get(hass)
    csms_entities = [entry for entry in registry.entities.values() if entry.platform == CSMS]
    return {
        "config_entries": len(entries),
        "loaded_entries": sum(entry.state is ConfigEntryState.LOADED for entry in entries),
        "entities": len(csms_entities),
        "enabled_entities": sum(entry.disabled_by is None for entry in csms_entities),
        "states": len(hass.states.async_entity_ids()),
        "running": hass.is_running,
        "gc": GC.as_dict(),
    }


def _memory_snapshot(request: Path) -> None:
    """Dump a tracemalloc snapshot to the file named in `request`, if there is one.

    Only when Home Assistant runs with PYTHONTRACEMALLOC (script/bench
    --trace-memory): the benchmark compares one taken before the chargers
    connect with one taken after the steady phase.
    """
    try:
        target = request.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    request.unlink()
    # Renamed when complete: the benchmark waits for the name to appear.
    tracemalloc.take_snapshot().dump(target + ".tmp")
    Path(target + ".tmp").replace(target)


def _write(path: Path, status: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(status), encoding="utf-8")
    temporary.replace(path)


async def _confirm_http_port(hass: HomeAssistant) -> None:
    store = await async_get_and_load_store(hass)
    # Nothing pending: it was confirmed at an earlier start.
    with contextlib.suppress(HomeAssistantError):
        await store.async_promote_pending()


async def _add_server(hass: HomeAssistant, port: int) -> None:
    """Add the server and set its policies through the integration's own flows."""
    result = await hass.config_entries.flow.async_init(CSMS, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port}
    )
    entry_id = result["result"].entry_id
    menu = await hass.config_entries.options.async_init(entry_id)
    form = await hass.config_entries.options.async_configure(
        menu["flow_id"], {"next_step_id": "settings"}
    )
    await hass.config_entries.options.async_configure(
        form["flow_id"],
        {"onboarding": "accept", "unknown_id_tags": "accepted", "ledger_retention_months": 13},
    )
    _LOGGER.warning("csms server added on port %s", port)
