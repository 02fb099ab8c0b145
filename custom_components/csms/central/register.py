"""The energy register a connector reports, made fit for the energy dashboard.

Chargers report their register in many sloppy ways: a stray 0 in the
middle of a session, a kWh figure labelled Wh, meter values relative to the
session while StartTransaction and StopTransaction carry the lifetime
register, a meter replaced by one with another reading. Home Assistant
counts every drop of a ``total_increasing`` sensor as a new meter starting
at 0, so one stray 0 followed by the real value counts the whole register
again, and a replacement meter reading 500 kWh adds 500 kWh.

:class:`EnergyRegister` therefore shows a *continued* register: it never
runs backwards, a lower reading is ignored unless the meter really starts
over, and then the total carries on from where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Transaction

_LOGGER = logging.getLogger(__name__)

# A meter that started over keeps counting from its new reading: this many
# readings below the old register, rising, prove it (a stray low reading or a
# run of zeros does not).
RESET_CONFIRMATIONS = 3
# No charger delivers more than this power: a kWh figure labelled Wh is 1000
# times too small, and times 1000 it lands within what could have been
# delivered since the last reading (a meter that starts over does not).
MAX_POWER_W = 400_000.0
MIN_STEP_WH = 1000.0
# A register that leaps further than this at once is a spike, whatever the
# timestamps say (chargers' clocks are sloppy; simulated ones run fast).
MAX_LEAP_WH = 500_000.0
# kWh figures lose resolution (12.34 kWh for 12 345 Wh).
UNIT_MIXUP_SLACK = 0.99


def most_possible_wh(last_wh: float, elapsed: timedelta | None) -> float:
    """The highest reading a meter at ``last_wh`` can show after ``elapsed``."""
    hours = max(elapsed.total_seconds(), 0.0) / 3600 if elapsed is not None else 0.0
    return last_wh + MIN_STEP_WH + MAX_POWER_W * hours


def is_spike(reading_wh: float, last_wh: float, elapsed: timedelta | None) -> bool:
    """Whether a reading leaps further than any meter counts."""
    return reading_wh > max(last_wh + MAX_LEAP_WH, most_possible_wh(last_wh, elapsed))


def fix_unit_mixup(
    reading_wh: float, last_wh: float | None, elapsed: timedelta | None = None
) -> float:
    """Undo a kWh reading labelled Wh (or a Wh reading labelled kWh)."""
    if last_wh is None or last_wh < 1000:
        # Near 0 a factor of 1000 is no evidence.
        return reading_wh
    highest = most_possible_wh(last_wh, elapsed)
    if reading_wh < last_wh and UNIT_MIXUP_SLACK * last_wh <= reading_wh * 1000 <= highest:
        return reading_wh * 1000
    if reading_wh > last_wh * 500 and UNIT_MIXUP_SLACK * last_wh <= reading_wh / 1000 <= highest:
        return reading_wh / 1000
    return reading_wh


@dataclass(slots=True)
class EnergyRegister:
    """A connector's register: the last accepted reading plus what earlier meters counted."""

    reading_wh: float | None = None
    read_at: datetime | None = None
    # Energy counted by the meter(s) before the last reset or replacement.
    offset_wh: float = 0.0
    # Readings below ``reading_wh`` waiting to prove a reset.
    suspects: list[float] = field(default_factory=list)
    # The charger reported another meter: its next reading starts a new count.
    replaced: bool = False
    # The old and the new meter's readings at the last reset, to undo the
    # reset if the old count returns.
    before_reset_wh: float | None = None
    reset_first_wh: float = 0.0
    # A reading far above the last one, waiting for the next to confirm it.
    jump_wh: float | None = None

    @property
    def total_wh(self) -> float | None:
        """The continued register (what the energy sensor shows)."""
        return None if self.reading_wh is None else self.reading_wh + self.offset_wh

    def take(self, reading_wh: float, at: datetime | None = None) -> bool:
        """Take a reading (Wh, the charger's own count); return whether the total moved."""
        last = self.reading_wh
        if last is None:
            self.reading_wh, self.read_at = reading_wh, at
            return True
        elapsed = at - self.read_at if at is not None and self.read_at is not None else None
        reading_wh = fix_unit_mixup(reading_wh, last, elapsed)
        if reading_wh < last and at is not None and self.read_at is not None and at < self.read_at:
            # Old news (queued while offline, delivered late): no sign of a reset.
            return False
        if at is not None:
            self.read_at = at
        if self.before_reset_wh is not None and reading_wh >= self.before_reset_wh > last:
            return self._undo_reset(reading_wh)
        if is_spike(reading_wh, last, elapsed):
            return self._jump(reading_wh)
        self.jump_wh = None
        if reading_wh >= last:
            self.suspects.clear()
            if self.before_reset_wh is not None and reading_wh >= self.before_reset_wh:
                # The new count passed the old one: the two can no longer be told apart.
                self.before_reset_wh = None
            self.reading_wh = reading_wh
            return reading_wh > last
        return self._suspect(reading_wh)

    def _suspect(self, reading_wh: float) -> bool:
        if self.suspects and reading_wh >= self.suspects[-1]:
            self.suspects.append(reading_wh)
        else:
            self.suspects = [reading_wh]
        rising = self.suspects[-1] > self.suspects[0]
        if not self.replaced and not (len(self.suspects) >= RESET_CONFIRMATIONS and rising):
            _LOGGER.debug("Ignoring energy register %s Wh below %s Wh", reading_wh, self.reading_wh)
            return False
        last = self.reading_wh or 0.0
        first = self.suspects[0]
        _LOGGER.info("Energy meter started over at %s Wh (was %s Wh)", first, last)
        # Energy between the old meter's last reading and the new one's first is unknown.
        self.offset_wh += last - first
        self.before_reset_wh = last
        self.reset_first_wh = first
        self.reading_wh = reading_wh
        self.suspects.clear()
        self.replaced = False
        return reading_wh > first

    def _jump(self, reading_wh: float) -> bool:
        """More than any charger delivers: a spike, unless the next reading confirms it."""
        if self.jump_wh is None or reading_wh < self.jump_wh:
            _LOGGER.debug(
                "Ignoring energy register %s Wh far above %s Wh", reading_wh, self.reading_wh
            )
            self.jump_wh = reading_wh
            return False
        # Another meter, counting from a higher reading: the total carries on.
        _LOGGER.info("Energy meter jumped to %s Wh (was %s Wh)", self.jump_wh, self.reading_wh)
        self.offset_wh += (self.reading_wh or 0.0) - self.jump_wh
        self.reading_wh = reading_wh
        self.jump_wh = None
        self.suspects.clear()
        self.before_reset_wh = None
        return True

    def _undo_reset(self, reading_wh: float) -> bool:
        """The old count came back: the low readings were a glitch after all."""
        last = self.reading_wh or 0.0
        total = last + self.offset_wh
        counted_since_reset = last - self.reset_first_wh
        missing = (reading_wh - (self.before_reset_wh or 0.0)) - counted_since_reset
        # The total never runs backwards: count only what is still missing.
        self.offset_wh = total + max(0.0, missing) - reading_wh
        self.reading_wh = reading_wh
        self.before_reset_wh = None
        self.suspects.clear()
        return missing > 0

    def to_dict(self) -> dict[str, Any]:
        """Serialize for storage."""
        return {
            "reading_wh": self.reading_wh,
            "offset_wh": self.offset_wh,
            "replaced": self.replaced,
            "before_reset_wh": self.before_reset_wh,
            "reset_first_wh": self.reset_first_wh,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyRegister:
        """Restore from storage."""
        return cls(
            reading_wh=data.get("reading_wh"),
            offset_wh=data.get("offset_wh") or 0.0,
            replaced=bool(data.get("replaced")),
            before_reset_wh=data.get("before_reset_wh"),
            reset_first_wh=data.get("reset_first_wh") or 0.0,
        )


def transaction_reading(transaction: Transaction, reading_wh: float, at: datetime) -> float | None:
    """A reading during a transaction in the frame of its meterStart; None: ignore it.

    Some chargers send meter values relative to the session while
    StartTransaction and StopTransaction carry the lifetime register. A
    reading below meterStart is a glitch (a stray 0) until a second, higher
    one below meterStart shows the charger counts from the session start.
    """
    start = transaction.meter_start_wh
    last_at = transaction.meter_last_at or transaction.started_at
    reading_wh = fix_unit_mixup(reading_wh, transaction.meter_last_wh or float(start), at - last_at)
    if transaction.relative:
        reading_wh += start
    elif reading_wh < start:
        return _below_start(transaction, reading_wh)
    last = transaction.meter_last_wh or float(start)
    if is_spike(reading_wh, last, at - last_at):
        # A spike: it would pull every true reading after it below the
        # running maximum, and put the session's energy in the wrong quarter hour.
        _LOGGER.debug("Transaction %s: ignoring %s Wh", transaction.transaction_id, reading_wh)
        return None
    transaction.relative_hint_wh = None
    return reading_wh


def _below_start(transaction: Transaction, reading_wh: float) -> float | None:
    start = transaction.meter_start_wh
    hint = transaction.relative_hint_wh
    if hint is not None and reading_wh > hint:
        _LOGGER.info(
            "Transaction %s: meter values count from the session start",
            transaction.transaction_id,
        )
        transaction.relative = True
        return start + reading_wh
    transaction.relative_hint_wh = reading_wh
    return None


def transaction_stop_reading(transaction: Transaction, meter_stop_wh: int) -> int:
    """The meterStop in the frame of the meterStart (some chargers send the session's energy)."""
    if transaction.relative and meter_stop_wh < transaction.meter_start_wh:
        return transaction.meter_start_wh + meter_stop_wh
    return meter_stop_wh
