"""One benchmark run against one central system: the phases and what is measured in each."""

import asyncio
from dataclasses import dataclass, field
import logging
from pathlib import Path
import time
from typing import Any

import psutil

from . import memory, profile
from .load import CallLog, Fleet, percentiles
from .loop_monitor import read_samples
from .processes import ServerProcess
from .targets import HomeAssistant, Target

_LOGGER = logging.getLogger(__name__)
SETTLE_S = 5.0
# Calls sent this long after the quarter-hour burst began count as the burst's.
BURST_WINDOW_S = 5.0
# After the reconnect storm, the chargers' queued messages go out.
AFTER_STORM_S = 10.0
RECONNECT_TIMEOUT_S = 600.0


@dataclass
class Settings:
    """What a run simulates."""

    chargers: int
    connectors: int
    duration_s: float
    warmup_s: float
    stagger_s: float
    seed: int
    profile: bool = False
    trace_memory: bool = False


@dataclass
class Result:
    """The figures of one central system under the benchmark's load."""

    name: str
    marks: dict[str, float] = field(default_factory=dict)
    baseline_rss: int = 0
    steady_rss: int = 0
    peak_rss: int = 0
    steady_cpu_s: float = 0.0
    steady_messages: int = 0
    steady_charger_calls: int = 0
    steady_server_calls: int = 0
    storm_charger_calls: int = 0
    storm_server_calls: int = 0
    rtt: dict[str, dict[str, float]] = field(default_factory=dict)
    loop_lag: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    failure_kinds: dict[str, int] = field(default_factory=dict)
    restart: dict[str, float] = field(default_factory=dict)
    database_growth: int | None = None
    status: dict[str, Any] = field(default_factory=dict)
    load_cpu_s: float = 0.0

    @property
    def steady_s(self) -> float:
        """Length of the steady phase."""
        return self.marks["steady_end"] - self.marks["steady_start"]

    def mark(self, name: str) -> None:
        """Note that phase `name` begins now."""
        self.marks[name] = time.time()
        _LOGGER.info("%s: %s", self.name, name)


async def measure(target: Target, settings: Settings, workdir: Path) -> Result:
    """Start the central system, load it, restart it, and measure throughout."""
    result = Result(target.name)
    log_path = workdir / f"{target.name.replace(' ', '_')}.log"
    # Ten frames: enough to tell which caller of a library allocated.
    env = {"PYTHONTRACEMALLOC": "10"} if settings.trace_memory else None
    server = ServerProcess(target.argv(), log_path, target.cwd, env)
    fleet = Fleet(
        f"ws://127.0.0.1:{target.ocpp_port}", settings.chargers, settings.connectors, settings.seed
    )
    myself = psutil.Process()
    result.mark("start")
    await server.start()
    try:
        await _wait_ready(server, target)
        await target.wait_started()
        await asyncio.sleep(SETTLE_S)
        result.baseline_rss = server.rss()
        snapshots: list[Path] = []
        if settings.trace_memory and isinstance(target, HomeAssistant):
            snapshots.append(await target.memory_snapshot("idle"))

        result.mark("connect")
        async with asyncio.timeout(RECONNECT_TIMEOUT_S + settings.chargers * settings.stagger_s):
            await fleet.connect(settings.stagger_s)
        result.mark("all_accepted")
        await target.wait_commissioned(settings.chargers)
        result.mark("commissioned")
        fleet.start_sessions()
        await asyncio.sleep(settings.warmup_s)

        result.mark("steady_start")
        cpu_before, load_before = server.cpu_seconds(), _cpu(myself)
        database_before = target.database_bytes()
        profiler = None
        if settings.profile:
            output = workdir / f"{target.name.replace(' ', '_')}_profile.txt"
            profiler = await profile.record(server.pid, settings.duration_s, output)
        await asyncio.sleep(settings.duration_s / 2)
        result.mark("burst")
        await fleet.quarter_hour_burst()
        await asyncio.sleep(settings.duration_s / 2 - (time.time() - result.marks["burst"]))
        result.mark("steady_end")
        result.steady_cpu_s = server.cpu_seconds() - cpu_before
        result.load_cpu_s = _cpu(myself) - load_before
        result.steady_rss = server.rss()
        database_after = target.database_bytes()
        if database_before is not None and database_after is not None:
            result.database_growth = database_after - database_before
        result.status = target.status()
        if snapshots and isinstance(target, HomeAssistant):
            loaded = await target.memory_snapshot("loaded")
            memory.compare(snapshots[0], loaded, workdir / "csms_memory.txt", settings.chargers)
        if profiler is not None:
            await profiler.wait()

        result.mark("restart")
        result.restart["stop_s"] = await server.stop()
        result.peak_rss = server.peak_rss
        server = ServerProcess(target.argv(), log_path, target.cwd, env)
        await server.start()
        result.mark("restarted")
        await _wait_ready(server, target)
        result.mark("port_open")
        async with asyncio.timeout(RECONNECT_TIMEOUT_S):
            await fleet.wait_online()
        result.mark("all_online")
        await asyncio.sleep(AFTER_STORM_S)
        result.mark("storm_end")
    finally:
        await fleet.stop()
        await server.stop()
        result.peak_rss = max(result.peak_rss, server.peak_rss)
    marks = result.marks
    result.restart["start_s"] = marks["port_open"] - marks["restarted"]
    result.restart["reconnect_s"] = marks["all_online"] - marks["port_open"]
    result.restart["total_s"] = marks["all_online"] - marks["restart"]
    result.restart["commission_s"] = marks["commissioned"] - marks["connect"]
    _summarise_calls(result, fleet.log)
    _summarise_loop_lag(result, target.lag_file)
    return result


