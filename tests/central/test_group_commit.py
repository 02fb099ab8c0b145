"""Immediate saves of the central system share writes when they overlap (group commit)."""

import asyncio
from collections.abc import Callable
from typing import Any

from custom_components.csms.central.central_system import CentralSystem
from custom_components.csms.central.model import ChargePoint


class SlowStore:
    """A store whose writes take until `release` is set; it notes what each wrote."""

    def __init__(self) -> None:
        self.writes: list[set[str]] = []
        self.release = asyncio.Event()

    async def async_load(self) -> dict[str, Any] | None:
        return None

    async def async_save(self, data: dict[str, Any]) -> None:
        self.writes.append({cp["charge_point_id"] for cp in data["charge_points"]})
        await self.release.wait()

    def schedule_save(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        raise AssertionError("not expected here")


async def test_saves_asked_for_during_a_write_share_the_next_write() -> None:
    store = SlowStore()
    central = CentralSystem(store)

    async def change_and_save(charge_point_id: str) -> set[str]:
        central.charge_points[charge_point_id] = ChargePoint(charge_point_id)
        await central.async_save()
        # Durable on return: the last write holds this change.
        return store.writes[-1]

    first = asyncio.create_task(change_and_save("CP000"))
    await asyncio.sleep(0)
    assert store.writes == [{"CP000"}]
    # A reconnect storm: fifty transactions arrive while that write runs.
    others = [asyncio.create_task(change_and_save(f"CP{n:03}")) for n in range(1, 51)]
    await asyncio.sleep(0)
    store.release.set()
    written = await asyncio.gather(first, *others)

    assert len(store.writes) == 2
    assert store.writes[1] == {f"CP{n:03}" for n in range(51)}
    for number, seen in enumerate(written):
        assert f"CP{number:03}" in seen


async def test_a_save_after_a_write_writes_again() -> None:
    store = SlowStore()
    store.release.set()
    central = CentralSystem(store)
    await central.async_save()
    central.charge_points["CP001"] = ChargePoint("CP001")
    await central.async_save()
    assert store.writes == [set(), {"CP001"}]
