"""Settings of the cart service (environment prefix `CART_`)."""

from __future__ import annotations

import msgspec

from services.cart.domain.library import KOHA_VERSIONS
from shared.settings import CommonSettings, refuse_in_production

DEV_DOWNLOAD_SECRET = "dev-download-secret-not-for-production"  # noqa: S105 - refused in production (check)
DEV_CARD_KEY = "dev-library-card-key-not-for-production"  # refused in production (check)


class CartSettings(msgspec.Struct, frozen=True, kw_only=True):
    payment_window_minutes: float = 30  # fractions allowed (tests: 0.3 = 18 s)
    sweep_interval_s: float = 10.0
    # Library
    library_adapter: str = "development"  # development | koha
    koha_base_url: str = ""
    koha_client_id: str = ""
    koha_client_secret: str = ""
    koha_timeout_s: float = 5.0
    koha_version: str = ""  # 22.11 | 23.05 | 23.11 | 24.05 | 24.11 | 25.05 (required with koha)
    koha_payment_type: str = "ONLINE"  # a PAYMENT_TYPE authorised value of the library
    koha_library_id: str = ""  # branch of a credit whose debit names none
    # PIN guessing: failures per card / per client address before a lock-out, whose length
    # doubles with every lock-out (from pin_lock_s up to pin_lock_max_s); forgotten after a day
    library_pin_failures_per_card: int = 5
    library_pin_failures_per_address: int = 20
    library_pin_lock_s: float = 60.0
    library_pin_lock_max_s: float = 86400.0
    library_minimum_payable_cents: int = 100
    library_non_payable_types: str = "LOST_DISPUTED"  # comma separated Koha debit types
    library_retry_delays_s: str = "2,10,60,300,1800"  # back-off between attempts
    library_failed_expire_hours: float = 72.0
    library_poll_interval_s: float = 2.0
    # How long a worker's claim on a registration lasts: a replica that dies while recording
    # leaves its lines to another replica after this (longer than a library call can take)
    library_claim_s: float = 60.0
    # The key of the library card numbers' keyed hashes (the service desk's search by card;
    # changing it makes the cards linked before unfindable until they are linked again)
    library_card_key: str = DEV_CARD_KEY
    # GIS (the files themselves: the NATS Object Store, GIS_FILES_* in shared/settings.py)
    # The gateway's public address, the start of every download link; "" -> PUBLIC_URL, else
    # http://HOST:PORT (the gateway's own default).
    public_url: str = ""
    download_secret: str = DEV_DOWNLOAD_SECRET
    download_valid_hours: float = 72.0
    download_limit: int = 5
    demo_data: bool = False

    @property
    def non_payable_types(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.library_non_payable_types.split(",") if t.strip())

    @property
    def retry_delays(self) -> list[float]:
        return [float(x) for x in self.library_retry_delays_s.split(",") if x.strip()]

    def check(self, common: CommonSettings) -> None:
        problems = []
        if self.download_secret == DEV_DOWNLOAD_SECRET:
            problems.append("CART_DOWNLOAD_SECRET is the development secret")
        if self.library_card_key == DEV_CARD_KEY or len(self.library_card_key) < 32:
            problems.append("CART_LIBRARY_CARD_KEY is the development key or shorter than 32")
        if self.library_adapter != "koha":
            problems.append("CART_LIBRARY_ADAPTER must be koha")
        else:
            if self.koha_version not in KOHA_VERSIONS:
                problems.append(f"CART_KOHA_VERSION must be one of {', '.join(KOHA_VERSIONS)}")
            if not self.koha_library_id:
                problems.append("CART_KOHA_LIBRARY_ID is not set")
        if self.demo_data:
            problems.append("DEMO_DATA is on")
        refuse_in_production(common, problems)
