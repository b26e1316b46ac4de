"""The collaborators the cart's use cases get from the composition root."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def storage(self) -> Path:
        return Path(self.settings.storage_dir)
