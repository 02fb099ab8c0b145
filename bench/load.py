"""The benchmark's load: a parking lot of simulated chargers, every call timed.

Each connector runs charging sessions back to back (Authorize, StartTransaction,
MeterValues every 60 s, StopTransaction, a pause); heartbeats and status
notifications come with them. `quarter_hour_burst()` has every charger send its
clock-aligned meter values within the same second, as real chargers do at :00,
:15, :30 and :45.
"""

import asyncio
from collections.abc import Iterable
import contextlib
from dataclasses import dataclass, field
import logging
import math
import random
import time
from typing import Any

from custom_components.csms.central.commissioning import DEFAULT_MEASURANDS
from simulator._ocpp import OCPPError
from simulator.charge_point import SimulatedChargePoint
from simulator.configuration import ConfigurationKey
from simulator.core import NotConnectedError

_LOGGER = logging.getLogger(__name__)

ID_TAG = "BENCH"
METER_INTERVAL_S = 60
HEARTBEAT_S = 300
SESSION_S = (180.0, 480.0)
PAUSE_S = (30.0, 90.0)
# Chargers retry at most every 10 s (the simulator's default is 30 s): they
# all come back within seconds of the server, a harder storm than a spread one.
MAX_RECONNECT_DELAY_S = 10.0


@dataclass
class CallLog:
    """Every call of a run: when it was sent, its round trip, how it failed."""

    answered: list[tuple[float, float]] = field(default_factory=list)
    failed: list[tuple[float, str, str]] = field(default_factory=list)
    server_calls: list[float] = field(default_factory=list)

    def answered_between(self, start: float, end: float) -> list[float]:
        """Round trips of the calls sent in [start, end)."""
        return [rtt for sent, rtt in self.answered if start <= sent < end]

    def failed_between(self, start: float, end: float) -> list[tuple[float, str, str]]:
        """Failures of the calls sent in [start, end)."""
        return [failure for failure in self.failed if start <= failure[0] < end]

    def server_calls_between(self, start: float, end: float) -> int:
        """Calls the central system sent in [start, end)."""
        return sum(start <= at < end for at in self.server_calls)


class MeasuredChargePoint(SimulatedChargePoint):
    """A simulated charger that times the round trip of each of its calls.

    The clock starts when the frame goes out, after the ocpp package's
    one-call-at-a-time lock: waiting behind the charger's own earlier call is
    not the central system's latency.
    """

    def __init__(self, *args: Any, log: CallLog, **kwargs: Any) -> None:
        """A disconnected charger that records into `log`."""
        super().__init__(*args, **kwargs)
        self.log = log
        # Unique id of each call on the wire: when its frame left.
        self._sent_at: dict[str, float] = {}

    async def _send(self, message: str) -> None:
        # A CALL frame starts with [2,"<unique id>" (the ocpp package writes it compactly).
        if message.startswith('[2,"'):
            self._sent_at[message[4 : message.index('"', 4)]] = time.perf_counter()
        await super()._send(message)

    async def call(
        self,
        payload: Any,
        suppress: bool = True,
        unique_id: str | None = None,
        skip_schema_validation: bool = False,
    ) -> Any:
        if not self.connected:
            # Never sent: the simulator queues transaction messages itself.
            return await super().call(payload, suppress, unique_id, skip_schema_validation)
        action = type(payload).__name__
        unique_id = unique_id or str(self._unique_id_generator())
        sent = time.time()
        try:
            result = await super().call(payload, suppress, unique_id, skip_schema_validation)
        except (NotConnectedError, TimeoutError, OCPPError) as err:
            self.log.failed.append((sent, action, type(err).__name__))
            if isinstance(err, TimeoutError):
                # The slowest calls belong in the percentiles too.
                self.log.answered.append((sent, self._round_trip(unique_id)))
            self._sent_at.pop(unique_id, None)
            raise
        if result is None:
            self.log.failed.append((sent, action, "CallError"))
        self.log.answered.append((sent, self._round_trip(unique_id)))
        return result

    def _round_trip(self, unique_id: str) -> float:
        return time.perf_counter() - self._sent_at.pop(unique_id, time.perf_counter())

    def _record_call(self, action: str, payload: dict[str, Any]) -> None:
        self.log.server_calls.append(time.time())
        super()._record_call(action, payload)


