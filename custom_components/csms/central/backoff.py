"""Slowing down password guessing: a growing wait after repeated failed logins.

Keyed by (remote address, charge point id): a parking lot behind one NAT
router shares one address, so one misconfigured charger must not lock out
its neighbours; a guessing attacker targets one id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
import math
import time

# Failures older than this (without a newer one) are forgotten.
FAILURE_WINDOW = 3600.0
FIRST_WAIT = 10.0
MAX_WAIT = 15 * 60.0
# An attacker may try many ids or addresses: the table stays bounded.
MAX_KEYS = 10_000

type BackoffKey = tuple[str, str]


@dataclass(slots=True)
class _Failures:
    count: int
    last_failure: float
    blocked_until: float = 0.0


class LoginBackoff:
    """Failed logins per (address, charge point id) and the wait they impose."""

    def __init__(
        self,
        failed_logins_before_backoff: int = 5,
        *,
        now: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        """``now`` is a monotonic clock in seconds (injectable for tests)."""
        self.failed_logins_before_backoff = max(failed_logins_before_backoff, 1)
        self._now = now
        self._max_keys = max_keys
        self._failures: OrderedDict[BackoffKey, _Failures] = OrderedDict()

    def __len__(self) -> int:
        """Number of keys with failures on record."""
        return len(self._failures)

    def retry_after(self, address: str, charge_point_id: str) -> int:
        """Whole seconds until the next attempt may be checked; 0: now."""
        entry = self._current((address, charge_point_id))
        if entry is None:
            return 0
        return max(math.ceil(entry.blocked_until - self._now()), 0)

    def failed(self, address: str, charge_point_id: str) -> None:
        """Record a failed login; past the threshold each one doubles the wait."""
        key = (address, charge_point_id)
        now = self._now()
        entry = self._current(key)
        if entry is None:
            entry = _Failures(count=0, last_failure=now)
            self._failures[key] = entry
        self._failures.move_to_end(key)
        entry.count += 1
        entry.last_failure = now
        beyond = entry.count - self.failed_logins_before_backoff
        if beyond >= 0:
            entry.blocked_until = now + min(FIRST_WAIT * 2.0**beyond, MAX_WAIT)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, address: str, charge_point_id: str) -> None:
        """A successful login clears the record."""
        self._failures.pop((address, charge_point_id), None)

    def _current(self, key: BackoffKey) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is None:
            return None
        now = self._now()
        if now - entry.last_failure >= FAILURE_WINDOW and now >= entry.blocked_until:
            del self._failures[key]
            return None
        return entry
