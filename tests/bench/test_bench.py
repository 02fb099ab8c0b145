"""The benchmark's own parts measure what they claim to.

These tests check behaviour only; the benchmark's figures come from
`script/bench`, never from a test.
"""

import asyncio
import math
from pathlib import Path
import sqlite3

import pytest

from bench.load import Fleet, percentiles
from bench.loop_monitor import LoopMonitor, read_samples
from bench.minimal_csms import minimal_server
from bench.processes import sqlite_used_bytes, wait_for_port
from bench.profile import summarise
from tests.conftest import free_port


async def test_minimal_central_system_answers_a_whole_session() -> None:
    port = free_port()
    async with minimal_server("127.0.0.1", port):
        fleet = Fleet(f"ws://127.0.0.1:{port}", count=2, connectors=1)
        await fleet.connect(stagger=0)
        assert fleet.online_count() == 2
        charger = fleet.charge_points[0]
        await charger.plug_in(1)
        await charger.authorize("BENCH")
        await charger.start_transaction(1, "BENCH")
        await charger.send_meter_values(1, seconds=60)
        await charger.stop_transaction(1, reason="Local", id_tag="BENCH")
        await fleet.stop()
    log = fleet.log
    assert not log.failed
    # Per charger: boot and two status notifications; then the session: Preparing,
    # Authorize, StartTransaction, Charging, MeterValues, StopTransaction, Finishing.
    assert len(log.answered) == 2 * 3 + 7
    assert all(0 < rtt < 5 for _, rtt in log.answered)
    assert log.server_calls == []


async def test_calls_are_counted_by_the_time_they_were_sent() -> None:
    port = free_port()
    async with minimal_server("127.0.0.1", port):
        fleet = Fleet(f"ws://127.0.0.1:{port}", count=1, connectors=1)
        await fleet.connect(stagger=0)
        charger = fleet.charge_points[0]
        # The minimal central system knows no such vendor: an answer, not a failure.
        await charger.data_transfer("nobody")
        await fleet.stop()
    log = fleet.log
    assert not log.failed
    first, last = log.answered[0][0], log.answered[-1][0]
    assert len(log.answered_between(first, last + 1)) == len(log.answered)
    assert log.answered_between(last + 1, last + 2) == []


def test_percentiles_are_nearest_rank() -> None:
    figures = percentiles(float(value) for value in range(1, 101))
    assert figures == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
    assert percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0, "max": 7.0}
    assert all(math.isnan(value) for value in percentiles([]).values())


async def test_loop_monitor_sees_a_blocked_loop(tmp_path: Path) -> None:
    monitor = LoopMonitor(tmp_path / "lag.jsonl")
    monitor.start()
    await asyncio.sleep(0.2)
    blocked_until = asyncio.get_running_loop().time() + 0.3
    while asyncio.get_running_loop().time() < blocked_until:
        pass  # the loop is blocked, as by a slow handler
    await asyncio.sleep(0.1)
    await monitor.stop()
    samples = read_samples(tmp_path / "lag.jsonl")
    assert len(samples) >= 3
    assert max(lag for _, lag in samples) >= 0.2
    assert read_samples(tmp_path / "missing.jsonl") == []


def test_database_bytes_in_use(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    assert sqlite_used_bytes(path) == 0
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE states (value TEXT)")
    connection.executemany("INSERT INTO states VALUES (?)", [("x" * 100,)] * 1000)
    connection.commit()
    # Committed pages still in the write-ahead log count too.
    used = sqlite_used_bytes(path)
    assert used >= 100 * 1000
    connection.execute("DELETE FROM states")
    connection.commit()
    assert sqlite_used_bytes(path) < used
    connection.close()


async def test_wait_for_port_gives_up() -> None:
    with pytest.raises(TimeoutError):
        await wait_for_port(free_port(), timeout=0.3)


def test_profile_summary_counts_components_and_own_time(tmp_path: Path) -> None:
    folded = tmp_path / "profile.txt"
    folded.write_text(
        "run (asyncio/events.py:1);handle (csms/central/connection.py:9) 30\n"
        "run (asyncio/events.py:1);write (homeassistant/components/recorder/core.py:5) 10\n"
        "garbage line\n",
        encoding="utf-8",
    )
    summary = summarise(folded)
    assert "40 samples" in summary
    assert "100.0%  asyncio" in summary
    assert "75.0%  csms core (central/)" in summary
    assert "25.0%  recorder" in summary
    assert "75.0%  handle (csms/central/connection.py:9)" in summary