class Fleet:
    """N chargers with `connectors` connectors each, driven like a parking lot."""

    def __init__(self, url: str, count: int, connectors: int, seed: int = 0) -> None:
        """Create the chargers; nothing connects yet."""
        self.url = url
        self.log = CallLog()
        self.charge_points = [
            MeasuredChargePoint(
                f"BENCH{number:04d}",
                connectors=connectors,
                seed=seed * 100_003 + number,
                auto_meter_values=True,
                record_frames=False,
                max_reconnect_delay=MAX_RECONNECT_DELAY_S,
                log=self.log,
            )
            for number in range(1, count + 1)
        ]
        for charge_point in self.charge_points:
            # What csms configures anyway, so that both central systems get the same load.
            configuration = charge_point.configuration
            configuration["MeterValueSampleInterval"] = ConfigurationKey(
                str(METER_INTERVAL_S), readonly=False
            )
            configuration["MeterValuesSampledData"] = ConfigurationKey(
                ",".join(DEFAULT_MEASURANDS), readonly=False
            )
        self._seed = seed
        self._drivers: set[asyncio.Task[None]] = set()

    async def connect(self, stagger: float) -> None:
        """Connect every charger, `stagger` seconds apart, and wait until all are accepted."""
        for charge_point in self.charge_points:
            self._spawn(charge_point.connect(self.url, reconnect=True))
            await asyncio.sleep(stagger)
        await self.wait_online()

    async def wait_online(self) -> None:
        """Wait until every charger is connected and its boot accepted."""
        await asyncio.gather(*(cp.wait_online() for cp in self.charge_points))

    def online_count(self) -> int:
        """Chargers connected with an accepted boot."""
        return sum(cp.online for cp in self.charge_points)

    def start_sessions(self) -> None:
        """Every connector starts charging within a minute, and goes on until stop()."""
        for charge_point in self.charge_points:
            for connector_id in charge_point.meters:
                rng = random.Random(f"{self._seed}-{charge_point.id}-{connector_id}")
                self._spawn(self._drive(charge_point, connector_id, rng))

    async def quarter_hour_burst(self) -> None:
        """Every connector's clock-aligned meter values, all within one second."""
        rng = random.Random(f"{self._seed}-burst")
        await asyncio.gather(
            *(
                self._aligned_meter_values(charge_point, connector_id, rng.uniform(0, 1))
                for charge_point in self.charge_points
                for connector_id in charge_point.meters
            )
        )

    async def stop(self) -> None:
        """Stop driving and disconnect every charger (running sessions stay open)."""
        for task in self._drivers:
            task.cancel()
        await asyncio.gather(*self._drivers, return_exceptions=True)
        await asyncio.gather(*(cp.disconnect() for cp in self.charge_points))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._drivers.add(task)
        task.add_done_callback(self._drivers.discard)

    @staticmethod
    async def _aligned_meter_values(
        charge_point: MeasuredChargePoint, connector_id: int, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        with contextlib.suppress(NotConnectedError, TimeoutError, OCPPError):
            await charge_point.send_meter_values(
                connector_id, seconds=charge_point._elapsed(connector_id), context="Sample.Clock"
            )

    @staticmethod
    async def _drive(
        charge_point: MeasuredChargePoint, connector_id: int, rng: random.Random
    ) -> None:
        await asyncio.sleep(rng.uniform(0, METER_INTERVAL_S))
        while True:
            try:
                await charge_point.wait_online()
                if connector_id not in charge_point.transactions:
                    await charge_point.plug_in(connector_id)
                    await charge_point.authorize(ID_TAG)
                    await charge_point.start_transaction(connector_id, ID_TAG)
                await asyncio.sleep(rng.uniform(*SESSION_S))
                # Offline the simulator queues it, like a charger does.
                await charge_point.stop_transaction(connector_id, reason="Local", id_tag=ID_TAG)
                await asyncio.sleep(2.0)
                await charge_point.unplug(connector_id)
            except (NotConnectedError, TimeoutError, OCPPError) as err:
                _LOGGER.debug("%s: session interrupted: %r", charge_point.id, err)
            await asyncio.sleep(rng.uniform(*PAUSE_S))


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """p50, p95, p99 and max of `values` (nearest rank), NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return dict.fromkeys(("p50", "p95", "p99", "max"), float("nan"))

    def rank(fraction: float) -> float:
        index = max(0, math.ceil(fraction * len(ordered)) - 1)
        return ordered[index]

    return {"p50": rank(0.5), "p95": rank(0.95), "p99": rank(0.99), "max": ordered[-1]}
