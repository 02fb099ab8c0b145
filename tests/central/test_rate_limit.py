"""The token bucket that paces a charger's calls, on a clock of the test's own."""

from __future__ import annotations

import logging

import pytest

from custom_components.csms.central.rate_limit import REPORT_INTERVAL_S, CallThrottle, TokenBucket


class FakeClock:
    """Time that moves only when told, and a sleep that moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_full_bucket_lets_a_burst_through_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 5, clock=clock)
    assert [bucket.take() for _ in range(5)] == [0.0] * 5


def test_beyond_the_burst_each_call_waits_for_its_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 5, clock=clock)
    for _ in range(5):
        bucket.take()
    # Tokens are borrowed from the future: the n-th call waits n tenths.
    assert bucket.take() == pytest.approx(0.1)
    assert bucket.take() == pytest.approx(0.2)


def test_tokens_come_back_at_the_rate_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 5, clock=clock)
    for _ in range(5):
        bucket.take()
    clock.now += 0.3
    assert [bucket.take() for _ in range(3)] == [0.0] * 3
    assert bucket.take() > 0
    clock.now += 3600
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() == pytest.approx(0.1)


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (10, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate, burst)


async def test_a_throttled_charger_keeps_to_the_rate_and_loses_nothing() -> None:
    clock = FakeClock()
    throttle = CallThrottle("CP1", 20, 10, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(110):
        await throttle.wait()
    # 10 at once, the other 100 at 20 a second.
    assert clock.now - start == pytest.approx(5.0)
    assert throttle.throttled == 100


async def test_a_charger_within_its_rate_never_waits() -> None:
    clock = FakeClock()
    throttle = CallThrottle("CP1", 2, 1, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        await throttle.wait()
        clock.now += 0.5
    assert clock.slept == []


async def test_throttling_is_reported_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    throttle = CallThrottle("CP1", 10, 1, clock=clock, sleep=clock.sleep)
    with caplog.at_level(logging.WARNING):
        for _ in range(int(REPORT_INTERVAL_S * 10) + 20):
            await throttle.wait()
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].getMessage().startswith("CP1: sends more than 10 calls a second")