async def _wait_ready(server: ServerProcess, target: Target) -> None:
    """Wait for the OCPP port, or fail as soon as the server has exited."""
    ready = asyncio.ensure_future(target.wait_ready())
    exited = asyncio.ensure_future(server.wait())
    await asyncio.wait((ready, exited), return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        msg = f"{target.name} exited before taking connections; see {server.log_path}"
        raise RuntimeError(msg)
    exited.cancel()
    ready.result()


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _windows(result: Result) -> dict[str, list[tuple[float, float]]]:
    """Phase name: the [start, end) ranges of wall time it covers."""
    marks = result.marks
    burst_end = marks["burst"] + BURST_WINDOW_S
    return {
        "steady": [(marks["steady_start"], marks["burst"]), (burst_end, marks["steady_end"])],
        "burst": [(marks["burst"], burst_end)],
        "reconnect": [(marks["port_open"], marks["storm_end"])],
        "commission": [(marks["connect"], marks["commissioned"])],
    }


def _summarise_calls(result: Result, log: CallLog) -> None:
    for phase, ranges in _windows(result).items():
        result.rtt[phase] = percentiles(
            rtt for start, end in ranges for rtt in log.answered_between(start, end)
        )
        result.failures[phase] = sum(len(log.failed_between(start, end)) for start, end in ranges)
    marks = result.marks
    # Calls cut off by the server going away are the restart's, not failures.
    result.failures["cut off by the restart"] = len(
        log.failed_between(marks["restart"], marks["port_open"])
    )
    for _, action, kind in log.failed:
        key = f"{action}: {kind}"
        result.failure_kinds[key] = result.failure_kinds.get(key, 0) + 1
    start, end = marks["steady_start"], marks["steady_end"]
    result.steady_charger_calls = len(log.answered_between(start, end))
    result.steady_server_calls = log.server_calls_between(start, end)
    result.steady_messages = result.steady_charger_calls + result.steady_server_calls
    result.storm_server_calls = log.server_calls_between(marks["port_open"], marks["storm_end"])
    result.storm_charger_calls = len(log.answered_between(marks["port_open"], marks["storm_end"]))


def _summarise_loop_lag(result: Result, lag_file: Path) -> None:
    samples = read_samples(lag_file)
    for phase, ranges in _windows(result).items():
        result.loop_lag[phase] = percentiles(
            lag for at, lag in samples if any(start <= at < end for start, end in ranges)
        )
