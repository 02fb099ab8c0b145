"""Energy meter and vehicle model behind one simulated connector.

The model is pure and deterministic: it has no clock of its own, time only
moves when the caller advances it by a number of seconds. Readings have no
noise unless a seed is given, so tests stay reproducible.
"""

from dataclasses import dataclass
import random

# Ambient temperature of the charger body and how much it warms per kW.
AMBIENT_C = 25.0
WARMING_C_PER_KW = 0.8

# Grid voltage deviation of a seeded meter (fraction of nominal voltage).
VOLTAGE_NOISE = 0.015

PHASE_COUNT = 3


@dataclass(frozen=True, slots=True)
class MeterSample:
    """Readings of a meter at one instant."""

    energy_wh: float
    power_w: float
    currents_a: tuple[float, float, float]
    voltages_v: tuple[float, float, float]
    soc_percent: float
    temperature_c: float

    @property
    def register_wh(self) -> int:
        """Energy register in whole Wh, as OCPP meterStart/meterStop."""
        return int(self.energy_wh)


class Meter:
    """Per-connector meter with a simple electric vehicle attached.

    `charging` says whether the contactor is closed. The delivered current
    is the lowest of the connector rating (`max_current_a`), the limit set
    by charging profiles (`current_limit_a`) and what the vehicle asks for
    (`charging_power_w`, None meaning as much as it gets). The vehicle
    charges on its `phases`, or on fewer when a charging profile allows
    fewer (`phase_limit`). Once the battery is full the vehicle stops
    drawing power.
    """

    __slots__ = (
        "_rng",
        "battery_wh",
        "charging",
        "charging_power_w",
        "current_limit_a",
        "energy_wh",
        "max_current_a",
        "phase_limit",
        "phases",
        "seed",
        "soc_percent",
        "voltage_v",
    )

    def __init__(
        self,
        *,
        energy_wh: float = 0.0,
        phases: int = PHASE_COUNT,
        voltage_v: float = 230.0,
        max_current_a: float = 16.0,
        current_limit_a: float | None = None,
        charging_power_w: float | None = None,
        soc_percent: float = 20.0,
        battery_wh: float = 60_000.0,
        charging: bool = False,
        seed: int | None = None,
    ) -> None:
        """Create a meter; `current_limit_a` defaults to `max_current_a`."""
        if not 1 <= phases <= PHASE_COUNT:
            msg = f"phases must be 1..{PHASE_COUNT}, got {phases}"
            raise ValueError(msg)
        if energy_wh < 0:
            msg = f"energy_wh must not be negative, got {energy_wh}"
            raise ValueError(msg)
        if battery_wh <= 0:
            msg = f"battery_wh must be positive, got {battery_wh}"
            raise ValueError(msg)
        self.energy_wh = float(energy_wh)
        self.phases = phases
        self.voltage_v = voltage_v
        self.max_current_a = max_current_a
        self.current_limit_a = max_current_a if current_limit_a is None else current_limit_a
        self.phase_limit = PHASE_COUNT
        self.charging_power_w = charging_power_w
        self.soc_percent = min(max(soc_percent, 0.0), 100.0)
        self.battery_wh = battery_wh
        self.charging = charging
        self.seed = seed
        self._rng = random.Random(seed) if seed is not None else None

    def __repr__(self) -> str:
        """Show the state that matters when a test fails."""
        return (
            f"Meter(energy_wh={self.energy_wh:.1f}, charging={self.charging}, "
            f"power_w={self.power_w:.1f}, soc_percent={self.soc_percent:.1f})"
        )

    @property
    def register_wh(self) -> int:
        """Energy register in whole Wh, as OCPP meterStart/meterStop."""
        return int(self.energy_wh)

    @property
    def full(self) -> bool:
        """Whether the vehicle battery is full."""
        return self.soc_percent >= 100.0

    @property
    def phases_in_use(self) -> int:
        """Phases the vehicle charges on."""
        return max(min(self.phases, self.phase_limit), 1)

    @property
    def current_a(self) -> float:
        """Current per active phase while charging, 0 otherwise."""
        if not self.charging or self.full:
            return 0.0
        current = max(min(self.max_current_a, self.current_limit_a), 0.0)
        if self.charging_power_w is not None:
            wanted = self.charging_power_w / (self.phases_in_use * self.voltage_v)
            current = min(current, max(wanted, 0.0))
        return current

    @property
    def power_w(self) -> float:
        """Active power delivered right now."""
        return self.phases_in_use * self.voltage_v * self.current_a

    def effective_power_w(self, power_w: float | None = None) -> float:
        """Power used for an interval; an explicit `power_w` overrides the model.

        An explicit power is honoured even when `charging` is false (tests use
        it to report a chosen value), but a full battery never takes energy.
        """
        if self.full:
            return 0.0
        if power_w is None:
            return self.power_w
        return max(power_w, 0.0)

    def advance(self, seconds: float, power_w: float | None = None) -> float:
        """Let `seconds` pass; return the energy delivered in Wh.

        The register only grows. The energy is capped at what the battery
        still takes, and the state of charge rises with it.
        """
        if seconds < 0:
            msg = f"seconds must not be negative, got {seconds}"
            raise ValueError(msg)
        wanted_wh = self.effective_power_w(power_w) * seconds / 3600.0
        room_wh = (100.0 - self.soc_percent) / 100.0 * self.battery_wh
        added_wh = min(wanted_wh, room_wh)
        self.energy_wh += added_wh
        self.soc_percent = min(self.soc_percent + added_wh / self.battery_wh * 100.0, 100.0)
        return added_wh

    def sample(self, power_w: float | None = None) -> MeterSample:
        """Take a reading; `power_w` overrides the model power like in advance()."""
        power = self.effective_power_w(power_w)
        voltages = self._phase_voltages()
        # Split the power evenly over the phases in use; the others carry none.
        phases = self.phases_in_use
        currents = tuple(
            power / (phases * voltage) if index < phases else 0.0
            for index, voltage in enumerate(voltages)
        )
        return MeterSample(
            energy_wh=self.energy_wh,
            power_w=power,
            currents_a=(currents[0], currents[1], currents[2]),
            voltages_v=voltages,
            soc_percent=self.soc_percent,
            temperature_c=AMBIENT_C + WARMING_C_PER_KW * power / 1000.0,
        )

    def _phase_voltages(self) -> tuple[float, float, float]:
        if self._rng is None:
            return (self.voltage_v, self.voltage_v, self.voltage_v)
        rng = self._rng
        spread = self.voltage_v * VOLTAGE_NOISE
        return (
            self.voltage_v + rng.uniform(-spread, spread),
            self.voltage_v + rng.uniform(-spread, spread),
            self.voltage_v + rng.uniform(-spread, spread),
        )
