"""A state store that confirms when the test says so, as the SQLite writer thread would
some milliseconds later, and can fail a write the way a full disk does."""
from __future__ import annotations

from rccserver.state import MemoryStore, StoreError


class LaterStore(MemoryStore):
    """Holds each save until `confirm()` or `fail()`; what is confirmed is kept (`forwarding`,
    `dnd`, `registrations` as in MemoryStore), what fails is not."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[str, tuple, object]] = []  # (kind, arguments, done)

    def save_forwarding(self, record, done=None) -> None:
        self.pending.append(("forwarding", (record,), done))

    def save_dnd(self, record, done=None) -> None:
        self.pending.append(("dnd", (record,), done))

    def save_registrations(self, sip_user, records, done=None) -> None:
        self.pending.append(("registrations", (sip_user, records), done))

    def confirm(self) -> None:
        """The oldest save is durable: keep it, tell whoever waits."""
        kind, arguments, done = self.pending.pop(0)
        getattr(MemoryStore, f"save_{kind}")(self, *arguments)
        if done is not None:
            done(None)

    def fail(self, reason: str = "database or disk is full") -> None:
        """The oldest save could not be written: nothing of it is kept."""
        _, _, done = self.pending.pop(0)
        if done is not None:
            done(StoreError(reason))

    def confirm_all(self) -> None:
        while self.pending:
            self.confirm()
