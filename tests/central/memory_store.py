"""The central system's state store in memory, for tests of the core."""

from collections.abc import Callable
from typing import Any


class MemoryStore:
    """Keeps the state and the journal in memory; a scheduled save happens at once."""

    def __init__(self) -> None:
        self.data: dict[str, Any] | None = None
        self.journal: list[dict[str, Any]] = []

    async def async_load(self) -> dict[str, Any] | None:
        return self.data

    async def async_load_journal(self) -> list[dict[str, Any]]:
        return list(self.journal)

    async def async_append(self, record: dict[str, Any]) -> None:
        self.journal.append(record)

    async def async_save(self, data: dict[str, Any]) -> None:
        self.data = data

    def schedule_save(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        self.data = data_fn()
