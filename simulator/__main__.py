"""Command line: run simulated charge points against a central system.

    python -m simulator --url ws://127.0.0.1:9000 --count 3 --scenario continuous

Every charger runs in the same event loop (no threads), reconnects with
back-off when the central system goes away and queues its transaction
messages meanwhile. Ctrl-C stops the sessions and disconnects cleanly.
"""

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import logging
import random
import signal
import ssl
import sys

from ._ocpp import OCPPError, messages
from .charge_point import SimulatedChargePoint
from .configuration import ConfigurationKey
from .core import NotConnectedError
from .file_limit import raise_file_limit

_LOGGER = logging.getLogger("simulator")

SCENARIOS = ("idle", "session", "continuous")
# Time for stopping the running transactions when the simulator shuts down.
SHUTDOWN_TIMEOUT = 5.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Simulated OCPP 1.6J charge points for trying the csms integration.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--url", default="ws://127.0.0.1:9000", help="central system URL")
    parser.add_argument("--count", type=int, default=1, help="number of chargers")
    parser.add_argument("--connectors", type=int, default=1, help="connectors per charger")
    parser.add_argument(
        "--id-prefix", default="SIM", help="charger ids are the prefix and a 3-digit number"
    )
    parser.add_argument(
        "--meter-interval", type=float, default=10.0, help="seconds between meter values"
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="session",
        help="idle: boot and heartbeats only; session: one charging session per "
        "connector, then idle; continuous: sessions back to back",
    )
    parser.add_argument(
        "--samples", type=int, default=3, help="meter values per session (at least)"
    )
    parser.add_argument(
        "--duration", type=float, default=0.0, help="seconds to run, 0 until Ctrl-C"
    )
    parser.add_argument("--id-tag", default="SIMTAG", help="id tag the drivers present")
    parser.add_argument(
        "--power", type=float, default=11000.0, help="power a vehicle draws, W per connector"
    )
    parser.add_argument(
        "--stagger", type=float, default=0.1, help="seconds between charger connects"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for pauses and meter noise")
    parser.add_argument(
        "--password", help="HTTP Basic password of every charger (security profiles 1 and 2)"
    )
    parser.add_argument(
        "--ca-file", help="CA certificate (PEM) the chargers trust for a wss:// URL"
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log every frame")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)
    for name in ("count", "connectors", "samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.meter_interval <= 0:
        parser.error("--meter-interval must be positive")
    if not args.url.startswith(("ws://", "wss://")):
        parser.error("--url must start with ws:// or wss://")
    return args


def charger_id(prefix: str, number: int) -> str:
    """Id of the `number`th charger: prefix plus a 3-digit number."""
    return f"{prefix}{number:03d}"


class Fleet:
    """The simulated chargers of one run and their scenarios."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Create the chargers; nothing connects yet."""
        self.args = args
        ssl_context = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
        self.charge_points = [
            SimulatedChargePoint(
                charger_id(args.id_prefix, number),
                connectors=args.connectors,
                power_w=args.power,
                seed=args.seed * 100_003 + number,
                auto_meter_values=True,
                record_frames=False,
                password=args.password,
                ssl_context=ssl_context,
            )
            for number in range(1, args.count + 1)
        ]
        for charge_point in self.charge_points:
            charge_point.configuration["MeterValueSampleInterval"] = ConfigurationKey(
                str(max(1, round(args.meter_interval))), readonly=False
            )

    async def run(self) -> None:
        """Run every charger's scenario until cancelled (or --duration ends)."""
        async with asyncio.TaskGroup() as group:
            for index, charge_point in enumerate(self.charge_points):
                group.create_task(self._run_charger(charge_point, index))

    async def shutdown(self) -> None:
        """End the running sessions and disconnect every charger."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await asyncio.gather(
                    *(self._stop_sessions(cp) for cp in self.charge_points),
                    return_exceptions=True,
                )
        await asyncio.gather(*(cp.disconnect() for cp in self.charge_points))

    async def _run_charger(self, charge_point: SimulatedChargePoint, index: int) -> None:
        await asyncio.sleep(index * self.args.stagger)
        await charge_point.connect(self.args.url, reconnect=True)
        if self.args.scenario == "idle":
            return
        rng = random.Random(f"{self.args.seed}-{charge_point.id}")
        async with asyncio.TaskGroup() as group:
            for connector_id in charge_point.meters:
                group.create_task(self._drive_connector(charge_point, connector_id, rng))

    async def _drive_connector(
        self, charge_point: SimulatedChargePoint, connector_id: int, rng: random.Random
    ) -> None:
        interval = self.args.meter_interval
        # Connectors of one charger do not start in the same second.
        await asyncio.sleep(rng.uniform(0, interval))
        while True:
            samples = self.args.samples
            if self.args.scenario == "continuous":
                samples = rng.randint(samples, 3 * samples)
            finished = await self._session(charge_point, connector_id, samples, rng)
            if finished and self.args.scenario == "session":
                return
            await asyncio.sleep(rng.uniform(1.0, 3.0) * interval)

    async def _session(
        self,
        charge_point: SimulatedChargePoint,
        connector_id: int,
        samples: int,
        rng: random.Random,
    ) -> bool:
        """Run one charging session; return whether it took place."""
        await charge_point.wait_online()
        state = charge_point.connectors[connector_id]
        if state.status == "Finishing" and connector_id not in charge_point.transactions:
            # A session the central system stopped: the driver leaves.
            await charge_point.unplug(connector_id)
        if connector_id in charge_point.transactions or state.status != "Available":
            return False  # busy, e.g. with a session the central system started
        # Each session is a different vehicle with its own state of charge.
        charge_point.meters[connector_id].soc_percent = rng.uniform(10.0, 60.0)
        id_tag = self.args.id_tag
        try:
            await charge_point.plug_in(connector_id)
            info = await charge_point.authorize(id_tag)
            if info.get("status") != "Accepted":
                _LOGGER.warning(
                    "%s: id tag %s not accepted (%s)", charge_point.id, id_tag, info.get("status")
                )
                await charge_point.unplug(connector_id)
                return True
            await charge_point.start_transaction(connector_id, id_tag)
            # The charger sends the meter values itself while the session runs.
            for _ in range(samples):
                await asyncio.sleep(self.args.meter_interval)
                if connector_id not in charge_point.transactions:
                    break  # stopped by the central system
            if connector_id in charge_point.transactions:
                await charge_point.stop_transaction(connector_id, reason="Local", id_tag=id_tag)
            await asyncio.sleep(min(self.args.meter_interval, 2.0))
            await charge_point.unplug(connector_id)
        except (NotConnectedError, TimeoutError, OCPPError) as err:
            _LOGGER.warning(
                "%s: session on connector %s failed: %r", charge_point.id, connector_id, err
            )
            if connector_id not in charge_point.transactions:
                await charge_point.unplug(connector_id)
            return False
        return True

    @staticmethod
    async def _stop_sessions(charge_point: SimulatedChargePoint) -> None:
        for connector_id in list(charge_point.transactions):
            await charge_point.stop_transaction(connector_id, reason="Other")


async def run(args: argparse.Namespace) -> None:
    """Run the fleet until Ctrl-C, SIGTERM or the end of --duration."""
    fleet = Fleet(args)
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if main_task is not None:

        def terminate() -> None:
            # A repeated SIGTERM must not cut the clean shutdown short.
            if not main_task.cancelling():
                main_task.cancel()

        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signal.SIGTERM, terminate)
    _LOGGER.info(
        "simulating %d charger(s) with %d connector(s) at %s, scenario %s",
        args.count,
        args.connectors,
        args.url,
        args.scenario,
    )
    try:
        async with asyncio.timeout(args.duration or None):
            await fleet.run()
            # Finished scenarios leave the chargers connected and answering.
            await asyncio.Event().wait()
    except TimeoutError:
        _LOGGER.info("duration of %s s reached", args.duration)
    finally:
        _LOGGER.info("stopping")
        await fleet.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m simulator`."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args.verbose:
        for noisy in ("simulator.ocpp", "websockets", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # Validate messages in the event loop: the default hands every message to
    # a thread, which costs more than the validation itself for a fleet.
    messages.ASYNC_VALIDATION = False
    # A socket per charger, and some to spare.
    raise_file_limit(args.count + 64)
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
