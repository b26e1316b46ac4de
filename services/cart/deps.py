"""The collaborators the cart's use cases get from the composition root."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from services.cart.library.base import LibrarySystem
from services.cart.settings import CartSettings
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

    @property
    def storage(self) -> Path:
        return Path(self.settings.storage_dir)
