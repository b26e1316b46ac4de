"""The collaborators the cart's use cases get from the composition root."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from services.cart.library.base import LibrarySystem
from services.cart.settings import CartSettings
from shared.filestore import FileStore, LocalDirectoryStore
from shared.messaging import Requester


@dataclass
class Deps:
    pool: asyncpg.Pool
    requester: Requester
    library: LibrarySystem
    settings: CartSettings
    # What the background loops repaired, by name (e.g. `orders_settled_by_sweeper`): read
    # by metrics; a number that grows means a path that should settle things does not.
    counters: Counter[str] = field(default_factory=Counter)
    files: FileStore | None = None  # None: the local directory CART_STORAGE_DIR

    def __post_init__(self) -> None:
        if self.files is None:
            self.files = LocalDirectoryStore(self.settings.storage_dir)

    @property
    def file_store(self) -> FileStore:
        """The GIS file store (files by the id it issued, never by path)."""
        assert self.files is not None
        return self.files
