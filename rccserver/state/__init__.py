"""What must survive a restart (SPEC section 11): forwarding and do-not-disturb per
station, and the SIP stations' registrations until they expire.

Sans-IO: `StateStore` is the interface a backend implements (SQLite at the edge,
rccserver/server/state_sqlite.py; Redis later), `MemoryStore` the backend that keeps
nothing; `StationSettings` changes a station's forwarding and DND only once the
store holds the new setting; `RegistrationPersistence` saves the registrar's
bindings and seeds a new registrar with the saved ones.
"""
from rccserver.state.records import DndRecord, ForwardingRecord, RegistrationRecord, SavedState
from rccserver.state.store import Done, MemoryStore, StateStore, StoreError

__all__ = [
    "DndRecord",
    "Done",
    "ForwardingRecord",
    "MemoryStore",
    "RegistrationRecord",
    "SavedState",
    "StateStore",
    "StoreError",
]
