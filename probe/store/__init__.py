"""SQLite evidence store: append-only hash-chained measurements, content-addressed artifacts."""

from probe.store.store import DEFAULT_STORE, EntryFilter, Signer, Store, StoredEntry

__all__ = ["DEFAULT_STORE", "EntryFilter", "Signer", "Store", "StoredEntry"]
