"""Login back-off per (address, charge point id): growing waits, bounded memory."""

from __future__ import annotations

from custom_components.csms.central.backoff import LoginBackoff

ADDRESS = "192.0.2.7"
CP = "CP001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(backoff: LoginBackoff, times: int, address: str = ADDRESS, cp: str = CP) -> None:
    for _ in range(times):
        backoff.failed(address, cp)


def test_first_failures_cost_nothing() -> None:
    clock = Clock()
    backoff = LoginBackoff(5, now=clock)
    fail(backoff, 4)
    assert backoff.retry_after(ADDRESS, CP) == 0
    fail(backoff, 1)
    assert backoff.retry_after(ADDRESS, CP) == 10


def test_wait_doubles_per_further_failure_up_to_15_minutes() -> None:
    clock = Clock()
    backoff = LoginBackoff(3, now=clock)
    fail(backoff, 2)
    waits = []
    for _ in range(10):
        backoff.failed(ADDRESS, CP)
        wait = backoff.retry_after(ADDRESS, CP)
        waits.append(wait)
        clock.now += wait
        assert backoff.retry_after(ADDRESS, CP) == 0
    assert waits == [10, 20, 40, 80, 160, 320, 640, 900, 900, 900]


def test_wait_counts_down() -> None:
    clock = Clock()
    backoff = LoginBackoff(1, now=clock)
    fail(backoff, 1)
    clock.now += 3.5
    assert backoff.retry_after(ADDRESS, CP) == 7  # whole seconds, rounded up
    clock.now += 6.5
    assert backoff.retry_after(ADDRESS, CP) == 0


def test_success_clears_the_record() -> None:
    clock = Clock()
    backoff = LoginBackoff(2, now=clock)
    fail(backoff, 2)
    clock.now += 10
    backoff.succeeded(ADDRESS, CP)
    assert len(backoff) == 0
    fail(backoff, 1)
    assert backoff.retry_after(ADDRESS, CP) == 0


def test_failures_are_forgotten_after_an_hour() -> None:
    clock = Clock()
    backoff = LoginBackoff(3, now=clock)
    fail(backoff, 2)
    clock.now += 3600
    fail(backoff, 2)
    assert backoff.retry_after(ADDRESS, CP) == 0
    fail(backoff, 1)
    assert backoff.retry_after(ADDRESS, CP) == 10


def test_other_addresses_and_ids_are_not_affected() -> None:
    # One charger behind a NAT router guessing wrong must not lock out its
    # neighbours; an attacker from elsewhere does not lock out the charger.
    clock = Clock()
    backoff = LoginBackoff(1, now=clock)
    fail(backoff, 3)
    assert backoff.retry_after(ADDRESS, CP) > 0
    assert backoff.retry_after(ADDRESS, "CP002") == 0
    assert backoff.retry_after("198.51.100.1", CP) == 0


def test_table_is_bounded_dropping_the_oldest() -> None:
    clock = Clock()
    backoff = LoginBackoff(1, now=clock, max_keys=100)
    fail(backoff, 1, cp="target")
    for number in range(99):
        fail(backoff, 1, cp=f"junk{number}")
    assert backoff.retry_after(ADDRESS, "target") > 0
    fail(backoff, 1, cp="one-more")
    assert len(backoff) == 100
    # The oldest record made room.
    assert backoff.retry_after(ADDRESS, "target") == 0
    assert backoff.retry_after(ADDRESS, "one-more") > 0


def test_default_table_bound_is_10000() -> None:
    backoff = LoginBackoff(5, now=Clock())
    for number in range(10_050):
        backoff.failed(f"10.0.{number // 256}.{number % 256}", CP)
    assert len(backoff) == 10_000
