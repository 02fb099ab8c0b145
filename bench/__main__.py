"""Command line of the benchmark: `python -m bench` (see `script/bench`).

Loads csms in a real Home Assistant, then a minimal ocpp-only central system,
with the same simulated parking lot, and prints both sets of figures and
their ratios. Prints numbers; asserts nothing.
"""

import argparse
import asyncio
import contextlib
import json
import logging
from pathlib import Path
import shlex
import sys
import tempfile

from simulator.file_limit import raise_file_limit

from . import ledger
from .loop_monitor import LoopMonitor, read_samples
from .processes import free_port
from .report import report
from .run import Settings, measure
from .targets import HomeAssistant, OcppOnly, Target


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="script/bench",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--chargers", type=int, default=200, help="simulated chargers")
    parser.add_argument("--connectors", type=int, default=1, help="connectors per charger")
    parser.add_argument(
        "--duration", type=float, default=300.0, help="seconds of steady load per system"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=150.0,
        help="seconds for the sessions to start and their first meter values to arrive",
    )
    parser.add_argument(
        "--stagger", type=float, default=0.05, help="seconds between chargers' first connects"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated sessions")
    parser.add_argument(
        "--only", choices=("csms", "ocpp"), help="load only one of the two central systems"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record the steady phase with py-spy into the workdir (skews the figures)",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="trace Home Assistant's allocations; what the chargers added goes to the workdir",
    )
    parser.add_argument("--no-ledger", action="store_true", help="skip the ledger benchmark")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep configuration, logs and results in this new directory (default: temporary)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the phases")
    return parser.parse_args()


async def run(args: argparse.Namespace, workdir: Path) -> None:
    """Run the benchmark and print its report."""
    settings = Settings(
        chargers=args.chargers,
        connectors=args.connectors,
        duration_s=args.duration,
        warmup_s=args.warmup,
        stagger_s=args.stagger,
        seed=args.seed,
        profile=args.profile,
        trace_memory=args.trace_memory,
    )
    targets: list[Target] = []
    if args.only != "ocpp":
        home_assistant = HomeAssistant(workdir, free_port(), free_port())
        home_assistant.prepare()
        targets.append(home_assistant)
    if args.only != "csms":
        targets.append(OcppOnly(workdir, free_port()))
    load_lag = workdir / "load_loop_lag.jsonl"
    monitor = LoopMonitor(load_lag)
    monitor.start()
    results = []
    for target in targets:
        results.append(await measure(target, settings, workdir))
    await monitor.stop()
    figures = None
    if not args.no_ledger:
        figures = await ledger.measure(args.chargers * args.connectors, 31)
    command = shlex.join(["script/bench", *sys.argv[1:]])
    text = report(command, settings, results, figures, read_samples(load_lag))
    print(text)
    (workdir / "report.txt").write_text(text + "\n", encoding="utf-8")
    (workdir / "results.json").write_text(
        json.dumps([result.__dict__ for result in results], indent=2, default=str),
        encoding="utf-8",
    )


def main() -> None:
    """Entry point."""
    args = parse_args()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The simulated chargers' own warnings (a session cut by the restart) are expected.
    logging.getLogger("simulator").setLevel(logging.ERROR)
    # A socket per charger here and in the server, which inherits the limit.
    raise_file_limit(2 * args.chargers + 1024)
    with contextlib.ExitStack() as stack:
        if args.workdir:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=False)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="csms-bench-")))
        asyncio.run(run(args, workdir))


if __name__ == "__main__":
    main()
