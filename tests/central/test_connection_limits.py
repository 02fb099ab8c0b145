"""Counting open and opening connections against the cap."""

from __future__ import annotations

import asyncio
import logging

import pytest

from custom_components.csms.central.connection_limits import ConnectionLimiter


async def test_connections_beyond_the_cap_are_refused() -> None:
    limiter = ConnectionLimiter(2)
    loop = asyncio.get_running_loop()
    ended = [loop.create_future() for _ in range(3)]
    assert limiter.admit(ended[0])
    assert limiter.admit(ended[1])
    assert not limiter.admit(ended[2])
    assert (limiter.open, limiter.refused) == (2, 1)


async def test_a_slot_comes_free_when_its_connection_ends() -> None:
    limiter = ConnectionLimiter(1)
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    assert limiter.admit(first)
    assert not limiter.admit(second)
    first.set_result(None)
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert limiter.open == 0
    assert limiter.admit(second)


async def test_a_refused_connection_takes_no_slot() -> None:
    limiter = ConnectionLimiter(1)
    loop = asyncio.get_running_loop()
    taken, refused = loop.create_future(), loop.create_future()
    limiter.admit(taken)
    limiter.admit(refused)
    refused.set_result(None)
    await asyncio.sleep(0)
    assert limiter.open == 1


async def test_a_connection_that_ended_before_its_check_is_released() -> None:
    # The client may hang up between its request and our check.
    limiter = ConnectionLimiter(1)
    ended = asyncio.get_running_loop().create_future()
    ended.set_result(None)
    assert limiter.admit(ended)
    await asyncio.sleep(0)
    assert limiter.open == 0


async def test_refusals_are_reported_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = ConnectionLimiter(0, clock=lambda: now[0])
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING):
        for _ in range(100):
            limiter.admit(loop.create_future())
        now[0] += 61
        limiter.admit(loop.create_future())
    assert len(caplog.records) == 2
    assert limiter.refused == 101
