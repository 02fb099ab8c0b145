"""Unit tests of the simulator's meter model (no clock, no network)."""

import pytest

from simulator import Meter, MeterSample

FULL_POWER_W = 3 * 230.0 * 16.0  # three phases, 230 V, 16 A


def test_idle_meter_delivers_nothing() -> None:
    meter = Meter()
    assert meter.energy_wh == 0
    assert not meter.charging
    assert meter.current_a == 0
    assert meter.power_w == 0
    assert meter.advance(3600) == 0
    assert meter.register_wh == 0


def test_defaults_describe_a_three_phase_16_a_connector() -> None:
    meter = Meter()
    assert meter.phases == 3
    assert meter.voltage_v == 230
    assert meter.max_current_a == 16
    assert meter.current_limit_a == 16
    assert meter.soc_percent == 20


def test_charging_at_full_current_for_an_hour() -> None:
    meter = Meter(charging=True)
    assert meter.power_w == pytest.approx(FULL_POWER_W)
    added = meter.advance(3600)
    assert added == pytest.approx(FULL_POWER_W)
    assert meter.energy_wh == pytest.approx(FULL_POWER_W)
    assert meter.register_wh == 11040


def test_energy_starts_at_the_given_register_and_only_grows() -> None:
    meter = Meter(energy_wh=1234.9, charging=True)
    assert meter.register_wh == 1234
    readings = []
    for _ in range(5):
        meter.advance(60)
        readings.append(meter.energy_wh)
    assert readings == sorted(readings)
    assert readings[0] > 1234.9
    with pytest.raises(ValueError, match="seconds"):
        meter.advance(-1)


def test_register_truncates_to_whole_wh() -> None:
    meter = Meter(charging=True)
    meter.advance(10)  # 30.67 Wh
    assert meter.register_wh == 30


def test_vehicle_demand_limits_the_current() -> None:
    meter = Meter(charging=True, charging_power_w=11000)
    assert meter.power_w == pytest.approx(11000)
    assert meter.current_a == pytest.approx(11000 / 690)
    # A vehicle asking for more than the connector gives gets the rating.
    assert Meter(charging=True, charging_power_w=50_000).power_w == pytest.approx(FULL_POWER_W)


def test_charging_profile_limit_lowers_the_power() -> None:
    meter = Meter(charging=True)
    meter.current_limit_a = 10
    assert meter.current_a == 10
    assert meter.power_w == pytest.approx(3 * 230 * 10)
    assert meter.advance(3600) == pytest.approx(6900)
    meter.current_limit_a = 0
    assert meter.power_w == 0


def test_single_phase_connector() -> None:
    meter = Meter(phases=1, charging=True)
    assert meter.power_w == pytest.approx(3680)
    sample = meter.sample()
    assert sample.currents_a == pytest.approx((16.0, 0.0, 0.0))
    assert sample.voltages_v == (230.0, 230.0, 230.0)


def test_explicit_power_overrides_the_model() -> None:
    meter = Meter(charging=True)
    assert meter.advance(1800, power_w=7400) == pytest.approx(3700)
    sample = meter.sample(power_w=7400)
    assert sample.power_w == 7400
    assert sum(sample.currents_a) * 230 == pytest.approx(7400)
    # The model power is untouched by an override.
    assert meter.power_w == pytest.approx(FULL_POWER_W)


def test_explicit_power_is_reported_even_without_a_transaction() -> None:
    meter = Meter()
    assert meter.advance(3600, power_w=3000) == pytest.approx(3000)
    assert meter.sample(power_w=3000).power_w == 3000
    assert meter.sample().power_w == 0


def test_state_of_charge_rises_with_energy() -> None:
    meter = Meter(charging=True, battery_wh=50_000, soc_percent=20)
    meter.advance(3600, power_w=10_000)
    assert meter.soc_percent == pytest.approx(40)


def test_full_battery_stops_drawing_power() -> None:
    meter = Meter(charging=True, battery_wh=10_000, soc_percent=90)
    # Only 1000 Wh fit although an hour at full power would be 11040 Wh.
    assert meter.advance(3600) == pytest.approx(1000)
    assert meter.soc_percent == 100
    assert meter.full
    assert meter.power_w == 0
    assert meter.advance(3600) == 0
    assert meter.advance(3600, power_w=7000) == 0
    assert meter.sample().power_w == 0


def test_sample_reports_the_current_state() -> None:
    meter = Meter(energy_wh=500, charging=True, soc_percent=35)
    sample = meter.sample()
    assert isinstance(sample, MeterSample)
    assert sample.energy_wh == 500
    assert sample.register_wh == 500
    assert sample.power_w == pytest.approx(FULL_POWER_W)
    assert sample.currents_a == pytest.approx((16.0, 16.0, 16.0))
    assert sample.voltages_v == (230.0, 230.0, 230.0)
    assert sample.soc_percent == 35


def test_body_temperature_follows_the_power() -> None:
    meter = Meter(charging=True)
    hot = meter.sample().temperature_c
    meter.charging = False
    cold = meter.sample().temperature_c
    assert cold == 25.0
    assert hot > cold


def test_unseeded_readings_have_no_noise() -> None:
    meter = Meter(charging=True)
    assert meter.sample() == meter.sample()


def test_seeded_noise_is_small_and_reproducible() -> None:
    first = Meter(charging=True, seed=7)
    second = Meter(charging=True, seed=7)
    other = Meter(charging=True, seed=8)
    samples = [first.sample() for _ in range(20)]
    assert samples == [second.sample() for _ in range(20)]
    assert samples != [other.sample() for _ in range(20)]
    for sample in samples:
        assert all(abs(voltage - 230) <= 230 * 0.015 for voltage in sample.voltages_v)
        # Per-phase currents still add up to the delivered power.
        delivered = sum(
            current * voltage
            for current, voltage in zip(sample.currents_a, sample.voltages_v, strict=True)
        )
        assert delivered == pytest.approx(sample.power_w)
    # Noise never changes the energy.
    first.advance(3600)
    assert first.energy_wh == pytest.approx(FULL_POWER_W)


@pytest.mark.parametrize("phases", [0, 4])
def test_phases_must_be_1_to_3(phases: int) -> None:
    with pytest.raises(ValueError, match="phases"):
        Meter(phases=phases)


def test_negative_start_energy_is_refused() -> None:
    with pytest.raises(ValueError, match="energy_wh"):
        Meter(energy_wh=-1)
