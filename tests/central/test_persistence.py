"""Persistence of the central system: group commit of saves, and the transaction journal."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
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

    async def async_load_journal(self) -> list[dict[str, Any]]:
        return []

    async def async_append(self, record: dict[str, Any]) -> None:
        pass

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


class JournalStore:
    """A document written only when asked, and a journal that is always durable."""

    def __init__(self) -> None:
        self.document: dict[str, Any] | None = None
        self.journal: list[dict[str, Any]] = []

    async def async_load(self) -> dict[str, Any] | None:
        return self.document

    async def async_load_journal(self) -> list[dict[str, Any]]:
        return list(self.journal)

    async def async_append(self, record: dict[str, Any]) -> None:
        self.journal.append(record)

    async def async_save(self, data: dict[str, Any]) -> None:
        self.document = data

    def schedule_save(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        pass  # never in time: a crash follows


async def start(central: CentralSystem, charge_point_id: str) -> int:
    charge_point = central.charge_points.setdefault(charge_point_id, ChargePoint(charge_point_id))
    transaction = await central.start_transaction(
        charge_point,
        connector_id=1,
        id_tag="TAG1",
        meter_start_wh=1000,
        started_at=datetime(2026, 11, 1, 8, tzinfo=UTC),
        reservation_id=None,
    )
    return transaction.transaction_id


async def test_the_journal_is_replayed_over_the_document() -> None:
    store = JournalStore()
    central = CentralSystem(store)
    first = await start(central, "CP001")
    # The document is written with the first transaction; the second is only journaled.
    await central.async_save()
    second = await start(central, "CP002")
    await central.stop_transaction(
        central.charge_points["CP001"],
        transaction_id=first,
        meter_stop_wh=5000,
        stopped_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
        reason="Local",
        id_tag=None,
        samples=[],
    )
    assert [record["seq"] for record in store.journal] == [1, 2, 3]
    assert store.document is not None
    assert store.document["journal_seq"] == 1

    restored = CentralSystem(store)
    await restored.async_load()
    cp1, cp2 = restored.charge_points["CP001"], restored.charge_points["CP002"]
    assert cp1.transactions == {}
    assert cp1.connectors[1].transaction is None
    last = cp1.connectors[1].last_transaction
    assert last is not None
    assert last.transaction_id == first
    assert list(cp2.transactions) == [second]
    assert cp2.connectors[1].transaction is cp2.transactions[second]
    # Ids go on after the last one handed out; the next save covers the journal.
    assert await start(restored, "CP003") == second + 1
    await restored.async_save()
    assert store.document is not None
    assert store.document["journal_seq"] == 4


def test_the_document_keeps_the_state_it_was_taken_with() -> None:
    # The document may wait for an earlier write while the model changes on.
    central = CentralSystem(JournalStore())
    charge_point = central.charge_points["CP001"] = ChargePoint("CP001")
    profiles = charge_point.connector(1).profiles
    profiles["TxDefaultProfile"] = {"chargingProfileId": 1}
    document = central.as_dict()
    del profiles["TxDefaultProfile"]
    assert document["charge_points"][0]["connectors"][0]["profiles"] == {
        "TxDefaultProfile": {"chargingProfileId": 1}
    }
