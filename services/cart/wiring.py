"""The cart's parts put together (the composition root's work, apart from settings and the
host): every use case gets its collaborators here and nowhere else. Tests build their own with
other collaborators (a library stand-in, a second "replica")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from services.cart.booking import Booking
from services.cart.carts.service import Carts
from services.cart.catalogue.service import Catalogue
from services.cart.gis.delivery import GisDelivery
from services.cart.gis.service import GisCatalogue
from services.cart.library.accounts import LibraryAccounts
from services.cart.library.base import LibrarySystem
from services.cart.library.lines import LibraryLines
from services.cart.library.pins import PinLockout
from services.cart.library.recording import LibraryRecording
from services.cart.library.service import Library
from services.cart.orders.checkout import Checkout
from services.cart.orders.fulfilment import Fulfilment
from services.cart.orders.payments import PaymentOutcomes
from services.cart.orders.receipts import Receipts
from services.cart.orders.reservations import ReservationOutcomes
from services.cart.orders.service import Orders
from services.cart.orders.sweepers import Sweepers
from services.cart.settings import CartSettings
from shared.filestore import FileStore
from shared.messaging import Requester


@dataclass
class CartServices:
    carts: Carts
    checkout: Checkout
    orders: Orders
    receipts: Receipts
    catalogue: Catalogue
    gis: GisCatalogue
    delivery: GisDelivery
    library: Library
    recording: LibraryRecording
    pins: PinLockout
    fulfilment: Fulfilment
    payments: PaymentOutcomes
    reservations: ReservationOutcomes
    sweepers: Sweepers
    library_system: LibrarySystem
    # What the background loops repaired, by name (e.g. `orders_settled_by_sweeper`): read
    # by metrics; a number that grows means a path that should settle things does not.
    counters: Counter[str] = field(default_factory=Counter)


def wire(
    pool: asyncpg.Pool,
    requester: Requester,
    library_system: LibrarySystem,
    settings: CartSettings,
    files: FileStore,
) -> CartServices:
    booking = Booking(requester)
    accounts = LibraryAccounts(pool, library_system)
    delivery = GisDelivery(pool, settings, files)
    fulfilment = Fulfilment({"library_debit": LibraryLines(), "gis_product": delivery})
    orders = Orders(pool, fulfilment, delivery)
    pins = PinLockout(pool, settings)
    counters: Counter[str] = Counter()
    return CartServices(
        carts=Carts(pool, booking, accounts, settings),
        checkout=Checkout(pool, booking, accounts, settings),
        orders=orders,
        receipts=Receipts(pool, orders),
        catalogue=Catalogue(pool),
        gis=GisCatalogue(pool, files),
        delivery=delivery,
        library=Library(pool, accounts, pins, settings),
        recording=LibraryRecording(pool, library_system, settings, fulfilment),
        pins=pins,
        fulfilment=fulfilment,
        payments=PaymentOutcomes(fulfilment),
        reservations=ReservationOutcomes(fulfilment),
        sweepers=Sweepers(pool, fulfilment, counters),
        library_system=library_system,
        counters=counters,
    )
