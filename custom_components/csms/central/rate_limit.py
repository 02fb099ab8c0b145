"""Slowing down a charger that sends calls faster than the central system wants.

A charger above its rate is made to wait, never refused: an offline charger
flushing its queued transaction messages must lose none of them. Its frames
are read one at a time, so while one waits nothing more is read from its
socket and TCP backpressure slows the charger itself; other chargers carry on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
import time

_LOGGER = logging.getLogger(__name__)

# A throttled charger is reported at most this often.
REPORT_INTERVAL_S = 60.0
_ROUNDING = 1e-9


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up.

    :meth:`take` always takes a token, borrowing it from the future when
    none is left, and says how long to wait until that token is earned.
    """

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """A full bucket."""
        if rate <= 0 or burst < 1:
            msg = f"rate must be positive and burst at least 1, got {rate} and {burst}"
            raise ValueError(msg)
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> float:
        """Take one token; the seconds to wait before using it (0.0: at once)."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        # Rounding must not make a charger within its rate wait for nothing.
        return 0.0 if self._tokens > -_ROUNDING else -self._tokens / self.rate


class CallThrottle:
    """The call rate of one charge point connection, and the warning when it is exceeded."""

    def __init__(
        self,
        charge_point_id: str,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Allow ``rate`` calls a second, ``burst`` of them at once."""
        self.charge_point_id = charge_point_id
        self.bucket = TokenBucket(rate, burst, clock=clock)
        self._clock = clock
        self._sleep = sleep
        self._reported_at: float | None = None
        self.throttled = 0

    async def wait(self) -> None:
        """Return when the next call may be handled."""
        delay = self.bucket.take()
        if delay <= 0:
            return
        self.throttled += 1
        self._report()
        await self._sleep(delay)

    def _report(self) -> None:
        now = self._clock()
        if self._reported_at is not None and now - self._reported_at < REPORT_INTERVAL_S:
            return
        self._reported_at = now
        _LOGGER.warning(
            "%s: sends more than %s calls a second (burst %s); its calls are delayed",
            self.charge_point_id,
            f"{self.bucket.rate:g}",
            self.bucket.burst,
        )
