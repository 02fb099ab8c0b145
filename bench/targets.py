"""The two central systems a benchmark run loads: csms in Home Assistant, and ocpp alone."""

import asyncio
import json
from pathlib import Path
import shutil
import sys
import time
from typing import Any, Protocol

import yaml

from .processes import sqlite_used_bytes, wait_for_port

REPO = Path(__file__).resolve().parent.parent
PROBE = "csms_bench_probe"
# First starts of Home Assistant build its storage; 1000 charger entries take a while.
START_TIMEOUT_S = 900.0


class Target(Protocol):
    """A central system the benchmark can start, stop and measure."""

    name: str
    ocpp_port: int
    lag_file: Path
    # Its working directory: what `python -m` finds first.
    cwd: Path

    def argv(self) -> list[str]:
        """The command line that runs it."""

    async def wait_ready(self) -> None:
        """Return once it takes charger connections."""

    async def wait_started(self) -> None:
        """Return once it has finished starting (the idle baseline is taken then)."""

    async def wait_commissioned(self, chargers: int) -> None:
        """Return once every accepted charger is set up (devices, entities)."""

    def database_bytes(self) -> int | None:
        """Bytes of its history database in use, None without one."""

    def status(self) -> dict[str, Any]:
        """Facts worth printing (entities and the like)."""


class OcppOnly:
    """bench/minimal_csms.py: the `ocpp` package and websockets, nothing else."""

    name = "ocpp only"

    def __init__(self, workdir: Path, ocpp_port: int) -> None:
        """Its loop lag goes to a file in `workdir`."""
        self.ocpp_port = ocpp_port
        self.lag_file = workdir / "ocpp_only_loop_lag.jsonl"
        self.cwd = REPO

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bench.minimal_csms",
            "--port",
            str(self.ocpp_port),
            "--lag-file",
            str(self.lag_file),
        ]

    async def wait_ready(self) -> None:
        await wait_for_port(self.ocpp_port, START_TIMEOUT_S)

    async def wait_started(self) -> None:
        return None

    async def wait_commissioned(self, chargers: int) -> None:
        return None

    def database_bytes(self) -> int | None:
        return None

    def status(self) -> dict[str, Any]:
        return {}


class HomeAssistant:
    """Home Assistant with the development configuration and this checkout's csms."""

    name = "csms"

    def __init__(self, workdir: Path, ocpp_port: int, http_port: int) -> None:
        """The configuration directory is `workdir`/config; nothing is written yet."""
        self.config_dir = workdir / "config"
        # Not the checkout: its custom_components package would hide the probe's.
        self.cwd = workdir
        self.ocpp_port = ocpp_port
        self.http_port = http_port
        self.lag_file = workdir / "csms_loop_lag.jsonl"
        self.status_file = workdir / "csms_status.json"
        self.snapshot_request = workdir / "csms_snapshot.request"
        self.workdir = workdir

    def prepare(self) -> None:
        """Write the configuration: the development one, quieter, plus the probe."""
        config_dir = self.config_dir
        (config_dir / "custom_components").mkdir(parents=True, exist_ok=True)
        configuration = yaml.safe_load((REPO / "config" / "configuration.yaml").read_text())
        # Debug logging of every frame would be measured instead of the integration.
        configuration["logger"] = {
            "default": "warning",
            "filters": configuration.get("logger", {}).get("filters", {}),
        }
        configuration["http"] = {"server_host": "127.0.0.1", "server_port": self.http_port}
        configuration[PROBE] = {
            "ocpp_port": self.ocpp_port,
            "lag_file": str(self.lag_file),
            "status_file": str(self.status_file),
            "snapshot_request": str(self.snapshot_request),
        }
        (config_dir / "configuration.yaml").write_text(yaml.safe_dump(configuration))
        # A copy: editing the checkout during a run must not change what the restart loads.
        shutil.copytree(
            REPO / "custom_components" / "csms",
            config_dir / "custom_components" / "csms",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        probe = config_dir / "custom_components" / PROBE
        # Copies, not links: its loop_monitor.py links to the benchmark's own.
        shutil.copytree(REPO / "bench" / "probe", probe)

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "homeassistant",
            "--config",
            str(self.config_dir),
            "--skip-pip",
        ]

    async def wait_ready(self) -> None:
        await wait_for_port(self.ocpp_port, START_TIMEOUT_S)

    async def wait_started(self) -> None:
        # The OCPP port opens while Home Assistant is still starting.
        async with asyncio.timeout(START_TIMEOUT_S):
            while not self.status().get("running"):  # noqa: ASYNC110  (another process)
                await asyncio.sleep(0.5)

    async def wait_commissioned(self, chargers: int) -> None:
        # The server's own entry is a csms entry too.
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.status().get("loaded_entries", 0) < chargers + 1:
            if time.monotonic() > deadline:
                msg = f"only {self.status()} of {chargers} chargers were set up"
                raise TimeoutError(msg)
            await asyncio.sleep(1.0)

    async def memory_snapshot(self, name: str) -> Path:
        """Have the probe dump a tracemalloc snapshot; its file."""
        target = self.workdir / f"csms_{name}.tracemalloc"
        self.snapshot_request.write_text(str(target), encoding="utf-8")
        async with asyncio.timeout(120):
            # Another process writes it: polling is all there is.
            while not target.exists():  # noqa: ASYNC110
                await asyncio.sleep(0.5)
        return target

    def database_bytes(self) -> int | None:
        return sqlite_used_bytes(self.config_dir / "home-assistant_v2.db")

    def status(self) -> dict[str, Any]:
        try:
            status: dict[str, Any] = json.loads(self.status_file.read_text(encoding="utf-8"))
        except OSError, ValueError:
            return {}
        return status
