"""Event-loop lag: how late a periodic timer fires.

The same monitor runs inside Home Assistant (the probe integration) and in the
ocpp-only central system, so their figures compare. It has no dependencies
beyond asyncio, because it is copied into Home Assistant's configuration.
"""

import asyncio
import contextlib
import json
from pathlib import Path
import time

# Every 50 ms: fine enough to see a blocked loop, cheap enough not to load it.
TICK_S = 0.05


class LoopMonitor:
    """Samples the running loop's lag and appends it to a file as JSON lines."""

    def __init__(self, path: Path) -> None:
        """Samples go to `path`, one line per flush: [[wall time, lag s], ...]."""
        self.path = path
        self._samples: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling in the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def stop(self) -> None:
        """Stop sampling and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    def take(self) -> list[tuple[float, float]]:
        """The samples since the last call."""
        samples, self._samples = self._samples, []
        return samples

    async def flush(self) -> None:
        """Append the samples since the last flush to the file, in a worker thread."""
        samples = self.take()
        if samples:
            await asyncio.to_thread(self._append, samples)

    def _append(self, samples: list[tuple[float, float]]) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(samples) + "\n")

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before, wall = loop.time(), time.time()
            await asyncio.sleep(TICK_S)
            lag = loop.time() - before - TICK_S
            # Dated when the stall began, so it counts in the phase that caused it.
            self._samples.append((wall + TICK_S, max(lag, 0.0)))
            if len(self._samples) >= 40:  # about every 2 s
                await self.flush()


def read_samples(path: Path) -> list[tuple[float, float]]:
    """All samples written to `path` (by one or more processes in turn)."""
    if not path.exists():
        return []
    samples: list[tuple[float, float]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            samples.extend((float(at), float(lag)) for at, lag in json.loads(line))
        except ValueError:
            continue  # the last line of a server that was killed while writing

    return samples
