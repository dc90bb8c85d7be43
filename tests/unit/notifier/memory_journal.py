"""A Journal in memory, with the same compare-and-set rule as the NATS one,
and a log of every write for tests to read."""

from __future__ import annotations

from notifier_svc.delivery_journal import DeliveryRecord, JournalConflict


class MemoryJournal:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[DeliveryRecord, int]] = {}
        self.writes: list[DeliveryRecord] = []
        self._revision = 0

    async def read(self, delivery_id: str) -> tuple[DeliveryRecord | None, int]:
        return self.entries.get(delivery_id, (None, 0))

    async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
        current = self.entries.get(delivery_id, (None, 0))[1]
        if current != revision:
            raise JournalConflict(delivery_id)
        self._revision += 1
        self.entries[delivery_id] = (record, self._revision)
        self.writes.append(record)
        return self._revision

    def put(self, delivery_id: str, record: DeliveryRecord) -> None:
        """Set a record as another worker would have left it."""
        self._revision += 1
        self.entries[delivery_id] = (record, self._revision)

    def states(self) -> list[str]:
        return [w.state for w in self.writes]
